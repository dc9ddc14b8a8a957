//! Governance through the vault, with simulated time: capture refused without the consent a
//! jurisdiction needs, access decided from the stored consent, restrictions, holds and
//! retention, and retention enforcement destroying exactly what is due, on the day it is due.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use facevault_crypto::MemoryKeys;
use facevault_domain::{
    Catalogue, ConsentDraft, Date, HoldKind, Jurisdiction, Notice, NoticeCovers, PurposeGrant, PurposeId,
    RetentionPeriod, Rule, Signature, SignatureMethod, SimClock,
};
use facevault_mesh::Mesh;
use facevault_policy::{Action, Reason, Role};
use facevault_vault::memory::{MemoryBlobs, MemoryMetadata};
use facevault_vault::testing::default_policy;
use facevault_vault::{
    Ask, Capture, DerivativeKind, Enforced, NewDerivative, Node, Purpose, Restriction, ScanId,
    SubjectDetails, SubjectId, Target, Vault, VaultError,
};
use pollster::FutureExt;

type V = Vault<MemoryMetadata, MemoryBlobs, MemoryKeys, Arc<SimClock>>;

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

fn world(start: &str) -> (V, Arc<SimClock>) {
    let clock = Arc::new(SimClock::on(day(start)));
    let v = Vault::open(
        MemoryMetadata::new(),
        MemoryBlobs::new(),
        MemoryKeys::generate().unwrap(),
        clock.clone(),
    )
    .block_on()
    .unwrap();
    (v, clock)
}

fn go(clock: &SimClock, to: &str) {
    clock.set(Utc.from_utc_datetime(&day(to).and_hms_opt(9, 0, 0).unwrap()));
}

fn mesh() -> Mesh {
    let positions = vec![[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [10.0, 10.0, 1.0]];
    Mesh::new(positions, vec![[0, 1, 2], [1, 3, 2]]).unwrap()
}

/// A consent to `purposes` (id, stated retention) that every jurisdiction accepts.
fn draft(clock: &SimClock, purposes: &[(&str, RetentionPeriod)]) -> ConsentDraft {
    let catalogue = Catalogue::defaults();
    let covers = NoticeCovers { purposes: true, retention: true, withdrawal: true, limit_use: true };
    ConsentDraft {
        notice: Some(Notice::new("2026-1", "We use your 3D scan for the purposes below ...", covers)),
        purposes: purposes
            .iter()
            .map(|(id, r)| PurposeGrant { purpose: catalogue.get(id).unwrap().clone(), retention: Some(*r) })
            .collect(),
        collect: true,
        share: false,
        limit_use: false,
        signature: Some(Signature {
            method: SignatureMethod::Electronic,
            typed_name: "P. Atient".into(),
            at: facevault_domain::Clock::now(clock),
        }),
        expires: None,
        sale_authorization: None,
    }
}

fn subject(v: &V) -> SubjectId {
    let details = SubjectDetails { name: "P. Atient".into(), ..Default::default() };
    v.create_subject(&details).block_on().unwrap()
}

fn capture(purpose: &str) -> Capture {
    Capture { device: "test".into(), captured_on: "2026-01-01".into(), purpose: Purpose(purpose.into()) }
}

fn import(v: &V, s: SubjectId, purpose: &str) -> ScanId {
    v.import_scan(s, &mesh(), capture(purpose)).block_on().unwrap()
}

fn derive(v: &V, parent: Node) -> Node {
    let d = v
        .derive(NewDerivative {
            kind: DerivativeKind::Measurements,
            producer: "test".into(),
            parameters: serde_json::json!({}),
            parents: vec![parent],
            content: b"{}".to_vec(),
        })
        .block_on()
        .unwrap();
    Node::Derivative(d)
}

fn ask(role: Role, action: Action, purpose: &str, target: Target) -> Ask<'_> {
    Ask { actor: "u-1", role, action, purpose, target, break_glass: None, right_of_access: false }
}

