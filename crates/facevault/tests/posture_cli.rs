//! `facevault posture` on a real vault: every category of the risk register found from the
//! live data (retention, consents, vendors, break-glass, requests, disclosures, automated
//! processing) with the records concerned, the role gate, the criteria file and the JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use facevault_mesh::FileFormat;
use serde_json::Value;

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

/// The exit code and standard error of a command expected to fail.
fn refused(o: Output) -> (Option<i32>, String) {
    assert!(!o.status.success(), "succeeded: {}", String::from_utf8_lossy(&o.stdout));
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("facevault-posture-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A consent file for `jurisdiction`, signed at `at` (RFC 3339) if given, else now, with an
/// optional expiry day.
fn consent(
    dir: &Path,
    name: &str,
    jurisdiction: &str,
    purposes: &[(&str, &str)],
    at: Option<&str>,
    expires: Option<&str>,
) -> PathBuf {
    let mut text = format!("jurisdiction = \"{jurisdiction}\"\ncollect = true\nshare = true\n");
    if let Some(e) = expires {
        text.push_str(&format!("expires = \"{e}\"\n"));
    }
    text.push_str(
        "[notice]\nversion = \"v1\"\nfile = \"notice.txt\"\ncovers = [\"purposes\", \"retention\", \"withdrawal\", \"limit-use\"]\n\
         [signature]\nmethod = \"handwritten\"\ntyped_name = \"Q. Patient\"\n",
    );
    if let Some(at) = at {
        text.push_str(&format!("at = \"{at}\"\n"));
    }
    for (id, retention) in purposes {
        text.push_str(&format!("[[purpose]]\nid = \"{id}\"\nretention = \"{retention}\"\n"));
    }
    std::fs::write(dir.join("notice.txt"), "We use your 3D facial scan for the purposes listed ...").unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The record ids of the finding of `category`.
fn ids(report: &Value, category: &str) -> Vec<String> {
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == category)
        .unwrap_or_else(|| panic!("no {category} in {report}"));
    f["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

fn finding<'a>(report: &'a Value, category: &str) -> &'a Value {
    report["findings"].as_array().unwrap().iter().find(|f| f["category"] == category).unwrap()
}

#[test]
fn the_register_names_every_finding_from_the_live_vault() {
    let dir = scratch("register");
    let vault = dir.join("vault");
    ok(fv(&vault, "admin", &["init"]));
    let mesh = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 1_500).mesh;
    let face = dir.join("face.ply");
    std::fs::write(&face, facevault_mesh::to_bytes(&mesh, FileFormat::PlyBinaryLittleEndian)).unwrap();
    let add = || ok(fv(&vault, "front_desk", &["subject", "add", "--name", "Q. Patient"])).trim().to_owned();
    let import = |subject: &str, purpose: &str| {
        // Captured two months ago: requests may be dated back to then.
        let captured = (chrono::Utc::now() - chrono::TimeDelta::days(60)).format("%Y-%m-%d").to_string();
        let args = [
            "scan",
            "import",
            subject,
            face.to_str().unwrap(),
            "--purpose",
            purpose,
            "--captured",
            &captured,
        ];
        ok(fv(&vault, "surgeon", &args)).trim().to_owned()
    };

    // Subject A: a paper consent signed in 2020 (marketing for 2 years, planning for 10), a
    // planning scan analysed, a marketing scan long past its retention.
    let a = add();
    let file = consent(
        &dir,
        "a.toml",
        "TX",
        &[("treatment-planning", "10y"), ("marketing-images", "2y")],
        Some("2020-01-02T10:00:00Z"),
        None,
    );
    let id = ok(fv(&vault, "front_desk", &["consent", "add", &a, file.to_str().unwrap()]));
    // Marketing is beyond care: the paper form is approved by the privacy officer.
    ok(fv(
        &vault,
        "privacy_officer",
        &["consent", "approve", &a, id.trim(), "--form", file.to_str().unwrap()],
    ));
    let kept = import(&a, "treatment-planning");
    let marketing = import(&a, "marketing-images");
    ok(fv(&vault, "surgeon", &["scan", "analyze", "symmetry", &kept]));
    // An emergency export by clinical staff, flagged for review.
    let out = dir.join("ed.ply");
    ok(fv(
        &vault,
        "clinical_staff",
        &[
            "scan",
            "export",
            &kept,
            out.to_str().unwrap(),
            "--purpose",
            "treatment-planning",
            "--recipient",
            "clinic",
            "--break-glass",
            "patient in ED, surgeon unreachable",
        ],
    ));
    // An opt-out received 30 days ago (15 business days under the CCPA): overdue.
    let ago = (chrono::Utc::now() - chrono::TimeDelta::days(30)).to_rfc3339();
    let optout = ok(fv(
        &vault,
        "front_desk",
        &[
            "request",
            "open",
            &a,
            "--kind",
            "opt-out",
            "--law",
            "CCPA",
            "--received",
            &ago,
            "--received-reason",
            "letter of last month",
        ],
    ))
    .trim()
    .to_owned();

    // Subject B: exported for treatment planning, then a new consent that no longer grants it
    // (and expires on 2030-01-01): the earlier disclosure is not covered by the current consent.
    let b = add();
    let file = consent(&dir, "b1.toml", "CA", &[("treatment-planning", "3y")], None, None);
    ok(fv(&vault, "front_desk", &["consent", "add", &b, file.to_str().unwrap()]));
    let b_scan = import(&b, "treatment-planning");
    ok(fv(
        &vault,
        "surgeon",
        &[
            "scan",
            "export",
            &b_scan,
            dir.join("b.ply").to_str().unwrap(),
            "--purpose",
            "treatment-planning",
            "--recipient",
            "clinic",
        ],
    ));
    let file = consent(&dir, "b2.toml", "CA", &[("post-op-tracking", "1y")], None, Some("2030-01-01"));
    ok(fv(&vault, "front_desk", &["consent", "add", &b, file.to_str().unwrap()]));

    // A service provider whose contract has none of the terms its role requires.
    let vendors = dir.join("vendors.toml");
    std::fs::write(
        &vendors,
        "[[vendor]]\nid = \"lab-x\"\nname = \"Lab X\"\nrole = \"service-provider\"\n\
         purposes = [\"treatment-planning\"]\ncategories = [\"face-scan\"]\nregion = \"US\"\n",
    )
    .unwrap();
    ok(fv(&vault, "privacy_officer", &["vendor", "add", vendors.to_str().unwrap()]));

    // Only the privacy officer and admin run the report; a refusal exits 8.
    let (code, err) = refused(fv(&vault, "surgeon", &["posture"]));
    assert_eq!(code, Some(8), "{err}");

    let flagged: Value =
        serde_json::from_str(&ok(fv(&vault, "privacy_officer", &["audit", "list", "--flagged", "--json"])))
            .unwrap();
    let glass: Vec<String> =
        flagged.as_array().unwrap().iter().map(|e| format!("audit:{}", e["index"])).collect();
    assert_eq!(glass.len(), 1, "{flagged}");

    let json = ok(fv(&vault, "privacy_officer", &["posture", "--json"]));
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["findings"].as_array().unwrap().len(), 8, "{report}");

    // Past retention: A's marketing scan (CUBI: a year after its two years ran out); B's scan,
    // whose purpose the current consent no longer grants.
    let mut past = ids(&report, "past-retention");
    past.sort();
    let mut want = vec![format!("scan:{marketing}"), format!("scan:{b_scan}")];
    want.sort();
    assert_eq!(past, want, "not the planning scan {kept}");
    assert_eq!(finding(&report, "past-retention")["severity"], "critical", "biometric, two records");
    assert_eq!(ids(&report, "vendor-missing-terms"), ["vendor:lab-x"]);
    assert_eq!(ids(&report, "break-glass"), glass);
    assert_eq!(ids(&report, "overdue-requests"), [format!("request:{optout}")]);
    assert_eq!(ids(&report, "disclosure-without-consent"), [format!("scan:{b_scan}")]);
    assert_eq!(finding(&report, "disclosure-without-consent")["risk"]["acceptable"], false);
    // The symmetry analysis stored a report (measurements) and a surface (mesh): automated.
    let automated = ids(&report, "automated-processing");
    assert_eq!(automated.len(), 2, "{automated:?}");
    assert!(automated.iter().all(|id| id.starts_with("derivative:")), "{automated:?}");
    assert_eq!(finding(&report, "automated-processing")["automated_processing"], true);
    // Both consents are in force today.
    assert!(ids(&report, "consent-missing-elements").is_empty());
    assert_eq!(report["criteria"]["acceptable-score"], 6);

    // On a day after B's consent expired, it is missing an element: a consent in force.
    let later: Value = serde_json::from_str(&ok(fv(
        &vault,
        "privacy_officer",
        &["posture", "--json", "--at", "2030-06-01"],
    )))
    .unwrap();
    assert_eq!(ids(&later, "consent-missing-elements"), [format!("subject:{b}")]);
    let gap = &finding(&later, "consent-missing-elements")["records"][0]["detail"];
    assert!(gap.as_str().unwrap().contains("2030-01-01"), "{gap}");

    // A clinic that accepts more: the criteria file changes what is acceptable.
    std::fs::write(vault.join("posture.toml"), "acceptable-score = 25\n").unwrap();
    let lenient: Value = serde_json::from_str(&ok(fv(&vault, "admin", &["posture", "--json"]))).unwrap();
    assert_eq!(lenient["summary"]["unacceptable"], 0, "{lenient}");
    assert!(report["summary"]["unacceptable"].as_u64().unwrap() >= 4, "{report}");
    std::fs::write(vault.join("posture.toml"), "acceptable-score = 99\n").unwrap();
    let (code, err) = refused(fv(&vault, "admin", &["posture"]));
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("posture.toml") && err.contains("acceptable-score 99"), "{err}");
    std::fs::remove_file(vault.join("posture.toml")).unwrap();

    // The Markdown names the ids, and no identity.
    let md = ok(fv(&vault, "privacy_officer", &["posture"]));
    assert!(md.starts_with("# Privacy posture report"), "{md}");
    assert!(md.contains(&format!("`scan:{marketing}`")) && md.contains("AUTOMATED PROCESSING"), "{md}");
    assert!(md.contains("(clinical_staff) accessed"), "the break-glass use names the role: {md}");
    assert!(!md.contains("Q. Patient"), "{md}");
    // The report itself is audited.
    let log: Value =
        serde_json::from_str(&ok(fv(&vault, "privacy_officer", &["audit", "list", "--json"]))).unwrap();
    let runs = log.as_array().unwrap().iter().filter(|e| e["action"] == "posture.report").count();
    assert!(runs >= 4, "one entry per run, denials included: {runs}");
    ok(fv(&vault, "privacy_officer", &["audit", "verify"]));
}

