//! Data-subject requests on a real vault: deadlines and due lists, duplicates, identity
//! verification before completion, and completions that act for real (erasure with a
//! certificate and vendor notices pending until confirmed, correction, opt-out).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use facevault_mesh::FileFormat;

const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn run(vault: &Path, role: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facevault"));
    cmd.arg("--vault").arg(vault).args(["--actor", "u-1", "--role", role]).args(args);
    for var in ["FACEVAULT_PASSPHRASE", "FACEVAULT_DIR", "FACEVAULT_ACTOR", "FACEVAULT_ROLE"] {
        cmd.env_remove(var);
    }
    cmd.env("FACEVAULT_KEK", K1).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn fv(vault: &Path, role: &str, args: &[&str]) -> Output {
    run(vault, role, args, None)
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
    let dir = std::env::temp_dir().join(format!("facevault-requests-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Clinic {
    dir: PathBuf,
    vault: PathBuf,
    subject: String,
    scan: String,
}

fn clinic(name: &str) -> Clinic {
    let dir = scratch(name);
    let vault = dir.join("vault");
    ok(fv(&vault, "admin", &["init"]));
    let subject = ok(fv(&vault, "front_desk", &["subject", "add", "--name", "R. Patient"])).trim().to_owned();
    let consent = dir.join("consent.toml");
    std::fs::write(
        &consent,
        "jurisdiction = \"CA\"\ncollect = true\nshare = true\n[notice]\nversion = \"v1\"\n\
         text = \"We use your scan to plan treatment and keep it 3 years ...\"\n\
         covers = [\"purposes\", \"retention\", \"withdrawal\", \"limit-use\"]\n\
         [signature]\nmethod = \"electronic\"\ntyped_name = \"R. P.\"\n\
         [[purpose]]\nid = \"treatment-planning\"\nretention = \"3y\"\n",
    )
    .unwrap();
    ok(fv(&vault, "front_desk", &["consent", "add", &subject, consent.to_str().unwrap()]));
    let mesh = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 1_500).mesh;
    let face = dir.join("face.ply");
    std::fs::write(&face, facevault_mesh::to_bytes(&mesh, FileFormat::PlyBinaryLittleEndian)).unwrap();
    let scan = ok(fv(
        &vault,
        "surgeon",
        &[
            "scan",
            "import",
            &subject,
            face.to_str().unwrap(),
            "--purpose",
            "treatment-planning",
            // Captured two months ago: requests may be dated back to then.
            "--captured",
            &(chrono::Utc::now() - chrono::TimeDelta::days(60)).format("%Y-%m-%d").to_string(),
        ],
    ))
    .trim()
    .to_owned();
    Clinic { dir, vault, subject, scan }
}

#[test]
fn an_erasure_request_erases_certifies_and_tracks_vendor_notices() {
    let c = clinic("erasure");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples");
    ok(fv(&c.vault, "privacy_officer", &["vendor", "add", examples.join("vendors.toml").to_str().unwrap()]));
    let out = c.dir.join("lab.ply");
    ok(fv(
        &c.vault,
        "surgeon",
        &[
            "disclose",
            &c.scan,
            out.to_str().unwrap(),
            "--vendor",
            "lab-3d",
            "--purpose",
            "treatment-planning",
        ],
    ));
    ok(fv(&c.vault, "surgeon", &["scan", "analyze", "symmetry", &c.scan]));

    let id = ok(fv(&c.vault, "front_desk", &["request", "open", &c.subject, "--kind", "delete"]))
        .trim()
        .to_owned();
    let (code, err) =
        refused(fv(&c.vault, "front_desk", &["request", "open", &c.subject, "--kind", "delete"]));
    assert_eq!(code, Some(9), "{err}");
    assert!(err.contains("duplicate of request") && err.contains(&id), "{err}");
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &id]));
    assert!(shown.contains("delete under CCPA") && shown.contains("Strong required"), "{shown}");

    // Biometric data: completing needs strong verification first.
    let (code, err) = refused(fv(&c.vault, "privacy_officer", &["request", "complete", &id]));
    assert_eq!(code, Some(9), "{err}");
    assert!(err.contains("verified"), "{err}");
    let (code, err) =
        refused(fv(&c.vault, "privacy_officer", &["request", "verify", &id, "--level", "standard"]));
    assert_eq!(code, Some(9), "{err}");
    assert!(err.contains("strong"), "{err}");
    ok(fv(&c.vault, "privacy_officer", &["request", "verify", &id, "--level", "strong"]));
    // A legal hold is an exception: the erasure is refused and says how to deny the request.
    let hold =
        ["hold", "place", &c.subject, "--kind", "litigation", "--reference", "L-1", "--reason", "dispute"];
    ok(fv(&c.vault, "privacy_officer", &hold));
    let (code, err) = refused(fv(&c.vault, "privacy_officer", &["request", "complete", &id]));
    assert_eq!(code, Some(9), "{err}");
    assert!(err.contains("legal hold") && err.contains("deny request"), "{err}");
    ok(fv(&c.vault, "privacy_officer", &["hold", "release", &c.subject, "--reference", "L-1"]));
    let completed = fv(&c.vault, "privacy_officer", &["request", "complete", &id]);
    assert!(String::from_utf8_lossy(&completed.stderr).contains("kept: audit entries"));
    let done = ok(completed);
    let cert = done.lines().find_map(|l| l.strip_prefix("certificate ")).expect("a certificate").to_owned();
    assert!(done.contains("is completed"), "{done}");
    let checked = ok(fv(&c.vault, "privacy_officer", &["certificate", "verify", &cert]));
    assert!(checked.contains(&format!("request:{id}")) && checked.contains(&c.scan), "{checked}");

    // No path returns the subject's data, derivatives included.
    for args in [vec!["subject", "show", c.subject.as_str()], vec!["lineage", c.scan.as_str()]] {
        let (code, err) = refused(fv(&c.vault, "surgeon", &args));
        assert_eq!(code, Some(6), "{args:?}: {err}");
    }
    let listed = ok(fv(&c.vault, "privacy_officer", &["subject", "list"]));
    assert!(!listed.contains(&c.subject), "{listed}");
    // The vendor's notice stays pending until it confirms.
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &id]));
    assert!(shown.contains("vendor notice lab-3d  PENDING"), "{shown}");
    ok(fv(&c.vault, "privacy_officer", &["request", "vendor-confirmed", &id, "lab-3d"]));
    // Under the CCPA no backup deadline applies, so there is nothing to record.
    let (code, err) = refused(fv(&c.vault, "privacy_officer", &["request", "backups-purged", &id]));
    assert_eq!(code, Some(9), "{err}");
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &id]));
    assert!(shown.contains("vendor notice lab-3d  confirmed"), "{shown}");
    ok(fv(&c.vault, "privacy_officer", &["audit", "verify"]));
}

