//! The layering ARCHITECTURE.md states as invariants, read from the manifests and sources:
//!
//! - neither the server nor the application crate depends on or names `store-sql` or
//!   `store-blob` (adapters are the binary's choice);
//! - the application crate knows nothing of HTTP or the terminal (no axum, hyper, clap);
//! - the binary takes from the server only what `facevault serve` (and the demo, which serves)
//!   needs.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = read(&path);
                out.push((path, text));
            }
        }
    }
    out
}

/// The `[dependencies]` table of a manifest (not dev-dependencies: tests may use adapters).
fn dependencies(manifest: &str) -> String {
    let start = manifest.find("[dependencies]").map_or(manifest.len(), |i| i + "[dependencies]".len());
    let rest = &manifest[start..];
    let end = rest.find("\n[").unwrap_or(rest.len());
    rest[..end].to_owned()
}

fn check_absent(crate_dir: &str, words: &[&str]) -> Vec<String> {
    let dir = root().join(crate_dir);
    let mut found = Vec::new();
    let deps = dependencies(&read(&dir.join("Cargo.toml")));
    for w in words {
        let dep = w.replace('_', "-");
        if deps.contains(&dep) {
            found.push(format!("{crate_dir}/Cargo.toml depends on {dep}"));
        }
    }
    for (path, text) in sources(&dir.join("src")) {
        for w in words {
            if text.contains(w) {
                found.push(format!("{} names {w}", path.display()));
            }
        }
    }
    found
}

#[test]
fn the_server_and_the_app_name_no_store_adapter() {
    let adapters = ["facevault_store_sql", "facevault_store_blob"];
    let mut found = check_absent("crates/server", &adapters);
    found.extend(check_absent("crates/app", &adapters));
    assert!(found.is_empty(), "adapters named outside the binary:\n{}", found.join("\n"));
}

#[test]
fn the_app_knows_no_front_end() {
    let found = check_absent("crates/app", &["axum", "hyper", "clap", "utoipa", "facevault_server"]);
    assert!(found.is_empty(), "front-end crates named in the app:\n{}", found.join("\n"));
}

#[test]
fn the_binary_takes_from_the_server_only_what_serving_needs() {
    let allowed = ["cmd/serve.rs", "cmd/demo.rs"];
    let dir = root().join("crates/facevault/src");
    let mut found = Vec::new();
    for (path, text) in sources(&dir) {
        let rel = path.strip_prefix(&dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        if text.contains("facevault_server") && !allowed.contains(&rel.as_str()) {
            found.push(rel);
        }
    }
    assert!(found.is_empty(), "the server used by more than `serve`: {found:?}");
}

#[test]
fn the_checks_see_what_they_check() {
    // A check that reads nothing cannot fail: each looks at real files.
    assert!(sources(&root().join("crates/server/src")).len() > 10);
    assert!(sources(&root().join("crates/app/src")).len() > 10);
    assert!(dependencies(&read(&root().join("crates/server/Cargo.toml"))).contains("facevault-app"));
}
