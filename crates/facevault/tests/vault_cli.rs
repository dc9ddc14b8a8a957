//! The vault commands run as a user would, on a real on-disk vault: the whole lifecycle
//! (init, subjects, import, export, lineage, rotation, shred, fsck), no plaintext at rest,
//! key errors, tampering and the exit codes that tell them apart.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use facevault_mesh::{FileFormat, Mesh, ReadOptions};

const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const K2: &str = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
const NAME: &str = "Zenobia Quartermaine-Osei";

/// Run the binary on `vault` with exactly the key environment given (no inherited FACEVAULT_*).
fn fv(vault: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facevault"));
    cmd.arg("--vault").arg(vault).args(args).stdin(Stdio::null());
    for var in ["FACEVAULT_KEK", "FACEVAULT_PASSPHRASE", "FACEVAULT_DIR", "FACEVAULT_ACTOR"] {
        cmd.env_remove(var);
    }
    // A surgeon unless the test says otherwise: clinical reads, analyses and exports.
    cmd.env("FACEVAULT_ROLE", "surgeon");
    cmd.envs(env.iter().copied());
    cmd.output().unwrap()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("facevault-vault-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A synthetic face written as binary PLY; returns its path and mesh.
fn face_file(dir: &Path, vertices: usize) -> (PathBuf, Mesh) {
    let mesh = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), vertices).mesh;
    let path = dir.join("face.ply");
    std::fs::write(&path, facevault_mesh::to_bytes(&mesh, FileFormat::PlyBinaryLittleEndian)).unwrap();
    (path, mesh)
}

/// A vault keyed by `FACEVAULT_KEK=K1` with one subject and one imported scan.
struct Fixture {
    dir: PathBuf,
    vault: PathBuf,
    subject: String,
    scan: String,
    mesh: Mesh,
}

fn fixture(name: &str) -> Fixture {
    let dir = scratch(name);
    let vault = dir.join("vault");
    let env = [("FACEVAULT_KEK", K1)];
    ok(fv(&vault, &env, &["init"]));
    let subject = ok(fv(
        &vault,
        &env,
        &["subject", "add", "--name", NAME, "--dob", "1961-04-12", "--contact", "z@example.org"],
    ))
    .trim()
    .to_string();
    consent(&dir, &vault, &env, &subject);
    let (file, mesh) = face_file(&dir, 2_000);
    let scan = ok(fv(
        &vault,
        &env,
        &["scan", "import", &subject, file.to_str().unwrap(), "--purpose", "treatment-planning"],
    ))
    .trim()
    .to_string();
    std::fs::remove_file(file).unwrap();
    Fixture { dir, vault, subject, scan, mesh }
}

/// Records a consent (jurisdiction "other") to treatment planning and post-op tracking.
fn consent(dir: &Path, vault: &Path, env: &[(&str, &str)], subject: &str) {
    let file = dir.join("consent.toml");
    std::fs::write(
        &file,
        r#"jurisdiction = "other"
collect = true
[notice]
version = "test-1"
text = "We use your 3D scan to plan your treatment and follow your recovery, and keep it 3 years."
covers = ["purposes", "retention", "withdrawal"]
[signature]
method = "electronic"
typed_name = "Z. Q.-O."
[[purpose]]
id = "treatment-planning"
retention = "3y"
[[purpose]]
id = "post-op-tracking"
retention = "3y"
"#,
    )
    .unwrap();
    let mut env = env.to_vec();
    env.push(("FACEVAULT_ROLE", "front_desk"));
    ok(fv(vault, &env, &["consent", "add", subject, file.to_str().unwrap()]));
}

fn read_mesh(path: &Path) -> Mesh {
    facevault_mesh::read(&std::fs::read(path).unwrap(), &ReadOptions::default()).unwrap().mesh
}

