//! The vendor registry, disclosures to vendors and the generated documents on a real vault:
//! a complete service-provider contract receives a scan for treatment even after an opt-out,
//! a third party never does then, an incomplete contract receives nothing, every disclosure
//! is recorded, and the documents follow the configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use facevault_mesh::FileFormat;

const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn fv(vault: &Path, role: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facevault"));
    cmd.arg("--vault").arg(vault).args(["--actor", "u-1", "--role", role]).args(args).stdin(Stdio::null());
    for var in ["FACEVAULT_PASSPHRASE", "FACEVAULT_DIR", "FACEVAULT_ACTOR", "FACEVAULT_ROLE"] {
        cmd.env_remove(var);
    }
    cmd.env("FACEVAULT_KEK", K1);
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

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("facevault-vendors-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples")
}

#[test]
fn vendors_disclosures_and_documents() {
    let dir = scratch("all");
    let vault = dir.join("vault");
    ok(fv(&vault, "admin", &["init"]));
    let subject = ok(fv(&vault, "front_desk", &["subject", "add", "--name", "V. Patient"])).trim().to_owned();
    let consent = dir.join("consent.toml");
    std::fs::write(
        &consent,
        "jurisdiction = \"CA\"\ncollect = true\nshare = true\n[notice]\nversion = \"v1\"\n\
         text = \"We use your scan for planning (3 years) and marketing images (2 years) ...\"\n\
         covers = [\"purposes\", \"retention\", \"withdrawal\", \"limit-use\"]\n\
         [signature]\nmethod = \"electronic\"\ntyped_name = \"V. P.\"\n\
         [[purpose]]\nid = \"treatment-planning\"\nretention = \"3y\"\n\
         [[purpose]]\nid = \"marketing-images\"\nretention = \"2y\"\n",
    )
    .unwrap();
    let id = ok(fv(&vault, "front_desk", &["consent", "add", &subject, consent.to_str().unwrap()]));
    // Marketing is beyond care: the signed form is approved by the privacy officer.
    ok(fv(
        &vault,
        "privacy_officer",
        &["consent", "approve", &subject, id.trim(), "--form", consent.to_str().unwrap()],
    ));
    let mesh = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 1_000).mesh;
    let face = dir.join("face.ply");
    std::fs::write(&face, facevault_mesh::to_bytes(&mesh, FileFormat::PlyBinaryLittleEndian)).unwrap();
    let scan = ok(fv(
        &vault,
        "surgeon",
        &["scan", "import", &subject, face.to_str().unwrap(), "--purpose", "treatment-planning"],
    ))
    .trim()
    .to_owned();

    // Only compliance roles edit the registry; a bad file is refused naming it.
    let vendors = examples().join("vendors.toml");
    let (code, _) = refused(fv(&vault, "surgeon", &["vendor", "add", vendors.to_str().unwrap()]));
    assert_eq!(code, Some(8));
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[vendor]]\nid = \"x\"\nname = \"X\"\nrole = \"third-party\"\npurposes = [\"mind-reading\"]\ncategories = [\"images\"]\nregion = \"US\"\n").unwrap();
    let (code, err) = refused(fv(&vault, "privacy_officer", &["vendor", "add", bad.to_str().unwrap()]));
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("bad.toml") && err.contains("mind-reading"), "{err}");
    let added = ok(fv(&vault, "privacy_officer", &["vendor", "add", vendors.to_str().unwrap()]));
    assert_eq!(added.lines().collect::<Vec<_>>(), ["lab-3d", "photo-agency"]);
    let list = ok(fv(&vault, "privacy_officer", &["vendor", "list"]));
    assert!(list.contains("lab-3d") && list.contains("complete for its role"), "{list}");

    let out = dir.join("to-lab.stl");
    let disclose = |vendor: &str, purpose: &str| {
        fv(
            &vault,
            "surgeon",
            &["disclose", &scan, out.to_str().unwrap(), "--vendor", vendor, "--purpose", purpose],
        )
    };
    ok(disclose("lab-3d", "treatment-planning"));
    assert!(out.exists());
    // The lab's contract does not cover marketing.
    let (code, err) = refused(fv(
        &vault,
        "marketing",
        &["disclose", &scan, out.to_str().unwrap(), "--vendor", "lab-3d", "--purpose", "marketing-images"],
    ));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("marketing-images"), "{err}");
    // After an opt-out, the service provider still receives for treatment; a third party does not.
    ok(fv(&vault, "privacy_officer", &["restrict", &subject, "opt-out"]));
    ok(disclose("lab-3d", "treatment-planning"));
    let (code, err) = refused(fv(
        &vault,
        "marketing",
        &[
            "disclose",
            &scan,
            out.to_str().unwrap(),
            "--vendor",
            "photo-agency",
            "--purpose",
            "marketing-images",
        ],
    ));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("opted out"), "{err}");
    let shown = ok(fv(&vault, "surgeon", &["subject", "show", &subject]));
    assert_eq!(shown.matches("business-purpose for treatment-planning to lab-3d").count(), 2, "{shown}");

    // Documents from the live configuration; they follow a change to it. Without clinic.toml
    // there is nothing to generate them from (exit 6, as HTTP's 404).
    let (code, err) = refused(fv(&vault, "privacy_officer", &["docs", "generate"]));
    assert_eq!(code, Some(6), "{err}");
    assert!(err.contains("clinic.toml"), "{err}");
    std::fs::copy(examples().join("clinic.toml"), vault.join("clinic.toml")).unwrap();
    let written = ok(fv(&vault, "privacy_officer", &["docs", "generate"]));
    assert_eq!(written.lines().count(), 9, "{written}");
    let record = std::fs::read_to_string(vault.join("docs/record-of-processing.md")).unwrap();
    assert!(
        record.contains("Example 3D Surgical Guides Lab")
            && record.contains("Example Facial Plastic Surgery"),
        "{record}"
    );
    let schedule = std::fs::read_to_string(vault.join("docs/retention-schedule.md")).unwrap();
    assert!(
        schedule.contains("treatment-planning") || schedule.contains("Plan your surgical treatment"),
        "{schedule}"
    );
    std::fs::write(
        vault.join("purposes.toml"),
        "[[purpose]]\nid = \"treatment-planning\"\nretention = \"2y\"\n",
    )
    .unwrap();
    ok(fv(&vault, "privacy_officer", &["docs", "generate"]));
    let changed = std::fs::read_to_string(vault.join("docs/retention-schedule.md")).unwrap();
    assert_ne!(changed, schedule, "the schedule follows purposes.toml");
    let html = std::fs::read_to_string(vault.join("docs/consent-notices.html")).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"),
        "{}",
        &html[..60.min(html.len())]
    );
    ok(fv(&vault, "privacy_officer", &["audit", "verify"]));
}
