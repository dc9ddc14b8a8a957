//! The posture report (risk register): every category with and without records, the DoCRA
//! scores, and acceptability under the default criteria and a stricter clinic's.

use expect_test::{expect, Expect};
use facevault_domain::posture::{
    assess, likelihood, AutomatedOutput, BreakGlassUse, Category, ConsentGap, HoldOutsideStatute,
    OverdueRequest, PastRetention, PostureInput, RiskCriteria, UncoveredDisclosure, VendorGap,
};
use facevault_domain::{Date, Timestamp};

fn instant(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
}

fn day(s: &str) -> Date {
    s.parse().unwrap_or_else(|e| panic!("bad date {s}: {e}"))
}

fn empty() -> PostureInput {
    PostureInput {
        at: instant("2026-03-02T09:00:00Z"),
        past_retention: vec![],
        consents_missing_elements: vec![],
        vendors_missing_terms: vec![],
        break_glass: vec![],
        overdue_requests: vec![],
        disclosures_without_consent: vec![],
        automated_outputs: vec![],
        holds_outside_statute: vec![],
    }
}

/// One record in every category (two past retention, one of them biometric).
fn full() -> PostureInput {
    PostureInput {
        past_retention: vec![
            PastRetention {
                subject: "s1".into(),
                object: "scan:a1".into(),
                due: day("2025-01-02"),
                rule: "purpose retention".into(),
                biometric: true,
            },
            PastRetention {
                subject: "s2".into(),
                object: "derivative:d9".into(),
                due: day("2025-06-30"),
                rule: "consent expired".into(),
                biometric: false,
            },
        ],
        consents_missing_elements: vec![ConsentGap {
            subject: "s3".into(),
            jurisdiction: "US-IL".into(),
            element: "consent in force (it expired on 2026-01-01)".into(),
        }],
        vendors_missing_terms: vec![VendorGap {
            vendor: "lab-x".into(),
            missing: vec!["no-sale".into(), "deletion-assistance".into()],
        }],
        break_glass: vec![BreakGlassUse {
            entry: 42,
            actor: "nurse-1".into(),
            object: "scan:a1".into(),
            at: "2026-02-01T03:00:00Z".into(),
        }],
        overdue_requests: vec![OverdueRequest {
            id: "req-7".into(),
            kind: "opt-out".into(),
            law: "CCPA".into(),
            obligation: "respond".into(),
            due: day("2026-02-15"),
        }],
        disclosures_without_consent: vec![UncoveredDisclosure {
            subject: "s1".into(),
            node: "scan:a1".into(),
            recipient: "photo-agency".into(),
            purpose: "marketing-images".into(),
            at: instant("2026-01-10T12:00:00Z"),
            why: "consent does not cover the purpose".into(),
        }],
        automated_outputs: vec![AutomatedOutput {
            derivative: "d1".into(),
            subject: "s1".into(),
            kind: "inference".into(),
            producer: "facevault-analysis 0.1 symmetry".into(),
        }],
        holds_outside_statute: vec![HoldOutsideStatute {
            subject: "s4".into(),
            kind: "litigation hold".into(),
            reference_sha256: "ab12".into(),
            placed: day("2026-02-20"),
            source: "US-IL: BIPA 740 ILCS 14/15(a)".into(),
        }],
        ..empty()
    }
}

fn strict() -> RiskCriteria {
    toml::from_str("acceptable-score = 4\nstatement = \"Only rare or negligible risks.\"").unwrap()
}

/// The register table: one line per finding.
fn register(input: &PostureInput, criteria: &RiskCriteria) -> String {
    let report = assess(input, criteria);
    let mut out = String::new();
    for f in &report.findings {
        let r = &f.risk;
        let ids: Vec<&str> = f.records.iter().map(|r| r.id.as_str()).collect();
        out += &format!(
            "{} {:<26} {:<8} L{} P{} C{} S{:<2} {} [{}]\n",
            f.id,
            f.category.id(),
            f.severity.as_str(),
            r.likelihood,
            r.impact_patient,
            r.impact_clinic,
            r.score,
            if r.acceptable { "ok " } else { "NO " },
            ids.join(", ")
        );
    }
    out += &format!("{:?}\n", report.summary);
    out
}

fn check(input: &PostureInput, criteria: &RiskCriteria, expect: Expect) {
    expect.assert_eq(&register(input, criteria));
}

