//! Governance on the command line, on a real vault: consents checked per jurisdiction, access
//! decided by role, consent and restrictions (denials exit 8 and are audited), legal holds,
//! the retention plan, enforcement that deletes what is due and certifies it, and portal
//! invitations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use facevault_audit::{AuditEntry, Decision};
use facevault_mesh::FileFormat;

const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn fv(vault: &Path, role: &str, args: &[&str]) -> Output {
    fv_env(vault, "u-1", role, args, &[])
}

/// As [`fv`], acting as the patient whose subject id is `subject`.
fn as_patient(vault: &Path, subject: &str, args: &[&str]) -> Output {
    fv_env(vault, subject, "patient", args, &[])
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
    let dir = std::env::temp_dir().join(format!("facevault-govern-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A consent file for `jurisdiction` with the given signature method and purposes.
fn consent_file(
    dir: &Path,
    name: &str,
    jurisdiction: &str,
    method: &str,
    purposes: &[(&str, &str)],
) -> PathBuf {
    signed_consent(dir, name, jurisdiction, method, purposes, None)
}

/// As [`consent_file`], signed at `at` (RFC 3339) instead of now.
fn signed_consent(
    dir: &Path,
    name: &str,
    jurisdiction: &str,
    method: &str,
    purposes: &[(&str, &str)],
    at: Option<&str>,
) -> PathBuf {
    let mut text = format!(
        "jurisdiction = \"{jurisdiction}\"\ncollect = true\nshare = true\n\
         [notice]\nversion = \"v1\"\nfile = \"notice.txt\"\ncovers = [\"purposes\", \"retention\", \"withdrawal\", \"limit-use\"]\n\
         [signature]\nmethod = \"{method}\"\ntyped_name = \"Q. Patient\"\n"
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

/// The last audit entry, decoded from `audit prove`.
fn last_entry(vault: &Path) -> AuditEntry {
    let cp = ok(fv(vault, "privacy_officer", &["audit", "checkpoint"]));
    let size: u64 = cp.lines().nth(1).unwrap().parse().unwrap();
    let proof = ok(fv(vault, "privacy_officer", &["audit", "prove", "--entry", &(size - 1).to_string()]));
    let json: serde_json::Value = serde_json::from_str(&proof).unwrap();
    AuditEntry::decode(&B64.decode(json["entry"].as_str().unwrap()).unwrap()).unwrap()
}

struct Clinic {
    dir: PathBuf,
    vault: PathBuf,
    subject: String,
    face: PathBuf,
}

fn clinic(name: &str) -> Clinic {
    let dir = scratch(name);
    let vault = dir.join("vault");
    ok(fv(&vault, "admin", &["init"]));
    let subject = ok(fv(&vault, "front_desk", &["subject", "add", "--name", "Q. Patient"])).trim().to_owned();
    let mesh = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 1_500).mesh;
    let face = dir.join("face.ply");
    std::fs::write(&face, facevault_mesh::to_bytes(&mesh, FileFormat::PlyBinaryLittleEndian)).unwrap();
    Clinic { dir, vault, subject, face }
}

#[test]
fn consent_is_checked_per_jurisdiction_and_gates_capture() {
    let c = clinic("consent");
    let import = |purpose: &str| {
        fv(
            &c.vault,
            "surgeon",
            &["scan", "import", &c.subject, c.face.to_str().unwrap(), "--purpose", purpose],
        )
    };
    let (code, err) = refused(import("treatment-planning"));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("no consent on record"), "{err}");
    // The refusal is in the audit log, as a denial.
    let e = last_entry(&c.vault);
    assert_eq!((e.action.as_str(), e.decision), ("scan.import", Decision::Denied));

    // Illinois refuses a verbal consent, naming the written release BIPA asks for.
    let verbal = consent_file(&c.dir, "verbal.toml", "IL", "verbal", &[("treatment-planning", "3y")]);
    let (code, err) =
        refused(fv(&c.vault, "front_desk", &["consent", "add", &c.subject, verbal.to_str().unwrap()]));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("written release") && err.contains("740 ILCS 14/15(b)"), "{err}");
    let e = last_entry(&c.vault);
    assert_eq!((e.action.as_str(), e.decision), ("consent.add", Decision::Denied));

    // A purpose outside the catalogue is an input error naming it.
    let unknown = consent_file(&c.dir, "unknown.toml", "IL", "electronic", &[("face-id-unlock", "1y")]);
    let (code, err) =
        refused(fv(&c.vault, "front_desk", &["consent", "add", &c.subject, unknown.to_str().unwrap()]));
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("face-id-unlock"), "{err}");

    let good = consent_file(&c.dir, "il.toml", "IL", "electronic", &[("treatment-planning", "3y")]);
    ok(fv(&c.vault, "front_desk", &["consent", "add", &c.subject, good.to_str().unwrap()]));
    let shown = ok(fv(&c.vault, "front_desk", &["consent", "show", &c.subject]));
    assert!(
        shown.contains("jurisdiction  IL")
            && shown.contains("treatment-planning")
            && shown.contains("kept 3y"),
        "{shown}"
    );
    assert!(!shown.contains("Q. Patient"), "the typed signature is not printed: {shown}");
    let (code, err) = refused(import("marketing-images"));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("does not grant purpose"), "{err}");
    ok(import("treatment-planning"));

    // Front desk may not look at scans; withdrawal ends the surgeon's access at once.
    let (code, err) = refused(fv(&c.vault, "front_desk", &["subject", "show", &c.subject]));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("role not permitted"), "{err}");
    ok(fv(&c.vault, "surgeon", &["subject", "show", &c.subject]));
    // Another patient cannot withdraw it; the patient can.
    let (code, err) = refused(fv(&c.vault, "patient", &["consent", "withdraw", &c.subject]));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("only on their own data"), "{err}");
    ok(as_patient(&c.vault, &c.subject, &["consent", "withdraw", &c.subject]));
    let (code, err) = refused(fv(&c.vault, "surgeon", &["subject", "show", &c.subject]));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("consent withdrawn"), "{err}");
    let e = last_entry(&c.vault);
    assert_eq!((e.action.as_str(), e.decision), ("subject.read", Decision::Denied));
    assert!(e.reason.as_str().contains("consent withdrawn"), "{}", e.reason.as_str());
    ok(fv(&c.vault, "privacy_officer", &["audit", "verify"]));
}

