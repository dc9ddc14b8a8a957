//! The `facevault` command line, run as a user would: exit codes, messages that name the file
//! and the place, JSON output, conversion, and the demo.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn facevault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facevault")).args(args).output().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("facevault-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hostile(name: &str) -> String {
    format!("{}/../mesh/tests/hostile/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn square_ply(dir: &Path) -> String {
    let path = dir.join("square.ply");
    std::fs::write(
        &path,
        "ply\nformat ascii 1.0\ncomment unit cm\nelement vertex 4\nproperty float x\nproperty float y\n\
         property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n\
         0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n",
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn info_reports_counts_unit_and_geometry() {
    let dir = scratch("info");
    let file = square_ply(&dir);
    let out = facevault(&["mesh", "info", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("vertices    4\n"), "{text}");
    assert!(text.contains("triangles   2\n"), "{text}");
    assert!(text.contains("unit        cm (declared in file)"), "{text}");
    // 1 cm square = 100 mm².
    assert!(text.contains("area        100.0 mm²"), "{text}");
    assert!(text.contains("1 closed loop(s)"), "{text}");
}

#[test]
fn info_json_is_machine_readable() {
    let dir = scratch("json");
    let file = square_ply(&dir);
    let out = facevault(&["mesh", "info", &file, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["vertices"], 4);
    assert_eq!(v["triangles"], 2);
    assert_eq!(v["format"], "ply-ascii");
    assert_eq!(v["unit"]["unit"], "centimetre");
    assert_eq!(v["inspection"]["surface_area_mm2"], 100.0);
    assert_eq!(v["inspection"]["bounding_box"]["max"][0], 10.0);
}

#[test]
fn bad_input_exits_3_naming_file_and_place() {
    let file = hostile("fail_ply_nan.ply");
    let out = facevault(&["mesh", "info", &file]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("fail_ply_nan.ply: PLY byte 181: vertex 1 has a non-finite position"), "{err}");

    let out = facevault(&["mesh", "info", &hostile("fail_obj_index_zero.obj")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("OBJ line 4: face 0 refers to vertex 0"), "{}", stderr(&out));

    let out = facevault(&["mesh", "info", "/definitely/not/here.ply"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("/definitely/not/here.ply"), "{}", stderr(&out));
}

#[test]
fn bad_arguments_exit_2() {
    assert_eq!(facevault(&["mesh", "info"]).status.code(), Some(2));
    assert_eq!(facevault(&["mesh", "info", "x.ply", "--unit", "furlong"]).status.code(), Some(2));
}

#[test]
fn convert_picks_format_from_extension_or_flag_and_keeps_geometry() {
    let dir = scratch("convert");
    let file = square_ply(&dir);
    for (name, flag, detected) in [
        ("a.stl", None, "stl-binary"),
        ("b.obj", None, "obj"),
        ("c.ply", Some("ply-binary-be"), "ply-binary-be"),
        ("d.mesh", Some("stl-ascii"), "stl-ascii"),
    ] {
        let out_path = dir.join(name).to_string_lossy().into_owned();
        let mut args = vec!["mesh", "convert", &file, &out_path];
        if let Some(f) = flag {
            args.extend(["--format", f]);
        }
        let out = facevault(&args);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let info = facevault(&["mesh", "info", &out_path, "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        assert_eq!(v["format"], detected, "{name}");
        assert_eq!(v["triangles"], 2, "{name}");
        assert_eq!(v["vertices"], 4, "{name}");
        // Written in mm and declared so: the 1 cm square stays 10 mm wide.
        assert_eq!(v["unit"]["unit"], "millimetre", "{name}");
        assert_eq!(v["inspection"]["bounding_box"]["max"][0], 10.0, "{name}");
    }
}

#[test]
fn convert_refuses_unknown_extension_and_leaves_no_partial_file() {
    let dir = scratch("noext");
    let file = square_ply(&dir);
    let target = dir.join("out.xyz");
    let out = facevault(&["mesh", "convert", &file, target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("give --format"), "{}", stderr(&out));
    assert!(!target.exists());

    // A failed read leaves nothing behind either.
    let target = dir.join("out.ply");
    let out = facevault(&["mesh", "convert", &hostile("fail_ply_nan.ply"), target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "only the input remains");
}

#[test]
fn clean_flag_reports_and_removes_problems() {
    let dir = scratch("clean");
    let path = dir.join("dirty.obj");
    // A duplicate face, a degenerate face and an unreferenced vertex.
    std::fs::write(&path, "# unit mm\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 5 5 5\nf 1 2 3\nf 2 3 1\nf 1 1 2\n")
        .unwrap();
    let p = path.to_str().unwrap();
    let info = String::from_utf8(facevault(&["mesh", "info", p]).stdout).unwrap();
    assert!(info.contains("duplicate face"), "{info}");
    let out_path = dir.join("clean.ply");
    let out = facevault(&["mesh", "convert", p, out_path.to_str().unwrap(), "--clean"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("remove_duplicate_faces: 1 face"), "{}", stderr(&out));
    let info = String::from_utf8(facevault(&["mesh", "info", out_path.to_str().unwrap()]).stdout).unwrap();
    assert!(info.contains("vertices    3\n") && info.contains("triangles   1\n"), "{info}");
    assert!(info.contains("problems    none found"), "{info}");
}

#[test]
fn demo_writes_and_inspects_sample_scans() {
    let dir = scratch("demo");
    let out = facevault(&["demo", "--dir", dir.to_str().unwrap(), "--vertices", "2000", "--no-serve"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["pre-op.ply", "post-op-dorsum-2mm.ply", "cheek-augmented-left-3mm.obj", "pre-op.stl"] {
        assert!(dir.join(name).exists(), "{name}");
        assert!(text.contains(name), "{text}");
    }
    assert!(text.contains("canonical-face-mediapipe.obj       obj                 468       898"), "{text}");
    assert!(text.contains("cm (guessed"), "{text}");
    // The demo vault: built through the vault commands, so its audit log holds every step.
    assert!(text.contains("Demo vault ready: 3 subjects"), "{text}");
    assert!(dir.join("vault/docs/record-of-processing.md").exists());
    let requests = Command::new(env!("CARGO_BIN_EXE_facevault"))
        .args([
            "--vault",
            dir.join("vault").to_str().unwrap(),
            "--role",
            "privacy_officer",
            "request",
            "list",
        ])
        .env("FACEVAULT_PASSPHRASE", "facevault-demo")
        .env_remove("FACEVAULT_KEK")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&requests.stdout);
    assert!(requests.status.success() && listed.contains("access") && listed.contains("delete"), "{listed}");
    // A second run keeps the vault it built.
    let again = facevault(&["demo", "--dir", dir.to_str().unwrap(), "--vertices", "2000", "--no-serve"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already exists"));
}

#[test]
fn reads_a_scan_from_a_pipe_whose_length_is_unknown() {
    let dir = scratch("pipe");
    let file = square_ply(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_facevault"))
        .args(["mesh", "info", "/dev/stdin", "--json"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    // A pipe reports size 0; that must not be taken as the length.
    let mut child = Command::new("cat").arg(&file).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let piped = Command::new(env!("CARGO_BIN_EXE_facevault"))
        .args(["mesh", "info", "/dev/stdin", "--json"])
        .stdin(child.stdout.take().unwrap())
        .output()
        .unwrap();
    child.wait().unwrap();
    for o in [out, piped] {
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["triangles"], 2);
    }
    // A lying count through a pipe still fails cleanly, naming the place.
    let mut child = Command::new("cat")
        .arg(hostile("fail_ply_lying_vertex_count.ply"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_facevault"))
        .args(["mesh", "info", "/dev/stdin"])
        .stdin(child.stdout.take().unwrap())
        .output()
        .unwrap();
    child.wait().unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("PLY byte"), "{}", stderr(&o));
}
