//! The hostile-input corpus (`tests/hostile/`, written by `make_corpus.py`): every file must be
//! rejected with the error kind its MANIFEST line names, at a place inside the file, whether
//! the reader knows the total length or only streams.

use facevault_mesh::{read, read_from, Location, ReadOptions};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile");

fn manifest() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{DIR}/MANIFEST")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (file, kind) = l.split_once(' ').unwrap();
            (file.to_string(), kind.trim().to_string())
        })
        .collect()
}

#[test]
fn corpus_is_big_and_fully_listed() {
    let listed: Vec<String> = manifest().into_iter().map(|(f, _)| f).collect();
    assert!(listed.len() >= 30, "only {} hostile files", listed.len());
    for entry in std::fs::read_dir(DIR).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("fail_") {
            assert!(listed.contains(&name), "{name} is not in MANIFEST");
        }
    }
}

#[test]
fn every_hostile_file_fails_with_its_kind_and_place() {
    let mut wrong = Vec::new();
    for (file, kind) in manifest() {
        let bytes = std::fs::read(format!("{DIR}/{file}")).unwrap();
        match read(&bytes, &ReadOptions::default()) {
            Ok(m) => wrong.push(format!("{file}: accepted ({} vertices)", m.mesh.vertex_count())),
            Err(e) => {
                if e.kind.code() != kind {
                    wrong.push(format!("{file}: expected {kind}, got {} ({e})", e.kind.code()));
                }
                let inside = match e.at {
                    Location::Byte(b) => b <= bytes.len() as u64,
                    Location::Line(l) => l >= 1 && l <= bytes.split(|&b| b == b'\n').count() as u64,
                    _ => false,
                };
                if !inside {
                    wrong.push(format!("{file}: place {} is outside the file ({e})", e.at));
                }
            }
        }
        // Streaming, with the length unknown, must fail too (the kind may differ: a lying count
        // is then caught as truncation instead of up front).
        if let Ok(m) = read_from(&bytes[..], None, &ReadOptions::default()) {
            wrong.push(format!("{file}: accepted when streamed ({} vertices)", m.mesh.vertex_count()));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
