//! `facevault mesh info|convert`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;
use facevault_mesh::{inspect, FileFormat, Format, Imported, ReadOptions, Unit};
use serde::Serialize;

use super::Failure;

#[derive(Debug, Subcommand)]
pub enum MeshCommand {
    /// Print counts, unit, bounding box, area, components, boundaries and problems.
    Info {
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Convert between PLY, OBJ and STL. The output format comes from OUT's extension unless
    /// --format is given.
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// Output format: ply (binary little-endian), ply-ascii, ply-binary-le, ply-binary-be,
        /// obj, stl (binary), stl-ascii, stl-binary.
        #[arg(long)]
        format: Option<FileFormat>,
        /// Merge duplicate vertices, remove degenerate and duplicate faces and unreferenced
        /// vertices before writing; each step's changes are reported.
        #[arg(long)]
        clean: bool,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// For `cargo xtask bench mesh`: time one read of FILE in this process and print JSON.
    #[command(hide = true)]
    BenchRead(BenchReadArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchReadArgs {
    file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// The unit of the input file (mm, cm, m, in), overriding what the file declares and any guess.
    #[arg(long)]
    unit: Option<Unit>,
    /// Read the input as this format (ply, obj, stl) instead of detecting it from content.
    #[arg(long = "input-format", value_parser = parse_family)]
    input_format: Option<Format>,
}

fn parse_family(s: &str) -> Result<Format, String> {
    s.parse::<FileFormat>().map(FileFormat::family)
}

pub fn run(cmd: MeshCommand) -> Result<()> {
    match cmd {
        MeshCommand::BenchRead(BenchReadArgs { file }) => bench_read(&file),
        MeshCommand::Info { file, json, read } => {
            let imported = read_file(&file, &read.options())?;
            let report = InfoReport::new(&file, &imported);
            if json {
                super::print_json(&report)?;
            } else {
                report.print(&mut std::io::stdout().lock())?;
            }
            Ok(())
        }
        MeshCommand::Convert { input, output, format, clean, read } => {
            let format = match format {
                Some(f) => f,
                None => output
                    .extension()
                    .and_then(|e| e.to_str())
                    .and_then(FileFormat::from_extension)
                    .ok_or_else(|| {
                        Failure::Output(format!(
                            "{}: cannot tell the output format from the extension; give --format",
                            output.display()
                        ))
                    })?,
            };
            let mut imported = read_file(&input, &read.options())?;
            if clean {
                let (mesh, steps) = facevault_mesh::clean::clean_all(imported.mesh);
                for step in steps {
                    eprintln!("{step}");
                }
                imported.mesh = mesh;
            }
            write_file(&output, &imported.mesh, format)?;
            eprintln!(
                "{} ({}, {} vertices, {} triangles) -> {} ({format})",
                input.display(),
                imported.format,
                imported.mesh.vertex_count(),
                imported.mesh.triangle_count(),
                output.display()
            );
            Ok(())
        }
    }
}

impl ReadArgs {
    fn options(&self) -> ReadOptions {
        ReadOptions { format: self.input_format, unit: self.unit }
    }
}

/// Read a mesh file, naming the file and the place in it on failure.
pub fn read_file(path: &Path, opts: &ReadOptions) -> Result<Imported> {
    let file = File::open(path).map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
    // Only a regular file's size is its length (a pipe or a device reports 0).
    let len = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    facevault_mesh::read_from(BufReader::with_capacity(1 << 20, file), len, opts)
        .map_err(|e| Failure::Input(format!("{}: {e}", path.display())).into())
}

/// Write a mesh file atomically: a partial file never replaces a good one.
pub fn write_file(path: &Path, mesh: &facevault_mesh::Mesh, format: FileFormat) -> Result<()> {
    let fail = |e: std::io::Error| Failure::Output(format!("{}: {e}", path.display()));
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".facevault-partial");
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        facevault_mesh::write(mesh, format, &mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)?;
    Ok(())
}

#[derive(Debug, Serialize)]
struct InfoReport<'a> {
    file: String,
    format: FileFormat,
    unit: facevault_mesh::SourceUnit,
    vertices: usize,
    triangles: usize,
    has_normals: bool,
    has_colors: bool,
    has_uvs: bool,
    notes: &'a [String],
    inspection: inspect::Report,
}

impl<'a> InfoReport<'a> {
    fn new(path: &Path, imported: &'a Imported) -> Self {
        let mesh = &imported.mesh;
        InfoReport {
            file: path.display().to_string(),
            format: imported.format,
            unit: mesh.source_unit(),
            vertices: mesh.vertex_count(),
            triangles: mesh.triangle_count(),
            has_normals: mesh.normals().is_some(),
            has_colors: mesh.colors().is_some(),
            has_uvs: mesh.uvs().is_some(),
            notes: &imported.notes,
            inspection: inspect::inspect(mesh),
        }
    }

    fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let attrs: Vec<&str> =
            [(self.has_normals, "normals"), (self.has_colors, "colours"), (self.has_uvs, "uvs")]
                .into_iter()
                .filter_map(|(has, name)| has.then_some(name))
                .collect();
        writeln!(out, "file        {}", self.file)?;
        writeln!(out, "format      {}", self.format)?;
        writeln!(out, "unit        {} -> stored in mm", self.unit)?;
        writeln!(out, "vertices    {}", self.vertices)?;
        writeln!(out, "triangles   {}", self.triangles)?;
        writeln!(
            out,
            "attributes  {}",
            if attrs.is_empty() { "none".to_string() } else { attrs.join(", ") }
        )?;
        print_inspection(&self.inspection, out)?;
        for note in self.notes {
            writeln!(out, "note        {note}")?;
        }
        Ok(())
    }
}

fn print_inspection(r: &inspect::Report, out: &mut impl Write) -> std::io::Result<()> {
    match &r.bounding_box {
        Some(b) => {
            let e = b.extent();
            writeln!(
                out,
                "bounds      x {:.2}..{:.2}  y {:.2}..{:.2}  z {:.2}..{:.2} mm  (size {:.1} x {:.1} x {:.1} mm)",
                b.min[0], b.max[0], b.min[1], b.max[1], b.min[2], b.max[2], e[0], e[1], e[2]
            )?;
        }
        None => writeln!(out, "bounds      none (no vertices)")?,
    }
    writeln!(out, "area        {:.1} mm² ({:.2} cm²)", r.surface_area_mm2, r.surface_area_mm2 / 100.0)?;
    if let Some(e) = &r.edges {
        writeln!(
            out,
            "edges       {} unique, length {:.3}..{:.3} mm, mean {:.3}, median {:.3}",
            e.count, e.min, e.max, e.mean, e.median
        )?;
    }
    writeln!(
        out,
        "components  {} (largest {} triangles)",
        r.components.count, r.components.largest_triangles
    )?;
    writeln!(
        out,
        "boundaries  {} closed loop(s), {} open chain(s), {} boundary edges, {:.1} mm in all",
        r.boundary.closed_loops, r.boundary.open_chains, r.boundary.edges, r.boundary.total_length_mm
    )?;
    let problems = r.problems();
    if problems.is_empty() {
        writeln!(out, "problems    none found")?;
    }
    for p in problems {
        writeln!(out, "problem     {p}")?;
    }
    Ok(())
}

/// One timed read, as the CLI reads, with the peak memory it added (VmHWM after minus VmRSS
/// before). `bench/read_mesh.py` measures Open3D and trimesh the same way.
fn bench_read(path: &Path) -> Result<()> {
    let status_kib = |field: &str| -> Result<f64> {
        let s = std::fs::read_to_string("/proc/self/status")?;
        let line = s.lines().find(|l| l.starts_with(field)).ok_or_else(|| anyhow::anyhow!("no {field}"))?;
        Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
    };
    let rss_before = status_kib("VmRSS:")?;
    let t0 = std::time::Instant::now();
    let imported = read_file(path, &ReadOptions { unit: Some(Unit::Millimetre), ..Default::default() })?;
    let seconds = t0.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:")?;
    let m = &imported.mesh;
    let report = serde_json::json!({
        "seconds": seconds,
        "peak_delta_bytes": (peak - rss_before) * 1024.0,
        "vertices": m.vertex_count(),
        "triangles": m.triangle_count(),
        "coord_sum": m.positions().iter().flatten().map(|&c| f64::from(c)).sum::<f64>(),
        "index_sum": m.triangles().iter().flatten().map(|&i| u64::from(i)).sum::<u64>(),
    });
    println!("{report}");
    Ok(())
}