/// BIPA 15(a) names only a warrant or subpoena: a litigation hold on an Illinois subject is
/// placed (it suspends destruction), said to be outside the statute, and flagged in the
/// posture report for counsel; a subpoena is not.
#[test]
fn a_litigation_hold_on_an_illinois_subject_is_flagged_outside_bipa() {
    let dir = scratch("holds");
    let vault = dir.join("vault");
    ok(fv(&vault, "admin", &["init"]));
    let s = ok(fv(&vault, "front_desk", &["subject", "add", "--name", "I. Patient"])).trim().to_owned();
    let file = consent(&dir, "il.toml", "IL", &[("treatment-planning", "3y")], None, None);
    ok(fv(&vault, "front_desk", &["consent", "add", &s, file.to_str().unwrap()]));
    let place = |kind: &str, reference: &str| {
        fv(
            &vault,
            "privacy_officer",
            &["hold", "place", &s, "--kind", kind, "--reference", reference, "--reason", "records"],
        )
    };
    let o = place("subpoena", "SUB-1");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("OUTSIDE"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = place("litigation", "LIT-1");
    let said = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{said}");
    assert!(said.contains("OUTSIDE THE STATUTE") && said.contains("BIPA 740 ILCS 14/15(a)"), "{said}");
    let report: Value =
        serde_json::from_str(&ok(fv(&vault, "privacy_officer", &["posture", "--json"]))).unwrap();
    assert_eq!(ids(&report, "hold-outside-statute"), [format!("subject:{s}")]);
    let detail =
        finding(&report, "hold-outside-statute")["records"][0]["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("litigation hold") && !detail.contains("LIT-1"), "{detail}");
}
