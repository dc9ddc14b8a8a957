//! `facevault demo`: write a folder of sample scans and inspect each one, so that a new user
//! sees what FaceVault reads and reports before bringing real (biometric) data.
//!
//! The samples are synthetic faces from `facevault-synthface` (no real person's face) and the
//! MediaPipe canonical face model (Apache-2.0), written in each format FaceVault reads.

use std::path::PathBuf;

use anyhow::{Context, Result};
use facevault_mesh::{FileFormat, Mesh, ReadOptions};
use facevault_synthface::{
    cheek_augmentation, generate, nasal_dorsum_reduction, FaceParams, RigidMotion, Side,
};

use super::mesh::{read_file, write_file};

/// The MediaPipe canonical face (centimetres), shipped with its attribution.
const CANONICAL_FACE: &[u8] = include_bytes!("../../../mesh/tests/fixtures/canonical_face_model.obj");
const CANONICAL_NOTICE: &[u8] = include_bytes!("../../../mesh/tests/fixtures/NOTICE");

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder to write the sample scans into (created if missing).
    #[arg(long, default_value = "facevault-demo")]
    dir: PathBuf,
    /// Vertices in each synthetic face.
    #[arg(long, default_value_t = 50_000)]
    vertices: usize,
}

pub fn run(args: DemoArgs) -> Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let face = generate(&FaceParams::default(), args.vertices);
    let pre = plain(&face.mesh)?;
    // A post-op scan: a 2 mm nasal dorsum reduction, and the patient sat differently.
    let post = nasal_dorsum_reduction(&face, 2.0, 6.0).transformed(&RigidMotion::from_axis_angle(
        [0.2, 1.0, 0.1],
        8.0,
        [4.0, -3.0, 12.0],
    ));
    let augmented = cheek_augmentation(&face, Side::Left, 3.0, 12.0);

    let samples: Vec<(&str, Mesh, FileFormat)> = vec![
        ("pre-op.ply", pre.clone(), FileFormat::PlyBinaryLittleEndian),
        ("post-op-dorsum-2mm.ply", plain(&post.mesh)?, FileFormat::PlyBinaryLittleEndian),
        ("cheek-augmented-left-3mm.obj", plain(&augmented.mesh)?, FileFormat::Obj),
        ("pre-op.stl", pre.clone(), FileFormat::StlBinary),
        ("pre-op-ascii.ply", pre, FileFormat::PlyAscii),
    ];
    for (name, mesh, format) in &samples {
        write_file(&args.dir.join(name), mesh, *format)?;
    }
    std::fs::write(args.dir.join("canonical-face-mediapipe.obj"), CANONICAL_FACE)?;
    std::fs::write(args.dir.join("canonical-face-mediapipe.NOTICE"), CANONICAL_NOTICE)?;

    println!("FaceVault demo: sample scans in {}\n", args.dir.display());
    println!(
        "{:<34} {:<14} {:>8} {:>9} {:>11} {:>11}  unit",
        "file", "format", "vertices", "triangles", "height mm", "area cm²"
    );
    let names = samples.iter().map(|s| s.0).chain(std::iter::once("canonical-face-mediapipe.obj"));
    for name in names {
        let path = args.dir.join(name);
        let imported = read_file(&path, &ReadOptions::default())?;
        let report = facevault_mesh::inspect::inspect(&imported.mesh);
        let height = report.bounding_box.map_or(0.0, |b| b.extent()[1]);
        println!(
            "{name:<34} {:<14} {:>8} {:>9} {height:>11.1} {:>11.1}  {}",
            imported.format.to_string(),
            report.vertices,
            report.triangles,
            report.surface_area_mm2 / 100.0,
            imported.mesh.source_unit()
        );
        for problem in report.problems() {
            println!("{:<34} problem: {problem}", "");
        }
    }
    println!(
        "\nNext: `facevault mesh info {}` for the full report, or `--json` for machines.",
        args.dir.join("pre-op.ply").display()
    );
    Ok(())
}

/// The synthetic meshes carry analytic normals; the demo files keep positions and triangles,
/// as most scanner exports do.
fn plain(mesh: &Mesh) -> Result<Mesh> {
    Ok(Mesh::new(mesh.positions().to_vec(), mesh.triangles().to_vec())?)
}
