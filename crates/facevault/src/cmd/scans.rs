//! `facevault scan import|export|analyze` and `facevault lineage`: scans on the command line,
//! imported sealed, exported as a recorded disclosure (0600, atomic), analysed into derivatives.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use facevault_crypto::Id;
use facevault_mesh::{FileFormat, Format, ReadOptions, Unit};
use facevault_policy::{AccessGrant, Action};
use facevault_vault::{Capture, Node, Purpose, ScanId, SubjectId, Target, VaultError};
use zeroize::Zeroizing;

use super::audit;
use super::keys::bar;
use super::mesh::read_file;
use super::vault::{fail, write_private, Ctx, Vault};
use super::{is_date, today, Failure};

#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Import a mesh file (PLY, OBJ, STL) for a subject; prints the scan id. Needs the
    /// subject's active consent covering --purpose.
    Import {
        subject: SubjectId,
        file: PathBuf,
        /// The purpose of collection: a purpose id of the catalogue (`facevault purpose list`).
        #[arg(long)]
        purpose: String,
        /// The capturing device.
        #[arg(long, default_value = "unknown")]
        device: String,
        /// The capture date, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        captured: Option<String>,
        /// The unit of the input file (mm, cm, m, in), overriding what the file declares.
        #[arg(long)]
        unit: Option<Unit>,
        /// Read the input as this format (ply, obj, stl) instead of detecting it.
        #[arg(long = "input-format", value_parser = parse_family)]
        input_format: Option<Format>,
    },
    /// Decrypt a scan to a file (mode 0600). The disclosure (purpose, recipient, time) is
    /// recorded before any plaintext is written.
    Export {
        scan: ScanId,
        out: PathBuf,
        /// Output format (as for `mesh convert`); default from OUT's extension, else binary PLY.
        #[arg(long)]
        format: Option<FileFormat>,
        /// Why the scan leaves the vault: a purpose of the catalogue.
        #[arg(long)]
        purpose: String,
        /// Who receives it.
        #[arg(long)]
        recipient: String,
        /// The recipient is a third party: decided as a share (opt-out and consent to share apply).
        #[arg(long)]
        share: bool,
        /// Emergency access: the reason (see `subject show --break-glass`).
        #[arg(long, value_name = "REASON")]
        break_glass: Option<String>,
    },
    /// Run an analysis on stored scans; results are stored encrypted as derivatives, with
    /// their lineage (see `facevault lineage`).
    Analyze {
        #[command(subcommand)]
        analysis: ScanAnalysis,
        /// The purpose of the analysis (decided by the policy for each scan).
        #[arg(long, global = true, default_value = "treatment-planning")]
        purpose: String,
        /// Emergency access: the reason (see `subject show --break-glass`).
        #[arg(long, global = true, value_name = "REASON")]
        break_glass: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScanAnalysis {
    /// Mid-sagittal plane and asymmetry of one scan. Stores the report (measurements) and the
    /// symmetrized surface (mesh) as derivatives of the scan.
    Symmetry { scan: ScanId },
    /// Register POST onto PRE and map the change. Stores the report (measurements) and the
    /// aligned post scan (mesh) as derivatives of both scans (one subject's).
    Compare { pre: ScanId, post: ScanId },
}

fn parse_family(s: &str) -> Result<Format, String> {
    s.parse::<FileFormat>().map(FileFormat::family)
}

pub(crate) async fn scan(vault: &Vault, ctx: &Ctx<'_>, cmd: ScanCommand) -> Result<()> {
    match cmd {
        ScanCommand::Import { subject, file, purpose, device, captured, unit, input_format } => {
            if ctx.policy.catalogue().get(&purpose).filter(|p| p.enabled).is_none() {
                return Err(Failure::Input(format!(
                    "--purpose {purpose:?} is not an enabled purpose of the catalogue (see `facevault purpose list`)"
                ))
                .into());
            }
            let captured_on = captured.unwrap_or_else(today);
            if !is_date(&captured_on) {
                return Err(Failure::Input("--captured is not a YYYY-MM-DD date".into()).into());
            }
            // Fail on an unknown subject before reading a large file.
            vault.scans_of(subject).await.map_err(fail)?;
            let imported = read_file(&file, &ReadOptions { format: input_format, unit })?;
            let capture = Capture { device, captured_on, purpose: Purpose(purpose.clone()) };
            let id = match vault.import_scan(subject, &imported.mesh, capture).await {
                Ok(id) => id,
                Err(e @ (VaultError::NoConsent { .. } | VaultError::CaptureRefused { .. })) => {
                    ctx.push(audit::Record {
                        action: "scan.import",
                        purpose: purpose.clone(),
                        object: format!("subject:{subject}"),
                        allowed: false,
                        reason: e.to_string(),
                    });
                    return Err(fail(e));
                }
                Err(e) => return Err(fail(e)),
            };
            ctx.push(audit::Record::change(
                "scan.import",
                &purpose,
                format!("scan:{id}"),
                format!("captured for subject:{subject}"),
            ));
            println!("{id}");
            eprintln!(
                "{} ({}, {} vertices, {} triangles, {}) imported as scan {id}",
                file.display(),
                imported.format,
                imported.mesh.vertex_count(),
                imported.mesh.triangle_count(),
                imported.mesh.source_unit()
            );
        }
        ScanCommand::Export { scan, out, format, purpose, recipient, share, break_glass } => {
            let format = match format {
                Some(f) => f,
                None => match out.extension().and_then(|e| e.to_str()) {
                    None => FileFormat::PlyBinaryLittleEndian,
                    Some(ext) => FileFormat::from_extension(ext).ok_or_else(|| {
                        Failure::Output(format!(
                            "{}: cannot tell the output format from the extension; give --format",
                            out.display()
                        ))
                    })?,
                },
            };
            if purpose.trim().is_empty() || recipient.trim().is_empty() {
                return Err(Failure::Input("--purpose and --recipient must not be empty".into()).into());
            }
            let (action, name) =
                if share { (Action::Share, "scan.share") } else { (Action::Export, "scan.export") };
            let grant = ctx
                .authorize(vault, name, action, &purpose, Target::Node(Node::Scan(scan)), &break_glass)
                .await?;
            let ply = Zeroizing::new(vault.export_scan(&grant, scan, &recipient).await.map_err(fail)?);
            let bytes = if format == FileFormat::PlyBinaryLittleEndian {
                ply
            } else {
                let mesh = facevault_mesh::read(&ply, &ReadOptions::default())
                    .map_err(|e| {
                        fail(VaultError::MalformedContent { object: scan.0, reason: e.to_string() })
                    })?
                    .mesh;
                Zeroizing::new(facevault_mesh::to_bytes(&mesh, format))
            };
            write_private(&out, &bytes)?;
            eprintln!("scan {scan} -> {} ({format}); disclosure recorded", out.display());
        }
        ScanCommand::Analyze { analysis, purpose, break_glass } => {
            analyze(vault, ctx, analysis, &purpose, &break_glass).await?
        }
    }
    Ok(())
}

async fn analyze(
    vault: &Vault,
    ctx: &Ctx<'_>,
    a: ScanAnalysis,
    purpose: &str,
    break_glass: &Option<String>,
) -> Result<()> {
    use facevault_vault::analyses::{Analysis, Report};
    let analysis = match a {
        ScanAnalysis::Symmetry { scan } => Analysis::Symmetry { scan },
        ScanAnalysis::Compare { pre, post } => Analysis::Compare { pre, post },
    };
    let mut grants = Vec::new();
    for scan in analysis.scans() {
        grants.push(
            ctx.authorize(
                vault,
                "scan.analyze",
                Action::Analyze,
                purpose,
                Target::Node(Node::Scan(scan)),
                break_glass,
            )
            .await?,
        );
    }
    let grants: Vec<&AccessGrant> = grants.iter().collect();
    let pb = bar(None, "analysing");
    let job = vault.prepare_analysis(analysis, &grants).await.map_err(fail)?;
    let outcome = job.run(&mut |_| pb.tick()).with_context(|| match analysis {
        Analysis::Symmetry { scan } => format!("symmetry analysis of scan {scan} failed"),
        Analysis::Compare { pre, post } => format!("comparison of scan {post} with scan {pre} failed"),
    })?;
    let stored = vault.store_analysis(&grants, &outcome).await.map_err(fail)?;
    pb.finish_and_clear();
    println!("measurements {}", stored.measurements);
    println!("mesh {}", stored.mesh);
    match (analysis, &outcome.report) {
        (Analysis::Symmetry { scan }, Report::Symmetry(r)) => eprintln!(
            "scan {scan}: asymmetry index {:.2} mm RMS, {:.2} mm p95; report and symmetrized surface stored",
            r.asymmetry_index_rms_mm, r.asymmetry_index_p95_mm
        ),
        (Analysis::Compare { pre, post }, _) => {
            eprintln!("scan {post} compared with scan {pre}; report and aligned post scan stored")
        }
        _ => {}
    }
    Ok(())
}

pub(crate) async fn lineage(vault: &Vault, id: Id) -> Result<()> {
    let node = match vault.scan(ScanId(id)).await {
        Ok(_) => Node::Scan(ScanId(id)),
        Err(VaultError::UnknownScan { .. }) => {
            let d = vault.derivative(facevault_vault::DerivativeId(id)).await.map_err(|e| match e {
                VaultError::UnknownDerivative { .. } => {
                    Failure::NotFound(format!("no scan or derivative {id}")).into()
                }
                e => fail(e),
            })?;
            Node::Derivative(d.id)
        }
        Err(e) => return Err(fail(e)),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{node}")?;
    let ancestors = vault.ancestors(node).await.map_err(fail)?;
    writeln!(out, "came from     {}", if ancestors.is_empty() { "nothing (an original scan)" } else { "" })?;
    for a in ancestors {
        writeln!(out, "  {a}")?;
    }
    let descendants = vault.descendants(node).await.map_err(fail)?;
    writeln!(out, "derived       {} derivative(s)", descendants.len())?;
    for d in descendants {
        let der = vault.derivative(d).await.map_err(fail)?;
        let parents: Vec<String> = der.parents.iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "  derivative {d}  {} by {}  {}  from {}",
            der.kind,
            der.producer,
            der.parameters,
            parents.join(", ")
        )?;
    }
    Ok(())
}
