//! `facevault scan import|export|analyze` and `facevault lineage`: scans on the command line,
//! imported sealed, exported as a recorded disclosure (0600, atomic), analysed into derivatives.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use facevault_app::{AppError, ErrorKind, ImportScan, ScanExport};
use facevault_crypto::Id;
use facevault_mesh::{FileFormat, Format, ReadOptions, Unit};
use facevault_vault::{ScanId, SubjectId, VaultError};
use zeroize::Zeroizing;

use super::analyze::CompareFlags;
use super::keys::bar;
use super::mesh::read_file;
use super::vault::{fail, flagged, write_private, Ctx};
use super::Failure;

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
    /// Decrypt a scan to a file (mode 0600) for a recipient. The disclosure (purpose,
    /// recipient, time) is recorded before any plaintext is written.
    Export {
        scan: ScanId,
        out: PathBuf,
        /// Output format (as for `mesh convert`); default from OUT's extension, else binary PLY.
        #[arg(long)]
        format: Option<FileFormat>,
        /// Why the scan leaves the vault: a purpose of the catalogue.
        #[arg(long)]
        purpose: String,
        /// Who receives it: `clinic` (the clinic's own record), `subject` (the patient), or a
        /// registered recipient (`facevault vendor list`: a vendor, or a health care provider);
        /// anyone else must be registered first (`facevault vendor add`).
        #[arg(long)]
        recipient: String,
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
    Symmetry {
        scan: ScanId,
        /// Keep the scan's -x side when symmetrizing (default: the +x side, the patient's
        /// left in the usual scanner frame).
        #[arg(long)]
        keep_negative_side: bool,
    },
    /// Register POST onto PRE and map the change. Stores the report (measurements) and the
    /// aligned post scan (mesh) as derivatives of both scans (one subject's); the options are
    /// recorded as their parameters (see `facevault lineage`).
    Compare {
        pre: ScanId,
        post: ScanId,
        #[command(flatten)]
        options: CompareFlags,
    },
}

fn parse_family(s: &str) -> Result<Format, String> {
    s.parse::<FileFormat>().map(FileFormat::family)
}

pub(crate) async fn scan(ctx: &Ctx<'_>, cmd: ScanCommand) -> Result<()> {
    let (app, me) = (ctx.app, &ctx.session);
    match cmd {
        ScanCommand::Import { subject, file, purpose, device, captured, unit, input_format } => {
            let args = ImportScan { purpose, device: Some(device), captured };
            let mut read = None;
            let mesh = async {
                let imported = read_file(&file, &ReadOptions { format: input_format, unit })
                    .map_err(|e| AppError::new(ErrorKind::MalformedMesh, format!("{e:#}")))?;
                read = Some(imported.format);
                Ok(imported.mesh)
            };
            let scan = app.import_scan(me, subject, args, mesh).await?;
            println!("{}", scan.id);
            eprintln!(
                "{} ({}, {} vertices, {} triangles, {}) imported as scan {}",
                file.display(),
                read.map_or_else(String::new, |f| f.to_string()),
                scan.vertices,
                scan.triangles,
                scan.source_unit,
                scan.id
            );
        }
        ScanCommand::Export { scan, out, format, purpose, recipient, break_glass } => {
            let x = ScanExport { purpose, recipient: recipient.clone(), break_glass: break_glass.clone() };
            let (kind, format) = disclose_to_file(app, me, scan, x, &out, format).await?;
            flagged(&break_glass, &format!("scan:{scan}"));
            eprintln!(
                "scan {scan} -> {} ({format}) for {recipient} as {kind}; disclosure recorded",
                out.display()
            );
        }
        ScanCommand::Analyze { analysis, purpose, break_glass } => {
            analyze(ctx, analysis, &purpose, &break_glass).await?
        }
    }
    Ok(())
}

async fn analyze(ctx: &Ctx<'_>, a: ScanAnalysis, purpose: &str, break_glass: &Option<String>) -> Result<()> {
    use facevault_vault::analyses::{Analysis, AnalysisOptions, Report};
    let (analysis, options) = match a {
        ScanAnalysis::Symmetry { scan, keep_negative_side } => (
            Analysis::Symmetry { scan },
            AnalysisOptions { keep_negative_side, ..AnalysisOptions::default() },
        ),
        ScanAnalysis::Compare { pre, post, options } => (Analysis::Compare { pre, post }, options.options()),
    };
    let pb = bar(None, "analysing");
    let done = ctx.app.analyze(&ctx.session, analysis, &options, Some(purpose), break_glass.as_deref()).await;
    pb.finish_and_clear();
    let done = done?;
    for scan in analysis.scans() {
        flagged(break_glass, &format!("scan:{scan}"));
    }
    println!("measurements {}", done.stored.measurements);
    println!("mesh {}", done.stored.mesh);
    match (analysis, &done.outcome.report) {
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

pub(crate) async fn lineage(ctx: &Ctx<'_>, id: Id) -> Result<()> {
    let l = ctx.app.lineage(&ctx.session, id).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", l.node)?;
    writeln!(
        out,
        "came from     {}",
        if l.ancestors.is_empty() { "nothing (an original scan)" } else { "" }
    )?;
    for a in &l.ancestors {
        writeln!(out, "  {a}")?;
    }
    writeln!(out, "derived       {} derivative(s)", l.descendants.len())?;
    for der in &l.descendants {
        let parents: Vec<String> = der.parents.iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "  derivative {}  {} by {}  {}  from {}",
            der.id,
            der.kind,
            der.producer,
            der.parameters,
            parents.join(", ")
        )?;
    }
    Ok(())
}

/// The one disclosure path (the app's `disclose_scan`) to a file: the format is checked before
/// anything is decided, the scan converted to it if it is not binary PLY, and written 0600.
/// Returns what kind of disclosure it was, and the format written.
pub(crate) async fn disclose_to_file(
    app: &super::vault::CliApp,
    me: &facevault_app::Session,
    scan: ScanId,
    x: ScanExport,
    out: &std::path::Path,
    format: Option<FileFormat>,
) -> Result<(String, FileFormat)> {
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
    let d = app.disclose_scan(me, scan, x).await?;
    let bytes = if format == FileFormat::PlyBinaryLittleEndian {
        d.ply
    } else {
        let mesh = facevault_mesh::read(&d.ply, &ReadOptions::default())
            .map_err(|e| fail(VaultError::MalformedContent { object: scan.0, reason: e.to_string() }))?
            .mesh;
        Zeroizing::new(facevault_mesh::to_bytes(&mesh, format))
    };
    write_private(out, &bytes)?;
    Ok((d.kind, format))
}
