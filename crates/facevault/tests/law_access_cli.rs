//! The law's access right and the one disclosure path on the command line (issue 13, findings
//! 14 and 15; `crates/server/tests/api/law_access.rs` is the same over HTTP). After the
//! patient withdrew their consent, their own `subject export` and the privacy officer's
//! `request complete` of a verified access request both carry every scan and derivative. A
//! scan leaves the clinic only to a registered recipient (`scan export --recipient`): a free
//! text one is refused naming how to register it, a registered provider receives it, the
//! disclosure is in the subject's accounting, and the erasure sends it a notice.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use facevault_mesh::FileFormat;

const KEK: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const PASSPHRASE: &str = "law-access-cli-export-passphrase";

fn fv(vault: &Path, actor: &str, role: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facevault"));
    cmd.arg("--vault").arg(vault).args(["--actor", actor, "--role", role]).args(args).stdin(Stdio::null());
    for var in ["FACEVAULT_PASSPHRASE", "FACEVAULT_DIR", "FACEVAULT_ACTOR", "FACEVAULT_ROLE"] {
        cmd.env_remove(var);
    }
    cmd.env("FACEVAULT_KEK", KEK).env("FACEVAULT_EXPORT_PASSPHRASE", PASSPHRASE);
    cmd.output().unwrap()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn refused(o: Output) -> (Option<i32>, String) {
    assert!(!o.status.success(), "succeeded: {}", String::from_utf8_lossy(&o.stdout));
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A vault with one California subject who consented (with the share consent) to treatment
/// planning and research (approved by the privacy officer against the signed form), one scan,
/// and a symmetry analysis of it. Returns the directory, the vault, the subject and the scan.
fn clinic(name: &str) -> (PathBuf, PathBuf, String, String) {
    let dir = std::env::temp_dir().join(format!("facevault-law-access-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let vault = dir.join("vault");
    ok(fv(&vault, "admin", "admin", &["init"]));
    let subject =
        ok(fv(&vault, "desk", "front_desk", &["subject", "add", "--name", "L. Patient"])).trim().to_owned();
    let consent = dir.join("consent.toml");
    std::fs::write(
        &consent,
        "jurisdiction = \"CA\"\ncollect = true\nshare = true\n[notice]\nversion = \"v1\"\n\
         text = \"We use your scan to plan treatment (3 years) and for research (2 years) ...\"\n\
         covers = [\"purposes\", \"retention\", \"withdrawal\", \"limit-use\"]\n\
         [signature]\nmethod = \"electronic\"\ntyped_name = \"L. P.\"\n\
         [[purpose]]\nid = \"treatment-planning\"\nretention = \"3y\"\n\
         [[purpose]]\nid = \"research\"\nretention = \"2y\"\n",
    )
    .unwrap();
    // Research is beyond care: the front desk's consent waits for the signed form.
    let id = ok(fv(&vault, "desk", "front_desk", &["consent", "add", &subject, consent.to_str().unwrap()]));
    let form = "5".repeat(64);
    ok(fv(
        &vault,
        "po",
        "privacy_officer",
        &["consent", "approve", &subject, id.trim(), "--form-sha256", &form],
    ));
    let mesh = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 1_500).mesh;
    let face = dir.join("face.ply");
    std::fs::write(&face, facevault_mesh::to_bytes(&mesh, FileFormat::PlyBinaryLittleEndian)).unwrap();
    let scan = ok(fv(
        &vault,
        "dr",
        "surgeon",
        &["scan", "import", &subject, face.to_str().unwrap(), "--purpose", "treatment-planning"],
    ))
    .trim()
    .to_owned();
    ok(fv(&vault, "dr", "surgeon", &["scan", "analyze", "symmetry", &scan]));
    (dir, vault, subject, scan)
}

/// The counts of the package's manifest, opened with the export passphrase.
fn counts(file: &Path) -> (u64, u64) {
    let sealed = std::fs::read(file).unwrap();
    let identity = age::scrypt::Identity::new(PASSPHRASE.to_owned().into());
    let decryptor = age::Decryptor::new(&sealed[..]).unwrap();
    let mut reader = decryptor.decrypt(std::iter::once(&identity as &dyn age::Identity)).unwrap();
    let mut tar = Vec::new();
    reader.read_to_end(&mut tar).unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == "manifest.json" {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            return (m["counts"]["scans"].as_u64().unwrap(), m["counts"]["derivatives"].as_u64().unwrap());
        }
    }
    panic!("no manifest.json in {}", file.display());
}

#[test]
fn access_after_withdrawal_answers_with_every_scan_and_derivative() {
    let (dir, vault, subject, scan) = clinic("withdrawal");
    let lineage = ok(fv(&vault, "dr", "surgeon", &["lineage", &scan]));
    let derivatives: u64 = lineage
        .lines()
        .find_map(|l| l.strip_prefix("derived"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no derivative count in {lineage}"));
    assert!(derivatives >= 1, "the analysis stored no derivative");
    ok(fv(&vault, &subject, "patient", &["consent", "withdraw", &subject]));
    // The surgeon is refused now, for care and research alike.
    let (code, err) = refused(fv(&vault, "dr", "surgeon", &["subject", "show", &subject]));
    assert_eq!(code, Some(8), "{err}");

    // The patient's own export, for a purpose they no longer consent to: every scan and
    // derivative.
    let own = dir.join("own.tar.age");
    ok(fv(
        &vault,
        &subject,
        "patient",
        &["subject", "export", &subject, own.to_str().unwrap(), "--purpose", "research"],
    ));
    assert_eq!(counts(&own), (1, derivatives));
    // The privacy officer may not export outside a request; a verified access request, yes.
    let (code, err) =
        refused(fv(&vault, "po", "privacy_officer", &["subject", "export", &subject, own.to_str().unwrap()]));
    assert_eq!(code, Some(8), "{err}");
    let id = ok(fv(&vault, "desk", "front_desk", &["request", "open", &subject, "--kind", "access"]))
        .trim()
        .to_owned();
    ok(fv(&vault, "po", "privacy_officer", &["request", "verify", &id, "--level", "strong"]));
    let answered = dir.join("answer.tar.age");
    ok(fv(
        &vault,
        "po",
        "privacy_officer",
        &["request", "complete", &id, "--out", answered.to_str().unwrap()],
    ));
    assert_eq!(counts(&answered), (1, derivatives));
}

#[test]
fn a_scan_leaves_only_to_a_registered_recipient_recorded_and_told_of_erasure() {
    let (dir, vault, subject, scan) = clinic("recipient");
    let out = dir.join("out.ply");
    let export = |to: &str| {
        fv(
            &vault,
            "dr",
            "surgeon",
            &[
                "scan",
                "export",
                &scan,
                out.to_str().unwrap(),
                "--purpose",
                "treatment-planning",
                "--recipient",
                to,
            ],
        )
    };
    // A free-text recipient: refused naming why and how to register; no file, nothing recorded.
    let (code, err) = refused(export("Dr. Anyone, anywhere"));
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("not registered") && err.contains("vendor add"), "{err}");
    assert!(!out.exists());
    let shown = ok(fv(&vault, "dr", "surgeon", &["subject", "show", &subject]));
    assert!(!shown.contains("Anyone"), "{shown}");

    // Registered as a health care provider, it receives the scan for treatment.
    let provider = dir.join("provider.toml");
    std::fs::write(
        &provider,
        "[[vendor]]\nid = \"rivera-referral\"\nname = \"Dr Rivera Facial Clinic\"\nrole = \"provider\"\n\
         purposes = [\"treatment-planning\"]\ncategories = [\"face-scan\"]\nregion = \"US-CA\"\n",
    )
    .unwrap();
    ok(fv(&vault, "po", "privacy_officer", &["vendor", "add", provider.to_str().unwrap()]));
    ok(export("rivera-referral"));
    assert!(std::fs::read(&out).unwrap().starts_with(b"ply\n"));
    let shown = ok(fv(&vault, "dr", "surgeon", &["subject", "show", &subject]));
    assert!(shown.contains("treatment for treatment-planning to rivera-referral"), "{shown}");

    // The erasure sends it a deletion notice.
    let id = ok(fv(&vault, "desk", "front_desk", &["request", "open", &subject, "--kind", "delete"]))
        .trim()
        .to_owned();
    ok(fv(&vault, "po", "privacy_officer", &["request", "verify", &id, "--level", "strong"]));
    let o = fv(&vault, "po", "privacy_officer", &["request", "complete", &id]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    ok(o);
    assert!(err.contains("deletion notice to vendor rivera-referral"), "{err}");
    let file = ok(fv(&vault, "po", "privacy_officer", &["request", "show", &id]));
    assert!(file.contains("vendor notice rivera-referral"), "{file}");
}
