//! `cargo xtask bench analysis`: FaceVault's compare (registration + signed distance at every
//! vertex) against Open3D's best pipeline (voxel-downsampled Tukey point-to-plane ICP +
//! `RaycastingScene.compute_distance`) on the same pre/post pair, each in a fresh process, at
//! 50k, 200k and 860k vertices; plus FaceVault's symmetry analysis. Prints time, peak memory
//! and accuracy against the synthetic ground truth, and the ratios.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use facevault_analysis::{compare, symmetry, CompareOptions, SymmetryOptions, Transform};
use facevault_mesh::{FileFormat, Mesh, ReadOptions, Unit};
use facevault_synthface::{generate, nasal_dorsum_reduction, FaceParams, RigidMotion};

struct Case {
    pre: PathBuf,
    post: PathBuf,
    /// True post → pre transform, and the true signed distance of each aligned post vertex.
    truth: Transform,
    distances: Vec<f64>,
    post_positions: Vec<[f32; 3]>,
}

fn write_ply(path: &Path, mesh: &Mesh) -> Result<()> {
    let (p, t, ..) = mesh.clone().into_parts();
    let bare = Mesh::new(p, t)?;
    std::fs::write(path, facevault_mesh::to_bytes(&bare, FileFormat::PlyBinaryLittleEndian))?;
    Ok(())
}

fn make_case(vertices: usize) -> Result<Case> {
    let dir = crate::root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let pre = generate(&FaceParams::default(), vertices);
    let motion = RigidMotion::random(3, 15.0, 20.0);
    let deformed = nasal_dorsum_reduction(&pre, 2.0, 6.0);
    let post = deformed.transformed(&motion);
    let k = vertices / 1000;
    let (pre_path, post_path) = (dir.join(format!("pre-{k}k.ply")), dir.join(format!("post-{k}k.ply")));
    write_ply(&pre_path, &pre.mesh)?;
    write_ply(&post_path, &post.mesh)?;
    let distances =
        pre.signed_distances(deformed.mesh.positions()).into_iter().map(|d| d.unwrap_or(f64::NAN)).collect();
    let inv = motion.inverse();
    Ok(Case {
        pre: pre_path,
        post: post_path,
        truth: Transform { rotation: inv.rotation, translation: inv.translation },
        distances,
        post_positions: post.mesh.positions().to_vec(),
    })
}

struct Outcome {
    seconds: f64,
    peak_mb: f64,
    /// Resident memory before the analysis starts (the scans read), when the tool reports it.
    input_mb: Option<f64>,
    rigid_rms_mm: f64,
    map_rms_err_mm: f64,
    map_max_err_mm: f64,
}

fn read_f64s(path: &Path) -> Result<Vec<f64>> {
    let b = std::fs::read(path)?;
    Ok(b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default())).collect())
}

/// Runs one tool's child and scores its output: the first 12 numbers are the 3x4 transform,
/// the rest one distance per post vertex.
fn score(case: &Case, cmd: &mut Command, out: &Path, signed: bool) -> Result<Outcome> {
    let map = crate::child_json(cmd)?;
    let field = |name: &str| crate::number(&map, name);
    let data = read_f64s(out)?;
    if data.len() != 12 + case.post_positions.len() {
        bail!("{} numbers, expected {}", data.len(), 12 + case.post_positions.len());
    }
    let t = Transform {
        rotation: [[data[0], data[1], data[2]], [data[4], data[5], data[6]], [data[8], data[9], data[10]]],
        translation: [data[3], data[7], data[11]],
    };
    let mut sq = 0.0;
    for &p in &case.post_positions {
        let (a, b) = (t.apply_f32(p), case.truth.apply_f32(p));
        sq += (0..3).map(|k| f64::from(a[k] - b[k]).powi(2)).sum::<f64>();
    }
    let (mut e2, mut emax, mut n) = (0.0, 0.0f64, 0usize);
    for (got, want) in data[12..].iter().zip(&case.distances) {
        if got.is_nan() || want.is_nan() {
            continue;
        }
        let want = if signed { *want } else { want.abs() };
        let e = (got - want).abs();
        e2 += e * e;
        emax = emax.max(e);
        n += 1;
    }
    Ok(Outcome {
        seconds: field("seconds")?,
        peak_mb: field("peak_bytes")? / 1e6,
        input_mb: field("input_bytes").ok().map(|b| b / 1e6),
        rigid_rms_mm: (sq / case.post_positions.len() as f64).sqrt(),
        map_rms_err_mm: (e2 / n.max(1) as f64).sqrt(),
        map_max_err_mm: emax,
    })
}

fn flag(args: &[&str], name: &str) -> Option<String> {
    args.iter().position(|a| *a == name).and_then(|i| args.get(i + 1)).map(|s| s.to_string())
}

