//! `cargo xtask bench mesh`: FaceVault, Open3D and trimesh read the same binary PLY, each in a
//! fresh process per run, in one session. Prints median time and peak memory of each, and the
//! ratios, since on these noisy machines ratios count more than absolute times.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};
use facevault_mesh::{FileFormat, Mesh};

struct Run {
    seconds: f64,
    peak_delta_bytes: f64,
    vertices: u64,
    triangles: u64,
    coord_sum: f64,
    index_sum: u64,
}

fn flag(args: &[&str], name: &str, default: usize) -> Result<usize> {
    match args.iter().position(|a| *a == name) {
        Some(i) => args
            .get(i + 1)
            .context(format!("{name} needs a value"))?
            .parse()
            .with_context(|| format!("{name} needs a number")),
        None => Ok(default),
    }
}

/// The benchmark face: a synthetic face with positions and triangles only, written once.
pub fn bench_face(vertices: usize) -> Result<(PathBuf, Mesh)> {
    let dir = crate::root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let face = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), vertices);
    let (p, t, ..) = face.mesh.into_parts();
    let mesh = Mesh::new(p, t)?;
    let path = dir.join(format!("face-{}k.ply", vertices / 1000));
    let bytes = facevault_mesh::to_bytes(&mesh, FileFormat::PlyBinaryLittleEndian);
    if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
        std::fs::write(&path, &bytes)?;
    }
    Ok((path, mesh))
}

pub fn mesh(args: &[&str]) -> Result<()> {
    let vertices = flag(args, "--vertices", 860_000)?;
    let runs = flag(args, "--runs", 5)?.max(1);
    let (path, mesh) = bench_face(vertices)?;
    let size = std::fs::metadata(&path)?.len();
    let in_memory = mesh.heap_bytes() as f64;
    println!(
        "file {} ({:.1} MB): {} vertices, {} triangles; mesh in memory {:.1} MB",
        path.display(),
        size as f64 / 1e6,
        mesh.vertex_count(),
        mesh.triangle_count(),
        in_memory / 1e6
    );
    let py = crate::venv()?;
    let script = crate::root().join("bench/read_mesh.py");
    crate::run(std::process::Command::new(env!("CARGO")).args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "facevault",
    ]))?;
    let me = crate::root().join("target/release/facevault");
    let me = me.into_os_string();
    let (py, script, path_os) = (py.into_os_string(), script.into_os_string(), path.clone().into_os_string());
    let tools: [(&str, Vec<std::ffi::OsString>); 3] = [
        ("facevault", vec![me, "mesh".into(), "bench-read".into(), path_os.clone()]),
        ("open3d", vec![py.clone(), script.clone(), "open3d".into(), path_os.clone()]),
        ("trimesh", vec![py, script, "trimesh".into(), path_os]),
    ];
    let mut results = Vec::new();
    // Interleave the tools run by run, so that a noisy moment hurts all of them alike.
    let mut all: Vec<Vec<Run>> = (0..tools.len()).map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for ((name, argv), out) in tools.iter().zip(all.iter_mut()) {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            out.push(child(&mut cmd).with_context(|| format!("running {name}"))?);
        }
    }
    for ((name, _), runs) in tools.iter().zip(all) {
        let mut secs: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
        secs.sort_by(f64::total_cmp);
        let median = secs[secs.len() / 2];
        let peak = runs.iter().map(|r| r.peak_delta_bytes).fold(0.0, f64::max);
        let all: Vec<String> = secs.iter().map(|s| format!("{:.1}", s * 1e3)).collect();
        println!("{name:<10} runs (ms, sorted): {}", all.join(" "));
        results.push((*name, median, peak, runs));
    }
    let fv = &results[0];
    println!(
        "\n{:<10} {:>10} {:>12} {:>14} {:>12} {:>10}",
        "tool", "median s", "time ratio", "peak MB", "peak/mesh", "counts"
    );
    for (name, median, peak, runs) in &results {
        let r = &runs[0];
        let same = r.vertices == fv.3[0].vertices
            && r.triangles == fv.3[0].triangles
            && r.index_sum == fv.3[0].index_sum
            && ((r.coord_sum - fv.3[0].coord_sum).abs() <= 1e-6 * fv.3[0].coord_sum.abs().max(1.0));
        println!(
            "{name:<10} {median:>10.4} {:>11.2}x {:>14.1} {:>11.2}x {:>10}",
            median / fv.1,
            peak / 1e6,
            peak / in_memory,
            if same { "same" } else { "DIFFER" }
        );
    }
    let fastest_peer = results[1..].iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    let speedup = fastest_peer / fv.1;
    let mem_ratio = fv.2 / in_memory;
    println!(
        "\nFaceVault vs the faster peer: {speedup:.2}x faster (target >= 2x): {}",
        verdict(speedup >= 2.0)
    );
    println!(
        "FaceVault peak memory / mesh size: {mem_ratio:.2} (target <= 1.5): {}",
        verdict(mem_ratio <= 1.5)
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

fn child(cmd: &mut Command) -> Result<Run> {
    let map = crate::child_json(cmd)?;
    let field = |name: &str| crate::number(&map, name);
    Ok(Run {
        seconds: field("seconds")?,
        peak_delta_bytes: field("peak_delta_bytes")?,
        vertices: field("vertices")? as u64,
        triangles: field("triangles")? as u64,
        coord_sum: field("coord_sum")?,
        index_sum: field("index_sum")? as u64,
    })
}