#[test]
fn lifecycle_import_export_rotate_shred_fsck() {
    let f = fixture("lifecycle");
    let k1 = [("FACEVAULT_KEK", K1)];
    assert_eq!(f.subject.len(), 32, "{}", f.subject);
    assert_eq!(f.scan.len(), 32, "{}", f.scan);

    let list = ok(fv(&f.vault, &k1, &["subject", "list"]));
    assert!(list.contains(&f.subject), "{list}");
    assert!(!list.contains("Zenobia") && !list.contains("1961"), "list shows identifying details: {list}");

    let show = ok(fv(&f.vault, &k1, &["subject", "show", &f.subject]));
    assert!(show.contains(NAME) && show.contains("1961-04-12") && show.contains(&f.scan), "{show}");
    assert!(show.contains("treatment-planning"), "{show}");

    let out = f.dir.join("export.ply");
    ok(fv(
        &f.vault,
        &k1,
        &[
            "scan",
            "export",
            &f.scan,
            out.to_str().unwrap(),
            "--purpose",
            "treatment-planning",
            "--recipient",
            "clinic",
        ],
    ));
    assert_eq!(read_mesh(&out).positions(), f.mesh.positions());
    assert_eq!(read_mesh(&out).triangles(), f.mesh.triangles());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let show = ok(fv(&f.vault, &k1, &["subject", "show", &f.subject]));
    assert!(show.contains("disclosed") && show.contains("export for treatment-planning to clinic"), "{show}");

    let lineage = ok(fv(&f.vault, &k1, &["lineage", &f.scan]));
    assert!(lineage.starts_with(&format!("scan {}\n", f.scan)), "{lineage}");
    assert!(lineage.contains("0 derivative(s)"), "{lineage}");

    // Rotation with env keys: the operator adds version 2, `key rotate` rewraps onto it, and
    // afterwards version 2 alone opens everything.
    let both = [("FACEVAULT_KEK", &*format!("1:{K1},2:{K2}"))];
    let rotated = fv(&f.vault, &both, &["key", "rotate"]);
    assert!(
        stderr(&rotated).contains("KEK v2 is current; 1 subject key(s) rewrapped"),
        "{}",
        stderr(&rotated)
    );
    let k2 = [("FACEVAULT_KEK", &*format!("2:{K2}"))];
    let out2 = f.dir.join("export2.obj");
    ok(fv(
        &f.vault,
        &k2,
        &[
            "scan",
            "export",
            &f.scan,
            out2.to_str().unwrap(),
            "--purpose",
            "treatment-planning",
            "--recipient",
            "subject",
        ],
    ));
    assert_eq!(read_mesh(&out2).vertex_count(), f.mesh.vertex_count());
    // The retired key no longer opens the subject.
    let old = fv(&f.vault, &k1, &["subject", "show", &f.subject]);
    assert_eq!(old.status.code(), Some(5), "{}", stderr(&old));

    let officer = [k2[0], ("FACEVAULT_ROLE", "privacy_officer")];
    let shred = fv(&f.vault, &officer, &["subject", "shred", &f.subject, "--yes"]);
    assert!(shred.status.success(), "{}", stderr(&shred));
    // The shred comes with a signed deletion certificate that verifies offline.
    let cert = String::from_utf8_lossy(&shred.stdout).trim().strip_prefix("certificate ").unwrap().to_owned();
    let checked = ok(fv(&f.vault, &[], &["certificate", "verify", &cert]));
    assert!(checked.contains(&f.subject), "{checked}");
    assert!(stderr(&shred).contains("1 blob(s) purged"), "{}", stderr(&shred));
    for args in [
        vec!["subject", "show", f.subject.as_str()],
        vec![
            "scan",
            "export",
            &f.scan,
            "/dev/null",
            "--format",
            "ply",
            "--purpose",
            "treatment-planning",
            "--recipient",
            "clinic",
        ],
        vec!["lineage", &f.scan],
        vec!["subject", "shred", &f.subject, "--yes"],
    ] {
        let o = fv(&f.vault, &officer, &args);
        assert_eq!(o.status.code(), Some(6), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("error: no "), "{args:?}: {}", stderr(&o));
    }
    let list = ok(fv(&f.vault, &k2, &["subject", "list"]));
    assert!(!list.contains(&f.subject), "{list}");
    let fsck = ok(fv(&f.vault, &k2, &["fsck"]));
    assert!(fsck.contains("0 subject(s)") && fsck.ends_with("clean\n"), "{fsck}");
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_plaintext_identity_coordinates_or_key_bytes_under_the_vault() {
    let f = fixture("plaintext");
    let mut files = Vec::new();
    files_under(&f.vault, &mut files);
    assert!(files.iter().any(|p| p.ends_with("vault.db")), "{files:?}");
    assert!(files.iter().any(|p| p.to_string_lossy().contains("/blobs/")), "{files:?}");
    let key: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&K1[2 * i..2 * i + 2], 16).unwrap()).collect();
    let mut needles: Vec<(String, Vec<u8>)> = vec![
        ("name".into(), NAME.as_bytes().to_vec()),
        ("contact".into(), b"z@example.org".to_vec()),
        ("date of birth".into(), b"1961-04-12".to_vec()),
        ("KEK".into(), key),
    ];
    // Every 97th vertex's 12 coordinate bytes, as a binary PLY (or a memory dump) holds them.
    for (i, p) in f.mesh.positions().iter().enumerate().step_by(97) {
        let bytes: Vec<u8> = p.iter().flat_map(|c| c.to_le_bytes()).collect();
        needles.push((format!("vertex {i}"), bytes));
    }
    for file in &files {
        let hay = std::fs::read(file).unwrap();
        for (what, needle) in &needles {
            assert!(!contains(&hay, needle), "{what} in plaintext in {}", file.display());
        }
    }
    // The scan file's bytes really contain the needles (the test can fail).
    let plain = facevault_mesh::to_bytes(&f.mesh, FileFormat::PlyBinaryLittleEndian);
    assert!(needles[4..].iter().all(|(_, n)| contains(&plain, n)));
}