#[test]
fn empty_register_lists_every_category_as_no_findings() {
    check(
        &empty(),
        &RiskCriteria::default(),
        expect![[r#"
            R1 past-retention             low      L1 P3 C3 S3  ok  []
            R2 consent-missing-elements   low      L1 P3 C4 S4  ok  []
            R3 vendor-missing-terms       low      L1 P3 C4 S4  ok  []
            R4 break-glass                low      L1 P3 C2 S3  ok  []
            R5 overdue-requests           low      L1 P3 C3 S3  ok  []
            R6 disclosure-without-consent low      L1 P5 C5 S5  ok  []
            R7 automated-processing       low      L1 P2 C2 S2  ok  []
            R8 hold-outside-statute       low      L1 P2 C4 S4  ok  []
            Summary { findings_with_records: 0, records: 0, unacceptable: 0, critical: 0, high: 0, medium: 0, low: 8, automated_outputs: 0 }
        "#]],
    );
    check(
        &empty(),
        &strict(),
        expect![[r#"
            R1 past-retention             low      L1 P3 C3 S3  ok  []
            R2 consent-missing-elements   low      L1 P3 C4 S4  ok  []
            R3 vendor-missing-terms       low      L1 P3 C4 S4  ok  []
            R4 break-glass                low      L1 P3 C2 S3  ok  []
            R5 overdue-requests           low      L1 P3 C3 S3  ok  []
            R6 disclosure-without-consent low      L1 P5 C5 S5  NO  []
            R7 automated-processing       low      L1 P2 C2 S2  ok  []
            R8 hold-outside-statute       low      L1 P2 C4 S4  ok  []
            Summary { findings_with_records: 0, records: 0, unacceptable: 1, critical: 0, high: 0, medium: 0, low: 8, automated_outputs: 0 }
        "#]],
    );
}

#[test]
fn every_category_with_records_under_two_criteria() {
    check(
        &full(),
        &RiskCriteria::default(),
        expect![[r#"
            R1 past-retention             critical L4 P4 C5 S20 NO  [derivative:d9, scan:a1]
            R2 consent-missing-elements   high     L3 P3 C4 S12 NO  [subject:s3]
            R3 vendor-missing-terms       high     L3 P3 C4 S12 NO  [vendor:lab-x]
            R4 break-glass                medium   L2 P3 C2 S6  ok  [audit:42]
            R5 overdue-requests           medium   L3 P3 C3 S9  NO  [request:req-7]
            R6 disclosure-without-consent high     L3 P5 C5 S15 NO  [scan:a1]
            R7 automated-processing       low      L2 P2 C2 S4  ok  [derivative:d1]
            R8 hold-outside-statute       high     L3 P4 C5 S15 NO  [subject:s4]
            Summary { findings_with_records: 8, records: 9, unacceptable: 6, critical: 1, high: 4, medium: 2, low: 1, automated_outputs: 1 }
        "#]],
    );
    check(
        &full(),
        &strict(),
        expect![[r#"
            R1 past-retention             critical L4 P4 C5 S20 NO  [derivative:d9, scan:a1]
            R2 consent-missing-elements   high     L3 P3 C4 S12 NO  [subject:s3]
            R3 vendor-missing-terms       high     L3 P3 C4 S12 NO  [vendor:lab-x]
            R4 break-glass                medium   L2 P3 C2 S6  NO  [audit:42]
            R5 overdue-requests           medium   L3 P3 C3 S9  NO  [request:req-7]
            R6 disclosure-without-consent high     L3 P5 C5 S15 NO  [scan:a1]
            R7 automated-processing       low      L2 P2 C2 S4  ok  [derivative:d1]
            R8 hold-outside-statute       high     L3 P4 C5 S15 NO  [subject:s4]
            Summary { findings_with_records: 8, records: 9, unacceptable: 7, critical: 1, high: 4, medium: 2, low: 1, automated_outputs: 1 }
        "#]],
    );
}

#[test]
fn biometric_past_retention_is_high() {
    let mut input = empty();
    input.past_retention = full().past_retention[..1].to_vec();
    check(
        &input,
        &RiskCriteria::default(),
        expect![[r#"
            R1 past-retention             high     L3 P4 C5 S15 NO  [scan:a1]
            R2 consent-missing-elements   low      L1 P3 C4 S4  ok  []
            R3 vendor-missing-terms       low      L1 P3 C4 S4  ok  []
            R4 break-glass                low      L1 P3 C2 S3  ok  []
            R5 overdue-requests           low      L1 P3 C3 S3  ok  []
            R6 disclosure-without-consent low      L1 P5 C5 S5  ok  []
            R7 automated-processing       low      L1 P2 C2 S2  ok  []
            R8 hold-outside-statute       low      L1 P2 C4 S4  ok  []
            Summary { findings_with_records: 1, records: 1, unacceptable: 1, critical: 0, high: 1, medium: 0, low: 7, automated_outputs: 0 }
        "#]],
    );
    // The same record, not biometric, is medium.
    input.past_retention[0].biometric = false;
    check(
        &input,
        &RiskCriteria::default(),
        expect![[r#"
            R1 past-retention             medium   L3 P3 C3 S9  NO  [scan:a1]
            R2 consent-missing-elements   low      L1 P3 C4 S4  ok  []
            R3 vendor-missing-terms       low      L1 P3 C4 S4  ok  []
            R4 break-glass                low      L1 P3 C2 S3  ok  []
            R5 overdue-requests           low      L1 P3 C3 S3  ok  []
            R6 disclosure-without-consent low      L1 P5 C5 S5  ok  []
            R7 automated-processing       low      L1 P2 C2 S2  ok  []
            R8 hold-outside-statute       low      L1 P2 C4 S4  ok  []
            Summary { findings_with_records: 1, records: 1, unacceptable: 1, critical: 0, high: 0, medium: 1, low: 7, automated_outputs: 0 }
        "#]],
    );
}

#[test]
fn likelihood_grows_with_records() {
    let table: Vec<String> = [Category::PastRetention, Category::BreakGlass]
        .into_iter()
        .map(|c| {
            let row: Vec<String> =
                [0, 1, 2, 4, 5, 50].iter().map(|&n| likelihood(c, n).to_string()).collect();
            format!("{}: {}", c.id(), row.join(" "))
        })
        .collect();
    expect![[r#"
        past-retention: 1 3 4 4 5 5
        break-glass: 1 2 2 2 3 3"#]]
    .assert_eq(&table.join("\n"));
}

#[test]
fn criteria_from_toml() {
    let default: RiskCriteria = toml::from_str("").unwrap();
    assert_eq!(default, RiskCriteria::default());
    assert_eq!(default.acceptable_score, 6);
    assert!(default.validate().is_ok());
    let bad: RiskCriteria = toml::from_str("acceptable-score = 30").unwrap();
    expect!["acceptable-score 30 is not on the risk scale 1 to 25"].assert_eq(&bad.validate().unwrap_err());
    let zero: RiskCriteria = toml::from_str("acceptable-score = 0").unwrap();
    assert!(zero.validate().is_err());
    let unknown = toml::from_str::<RiskCriteria>("threshold = 5").unwrap_err();
    assert!(unknown.to_string().contains("unknown field"), "{unknown}");
}

#[test]
fn markdown_and_json() {
    let report = assess(&full(), &RiskCriteria::default());
    expect![[r#"
        # Privacy posture report (risk register)

        As of 2026-03-02T09:00:00Z.

        ## Risk acceptance criteria

        We accept a risk when its likelihood times its worst impact, to a patient or to the clinic, is no more than 6: a foreseeable harm of minor impact.

        Score = likelihood x max(impact to the patient, impact to the clinic), each 1 to 5 (DoCRA); acceptable when the score is at most 6.

        ## Summary

        8 of 8 risks have findings (9 records); 6 not acceptable; 1 critical, 4 high, 2 medium, 1 low; 1 output(s) of automated processing.

        ## Register

        | Id | Category | Severity | Records | L | Patient | Clinic | Score | Acceptable |
        |----|----------|----------|---------|---|---------|--------|-------|------------|
        | R1 | past-retention | critical | 2 | 4 | 4 | 5 | 20 | NO |
        | R2 | consent-missing-elements | high | 1 | 3 | 3 | 4 | 12 | NO |
        | R3 | vendor-missing-terms | high | 1 | 3 | 3 | 4 | 12 | NO |
        | R4 | break-glass | medium | 1 | 2 | 3 | 2 | 6 | yes |
        | R5 | overdue-requests | medium | 1 | 3 | 3 | 3 | 9 | NO |
        | R6 | disclosure-without-consent | high | 1 | 3 | 5 | 5 | 15 | NO |
        | R7 | automated-processing | low | 1 | 2 | 2 | 2 | 4 | yes |
        | R8 | hold-outside-statute | high | 1 | 3 | 4 | 5 | 15 | NO |

        ## R1 2 record(s) kept past the retention date, biometric data among them

        Safeguard: Retention engine: `facevault retention plan` daily and `retention enforce` (crypto-shred, signed deletion certificates); legal holds suspend it.

        - `derivative:d9`: subject s2: due 2025-06-30 (consent expired)
        - `scan:a1`: subject s1: biometric, due 2025-01-02 (purpose retention)

        ## R2 1 consent(s) missing an element their jurisdiction requires

        Safeguard: Capture check per jurisdiction before every capture; renew expired consents, refuse captures until then.

        - `subject:s3`: US-IL: missing consent in force (it expired on 2026-01-01)

        ## R3 1 vendor(s) missing required contract terms

        Safeguard: Vendor registry: nothing is disclosed to a vendor missing required terms; amend the contract.

        - `vendor:lab-x`: missing no-sale, deletion-assistance

        ## R4 1 break-glass access(es) to review

        Safeguard: Break-glass accesses last one hour, are flagged in the audit log and reviewed by the privacy officer (`facevault audit list --flagged`).

        - `audit:42`: nurse-1 accessed scan:a1 at 2026-02-01T03:00:00Z

        ## R5 1 overdue data-subject request obligation(s)

        Safeguard: Request tracking with deadlines per law (`facevault request list --due-within`); complete or extend with notice.

        - `request:req-7`: opt-out under CCPA: respond was due 2026-02-15

        ## R6 1 disclosure(s) of biometric data without consent

        Safeguard: Policy, consent and vendor checks before every disclosure, recorded before the file is written; notify and remediate any past disclosure found here.

        - `scan:a1`: subject s1: to photo-agency for marketing-images at 2026-01-10T12:00:00Z: consent does not cover the purpose

        ## R7 1 output(s) of automated processing

        AUTOMATED PROCESSING: outputs computed by software from the patient's scans.

        Safeguard: Lineage records the producer and parameters of every output; a clinician reviews each before use; the access export discloses the logic (GDPR art. 15(1)(h)).

        - `derivative:d1`: automated inference of subject s1 by facevault-analysis 0.1 symmetry

        ## R8 1 legal hold(s) outside the statute: destruction suspended, for counsel

        Safeguard: The hold still suspends destruction (destroying evidence is worse); counsel obtains a warrant or subpoena the statute names, or releases the hold, or records why keeping the data is lawful.

        - `subject:s4`: litigation hold (reference sha256:ab12) placed 2026-02-20: outside the statute (US-IL: BIPA 740 ILCS 14/15(a))
    "#]].assert_eq(&report.to_markdown());
    // Typed serialization: a `Value` map's key order depends on serde_json's `preserve_order`,
    // which cedar-policy turns on in a workspace build.
    expect![[r#"
        {
          "id": "R1",
          "category": "past-retention",
          "severity": "critical",
          "title": "2 record(s) kept past the retention date, biometric data among them",
          "automated_processing": false,
          "records": [
            {
              "id": "derivative:d9",
              "detail": "subject s2: due 2025-06-30 (consent expired)"
            },
            {
              "id": "scan:a1",
              "detail": "subject s1: biometric, due 2025-01-02 (purpose retention)"
            }
          ],
          "risk": {
            "likelihood": 4,
            "impact_patient": 4,
            "impact_clinic": 5,
            "score": 20,
            "safeguard": "Retention engine: `facevault retention plan` daily and `retention enforce` (crypto-shred, signed deletion certificates); legal holds suspend it.",
            "acceptable": false
          }
        }"#]].assert_eq(&serde_json::to_string_pretty(&report.findings[0]).unwrap());
    // Deterministic: the same input gives the same bytes, whatever the order of the records.
    let mut shuffled = full();
    shuffled.past_retention.reverse();
    assert_eq!(
        serde_json::to_string(&assess(&shuffled, &RiskCriteria::default())).unwrap(),
        serde_json::to_string(&report).unwrap()
    );
}