#[test]
fn opt_out_blocks_sharing_and_a_hold_blocks_deletion() {
    let c = clinic("restrict");
    let file = consent_file(&c.dir, "ca.toml", "CA", "electronic", &[("treatment-planning", "3y")]);
    ok(fv(&c.vault, "front_desk", &["consent", "add", &c.subject, file.to_str().unwrap()]));
    let scan = ok(fv(
        &c.vault,
        "surgeon",
        &["scan", "import", &c.subject, c.face.to_str().unwrap(), "--purpose", "treatment-planning"],
    ))
    .trim()
    .to_owned();
    // A third party registered to receive scans for treatment planning: a disclosure to it is a share.
    std::fs::write(
        c.vault.join("vendors.toml"),
        "[[vendor]]\nid = \"lab-7\"\nname = \"Lab 7\"\nrole = \"third-party\"\n\
         purposes = [\"treatment-planning\"]\ncategories = [\"face-scan\"]\nregion = \"US\"\n",
    )
    .unwrap();
    let out = c.dir.join("out.ply");
    let share = || {
        fv(
            &c.vault,
            "surgeon",
            &[
                "scan",
                "export",
                &scan,
                out.to_str().unwrap(),
                "--purpose",
                "treatment-planning",
                "--recipient",
                "lab-7",
            ],
        )
    };
    ok(share());
    ok(as_patient(&c.vault, &c.subject, &["restrict", &c.subject, "opt-out"]));
    // The patient sees their own record, and nobody else's.
    ok(as_patient(&c.vault, &c.subject, &["subject", "show", &c.subject]));
    let (code, err) = refused(fv(&c.vault, "patient", &["subject", "show", &c.subject]));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("only on their own data"), "{err}");
    let (code, err) = refused(share());
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("opted out"), "{err}");
    // An export to the patient's own record for treatment is not a share.
    ok(fv(
        &c.vault,
        "surgeon",
        &[
            "scan",
            "export",
            &scan,
            out.to_str().unwrap(),
            "--purpose",
            "treatment-planning",
            "--recipient",
            "clinic",
        ],
    ));
    // Clinical staff may not export; in an emergency, break-glass lets them, flagged for review.
    let export = |glass: Option<&str>| {
        let mut args = vec![
            "scan",
            "export",
            &scan,
            out.to_str().unwrap(),
            "--purpose",
            "treatment-planning",
            "--recipient",
            "clinic",
        ];
        if let Some(reason) = glass {
            args.extend(["--break-glass", reason]);
        }
        fv(&c.vault, "clinical_staff", &args)
    };
    let (code, err) = refused(export(None));
    assert_eq!(code, Some(8), "{err}");
    let o = export(Some("patient in ED, surgeon unreachable"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("flagged for the privacy officer"));
    ok(o);
    let flagged = ok(fv(&c.vault, "privacy_officer", &["audit", "list", "--flagged"]));
    assert_eq!(flagged.lines().count(), 1, "{flagged}");
    assert!(
        flagged.contains("clinical_staff") && flagged.contains("BREAK-GLASS") && flagged.contains("allowed"),
        "{flagged}"
    );
    let denied = ok(fv(&c.vault, "privacy_officer", &["audit", "list", "--denied", "--json"]));
    let denied: serde_json::Value = serde_json::from_str(&denied).unwrap();
    assert_eq!(denied.as_array().unwrap().len(), 3, "other patient, opt-out share, staff export: {denied}");

    // A surgeon cannot place a hold; the privacy officer can, and then nobody deletes.
    let hold = [
        "hold",
        "place",
        &c.subject,
        "--kind",
        "subpoena",
        "--reference",
        "CV-26-101",
        "--reason",
        "records request",
    ];
    let (code, _) = refused(fv(&c.vault, "surgeon", &hold));
    assert_eq!(code, Some(8));
    ok(fv(&c.vault, "privacy_officer", &hold));
    let shred = ["subject", "shred", &c.subject, "--yes"];
    // A hold is the subject's present state: a conflict (exit 9, HTTP 409), refused before
    // any decision, and logged.
    let (code, err) = refused(fv(&c.vault, "privacy_officer", &shred));
    assert_eq!(code, Some(9), "{err}");
    assert!(err.contains("legal hold"), "{err}");
    let e = last_entry(&c.vault);
    assert_eq!((e.action.as_str(), e.decision), ("subject.shred", Decision::Denied));
    // The docket number never reaches the log, only its hash.
    let log = std::fs::read(c.vault.join("vault.db")).unwrap();
    assert!(!log.windows(9).any(|w| w == b"CV-26-101"), "hold reference at rest in plaintext");
    ok(fv(&c.vault, "privacy_officer", &["hold", "release", &c.subject, "--reference", "CV-26-101"]));
    let out = ok(fv(&c.vault, "privacy_officer", &shred));
    assert!(out.starts_with("certificate "), "{out}");
}