#[test]
fn passphrase_key_file_and_a_wrong_passphrase_exits_5() {
    let dir = scratch("passphrase");
    let vault = dir.join("vault");
    let pass = [("FACEVAULT_PASSPHRASE", "correct horse battery staple")];
    let init = fv(&vault, &pass, &["init"]);
    assert!(init.status.success(), "{}", stderr(&init));
    assert!(stderr(&init).contains("keys.json"), "{}", stderr(&init));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(vault.join("keys.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let id = ok(fv(&vault, &pass, &["subject", "add", "--name", NAME])).trim().to_string();
    consent(&dir, &vault, &pass, &id);
    assert!(ok(fv(&vault, &pass, &["subject", "show", &id])).contains(NAME));

    let wrong = fv(&vault, &[("FACEVAULT_PASSPHRASE", "incorrect horse")], &["subject", "show", &id]);
    assert_eq!(wrong.status.code(), Some(5), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("wrong passphrase"), "{}", stderr(&wrong));
    assert!(!stderr(&wrong).contains("incorrect horse") && wrong.stdout.is_empty());
    // No terminal and no variable: a clear key error, not a hang.
    let none = fv(&vault, &[], &["subject", "list"]);
    assert_eq!(none.status.code(), Some(5), "{}", stderr(&none));
    assert!(stderr(&none).contains("FACEVAULT_PASSPHRASE"), "{}", stderr(&none));

    // The key file rotates in place and the subject stays readable.
    let rotated = fv(&vault, &pass, &["key", "rotate"]);
    assert!(stderr(&rotated).contains("KEK v2 is current; 1 subject key(s)"), "{}", stderr(&rotated));
    assert!(ok(fv(&vault, &pass, &["subject", "show", &id])).contains(NAME));
    assert!(ok(fv(&vault, &pass, &["fsck"])).ends_with("clean\n"));
}

#[test]
fn a_wrong_env_kek_exits_5_and_a_missing_one_says_so() {
    let f = fixture("wrong-kek");
    let wrong = fv(&f.vault, &[("FACEVAULT_KEK", K2)], &["subject", "show", &f.subject]);
    assert_eq!(wrong.status.code(), Some(5), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("cannot be unwrapped"), "{}", stderr(&wrong));
    let missing = fv(&f.vault, &[], &["subject", "list"]);
    assert_eq!(missing.status.code(), Some(5), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("FACEVAULT_KEK is not set"), "{}", stderr(&missing));
}

#[test]
fn shred_without_a_terminal_needs_yes() {
    let f = fixture("confirm");
    let k1 = [("FACEVAULT_KEK", K1)];
    let o = fv(&f.vault, &[k1[0], ("FACEVAULT_ROLE", "privacy_officer")], &["subject", "shred", &f.subject]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));
    assert!(ok(fv(&f.vault, &k1, &["subject", "show", &f.subject])).contains(NAME));
}

#[test]
fn a_flipped_blob_byte_fails_export_and_fsck_with_exit_7() {
    let f = fixture("tamper");
    let k1 = [("FACEVAULT_KEK", K1)];
    let blob = f.vault.join("blobs").join(&f.scan[..2]).join(&f.scan);
    let mut bytes = std::fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&blob, bytes).unwrap();
    let out = f.dir.join("tampered.ply");
    let export = fv(
        &f.vault,
        &k1,
        &[
            "scan",
            "export",
            &f.scan,
            out.to_str().unwrap(),
            "--purpose",
            "treatment-planning",
            "--recipient",
            "clinic",
        ],
    );
    assert_eq!(export.status.code(), Some(7), "{}", stderr(&export));
    assert!(stderr(&export).contains(&f.scan), "{}", stderr(&export));
    assert!(!out.exists(), "partial plaintext written");
    let leftovers: Vec<_> = std::fs::read_dir(&f.dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!leftovers.iter().any(|n| n.to_string_lossy().contains("partial")), "{leftovers:?}");
    let fsck = fv(&f.vault, &k1, &["fsck"]);
    assert_eq!(fsck.status.code(), Some(7), "{}", stderr(&fsck));
    assert!(String::from_utf8_lossy(&fsck.stdout).contains(&format!("object {} does not decrypt", f.scan)));
}

