//! `facevault analyze symmetry|compare`: the clinical analyses over scan files, with a summary
//! or JSON report on stdout, a PNG heatmap and a colour-coded PLY on request.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use facevault_analysis::render::{auto_range, face_frame, render_map, vertex_colours, RenderOptions};
use facevault_analysis::{compare, sphere_mask, symmetry, MapStats, Region, Stage};
use facevault_mesh::{FileFormat, Mesh, ReadOptions, Unit};
use facevault_vault::analyses::AnalysisOptions;
use indicatif::{ProgressBar, ProgressStyle};

use super::mesh::{read_file, write_file};
use super::Failure;

#[derive(Debug, Subcommand)]
pub enum AnalyzeCommand {
    /// Mid-sagittal plane, asymmetry map and index, and a symmetrized surface.
    Symmetry {
        scan: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
        /// Also write the symmetrized surface (one side mirrored onto the other) here.
        #[arg(long)]
        symmetrized: Option<PathBuf>,
        /// Keep the scan's -x side when symmetrizing (default: the +x side, the patient's
        /// left in the usual scanner frame).
        #[arg(long)]
        keep_negative_side: bool,
    },
    /// Register POST onto PRE and map the signed distance of every POST vertex to PRE's
    /// surface (outward positive: a reduction is negative).
    Compare {
        pre: PathBuf,
        post: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
        #[command(flatten)]
        options: CompareFlags,
    },
}

/// A comparison's options, as the file command and the stored comparison both take them.
#[derive(Debug, clap::Args)]
pub struct CompareFlags {
    /// Register on these stable regions only: spheres "x,y,z,radius" in mm in POST's
    /// coordinates (repeatable), e.g. the forehead.
    #[arg(long, value_parser = parse_sphere)]
    mask: Vec<[f64; 4]>,
    /// Also measure displacement along this direction "x,y,z" in PRE's coordinates.
    #[arg(long, value_parser = parse_vec3)]
    direction: Option<[f64; 3]>,
    /// Summarise a region "name:x,y,z,radius" (PRE's coordinates, mm) separately
    /// (repeatable).
    #[arg(long, value_parser = parse_region)]
    region: Vec<Region>,
    /// |distance| above this (mm) counts toward the area figure [default: 0.5].
    #[arg(long, value_parser = parse_threshold)]
    threshold: Option<f64>,
}

impl CompareFlags {
    /// The vault's analysis options these flags give.
    pub(crate) fn options(self) -> AnalysisOptions {
        AnalysisOptions {
            mask: self.mask,
            direction: self.direction,
            regions: self.region,
            threshold_mm: self.threshold,
            ..AnalysisOptions::default()
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Write a heatmap render (front, left, right views and colour bar) to this PNG.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Print the full report as JSON instead of a summary.
    #[arg(long)]
    json: bool,
    /// Write the scan coloured by the map to this PLY (MeshLab and Blender show the colours).
    #[arg(long)]
    ply_out: Option<PathBuf>,
    /// Colour scale limit in mm (the scale runs from -RANGE to +RANGE); picked from the map
    /// when not given.
    #[arg(long)]
    range: Option<f32>,
    /// The unit of the input files (mm, cm, m, in), overriding what they declare and any guess.
    #[arg(long)]
    unit: Option<Unit>,
}

fn parse_numbers<const N: usize>(s: &str) -> Result<[f64; N], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>().map_err(|e| format!("{x:?}: {e}")))
        .collect::<Result<_, _>>()?;
    let arr: [f64; N] = v.try_into().map_err(|_| format!("expected {N} comma-separated numbers"))?;
    if arr.iter().all(|x| x.is_finite()) {
        Ok(arr)
    } else {
        Err("numbers must be finite".into())
    }
}
// The option parsers, shared with `scan analyze` (cmd/scans.rs): what they let through, the
// vault's `AnalysisOptions::check` judges for both.
pub(crate) fn parse_sphere(s: &str) -> Result<[f64; 4], String> {
    parse_numbers::<4>(s)
}
pub(crate) fn parse_vec3(s: &str) -> Result<[f64; 3], String> {
    parse_numbers::<3>(s)
}
pub(crate) fn parse_threshold(s: &str) -> Result<f64, String> {
    let [t] = parse_numbers::<1>(s)?;
    Ok(t)
}
pub(crate) fn parse_region(s: &str) -> Result<Region, String> {
    let (name, rest) = s.split_once(':').ok_or("expected name:x,y,z,radius")?;
    let [x, y, z, r] = parse_numbers::<4>(rest)?;
    Ok(Region { name: name.to_string(), centre: [x, y, z], radius_mm: r })
}

/// A spinner on stderr naming the current stage; hidden when stderr is not a terminal.
fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn stage_message(s: Stage) -> &'static str {
    match s {
        Stage::Indexing => "indexing the surface",
        Stage::Registering => "registering",
        Stage::Measuring => "measuring distances",
        Stage::Summarising => "summarising",
        _ => "working",
    }
}

