//! The access and portability export (`Vault::subject_package`): it holds exactly one
//! subject's details, scans, derivatives, consents, disclosures and retention schedule, and
//! nothing of another subject; it needs an export grant on that subject.

use std::collections::BTreeSet;
use std::sync::Arc;

use facevault_crypto::MemoryKeys;
use facevault_domain::{Date, SimClock};
use facevault_mesh::Mesh;
use facevault_policy::Action;
use facevault_vault::memory::{MemoryBlobs, MemoryMetadata};
use facevault_vault::testing::{default_policy, PURPOSE};
use facevault_vault::{
    Capture, DerivativeKind, NewDerivative, Node, Purpose, ScanId, SubjectDetails, SubjectId, Target, Vault,
    VaultError,
};
use pollster::FutureExt;

type V = Vault<MemoryMetadata, MemoryBlobs, MemoryKeys, Arc<SimClock>>;

fn world() -> V {
    let clock = Arc::new(SimClock::on("2026-03-02".parse::<Date>().unwrap()));
    Vault::open(MemoryMetadata::new(), MemoryBlobs::new(), MemoryKeys::generate().unwrap(), clock)
        .block_on()
        .unwrap()
}

fn mesh(lift: f32) -> Mesh {
    let positions = vec![[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [10.0, 10.0, lift]];
    Mesh::new(positions, vec![[0, 1, 2], [1, 3, 2]]).unwrap()
}

fn capture() -> Capture {
    Capture { device: "scanner-1".into(), captured_on: "2026-03-01".into(), purpose: Purpose(PURPOSE.into()) }
}

/// One subject's objects, as created.
struct Made {
    id: SubjectId,
    scans: Vec<ScanId>,
    derivatives: Vec<Node>,
}

fn made(v: &V, name: &str, scans: usize, recipient: &str) -> Made {
    let details = SubjectDetails {
        name: name.into(),
        date_of_birth: Some("1980-02-03".into()),
        contact: Some(format!("{name}@example.org")),
        jurisdiction: Some("US-IL".into()),
    };
    let id = v.new_subject(&details).block_on().unwrap();
    let scans: Vec<ScanId> =
        (0..scans).map(|i| v.import_scan(id, &mesh(i as f32 + 1.0), capture()).block_on().unwrap()).collect();
    let measured = v
        .derive(NewDerivative {
            kind: DerivativeKind::Measurements,
            producer: "facevault-analysis 0.1.0 symmetry".into(),
            parameters: serde_json::json!({"border_mm": 5.0}),
            parents: vec![Node::Scan(scans[0])],
            content: format!("{{\"asymmetry_index_rms_mm\": 1.5, \"of\": \"{name}\"}}").into_bytes(),
        })
        .block_on()
        .unwrap();
    let simulated = v
        .derive_mesh(
            scans.iter().map(|&s| Node::Scan(s)).collect(),
            "facevault-analysis 0.1.0 compare".into(),
            serde_json::json!({"trim": 0.1}),
            &mesh(7.0),
        )
        .block_on()
        .unwrap();
    let note = v
        .derive(NewDerivative {
            kind: DerivativeKind::Report,
            producer: "clinician note".into(),
            parameters: serde_json::json!({}),
            parents: vec![Node::Derivative(measured)],
            content: b"Reviewed the asymmetry report.".to_vec(),
        })
        .block_on()
        .unwrap();
    v.export(scans[0], recipient).block_on().unwrap();
    Made {
        id,
        scans,
        derivatives: vec![Node::Derivative(measured), Node::Derivative(simulated), Node::Derivative(note)],
    }
}

#[test]
fn the_package_holds_exactly_one_subjects_objects() {
    let v = world();
    let a = made(&v, "Ada Patient", 2, "Lab Alpha");
    let b = made(&v, "Bob Other", 1, "Vendor Beta");
    // A second consent supersedes the first; both are in the history.
    v.consent_to_everything(a.id).block_on().unwrap();

    let grant = v.grant_for(default_policy(), Action::Export, Target::Subject(a.id)).block_on().unwrap();
    let p = v.subject_package(&grant, a.id).block_on().unwrap();

    assert_eq!(p.subject.id, a.id);
    assert_eq!(p.subject.details.name, "Ada Patient");
    assert_eq!(p.subject.details.contact.as_deref(), Some("Ada Patient@example.org"));

    let scans: Vec<ScanId> = p.scans.iter().map(|s| s.scan.id).collect();
    // Oldest first (the test clock stands still, so ties go by id).
    let mut expected = a.scans.clone();
    expected.sort();
    assert_eq!(scans, expected, "every scan");
    for s in &p.scans {
        assert_eq!(s.scan.subject, a.id);
        assert_eq!(*s.ply, v.read_ply(s.scan.id).block_on().unwrap(), "scan {} holds its PLY", s.scan.id);
    }

    let derivatives: BTreeSet<Node> =
        p.derivatives.iter().map(|d| Node::Derivative(d.derivative.id)).collect();
    assert_eq!(derivatives, a.derivatives.iter().copied().collect());
    for d in &p.derivatives {
        let stored = v.derivative(d.derivative.id).block_on().unwrap();
        assert_eq!(d.derivative, stored, "metadata: producer, parameters, parents, kind");
        assert_eq!(*d.content, v.read_derivative(d.derivative.id).block_on().unwrap());
    }
    let automated: BTreeSet<(Node, bool)> =
        p.derivatives.iter().map(|d| (Node::Derivative(d.derivative.id), d.automated())).collect();
    let flags = [true, true, false]; // measurements, simulated mesh, clinician's note
    assert_eq!(automated, a.derivatives.iter().copied().zip(flags).collect());

    assert_eq!(p.consents.len(), 2, "the whole consent history");
    assert!(p.consents[0].recorded_at <= p.consents[1].recorded_at);
    assert_eq!(p.consents.last(), v.consent(a.id).block_on().unwrap().as_ref());
    for c in &p.consents {
        assert_eq!(
            c.record.consent().notice().text(),
            "Test notice: every purpose, its retention, how to withdraw."
        );
        assert_eq!(c.record.consent().signature().typed_name, "Test Subject");
    }

    assert_eq!(p.disclosures.len(), 1);
    assert_eq!(p.disclosures[0].node, Node::Scan(a.scans[0]));
    assert_eq!(p.disclosures[0].subject, a.id);
    assert_eq!(p.disclosures[0].recipient, "Lab Alpha");

    assert_eq!(p.retention.subject, a.id);
    assert_eq!(p.retention.unplanned, None);
    let a_objects: BTreeSet<String> = a
        .scans
        .iter()
        .map(|&s| Target::Node(Node::Scan(s)).object_id().0)
        .chain(a.derivatives.iter().map(|&d| Target::Node(d).object_id().0))
        .collect();
    // The subject's shred, preceded by any object of its due earlier: all of them its own.
    let last = p.retention.destructions.last().map(|d| d.target.clone());
    assert_eq!(last, Some(facevault_domain::Target::Subject(facevault_domain::SubjectId(a.id.to_string()))));
    for d in &p.retention.destructions {
        if let facevault_domain::Target::Object(o, _) = &d.target {
            assert!(a_objects.contains(&o.0), "{o} is not one of the subject's objects");
        }
    }

    // Nothing of the other subject: no id, no name, no disclosure recipient.
    let debug = format!("{p:?}");
    assert!(!debug.contains(&b.id.to_string()));
    for s in &b.scans {
        assert!(!scans.contains(s));
    }
    for d in &b.derivatives {
        assert!(!derivatives.contains(d));
    }
    let text: Vec<String> = p
        .derivatives
        .iter()
        .map(|d| String::from_utf8_lossy(&d.content).into_owned())
        .chain(p.disclosures.iter().map(|d| d.recipient.clone()))
        .chain([
            format!("{:?}", p.subject.details.name),
            p.subject.details.contact.clone().unwrap_or_default(),
        ])
        .collect();
    for t in &text {
        assert!(!t.contains("Bob Other") && !t.contains("Vendor Beta"), "{t}");
    }
}

#[test]
fn the_package_needs_an_export_grant_on_that_subject() {
    let v = world();
    let a = made(&v, "Ada Patient", 1, "Lab Alpha");
    let b = made(&v, "Bob Other", 1, "Vendor Beta");
    let refused = |r: Result<facevault_vault::SubjectPackage, VaultError>| match r {
        Err(VaultError::NotGranted { .. }) => {}
        other => panic!("expected NotGranted, got {:?}", other.map(|_| ())),
    };
    // A read of the subject is not an export.
    let read = v.grant_for(default_policy(), Action::Read, Target::Subject(a.id)).block_on().unwrap();
    refused(v.subject_package(&read, a.id).block_on());
    // An export of another subject, or of one scan, does not cover the whole subject.
    let other = v.grant_for(default_policy(), Action::Export, Target::Subject(b.id)).block_on().unwrap();
    refused(v.subject_package(&other, a.id).block_on());
    let scan = v
        .grant_for(default_policy(), Action::Export, Target::Node(Node::Scan(a.scans[0])))
        .block_on()
        .unwrap();
    refused(v.subject_package(&scan, a.id).block_on());
    // The right grant works, and only for its own subject.
    let own = v.grant_for(default_policy(), Action::Export, Target::Subject(a.id)).block_on().unwrap();
    assert_eq!(v.subject_package(&own, a.id).block_on().unwrap().subject.id, a.id);
    refused(v.subject_package(&own, b.id).block_on());
}

#[test]
fn consent_history_is_empty_without_a_consent_and_unknown_subjects_fail() {
    let v = world();
    let id = v
        .create_subject(&SubjectDetails { name: "No Consent".into(), ..Default::default() })
        .block_on()
        .unwrap();
    assert!(v.consent_history(id).block_on().unwrap().is_empty());
    let unknown = SubjectId(facevault_crypto::Id::random().unwrap());
    assert!(matches!(v.consent_history(unknown).block_on(), Err(VaultError::UnknownSubject { .. })));
}
