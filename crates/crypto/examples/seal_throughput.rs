//! Seal and open throughput on one core, next to memcpy: `cargo run --release -p
//! facevault-crypto --example seal_throughput [MiB]` (default 64 MiB, best of 5 runs).

use std::time::Instant;

use facevault_crypto::{open, seal, sealed_len, BlobContext, DataKey, Id, ObjectKind};

fn best<F: FnMut() -> f64>(mut f: F) -> f64 {
    (0..5).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(64);
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
    let memcpy = best(|| {
        let t = Instant::now();
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&dst);
        t.elapsed().as_secs_f64()
    });
    let total = sealed_len(n).ok_or("too large")?;
    let mut buf = Vec::with_capacity(total);
    let (mut seal_s, mut open_s) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        buf.clear();
        buf.extend_from_slice(&src);
        let t = Instant::now();
        let sealed = seal(&key, &ctx, std::mem::take(&mut buf))?;
        seal_s = seal_s.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let opened = open(&key, &ctx, sealed)?;
        open_s = open_s.min(t.elapsed().as_secs_f64());
        if opened != src {
            return Err("round trip mismatch".into());
        }
        buf = opened;
    }
    let gbs = |s: f64| n as f64 / s / 1e9;
    println!(
        "blob {mib} MiB: memcpy {:.2} GB/s, seal {:.2} GB/s, open {:.2} GB/s",
        gbs(memcpy),
        gbs(seal_s),
        gbs(open_s)
    );
    Ok(())
}