#[test]
fn deadlines_corrections_and_opt_outs() {
    let c = clinic("deadlines");
    // Received 30 days ago: an access answer (45 days) is due within 20 days; an opt-out
    // (15 business days) is overdue.
    let ago = (chrono::Utc::now() - chrono::TimeDelta::days(30)).to_rfc3339();
    let access = ok(fv(
        &c.vault,
        "front_desk",
        &[
            "request",
            "open",
            &c.subject,
            "--kind",
            "access",
            "--received",
            &ago,
            "--received-reason",
            "letter of last month",
        ],
    ))
    .trim()
    .to_owned();
    let optout = ok(fv(
        &c.vault,
        "front_desk",
        &[
            "request",
            "open",
            &c.subject,
            "--kind",
            "opt-out",
            "--received",
            &ago,
            "--received-reason",
            "letter of last month",
        ],
    ))
    .trim()
    .to_owned();
    let overdue = ok(fv(&c.vault, "privacy_officer", &["request", "list", "--overdue"]));
    assert!(overdue.contains(&optout) && overdue.contains("Respond"), "{overdue}");
    let soon = ok(fv(&c.vault, "privacy_officer", &["request", "list", "--due-within", "20"]));
    assert!(soon.contains(&access), "{soon}");
    let (code, _) = refused(fv(&c.vault, "surgeon", &["request", "list"]));
    assert_eq!(code, Some(8), "surgeons do not handle requests");

    // Opt-out needs no verification; completing it sets the restriction.
    ok(fv(&c.vault, "privacy_officer", &["request", "verify", &optout, "--level", "none"]));
    ok(fv(&c.vault, "privacy_officer", &["request", "complete", &optout]));
    // A third party registered to receive scans for treatment planning: a disclosure to it is a share.
    std::fs::write(
        c.vault.join("vendors.toml"),
        "[[vendor]]\nid = \"lab-7\"\nname = \"Lab 7\"\nrole = \"third-party\"\n\
         purposes = [\"treatment-planning\"]\ncategories = [\"face-scan\"]\nregion = \"US\"\n",
    )
    .unwrap();
    let out = c.dir.join("x.ply");
    let (code, err) = refused(fv(
        &c.vault,
        "surgeon",
        &[
            "scan",
            "export",
            &c.scan,
            out.to_str().unwrap(),
            "--purpose",
            "treatment-planning",
            "--recipient",
            "lab-7",
        ],
    ));
    assert_eq!(code, Some(8), "{err}");
    assert!(err.contains("opted out"), "{err}");

    // A correction re-seals the details from standard input.
    let fix = ok(fv(&c.vault, "front_desk", &["request", "open", &c.subject, "--kind", "correct"]))
        .trim()
        .to_owned();
    ok(fv(&c.vault, "privacy_officer", &["request", "verify", &fix, "--level", "strong"]));
    ok(run(
        &c.vault,
        "privacy_officer",
        &["request", "complete", &fix],
        Some("name: R. Patient-Corrected\n"),
    ));
    let shown = ok(fv(&c.vault, "surgeon", &["subject", "show", &c.subject]));
    assert!(shown.contains("R. Patient-Corrected"), "{shown}");

    // Under MHMDA a completed deletion still owes the backups, until recorded.
    let wa = ok(fv(
        &c.vault,
        "front_desk",
        &["request", "open", &c.subject, "--kind", "delete", "--law", "MHMDA"],
    ))
    .trim()
    .to_owned();
    ok(fv(&c.vault, "privacy_officer", &["request", "verify", &wa, "--level", "strong"]));
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &wa]));
    assert!(shown.contains("backups       purged by"), "{shown}");
    ok(fv(&c.vault, "privacy_officer", &["request", "complete", &wa]));
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &wa]));
    assert!(shown.contains("NOT yet purged"), "{shown}");
    ok(fv(&c.vault, "privacy_officer", &["request", "backups-purged", &wa]));
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &wa]));
    assert!(!shown.contains("NOT yet purged") && shown.contains("backups purged"), "{shown}");

    // A denial needs its reason and legal basis.
    ok(fv(
        &c.vault,
        "privacy_officer",
        &["request", "deny", &access, "--reason", "identity not verified", "--basis", "CCPA regs 7062"],
    ));
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &access]));
    assert!(shown.contains("denied"), "{shown}");
}