pub fn run(cmd: AnalyzeCommand) -> Result<()> {
    match cmd {
        AnalyzeCommand::Symmetry { scan, out, symmetrized, keep_negative_side } => {
            let opts = ReadOptions { unit: out.unit, ..Default::default() };
            let bar = spinner();
            bar.set_message("reading");
            let mesh = read_file(&scan, &opts)?.mesh;
            let options =
                AnalysisOptions { keep_negative_side, ..AnalysisOptions::default() }.symmetry_options();
            let result = symmetry(&mesh, &options, &mut |s| bar.set_message(stage_message(s)))
                .with_context(|| format!("{}: symmetry analysis failed", scan.display()))?;
            let range = out.range.unwrap_or_else(|| auto_range(&result.asymmetry));
            bar.set_message("writing outputs");
            if let Some(png) = &out.png {
                let frame = face_frame(&mesh, Some(result.report.plane.normal));
                let image = render_map(
                    &mesh,
                    &result.asymmetry,
                    &RenderOptions { range_mm: Some(range), frame: Some(frame), ..RenderOptions::default() },
                );
                write_bytes(png, &image.to_png())?;
            }
            if let Some(path) = &out.ply_out {
                write_coloured(path, &mesh, &result.asymmetry, range)?;
            }
            if let Some(path) = &symmetrized {
                write_file(path, &result.symmetrized, FileFormat::PlyBinaryLittleEndian)?;
            }
            bar.finish_and_clear();
            let mut o = std::io::stdout().lock();
            if out.json {
                super::print_json(&result.report)?;
            } else {
                let r = &result.report;
                let n = r.plane.normal;
                writeln!(o, "{}: {} vertices", scan.display(), r.vertices)?;
                writeln!(
                    o,
                    "mid-sagittal plane: normal ({:.4}, {:.4}, {:.4}), offset {:.3} mm",
                    n[0], n[1], n[2], r.plane.offset
                )?;
                writeln!(
                    o,
                    "registration: RMS {:.3} mm, overlap {:.0}%, {} iterations",
                    r.registration.rms_mm,
                    r.registration.overlap * 100.0,
                    r.registration.iterations
                )?;
                writeln!(
                    o,
                    "asymmetry index: RMS {:.3} mm, p95 {:.3} mm (border excluded: {} vertices)",
                    r.asymmetry_index_rms_mm, r.asymmetry_index_p95_mm, r.border_vertices
                )?;
                if let Some(s) = &r.asymmetry {
                    print_stats(&mut o, "asymmetry", s)?;
                }
            }
            Ok(())
        }
        AnalyzeCommand::Compare { pre, post, out, options } => {
            // The same options, and the same check, as a stored comparison's.
            let given = options.options();
            given.check().map_err(|e| Failure::Input(e.to_string()))?;
            let options = given.compare_options();
            let opts = ReadOptions { unit: out.unit, ..Default::default() };
            let bar = spinner();
            bar.set_message("reading");
            let pre_mesh = read_file(&pre, &opts)?.mesh;
            let post_mesh = read_file(&post, &opts)?.mesh;
            let mask_bits = sphere_mask(post_mesh.positions(), &given.mask);
            let result = compare(&pre_mesh, &post_mesh, mask_bits.as_deref(), &options, &mut |s| {
                bar.set_message(stage_message(s))
            })
            .with_context(|| format!("comparing {} with {}", post.display(), pre.display()))?;
            let range = out.range.unwrap_or_else(|| auto_range(&result.distances));
            bar.set_message("writing outputs");
            if let Some(png) = &out.png {
                let image = render_map(
                    &result.aligned_post,
                    &result.distances,
                    &RenderOptions { range_mm: Some(range), ..RenderOptions::default() },
                );
                write_bytes(png, &image.to_png())?;
            }
            if let Some(path) = &out.ply_out {
                write_coloured(path, &result.aligned_post, &result.distances, range)?;
            }
            bar.finish_and_clear();
            let mut o = std::io::stdout().lock();
            if out.json {
                super::print_json(&result.report)?;
            } else {
                let r = &result.report;
                let g = &r.registration;
                writeln!(
                    o,
                    "pre {} ({} vertices), post {} ({} vertices)",
                    pre.display(),
                    r.pre_vertices,
                    post.display(),
                    r.post_vertices
                )?;
                writeln!(
                    o,
                    "registration: rotation {:.3}°, translation ({:.2}, {:.2}, {:.2}) mm, RMS {:.3} mm, overlap {:.0}%, {} iterations",
                    g.rotation_degrees,
                    g.transform.translation[0],
                    g.transform.translation[1],
                    g.transform.translation[2],
                    g.rms_mm,
                    g.overlap * 100.0,
                    g.iterations
                )?;
                if let Some(s) = &r.distance {
                    print_stats(&mut o, "distance", s)?;
                }
                if let Some(s) = &r.along_direction {
                    print_stats(&mut o, "along direction", s)?;
                }
                for reg in &r.regions {
                    if let Some(s) = &reg.distance {
                        print_stats(&mut o, &format!("region {}", reg.region.name), s)?;
                    }
                }
                writeln!(o, "post vertices beyond the pre scan's border: {}", r.no_overlap_vertices)?;
            }
            Ok(())
        }
    }
}

fn print_stats(o: &mut impl Write, name: &str, s: &MapStats) -> Result<()> {
    writeln!(
        o,
        "{name}: mean {:+.3} mm, RMS {:.3} mm, min {:+.3}, max {:+.3}, p5 {:+.3}, p95 {:+.3} mm; area over {} mm: {:.1} mm² of {:.1}; volume {:+.3} cc",
        s.mean_mm, s.rms_mm, s.min_mm, s.max_mm, s.p5_mm, s.p95_mm, s.threshold_mm, s.area_above_mm2, s.area_mm2, s.volume_cc
    )?;
    Ok(())
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Failure::Output(format!("{}: {e}", path.display())).into())
}

/// The mesh with the map as vertex colours, as binary PLY.
fn write_coloured(path: &Path, mesh: &Mesh, values: &[f32], range: f32) -> Result<()> {
    let coloured = mesh
        .clone()
        .with_colors(vertex_colours(values, range))
        .map_err(|e| Failure::Output(format!("{}: {e}", path.display())))?;
    write_file(path, &coloured, FileFormat::PlyBinaryLittleEndian)
}