pub fn run(args: &[&str]) -> Result<()> {
    let sizes: Vec<usize> = match flag(args, "--vertices") {
        Some(s) => s.split(',').map(|x| x.parse()).collect::<Result<_, _>>()?,
        None => vec![50_000, 200_000, 860_000],
    };
    let runs: usize = flag(args, "--runs").map(|s| s.parse()).transpose()?.unwrap_or(3).max(1);
    let py = crate::venv()?;
    let script = crate::root().join("bench/compare_open3d.py");
    let me = std::env::current_exe()?;
    let out = crate::root().join("target/bench/analysis-out.f64");
    println!(
        "{:>8} {:<10} {:>9} {:>9} {:>12} {:>12} {:>12}",
        "vertices", "tool", "median s", "peak MB", "rigid RMS", "map RMS err", "map max err"
    );
    for &n in &sizes {
        let case = make_case(n)?;
        let mut fv = Vec::new();
        let mut o3 = Vec::new();
        for _ in 0..runs {
            let mut c = Command::new(&me);
            c.args(["bench-analysis-child", "compare"]).arg(&case.pre).arg(&case.post).arg(&out);
            fv.push(score(&case, &mut c, &out, true).context("FaceVault")?);
            let mut c = Command::new(&py);
            c.arg(&script).arg(&case.pre).arg(&case.post).arg(&out);
            o3.push(score(&case, &mut c, &out, false).context("Open3D")?);
        }
        let median = |v: &mut Vec<Outcome>| {
            v.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
            v.swap_remove(v.len() / 2)
        };
        let (f, o) = (median(&mut fv), median(&mut o3));
        for (name, r) in [("facevault", &f), ("open3d", &o)] {
            println!(
                "{:>8} {:<10} {:>9.3} {:>9.1} {:>9.5} mm {:>9.5} mm {:>9.5} mm",
                n, name, r.seconds, r.peak_mb, r.rigid_rms_mm, r.map_rms_err_mm, r.map_max_err_mm
            );
        }
        let speedup = o.seconds / f.seconds;
        println!(
            "{n:>8} compare: FaceVault {speedup:.2}x faster than Open3D (target >= 3x, <= 1.0 s at 860k), peak memory {:.0} MB (target <= 400; {:.0} MB of it the two scans read before the compare)",
            f.peak_mb,
            f.input_mb.unwrap_or(f64::NAN)
        );
        let mut sym = Vec::new();
        for _ in 0..runs {
            let o = Command::new(&me).args(["bench-analysis-child", "symmetry"]).arg(&case.pre).output()?;
            if !o.status.success() {
                bail!("symmetry: {}", String::from_utf8_lossy(&o.stderr));
            }
            sym.push(String::from_utf8_lossy(&o.stdout).trim().to_string());
        }
        sym.sort();
        println!("{n:>8} symmetry (FaceVault; runs sorted by time): {}", sym.join(" | "));
    }
    Ok(())
}

fn status_kib(field: &str) -> Result<f64> {
    let s = std::fs::read_to_string("/proc/self/status")?;
    let line = s.lines().find(|l| l.starts_with(field)).context("no field")?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
}

fn read(path: &str) -> Result<Mesh> {
    let bytes = std::fs::read(path)?;
    let opts = ReadOptions { unit: Some(Unit::Millimetre), ..Default::default() };
    Ok(facevault_mesh::read(&bytes, &opts)?.mesh)
}

/// The FaceVault side, in its own process: `compare PRE POST OUT` or `symmetry SCAN`.
pub fn child(args: &[&str]) -> Result<()> {
    match args {
        ["compare", pre, post, out] => {
            let (pre, post) = (read(pre)?, read(post)?);
            // The two scans held before the compare starts: part of the peak, not its cost.
            let input = status_kib("VmRSS:")? * 1024.0;
            let t0 = Instant::now();
            let c = compare(&pre, &post, None, &CompareOptions::default(), &mut |_| {})?;
            let seconds = t0.elapsed().as_secs_f64();
            let peak = status_kib("VmHWM:")? * 1024.0;
            let m = c.report.registration.transform.matrix4();
            let mut bytes = Vec::with_capacity(8 * (12 + c.distances.len()));
            for v in m[..3].iter().flatten().copied().chain(c.distances.iter().map(|&d| f64::from(d))) {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            std::fs::write(out, bytes)?;
            println!("{{\"seconds\": {seconds}, \"peak_bytes\": {peak}, \"input_bytes\": {input}}}");
        }
        ["symmetry", scan] => {
            let scan = read(scan)?;
            let t0 = Instant::now();
            let s = symmetry(&scan, &SymmetryOptions::default(), &mut |_| {})?;
            let seconds = t0.elapsed().as_secs_f64();
            let peak = status_kib("VmHWM:")? / 1024.0;
            let n = s.report.plane.normal;
            let angle = n[0].abs().clamp(0.0, 1.0).acos().to_degrees();
            println!(
                "{seconds:.3} s, peak {peak:.0} MB, plane error {angle:.4}° / {:.4} mm",
                s.report.plane.offset.abs()
            );
        }
        _ => bail!("usage: bench-analysis-child compare PRE POST OUT | symmetry SCAN"),
    }
    Ok(())
}