/// HIPAA access (45 CFR 164.524(b)(2)): 30 calendar days, a deadline on a weekend not moved,
/// one extension of 30; acknowledging a request ends its acknowledgement deadline.
#[test]
fn hipaa_deadlines_and_acknowledgement() {
    use chrono::Datelike;
    let c = clinic("hipaa");
    let today = chrono::Utc::now().date_naive();
    let day = (1..=7)
        .map(|n| today - chrono::TimeDelta::days(n))
        .find(|d| (*d + chrono::TimeDelta::days(30)).weekday() == chrono::Weekday::Sat)
        .unwrap();
    let received = format!("{day}T16:00:00Z");
    let id = ok(fv(
        &c.vault,
        "front_desk",
        &[
            "request",
            "open",
            &c.subject,
            "--kind",
            "access",
            "--law",
            "HIPAA",
            "--received",
            &received,
            "--received-reason",
            "letter received that day",
        ],
    ))
    .trim()
    .to_owned();
    let due = day + chrono::TimeDelta::days(30);
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &id]));
    assert!(shown.contains("under HIPAA") && shown.contains(&format!("respond       by {due}")), "{shown}");
    assert!(shown.contains("acknowledge   by "), "{shown}");
    let (code, _) = refused(fv(&c.vault, "front_desk", &["request", "acknowledge", &id]));
    assert_eq!(code, Some(8), "the privacy office acknowledges");
    ok(fv(&c.vault, "privacy_officer", &["request", "acknowledge", &id]));
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &id]));
    assert!(shown.contains("acknowledge   done") && shown.contains("acknowledged"), "{shown}");
    let (code, err) = refused(fv(&c.vault, "privacy_officer", &["request", "acknowledge", &id]));
    assert_eq!(code, Some(9), "{err}");
    ok(fv(&c.vault, "privacy_officer", &["request", "extend", &id, "--reason", "records offsite"]));
    let shown = ok(fv(&c.vault, "privacy_officer", &["request", "show", &id]));
    let extended = due + chrono::TimeDelta::days(30);
    assert!(shown.contains(&format!("respond       by {extended}")), "{shown}");
}