#[test]
fn retention_plans_and_enforces_what_is_due_with_certificates() {
    let c = clinic("retention");
    // A paper consent signed in 2020, entered now: marketing for 2 years, planning for 10.
    let file = signed_consent(
        &c.dir,
        "tx.toml",
        "TX",
        "handwritten",
        &[("treatment-planning", "10y"), ("marketing-images", "2y")],
        Some("2020-01-02T10:00:00Z"),
    );
    let id = ok(fv(&c.vault, "front_desk", &["consent", "add", &c.subject, file.to_str().unwrap()]));
    // Marketing is beyond care: the paper form is approved by the privacy officer.
    ok(fv(
        &c.vault,
        "privacy_officer",
        &["consent", "approve", &c.subject, id.trim(), "--form", file.to_str().unwrap()],
    ));
    let import = |purpose: &str| {
        ok(fv(
            &c.vault,
            "surgeon",
            &["scan", "import", &c.subject, c.face.to_str().unwrap(), "--purpose", purpose],
        ))
        .trim()
        .to_owned()
    };
    let kept = import("treatment-planning");
    let marketing = import("marketing-images");
    let (code, err) = refused(fv(
        &c.vault,
        "marketing",
        &[
            "scan",
            "export",
            &marketing,
            "/dev/null",
            "--purpose",
            "marketing-images",
            "--recipient",
            "clinic",
        ],
    ));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("retention ended on 2022-01-02"), "{err}");

    // The plan: the marketing scan is due now (CUBI: a year after its purpose lapsed on
    // 2022-01-02, i.e. long ago), the subject in 2031 (10 years + CUBI's year).
    let plan: serde_json::Value =
        serde_json::from_str(&ok(fv(&c.vault, "privacy_officer", &["retention", "plan", "--json"]))).unwrap();
    let steps = plan["subjects"][0]["destructions"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{plan}");
    assert_eq!(steps[0]["target"], format!("scan:{marketing}"));
    assert_eq!(steps[0]["rule"], "cubi-1y");
    assert_eq!(steps[1]["target"], format!("subject:{}", c.subject));
    assert_eq!((steps[1]["due"].as_str(), steps[1]["rule"].as_str()), (Some("2031-01-02"), Some("cubi-1y")));
    let (code, _) = refused(fv(&c.vault, "surgeon", &["retention", "plan"]));
    assert_eq!(code, Some(8), "only compliance roles plan retention");
    // Purposes are satisfied on a day that has come.
    let (code, err) = refused(fv(
        &c.vault,
        "surgeon",
        &["purpose", "satisfied", &c.subject, "treatment-planning", "--on", "2999-01-01"],
    ));
    assert_eq!(code, Some(3), "{err}");

    let out = ok(fv(&c.vault, "privacy_officer", &["retention", "enforce"]));
    let cert = out.lines().find_map(|l| l.strip_prefix("certificate ")).expect("a certificate").to_owned();
    let checked = ok(fv(&c.vault, "privacy_officer", &["certificate", "verify", &cert]));
    assert!(checked.contains(&format!("scan:{marketing}")) && checked.contains("cubi-1y"), "{checked}");
    let (code, _) = refused(fv(&c.vault, "surgeon", &["lineage", &marketing]));
    assert_eq!(code, Some(6), "the marketing scan is gone");
    assert!(ok(fv(&c.vault, "surgeon", &["lineage", &kept])).contains(&kept), "the planning scan stays");
    // A second run finds nothing more to do.
    let again = ok(fv(&c.vault, "privacy_officer", &["retention", "enforce"]));
    assert!(!again.contains("certificate"), "{again}");
    // An edited certificate fails.
    let text = std::fs::read_to_string(&cert).unwrap().replace("cubi-1y", "bipa-3y");
    std::fs::write(&cert, text).unwrap();
    let (code, _) = refused(fv(&c.vault, "privacy_officer", &["certificate", "verify", &cert]));
    assert_eq!(code, Some(7));
    ok(fv(&c.vault, "privacy_officer", &["audit", "verify"]));
}