/// The decision's reasons as the audit log records them, or "allowed".
fn decide(v: &V, role: Role, action: Action, purpose: &str, target: Target) -> String {
    let d = v.authorize(default_policy(), &ask(role, action, purpose, target)).block_on().unwrap();
    if d.allowed() {
        "allowed".into()
    } else {
        d.reasons()
            .iter()
            .filter(|r| !matches!(r, Reason::RolePermitted { .. }))
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[test]
fn capture_needs_a_consent_that_covers_its_purpose() {
    let (v, clock) = world("2026-01-05");
    let s = subject(&v);
    let err = v.import_scan(s, &mesh(), capture("treatment-planning")).block_on().unwrap_err();
    assert!(matches!(err, VaultError::NoConsent { .. }), "{err}");

    // Illinois needs a written release: a verbal consent is refused, naming the element.
    let mut verbal = draft(&clock, &[("treatment-planning", RetentionPeriod::Years(3))]);
    verbal.signature.as_mut().unwrap().method = SignatureMethod::Verbal;
    let err = v.record_consent(s, Jurisdiction::Il, &verbal).block_on().unwrap_err().to_string();
    assert!(err.contains("written release") && err.contains("IL"), "{err}");
    // A consent without a retention term for a purpose is refused in every jurisdiction.
    let mut no_term = draft(&clock, &[("treatment-planning", RetentionPeriod::Years(3))]);
    no_term.purposes[0].retention = None;
    let err = v.record_consent(s, Jurisdiction::Tx, &no_term).block_on().unwrap_err().to_string();
    assert!(err.contains("retention") && err.contains("treatment-planning"), "{err}");

    v.record_consent(
        s,
        Jurisdiction::Il,
        &draft(&clock, &[("treatment-planning", RetentionPeriod::Years(3))]),
    )
    .block_on()
    .unwrap();
    let err = v.import_scan(s, &mesh(), capture("marketing-images")).block_on().unwrap_err().to_string();
    assert!(err.contains("does not grant purpose \"marketing-images\""), "{err}");
    let scan = import(&v, s, "treatment-planning");

    // The stored consent reads back as it was checked, notice text and all.
    let c = v.consent(s).block_on().unwrap().unwrap();
    assert_eq!(c.record.consent().jurisdiction(), Jurisdiction::Il);
    assert_eq!(c.record.consent().notice().text(), "We use your 3D scan for the purposes below ...");
    assert_eq!(c.record.consent().signature().typed_name, "P. Atient");

    // Withdrawal stops captures and accesses at once.
    go(&clock, "2026-02-01");
    v.withdraw_consent(s).block_on().unwrap();
    let err = v.import_scan(s, &mesh(), capture("treatment-planning")).block_on().unwrap_err().to_string();
    assert!(err.contains("consent withdrawn"), "{err}");
    let read = decide(&v, Role::Surgeon, Action::Read, "treatment-planning", Target::Node(Node::Scan(scan)));
    assert!(read.starts_with("consent withdrawn at 2026-02-01"), "{read}");
    // Deleting stays possible after withdrawal.
    let del = decide(&v, Role::PrivacyOfficer, Action::Delete, "treatment-planning", Target::Subject(s));
    assert_eq!(del, "allowed");
}

/// A California subject consenting to treatment planning for 3 years, with two scans for it.
fn two_scans() -> (V, SubjectId, ScanId, ScanId) {
    let (v, clock) = world("2026-01-05");
    let s = subject(&v);
    v.record_consent(
        s,
        Jurisdiction::Ca,
        &draft(&clock, &[("treatment-planning", RetentionPeriod::Years(3))]),
    )
    .block_on()
    .unwrap();
    let a = import(&v, s, "treatment-planning");
    let b = import(&v, s, "treatment-planning");
    (v, s, a, b)
}

#[test]
fn grants_only_open_what_they_were_decided_for() {
    let (v, s, a, b) = two_scans();
    let read_a = ask(Role::Surgeon, Action::Read, "treatment-planning", Target::Node(Node::Scan(a)));
    let grant = v.authorize(default_policy(), &read_a).block_on().unwrap().into_grant().unwrap();
    assert!(v.scan_mesh(&grant, a).block_on().is_ok());
    let err = v.scan_mesh(&grant, b).block_on().unwrap_err().to_string();
    assert!(err.contains("not granted") && err.contains(&format!("scan:{b}")), "{err}");
    let err = v.export_scan(&grant, a, "someone").block_on().unwrap_err().to_string();
    assert!(err.contains("export or share"), "{err}");
    let err = v.shred_subject(&grant, s).block_on().unwrap_err().to_string();
    assert!(err.contains("delete"), "{err}");
}

#[test]
fn a_decision_on_a_scan_record_already_read_is_the_same_and_only_for_that_scan() {
    let (v, s, a, b) = two_scans();
    let record = v.scan(a).block_on().unwrap();
    for (role, purpose) in [
        (Role::Surgeon, "treatment-planning"),
        (Role::FrontDesk, "treatment-planning"),
        (Role::Surgeon, "research"),
    ] {
        let q = ask(role, Action::Read, purpose, Target::Node(Node::Scan(a)));
        let by_id = v.authorize(default_policy(), &q).block_on().unwrap();
        let by_record = v.authorize_scan(default_policy(), &q, &record).block_on().unwrap();
        assert_eq!(by_record.allowed(), by_id.allowed(), "{role:?} {purpose}");
        assert_eq!(
            format!("{:?}", by_record.reasons()),
            format!("{:?}", by_id.reasons()),
            "{role:?} {purpose}"
        );
    }
    let grant = v
        .authorize_scan(
            default_policy(),
            &ask(Role::Surgeon, Action::Read, "treatment-planning", Target::Node(Node::Scan(a))),
            &record,
        )
        .block_on()
        .unwrap()
        .into_grant()
        .unwrap();
    assert!(v.scan_mesh(&grant, a).block_on().is_ok());
    // The record must be the scan asked about: another scan's or the subject is refused.
    for target in [Target::Node(Node::Scan(b)), Target::Subject(s)] {
        let q = ask(Role::Surgeon, Action::Read, "treatment-planning", target);
        let err = v.authorize_scan(default_policy(), &q, &record).block_on().unwrap_err();
        assert!(matches!(err, VaultError::NotGranted { .. }), "{err}");
    }
}

#[test]
fn restrictions_and_holds_shape_decisions() {
    let (v, clock) = world("2026-01-05");
    let s = subject(&v);
    let mut consent = draft(
        &clock,
        &[("treatment-planning", RetentionPeriod::Years(3)), ("marketing-images", RetentionPeriod::Years(2))],
    );
    consent.share = true;
    v.record_consent(s, Jurisdiction::Ca, &consent).block_on().unwrap();
    let scan = Target::Node(Node::Scan(import(&v, s, "treatment-planning")));
    let share = || decide(&v, Role::Surgeon, Action::Share, "treatment-planning", scan);
    let marketing = || decide(&v, Role::Marketing, Action::Read, "marketing-images", scan);
    assert_eq!(share(), "allowed");
    assert_eq!(marketing(), "allowed");

    v.set_restriction(s, Restriction::OptOut, true).block_on().unwrap();
    assert_eq!(share(), "subject opted out of sharing");
    assert_eq!(decide(&v, Role::Surgeon, Action::Read, "treatment-planning", scan), "allowed");
    v.set_restriction(s, Restriction::OptOut, false).block_on().unwrap();
    assert_eq!(share(), "allowed");

    v.set_restriction(s, Restriction::LimitUse, true).block_on().unwrap();
    assert_eq!(marketing(), "subject limited use to care");
    assert_eq!(decide(&v, Role::Surgeon, Action::Read, "treatment-planning", scan), "allowed");

    v.place_hold(s, HoldKind::Subpoena, "CV-2026-17", "records subpoena").block_on().unwrap();
    let err = v.place_hold(s, HoldKind::Subpoena, "CV-2026-17", "again").block_on().unwrap_err();
    assert!(matches!(err, VaultError::HoldExists { .. }));
    let del = || decide(&v, Role::PrivacyOfficer, Action::Delete, "treatment-planning", Target::Subject(s));
    assert_eq!(del(), "legal hold");
    let err = v.shred(s).block_on().unwrap_err().to_string();
    assert!(err.contains("legal hold"), "{err}");
    v.release_hold(s, "CV-2026-17").block_on().unwrap();
    assert_eq!(del(), "allowed");
    assert!(v.release_hold(s, "CV-2026-17").block_on().is_err(), "a released hold cannot be released again");
    let state = v.governance(s).block_on().unwrap();
    assert_eq!(state.holds.len(), 1, "the released hold stays on record");
    assert!(state.holds[0].released.is_some());
}

/// Runs enforcement on each day and returns what it destroyed, as `day: target (rule)`.
fn enforce(v: &V, clock: &SimClock, days: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for d in days {
        go(clock, d);
        for e in v.enforce_retention(day(d)).block_on().unwrap() {
            match e {
                Enforced::Shredded { destruction, .. } => {
                    out.push(format!("{d}: shred ({})", destruction.rule))
                }
                Enforced::Deleted { destructions, removed, .. } => {
                    let rules: Vec<String> = destructions.iter().map(|x| x.rule.to_string()).collect();
                    out.push(format!("{d}: delete {} object(s) ({})", removed.len(), rules.join(", ")));
                }
            }
        }
    }
    out
}

#[test]
fn bipa_destroys_three_years_after_the_last_interaction() {
    let (v, clock) = world("2026-01-05");
    let s = subject(&v);
    // The consent states 5 years; BIPA caps it at 3 years after the last interaction.
    v.record_consent(
        s,
        Jurisdiction::Il,
        &draft(&clock, &[("treatment-planning", RetentionPeriod::Years(5))]),
    )
    .block_on()
    .unwrap();
    go(&clock, "2026-03-01");
    let scan = import(&v, s, "treatment-planning");
    let plan = v.retention_plan(day("2026-03-01")).block_on().unwrap();
    let last = plan[0].destructions.last().unwrap();
    assert_eq!((last.due, last.rule), (day("2029-03-01"), Rule::Bipa3Years));
    let got = enforce(&v, &clock, &["2027-01-01", "2029-02-28", "2029-03-01", "2029-03-02"]);
    assert_eq!(got, vec!["2029-03-01: shred (bipa-3y)"]);
    assert!(matches!(v.scan(scan).block_on(), Err(VaultError::UnknownScan { .. })));
    assert!(matches!(v.consent(s).block_on(), Err(VaultError::UnknownSubject { .. })));
}

#[test]
fn a_satisfied_purpose_deletes_its_objects_and_keeps_the_rest() {
    let (v, clock) = world("2026-01-05");
    let s = subject(&v);
    let consent = draft(
        &clock,
        &[("treatment-planning", RetentionPeriod::Years(3)), ("marketing-images", RetentionPeriod::Years(2))],
    );
    v.record_consent(s, Jurisdiction::Wa, &consent).block_on().unwrap();
    let planning = import(&v, s, "treatment-planning");
    let marketing = import(&v, s, "marketing-images");
    let planning_derived = derive(&v, Node::Scan(planning));
    let marketing_derived = derive(&v, Node::Scan(marketing));
    let twice_derived = derive(&v, marketing_derived);
    v.mark_satisfied(s, &PurposeId::new("marketing-images").unwrap(), day("2026-06-01")).block_on().unwrap();

    let got = enforce(&v, &clock, &["2026-05-31", "2026-06-01", "2026-06-02"]);
    assert_eq!(
        got,
        vec!["2026-06-01: delete 3 object(s) (purpose-satisfied, purpose-satisfied, purpose-satisfied)"]
    );
    assert!(v.scan(marketing).block_on().is_err());
    for gone in [marketing_derived, twice_derived] {
        let Node::Derivative(d) = gone else { unreachable!() };
        assert!(v.derivative(d).block_on().is_err(), "{gone} is deleted with its parent");
    }
    assert!(v.read_mesh(planning).block_on().is_ok(), "the planning scan stays readable");
    let Node::Derivative(kept) = planning_derived else { unreachable!() };
    assert!(v.read_derivative(kept).block_on().is_ok());
    // The treatment-planning term (3 years from consent) then shreds the subject.
    let got = enforce(&v, &clock, &["2029-01-04", "2029-01-05"]);
    assert_eq!(got, vec!["2029-01-05: shred (purpose-retention)"]);
}

#[test]
fn cubi_destroys_a_year_after_the_purpose_expires() {
    let (v, clock) = world("2026-01-05");
    let s = subject(&v);
    v.record_consent(
        s,
        Jurisdiction::Tx,
        &draft(&clock, &[("outcome-simulation", RetentionPeriod::Years(1))]),
    )
    .block_on()
    .unwrap();
    let scan = Target::Node(Node::Scan(import(&v, s, "outcome-simulation")));
    // The purpose expires on 2027-01-05: access ends that day, destruction a year later.
    go(&clock, "2027-01-04");
    assert_eq!(decide(&v, Role::Surgeon, Action::Read, "outcome-simulation", scan), "allowed");
    let got = enforce(&v, &clock, &["2027-01-05", "2028-01-04", "2028-01-05"]);
    assert_eq!(got, vec!["2028-01-05: shred (cubi-1y)"]);
}

#[test]
fn a_legal_hold_suspends_destruction_until_released() {
    let (v, clock) = world("2026-01-05");
    let s = subject(&v);
    v.record_consent(
        s,
        Jurisdiction::Il,
        &draft(&clock, &[("treatment-planning", RetentionPeriod::Years(3))]),
    )
    .block_on()
    .unwrap();
    let scan = Target::Node(Node::Scan(import(&v, s, "treatment-planning")));
    go(&clock, "2028-12-01");
    v.place_hold(s, HoldKind::Warrant, "W-881", "criminal investigation").block_on().unwrap();
    let plan = v.retention_plan(day("2028-12-01")).block_on().unwrap();
    let last = plan[0].destructions.last().unwrap();
    assert_eq!((last.due, last.suspended_by.as_deref()), (day("2029-01-05"), Some("W-881")));
    let got = enforce(&v, &clock, &["2029-01-05", "2029-03-01"]);
    assert!(got.is_empty(), "nothing is destroyed under a hold: {got:?}");
    // Held data is kept, not used: retention has ended for reads.
    assert_eq!(
        decide(&v, Role::Surgeon, Action::Read, "treatment-planning", scan),
        "retention ended on 2029-01-05"
    );
    go(&clock, "2029-05-01");
    v.release_hold(s, "W-881").block_on().unwrap();
    let got = enforce(&v, &clock, &["2029-05-01"]);
    assert_eq!(got, vec!["2029-05-01: shred (purpose-retention)"]);
}

#[test]
fn reads_end_on_the_day_retention_ends() {
    let (v, clock) = world("2026-01-05");
    let s = subject(&v);
    v.record_consent(
        s,
        Jurisdiction::Eu,
        &draft(&clock, &[("treatment-planning", RetentionPeriod::Days(30))]),
    )
    .block_on()
    .unwrap();
    let scan = Target::Node(Node::Scan(import(&v, s, "treatment-planning")));
    go(&clock, "2026-02-03");
    assert_eq!(decide(&v, Role::Surgeon, Action::Read, "treatment-planning", scan), "allowed");
    go(&clock, "2026-02-04");
    assert_eq!(
        decide(&v, Role::Surgeon, Action::Read, "treatment-planning", scan),
        "retention ended on 2026-02-04"
    );
}