#[test]
fn unknown_vault_and_unknown_ids_have_their_own_exit_codes() {
    let dir = scratch("unknown");
    let k1 = [("FACEVAULT_KEK", K1)];
    let none = fv(&dir.join("nowhere"), &k1, &["subject", "list"]);
    assert_eq!(none.status.code(), Some(3), "{}", stderr(&none));
    assert!(stderr(&none).contains("no vault here"), "{}", stderr(&none));
    let vault = dir.join("vault");
    ok(fv(&vault, &k1, &["init"]));
    let again = fv(&vault, &k1, &["init"]);
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    let ghost = "00112233445566778899aabbccddeeff";
    let o = fv(&vault, &k1, &["scan", "import", ghost, "/dev/null", "--purpose", "treatment-planning"]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let o = fv(&vault, &k1, &["lineage", ghost]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(stderr(&o).contains("no scan or derivative"), "{}", stderr(&o));
}

#[test]
fn analyses_store_derivatives_with_lineage_and_shred_takes_them() {
    let f = fixture("analyze");
    let k1 = [("FACEVAULT_KEK", K1)];
    let (file, _) = face_file(&f.dir, 2_000);
    let post = ok(fv(
        &f.vault,
        &k1,
        &["scan", "import", &f.subject, file.to_str().unwrap(), "--purpose", "post-op-tracking"],
    ))
    .trim()
    .to_string();
    let sym = ok(fv(&f.vault, &k1, &["scan", "analyze", "symmetry", &f.scan]));
    let cmp = ok(fv(&f.vault, &k1, &["scan", "analyze", "compare", &f.scan, &post]));
    let ids = |out: &str| -> Vec<String> {
        out.lines().map(|l| l.split_whitespace().last().unwrap().to_string()).collect()
    };
    let (sym_ids, cmp_ids) = (ids(&sym), ids(&cmp));
    assert_eq!((sym_ids.len(), cmp_ids.len()), (2, 2), "{sym}{cmp}");

    let lineage = ok(fv(&f.vault, &k1, &["lineage", &f.scan]));
    assert!(lineage.contains("4 derivative(s)"), "{lineage}");
    for id in sym_ids.iter().chain(&cmp_ids) {
        assert!(lineage.contains(id.as_str()), "{id} missing from {lineage}");
    }
    assert!(
        lineage.contains("measurements by facevault-analysis") && lineage.contains("symmetry"),
        "{lineage}"
    );
    let of_post = ok(fv(&f.vault, &k1, &["lineage", &post]));
    assert!(of_post.contains("2 derivative(s)") && !of_post.contains(&sym_ids[0]), "{of_post}");
    let back = ok(fv(&f.vault, &k1, &["lineage", &cmp_ids[0]]));
    assert!(back.starts_with(&format!("derivative {}", cmp_ids[0])), "{back}");
    assert!(back.contains(&f.scan) && back.contains(&post), "{back}");
    let fsck = ok(fv(&f.vault, &k1, &["fsck"]));
    assert!(fsck.contains("6 object(s) verified"), "{fsck}");

    ok(fv(
        &f.vault,
        &[k1[0], ("FACEVAULT_ROLE", "privacy_officer")],
        &["subject", "shred", &f.subject, "--yes"],
    ));
    let gone = fv(&f.vault, &k1, &["lineage", &cmp_ids[0]]);
    assert_eq!(gone.status.code(), Some(6), "{}", stderr(&gone));
    assert!(ok(fv(&f.vault, &k1, &["fsck"])).contains("0 object(s) verified"));
}

#[test]
fn a_stored_compare_takes_the_file_commands_options_and_lineage_records_them() {
    use facevault_synthface::{generate, FaceParams, Landmark};
    let f = fixture("analyze-options");
    let k1 = [("FACEVAULT_KEK", K1)];
    let (file, _) = face_file(&f.dir, 2_000);
    let post = ok(fv(
        &f.vault,
        &k1,
        &["scan", "import", &f.subject, file.to_str().unwrap(), "--purpose", "post-op-tracking"],
    ))
    .trim()
    .to_string();
    // The fixture's faces are this one: its landmarks place the mask and the region.
    let face = generate(&FaceParams::default(), 2_000);
    let [gx, gy, gz] = face.landmarks[&Landmark::Glabella];
    let [nx, ny, nz] = face.landmarks[&Landmark::Pronasale];
    let mask = format!("{gx},{gy},{gz},40");
    let region = format!("nose:{nx},{ny},{nz},20");
    let cmp = ok(fv(
        &f.vault,
        &k1,
        &[
            "scan",
            "analyze",
            "compare",
            &f.scan,
            &post,
            "--mask",
            &mask,
            "--direction",
            "0,0,-1",
            "--region",
            &region,
            "--threshold",
            "0.25",
        ],
    ));
    let measurements = cmp.lines().next().unwrap().split_whitespace().last().unwrap().to_string();
    // The scan's lineage lists each derivative with the parameters it was made with.
    let lineage = ok(fv(&f.vault, &k1, &["lineage", &f.scan]));
    let parameters = lineage.lines().find(|l| l.contains(&measurements)).unwrap();
    for want in
        [r#""name":"nose""#, r#""radius_mm":20.0"#, r#""threshold_mm":0.25"#, r#""direction":[0.0,0.0,-1.0]"#]
    {
        assert!(parameters.contains(want), "{want} missing from {lineage}");
    }
    assert!(parameters.contains(r#""mask":[["#) && parameters.contains(",40.0]]"), "{lineage}");

    // What no analysis can run is refused naming the option, before any decision: exit 3.
    for (args, field) in [
        (vec!["--mask", "0,0,0,-1"], "mask"),
        (vec!["--region", "nose:0,0,0,0"], "regions"),
        (vec!["--direction", "0,0,0"], "direction"),
        (vec!["--threshold=-1"], "threshold_mm"),
    ] {
        let mut all = vec!["scan", "analyze", "compare", f.scan.as_str(), post.as_str()];
        all.extend(args);
        let o = fv(&f.vault, &k1, &all);
        assert_eq!(o.status.code(), Some(3), "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(&format!("{field}: ")), "{all:?}: {}", stderr(&o));
    }
    let o = fv(&f.vault, &k1, &["scan", "analyze", "compare", &f.scan, &post, "--mask", "0,0,NaN,1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    ok(fv(&f.vault, &k1, &["scan", "analyze", "symmetry", &f.scan, "--keep-negative-side"]));
}

#[test]
fn details_from_standard_input_keep_identity_off_the_command_line() {
    let dir = scratch("stdin-details");
    let vault = dir.join("vault");
    let env = [("FACEVAULT_KEK", K1)];
    ok(fv(&vault, &env, &["init"]));
    let add = |input: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_facevault"));
        cmd.arg("--vault").arg(&vault).args(["subject", "add", "--details-stdin"]);
        cmd.env_remove("FACEVAULT_PASSPHRASE").env("FACEVAULT_KEK", K1);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let id = ok(add(&format!("name: {NAME}\ndob: 1961-04-12\njurisdiction: US-IL\n"))).trim().to_string();
    consent(&dir, &vault, &env, &id);
    let show = ok(fv(&vault, &env, &["subject", "show", &id]));
    assert!(show.contains(NAME) && show.contains("1961-04-12") && show.contains("US-IL"), "{show}");

    let bad = add("name: X\nssn: 123\n");
    assert_eq!(bad.status.code(), Some(3));
    assert!(stderr(&bad).contains("line 2: unknown key \"ssn\""), "{}", stderr(&bad));
    // --name and --details-stdin together is a usage error, and one of them is required.
    assert_eq!(
        fv(&vault, &env, &["subject", "add", "--details-stdin", "--name", "X"]).status.code(),
        Some(2)
    );
    assert_eq!(fv(&vault, &env, &["subject", "add"]).status.code(), Some(2));
}

#[test]
fn an_export_passphrase_too_easy_to_guess_is_refused() {
    let f = fixture("weak-passphrase");
    let out = f.dir.join("package.tar.age");
    let export = |passphrase: &str| {
        let env = [
            ("FACEVAULT_KEK", K1),
            ("FACEVAULT_ROLE", "privacy_officer"),
            ("FACEVAULT_EXPORT_PASSPHRASE", passphrase),
        ];
        let args =
            ["subject", "export", &f.subject, out.to_str().unwrap(), "--purpose", "treatment-planning"];
        fv(&f.vault, &env, &args)
    };
    for weak in ["            ", "aaaaaaaaaaaa", "123456789012"] {
        let o = export(weak);
        assert_eq!(o.status.code(), Some(3), "{weak:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("too easy to guess"), "{weak:?}: {}", stderr(&o));
        assert!(!out.exists(), "{weak:?}: a package was written");
    }
    ok(export("tulip-granite-harbour-violin"));
    assert!(out.exists());
}
