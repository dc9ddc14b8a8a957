//! The vault benchmark (issue 4): seal/open throughput next to memcpy and OpenSSL, end-to-end
//! import of an 860k-vertex binary PLY, and shredding a subject with 1,000 scans, all on the
//! default on-disk stack (SQLite + local blob files, fsync on). Run:
//! `cargo run --release -p facevault-store-sql --example vault_bench [--quick]`.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use facevault_crypto::{open, seal, sealed_len, BlobContext, DataKey, Id, MemoryKeys, ObjectKind};
use facevault_store_blob::ObjectBlobStore;
use facevault_store_sql::SqlStore;
use facevault_vault::{Capture, Purpose, SubjectDetails, SystemClock, Vault};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn gbs(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

fn throughput(mib: usize) -> Res<()> {
    let n = mib << 20;
    let key = DataKey::generate()?;
    let ctx = BlobContext {
        vault: Id::random()?,
        subject: Id::random()?,
        object: Id::random()?,
        kind: ObjectKind::Scan,
        version: 1,
    };
    let src: Vec<u8> = (0..n).map(|i| (i * 7 + i / 4096) as u8).collect();
    let mut dst = vec![0u8; n];
    let mut memcpy = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&dst);
        memcpy = memcpy.min(t.elapsed().as_secs_f64());
    }
    let mut buf = Vec::with_capacity(sealed_len(n).ok_or("too large")?);
    let (mut s, mut o) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        buf.clear();
        buf.extend_from_slice(&src);
        let t = Instant::now();
        let sealed = seal(&key, &ctx, std::mem::take(&mut buf))?;
        s = s.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        buf = open(&key, &ctx, sealed)?;
        o = o.min(t.elapsed().as_secs_f64());
    }
    if buf != src {
        return Err("round trip mismatch".into());
    }
    println!("memcpy          {mib} MiB: {:.2} GB/s", gbs(n, memcpy));
    println!("seal (1 core)   {mib} MiB: {:.2} GB/s", gbs(n, s));
    println!("open (1 core)   {mib} MiB: {:.2} GB/s", gbs(n, o));
    match Command::new("openssl")
        .args(["speed", "-evp", "aes-256-gcm", "-bytes", "16384", "-seconds", "2"])
        .output()
    {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            // The last line is "AES-256-GCM <k bytes/s>..."; the figure is in 1000s of bytes/s.
            let figure = text
                .lines()
                .last()
                .and_then(|l| l.split_whitespace().last())
                .map(|f| f.trim_end_matches('k'));
            match figure.and_then(|f| f.parse::<f64>().ok()) {
                Some(k) => println!(
                    "openssl speed -evp aes-256-gcm (16 KiB, 1 core): {:.2} GB/s; seal/openssl {:.2}, open/openssl {:.2}",
                    k * 1e3 / 1e9,
                    gbs(n, s) / (k * 1e3 / 1e9),
                    gbs(n, o) / (k * 1e3 / 1e9)
                ),
                None => println!("openssl speed: could not read its output"),
            }
        }
        Err(e) => println!("openssl speed: not run ({e})"),
    }
    Ok(())
}

async fn vault_figures(vertices: usize, scans: usize) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let meta = SqlStore::open_sqlite(&dir.path().join("vault.db")).await?;
    let blobs = ObjectBlobStore::local(&dir.path().join("blobs"))?;
    let v = Vault::open(meta, blobs, Arc::new(MemoryKeys::generate()?), SystemClock).await?;
    let capture = || Capture {
        device: "bench".into(),
        captured_on: "2025-01-01".into(),
        purpose: Purpose(facevault_vault::testing::PURPOSE.into()),
    };

    let face = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), vertices).mesh;
    let ply_path = dir.path().join("scan.ply");
    std::fs::write(
        &ply_path,
        facevault_mesh::to_bytes(&face, facevault_mesh::FileFormat::PlyBinaryLittleEndian),
    )?;
    let subject =
        v.new_subject(&SubjectDetails { name: "Bench Subject".into(), ..Default::default() }).await?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        let bytes = std::fs::read(&ply_path)?;
        let mesh = facevault_mesh::read(&bytes, &facevault_mesh::ReadOptions::default())?.mesh;
        drop(bytes);
        v.import_scan(subject, &mesh, capture()).await?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let size = std::fs::metadata(&ply_path)?.len();
    println!(
        "scan import end to end ({} vertices, {:.1} MB binary PLY: read file, parse, write PLY, seal, fsync blob, commit): {:.3} s (target <= 0.5 s)",
        face.vertex_count(),
        size as f64 / 1e6,
        best
    );

    let small = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 2_000).mesh;
    let many = v.new_subject(&SubjectDetails { name: "Many Scans".into(), ..Default::default() }).await?;
    let t = Instant::now();
    for _ in 0..scans {
        v.import_scan(many, &small, capture()).await?;
    }
    println!("imported {scans} small scans in {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let report = v.shred(many).await?;
    println!(
        "shred a subject with {} scans (key, details and records destroyed; {} blobs queued): {:.1} ms (target <= 50 ms)",
        report.scans,
        report.blobs_queued,
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let purged = v.purge_blobs(|_, _| {}).await?;
    println!("then purge the {purged} undecryptable blobs: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    Ok(())
}

fn main() -> Res<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    throughput(if quick { 8 } else { 64 })?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(vault_figures(if quick { 20_000 } else { 860_000 }, if quick { 50 } else { 1_000 }))
}