#[test]
fn the_documented_consent_example_is_accepted() {
    let c = clinic("example");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/consent-il.toml");
    ok(fv(&c.vault, "front_desk", &["consent", "add", &c.subject, example.to_str().unwrap()]));
    let shown = ok(fv(&c.vault, "front_desk", &["consent", "show", &c.subject]));
    assert!(shown.contains("il-2026-01") && shown.contains("post-op-tracking"), "{shown}");
    ok(fv(
        &c.vault,
        "surgeon",
        &["scan", "import", &c.subject, c.face.to_str().unwrap(), "--purpose", "post-op-tracking"],
    ));
}

#[test]
fn a_consent_staff_enter_beyond_care_or_after_a_withdrawal_waits_for_the_signed_form() {
    let c = clinic("pending");
    let care = consent_file(&c.dir, "care.toml", "IL", "electronic", &[("treatment-planning", "3y")]);
    ok(fv(&c.vault, "front_desk", &["consent", "add", &c.subject, care.to_str().unwrap()]));
    let import = |purpose: &str| {
        fv(
            &c.vault,
            "surgeon",
            &["scan", "import", &c.subject, c.face.to_str().unwrap(), "--purpose", purpose],
        )
    };
    ok(import("treatment-planning"));
    // Marketing typed in by the front desk: pending, it grants nothing.
    let more = consent_file(
        &c.dir,
        "more.toml",
        "IL",
        "electronic",
        &[("treatment-planning", "3y"), ("marketing-images", "2y")],
    );
    let o = fv(&c.vault, "front_desk", &["consent", "add", &c.subject, more.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let id = ok(o).trim().to_owned();
    assert!(err.contains("PENDING") && err.contains("beyond care"), "{err}");
    let shown = ok(fv(&c.vault, "front_desk", &["consent", "show", &c.subject]));
    assert!(shown.contains("state         pending") && shown.contains("recorded by   u-1"), "{shown}");
    let (code, err) = refused(import("marketing-images"));
    assert_eq!(code, Some(8), "{err}");
    // The care consent is still in force.
    ok(import("treatment-planning"));
    // Only the privacy officer approves, and only with a form hash.
    let (code, err) = refused(fv(
        &c.vault,
        "front_desk",
        &["consent", "approve", &c.subject, &id, "--form-sha256", &"a".repeat(64)],
    ));
    assert_eq!(code, Some(8), "{err}");
    let (code, err) = refused(fv(
        &c.vault,
        "privacy_officer",
        &["consent", "approve", &c.subject, &id, "--form-sha256", "abc"],
    ));
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("form_sha256"), "{err}");
    ok(fv(
        &c.vault,
        "privacy_officer",
        &["consent", "approve", &c.subject, &id, "--form", more.to_str().unwrap()],
    ));
    let e = last_entry(&c.vault);
    assert_eq!((e.action.as_str(), e.decision), ("consent.approve", Decision::Allowed));
    assert!(e.reason.as_str().contains("sha256:"), "{}", e.reason.as_str());
    ok(import("marketing-images"));
    let shown = ok(fv(&c.vault, "front_desk", &["consent", "show", &c.subject]));
    assert!(shown.contains("state         active") && shown.contains("by privacy-officer u-1"), "{shown}");

    // After the patient withdraws, even a consent for care waits for them.
    ok(as_patient(&c.vault, &c.subject, &["consent", "withdraw", &c.subject]));
    let id = ok(fv(&c.vault, "front_desk", &["consent", "add", &c.subject, care.to_str().unwrap()]))
        .trim()
        .to_owned();
    let (code, err) = refused(fv(&c.vault, "surgeon", &["subject", "show", &c.subject]));
    assert_eq!(code, Some(8), "the surgeon read after a withdrawal: {err}");
    // Staff cannot confirm for the patient; the patient can.
    let (code, err) = refused(fv(&c.vault, "front_desk", &["consent", "confirm", &c.subject, &id]));
    assert_eq!(code, Some(8), "{err}");
    ok(as_patient(&c.vault, &c.subject, &["consent", "confirm", &c.subject, &id]));
    ok(fv(&c.vault, "surgeon", &["subject", "show", &c.subject]));
    let (code, err) = refused(as_patient(&c.vault, &c.subject, &["consent", "confirm", &c.subject, &id]));
    assert_eq!(code, Some(9), "a second confirmation: {err}");
}

#[test]
fn an_opt_out_is_lifted_only_by_the_consumer_at_the_terminal_too() {
    let c = clinic("optout-lift");
    ok(fv(&c.vault, "front_desk", &["restrict", &c.subject, "opt-out"]));
    for role in ["front_desk", "privacy_officer", "admin"] {
        let (code, err) = refused(fv(&c.vault, role, &["restrict", &c.subject, "opt-out", "--lift"]));
        assert_eq!(code, Some(8), "{role}: {err}");
        assert!(err.contains("1798.135(c)(4)"), "{err}");
        let e = last_entry(&c.vault);
        assert_eq!((e.action.as_str(), e.decision), ("restriction.set", Decision::Denied));
    }
    ok(as_patient(&c.vault, &c.subject, &["restrict", &c.subject, "opt-out", "--lift"]));
}

// ---------------------------------------------------------------- portal invitations
// Issue 13, finding 1, the same rules as over HTTP because both call the application: only a
// role that may read the patient's record invites (the front desk and admin exit 8), one portal
// account per subject (a second invitation exits 9 unless the privacy officer issues it, which
// replaces the account), and a shredded subject's account is closed.

/// As [`fv`], as `actor`, with extra environment variables (secrets stay off the command line).
fn fv_env(vault: &Path, actor: &str, role: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facevault"));
    cmd.arg("--vault").arg(vault).args(["--actor", actor, "--role", role]).args(args).stdin(Stdio::null());
    for var in ["FACEVAULT_PASSPHRASE", "FACEVAULT_DIR", "FACEVAULT_ACTOR", "FACEVAULT_ROLE"] {
        cmd.env_remove(var);
    }
    cmd.env("FACEVAULT_KEK", K1).envs(env.iter().copied());
    cmd.output().unwrap()
}

/// The login name and the invitation secret an `account invite` printed.
fn invitation(out: &str) -> (String, String) {
    let name = out.lines().next().unwrap().trim().to_owned();
    let secret = out.lines().find_map(|l| l.strip_prefix("invitation ")).unwrap().to_owned();
    (name, secret)
}

fn accept(vault: &Path, secret: &str) -> Output {
    let env = [("FACEVAULT_INVITATION", secret), ("FACEVAULT_NEW_PASSWORD", "a-patient-password")];
    fv_env(vault, "anyone", "patient", &["account", "accept"], &env)
}

#[test]
fn invitations_are_issued_by_who_may_read_the_record_once_per_subject() {
    let dir = scratch("invite");
    let vault = dir.join("vault");
    ok(fv(&vault, "admin", &["init"]));
    let subject = ok(fv(&vault, "front_desk", &["subject", "add", "--name", "Q. Patient"])).trim().to_owned();

    // The front desk and admin, refused the record, get no invitation (exit 8, saying why).
    for role in ["front_desk", "admin"] {
        let (code, err) = refused(fv(&vault, role, &["account", "invite", &subject]));
        assert_eq!(code, Some(8), "{role}: {err}");
        assert!(err.contains("may not read the patient's record"), "{err}");
    }
    // The care team invites once; a second invitation conflicts (exit 9) and names who may.
    let (first_name, first) = invitation(&ok(fv(&vault, "surgeon", &["account", "invite", &subject])));
    for role in ["surgeon", "clinical_staff"] {
        let (code, err) = refused(fv(&vault, role, &["account", "invite", &subject]));
        assert_eq!(code, Some(9), "{role}: {err}");
        assert!(err.contains("privacy officer"), "{err}");
    }
    // The privacy officer's replaces the account: the first invitation is dead.
    let (name, second) = invitation(&ok(fv(&vault, "privacy_officer", &["account", "invite", &subject])));
    assert_ne!(name, first_name);
    let (code, err) = refused(accept(&vault, &first));
    assert_eq!(code, Some(6), "{err}");
    assert_eq!(ok(accept(&vault, &second)).trim(), name);
    let list = ok(fv(&vault, "privacy_officer", &["account", "list"]));
    assert_eq!(list.matches(&subject).count(), 1, "{list}");
    assert!(!list.contains(&first_name), "{list}");

    // The patient, named by their login, acts on their own subject.
    let me = ok(fv_env(&vault, &name, "patient", &["subject", "list"], &[]));
    assert!(me.contains(&subject), "{me}");

    // Shredding the subject closes the account.
    ok(fv(
        &vault,
        "privacy_officer",
        &["subject", "shred", &subject, "--yes", "--purpose", "treatment-planning"],
    ));
    let list = ok(fv(&vault, "privacy_officer", &["account", "list"]));
    assert!(!list.contains(&name) && !list.contains(&subject), "{list}");
}
