//! The authorization matrix: every role x action x purpose under each consent state, then the
//! cases where retention, opt-out, limit-use, legal hold or break-glass decide. The snapshots
//! are the policy's documentation; `UPDATE_EXPECT=1 cargo test -p facevault-policy` rewrites
//! them after a deliberate policy change.

use expect_test::{expect, Expect};
use facevault_domain::{
    check_capture, Catalogue, CatalogueConfig, ConsentDraft, ConsentRecord, Date, Jurisdiction, Notice,
    NoticeCovers, ObjectId, Signature, SignatureMethod, Timestamp,
};
use facevault_policy::{
    AccessRequest, Action, BreakGlass, Policy, PolicyError, Restrictions, Role, DEFAULT_POLICIES,
};

const AT: &str = "2025-06-01T12:00:00Z";

fn instant(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
}

fn day(s: &str) -> Date {
    s.parse().unwrap_or_else(|e| panic!("bad date {s}: {e}"))
}

/// Every purpose on, so the matrix shows what the policies alone say about each.
fn catalogue() -> Catalogue {
    let cfg: CatalogueConfig = toml::from_str(
        "[[purpose]]\nid = \"vendor-disclosure\"\nenabled = true\nvendor = \"Acme 3D Labs\"\n\
         [[purpose]]\nid = \"identification-templates\"\nenabled = true",
    )
    .unwrap();
    Catalogue::from_config(cfg).unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ConsentState {
    Active,
    Withdrawn,
    Expired,
    Missing,
}

/// A consent to every purpose (sharing too), in the state asked for at [`AT`].
fn consent(cat: &Catalogue, state: ConsentState, limit_use: bool) -> Option<ConsentRecord> {
    let all = NoticeCovers { purposes: true, retention: true, withdrawal: true, limit_use: true };
    let draft = ConsentDraft {
        notice: Some(Notice::new("v1", "We use your 3D facial scan for ...", all)),
        purposes: cat.iter().map(|p| cat.grant(p.id.as_str()).unwrap()).collect(),
        collect: true,
        share: true,
        limit_use,
        signature: Some(Signature {
            method: SignatureMethod::Electronic,
            typed_name: "Jane Roe".into(),
            at: instant("2025-01-10T09:00:00Z"),
        }),
        expires: (state == ConsentState::Expired).then(|| day("2025-05-01")),
        sale_authorization: None,
    };
    let mut record: ConsentRecord =
        check_capture(Jurisdiction::Other, &draft, instant("2025-01-10T10:00:00Z"))
            .unwrap_or_else(|e| panic!("{}", e.refusal(Jurisdiction::Other)))
            .into();
    match state {
        ConsentState::Missing => None,
        ConsentState::Withdrawn => {
            record.withdraw(instant("2025-03-01T00:00:00Z"));
            Some(record)
        }
        _ => Some(record),
    }
}

fn request<'a>(
    role: Role,
    action: Action,
    purpose: &'a str,
    object: &'a ObjectId,
    consent: Option<&'a ConsentRecord>,
) -> AccessRequest<'a> {
    AccessRequest {
        actor: "actor-1",
        role,
        action,
        purpose,
        object,
        consent,
        retained_until: day("2027-01-01"),
        restrictions: Restrictions::default(),
        break_glass: None,
        actor_is_subject: true,
        right_of_access: false,
        at: instant(AT),
    }
}

/// Renders one consent state's matrix: a row per role and action, a column per purpose,
/// `Y` allowed and `.` denied.
fn check_matrix(state: ConsentState, expect: Expect) {
    let cat = catalogue();
    let policy = Policy::default_for(cat.clone()).unwrap();
    let record = consent(&cat, state, false);
    let object = ObjectId("obj-1".into());
    let purposes: Vec<String> = cat.iter().map(|p| p.id.as_str().to_owned()).collect();
    let mut out = String::from("columns:\n");
    for (i, p) in purposes.iter().enumerate() {
        out += &format!("  {} {p}\n", i + 1);
    }
    let numbers: Vec<String> = (1..=purposes.len()).map(|i| i.to_string()).collect();
    out += &format!("{:<24}{}\n", "role/action", numbers.join(" "));
    for role in Role::ALL {
        for action in Action::ALL {
            let cells: Vec<&str> = purposes
                .iter()
                .map(|p| {
                    let d = policy.decide(&request(role, action, p, &object, record.as_ref()));
                    if d.allowed() {
                        "Y"
                    } else {
                        "."
                    }
                })
                .collect();
            out += &format!("{:<24}{}\n", format!("{role} {action}"), cells.join(" "));
        }
    }
    expect.assert_eq(&out);
}

#[test]
fn matrix_consent_active() {
    check_matrix(
        ConsentState::Active,
        expect![[r#"
        columns:
          1 treatment-planning
          2 outcome-simulation
          3 post-op-tracking
          4 clinical-photography
          5 marketing-images
          6 research
          7 ai-model-training
          8 vendor-disclosure
          9 identification-templates
        role/action             1 2 3 4 5 6 7 8 9
        surgeon read            Y Y Y Y . Y . . .
        surgeon analyze         Y Y Y Y . Y . . .
        surgeon export          Y Y Y Y . . . . .
        surgeon share           Y Y Y Y . . . . .
        surgeon delete          . . . . . . . . .
        clinical_staff read     Y Y Y Y . . . . .
        clinical_staff analyze  Y Y Y Y . . . . .
        clinical_staff export   . . . . . . . . .
        clinical_staff share    . . . . . . . . .
        clinical_staff delete   . . . . . . . . .
        front_desk read         . . . . . . . . .
        front_desk analyze      . . . . . . . . .
        front_desk export       . . . . . . . . .
        front_desk share        . . . . . . . . .
        front_desk delete       . . . . . . . . .
        marketing read          . . . . Y . . . .
        marketing analyze       . . . . . . . . .
        marketing export        . . . . Y . . . .
        marketing share         . . . . . . . . .
        marketing delete        . . . . . . . . .
        privacy_officer read    Y Y Y Y Y Y Y Y Y
        privacy_officer analyze . . . . . . . . .
        privacy_officer export  Y Y Y Y Y Y Y Y Y
        privacy_officer share   . . . . . . . . .
        privacy_officer delete  Y Y Y Y Y Y Y Y Y
        vendor read             . . . . . . . Y .
        vendor analyze          . . . . . . . . .
        vendor export           . . . . . . . . .
        vendor share            . . . . . . . . .
        vendor delete           . . . . . . . . .
        patient read            Y Y Y Y Y Y Y Y Y
        patient analyze         . . . . . . . . .
        patient export          Y Y Y Y Y Y Y Y Y
        patient share           . . . . . . . . .
        patient delete          Y Y Y Y Y Y Y Y Y
        admin read              . . . . . . . . .
        admin analyze           . . . . . . . . .
        admin export            . . . . . . . . .
        admin share             . . . . . . . . .
        admin delete            . . . . . . . . .
    "#]],
    );
}

#[test]
fn matrix_consent_withdrawn() {
    check_matrix(
        ConsentState::Withdrawn,
        expect![[r#"
        columns:
          1 treatment-planning
          2 outcome-simulation
          3 post-op-tracking
          4 clinical-photography
          5 marketing-images
          6 research
          7 ai-model-training
          8 vendor-disclosure
          9 identification-templates
        role/action             1 2 3 4 5 6 7 8 9
        surgeon read            . . . . . . . . .
        surgeon analyze         . . . . . . . . .
        surgeon export          . . . . . . . . .
        surgeon share           . . . . . . . . .
        surgeon delete          . . . . . . . . .
        clinical_staff read     . . . . . . . . .
        clinical_staff analyze  . . . . . . . . .
        clinical_staff export   . . . . . . . . .
        clinical_staff share    . . . . . . . . .
        clinical_staff delete   . . . . . . . . .
        front_desk read         . . . . . . . . .
        front_desk analyze      . . . . . . . . .
        front_desk export       . . . . . . . . .
        front_desk share        . . . . . . . . .
        front_desk delete       . . . . . . . . .
        marketing read          . . . . . . . . .
        marketing analyze       . . . . . . . . .
        marketing export        . . . . . . . . .
        marketing share         . . . . . . . . .
        marketing delete        . . . . . . . . .
        privacy_officer read    . . . . . . . . .
        privacy_officer analyze . . . . . . . . .
        privacy_officer export  . . . . . . . . .
        privacy_officer share   . . . . . . . . .
        privacy_officer delete  Y Y Y Y Y Y Y Y Y
        vendor read             . . . . . . . . .
        vendor analyze          . . . . . . . . .
        vendor export           . . . . . . . . .
        vendor share            . . . . . . . . .
        vendor delete           . . . . . . . . .
        patient read            . . . . . . . . .
        patient analyze         . . . . . . . . .
        patient export          . . . . . . . . .
        patient share           . . . . . . . . .
        patient delete          Y Y Y Y Y Y Y Y Y
        admin read              . . . . . . . . .
        admin analyze           . . . . . . . . .
        admin export            . . . . . . . . .
        admin share             . . . . . . . . .
        admin delete            . . . . . . . . .
    "#]],
    );
}

#[test]
fn matrix_consent_expired() {
    check_matrix(
        ConsentState::Expired,
        expect![[r#"
        columns:
          1 treatment-planning
          2 outcome-simulation
          3 post-op-tracking
          4 clinical-photography
          5 marketing-images
          6 research
          7 ai-model-training
          8 vendor-disclosure
          9 identification-templates
        role/action             1 2 3 4 5 6 7 8 9
        surgeon read            . . . . . . . . .
        surgeon analyze         . . . . . . . . .
        surgeon export          . . . . . . . . .
        surgeon share           . . . . . . . . .
        surgeon delete          . . . . . . . . .
        clinical_staff read     . . . . . . . . .
        clinical_staff analyze  . . . . . . . . .
        clinical_staff export   . . . . . . . . .
        clinical_staff share    . . . . . . . . .
        clinical_staff delete   . . . . . . . . .
        front_desk read         . . . . . . . . .
        front_desk analyze      . . . . . . . . .
        front_desk export       . . . . . . . . .
        front_desk share        . . . . . . . . .
        front_desk delete       . . . . . . . . .
        marketing read          . . . . . . . . .
        marketing analyze       . . . . . . . . .
        marketing export        . . . . . . . . .
        marketing share         . . . . . . . . .
        marketing delete        . . . . . . . . .
        privacy_officer read    . . . . . . . . .
        privacy_officer analyze . . . . . . . . .
        privacy_officer export  . . . . . . . . .
        privacy_officer share   . . . . . . . . .
        privacy_officer delete  Y Y Y Y Y Y Y Y Y
        vendor read             . . . . . . . . .
        vendor analyze          . . . . . . . . .
        vendor export           . . . . . . . . .
        vendor share            . . . . . . . . .
        vendor delete           . . . . . . . . .
        patient read            . . . . . . . . .
        patient analyze         . . . . . . . . .
        patient export          . . . . . . . . .
        patient share           . . . . . . . . .
        patient delete          Y Y Y Y Y Y Y Y Y
        admin read              . . . . . . . . .
        admin analyze           . . . . . . . . .
        admin export            . . . . . . . . .
        admin share             . . . . . . . . .
        admin delete            . . . . . . . . .
    "#]],
    );
}

#[test]
fn matrix_consent_missing() {
    check_matrix(
        ConsentState::Missing,
        expect![[r#"
        columns:
          1 treatment-planning
          2 outcome-simulation
          3 post-op-tracking
          4 clinical-photography
          5 marketing-images
          6 research
          7 ai-model-training
          8 vendor-disclosure
          9 identification-templates
        role/action             1 2 3 4 5 6 7 8 9
        surgeon read            . . . . . . . . .
        surgeon analyze         . . . . . . . . .
        surgeon export          . . . . . . . . .
        surgeon share           . . . . . . . . .
        surgeon delete          . . . . . . . . .
        clinical_staff read     . . . . . . . . .
        clinical_staff analyze  . . . . . . . . .
        clinical_staff export   . . . . . . . . .
        clinical_staff share    . . . . . . . . .
        clinical_staff delete   . . . . . . . . .
        front_desk read         . . . . . . . . .
        front_desk analyze      . . . . . . . . .
        front_desk export       . . . . . . . . .
        front_desk share        . . . . . . . . .
        front_desk delete       . . . . . . . . .
        marketing read          . . . . . . . . .
        marketing analyze       . . . . . . . . .
        marketing export        . . . . . . . . .
        marketing share         . . . . . . . . .
        marketing delete        . . . . . . . . .
        privacy_officer read    . . . . . . . . .
        privacy_officer analyze . . . . . . . . .
        privacy_officer export  . . . . . . . . .
        privacy_officer share   . . . . . . . . .
        privacy_officer delete  Y Y Y Y Y Y Y Y Y
        vendor read             . . . . . . . . .
        vendor analyze          . . . . . . . . .
        vendor export           . . . . . . . . .
        vendor share            . . . . . . . . .
        vendor delete           . . . . . . . . .
        patient read            . . . . . . . . .
        patient analyze         . . . . . . . . .
        patient export          . . . . . . . . .
        patient share           . . . . . . . . .
        patient delete          Y Y Y Y Y Y Y Y Y
        admin read              . . . . . . . . .
        admin analyze           . . . . . . . . .
        admin export            . . . . . . . . .
        admin share             . . . . . . . . .
        admin delete            . . . . . . . . .
    "#]],
    );
}

/// One case a line: `role action purpose [condition...]`, conditions being `retention-expired`,
/// `opt-out`, `limit-use` (asked at the request), `limit-use-consent` (kept on the consent),
/// `legal-hold`, `break-glass`, `break-glass-no-reason`, `break-glass-late`, `withdrawn`,
/// `missing`. The output gives the decision and every reason.
fn check_cases(script: &str, expect: Expect) {
    let cat = catalogue();
    let policy = Policy::default_for(cat.clone()).unwrap();
    let object = ObjectId("obj-1".into());
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let w: Vec<&str> = line.split_whitespace().collect();
        let role: Role = w[0].parse().unwrap();
        let action = Action::ALL.into_iter().find(|a| a.as_str() == w[1]).unwrap();
        let has = |c: &str| w[3..].contains(&c);
        let state = if has("withdrawn") {
            ConsentState::Withdrawn
        } else if has("missing") {
            ConsentState::Missing
        } else {
            ConsentState::Active
        };
        let record = consent(&cat, state, has("limit-use-consent"));
        let glass = BreakGlass {
            reason: if has("break-glass-no-reason") { " ".into() } else { "airway emergency".into() },
            from: instant("2025-06-01T11:00:00Z"),
            until: instant(if has("break-glass-late") {
                "2025-06-01T11:30:00Z"
            } else {
                "2025-06-01T13:00:00Z"
            }),
        };
        let mut r = request(role, action, w[2], &object, record.as_ref());
        if has("retention-expired") {
            r.retained_until = day("2025-06-01");
        }
        r.restrictions = Restrictions {
            opt_out: has("opt-out"),
            limit_use: has("limit-use"),
            legal_hold: has("legal-hold"),
        };
        if w[3..].iter().any(|c| c.starts_with("break-glass")) {
            r.break_glass = Some(&glass);
        }
        r.actor_is_subject = !has("another-subject");
        r.right_of_access = has("right-of-access");
        let d = policy.decide(&r);
        let reasons: Vec<String> = d.reasons().iter().map(ToString::to_string).collect();
        out += &format!(
            "{line}\n  => {}{}: {}\n",
            if d.allowed() { "ALLOWED" } else { "DENIED" },
            if d.flagged_for_privacy_officer() { " [privacy officer review]" } else { "" },
            reasons.join("; ")
        );
        if let Some(g) = d.grant() {
            assert!(g.covers(action, &object));
            assert_eq!(g.flagged_for_privacy_officer(), d.flagged_for_privacy_officer());
        }
    }
    expect.assert_eq(&out);
}

/// The subject's right of access (an export by the patient on their own record, or by the
/// privacy officer answering a verified request) holds whatever the consent, retention or
/// restrictions; nobody else gets it, and it is for exports only.
#[test]
fn the_right_of_access_ignores_consent_retention_and_restrictions() {
    check_cases(
        "patient export research withdrawn right-of-access
         patient export research retention-expired limit-use opt-out right-of-access
         privacy_officer export research withdrawn right-of-access
         privacy_officer export research withdrawn
         patient export research another-subject withdrawn right-of-access
         surgeon export treatment-planning withdrawn right-of-access
         patient read research withdrawn right-of-access",
        expect![[r#"
            patient export research withdrawn right-of-access
              => ALLOWED: role permitted by patient; right of access and portability (GDPR Art. 15, 20; CCPA 1798.110, 1798.130; MHMDA RCW 19.373.040(1)(a); HIPAA 45 CFR 164.524): consent, retention and restrictions do not apply
            patient export research retention-expired limit-use opt-out right-of-access
              => ALLOWED: role permitted by patient; right of access and portability (GDPR Art. 15, 20; CCPA 1798.110, 1798.130; MHMDA RCW 19.373.040(1)(a); HIPAA 45 CFR 164.524): consent, retention and restrictions do not apply
            privacy_officer export research withdrawn right-of-access
              => ALLOWED: role permitted by privacy-officer; right of access and portability (GDPR Art. 15, 20; CCPA 1798.110, 1798.130; MHMDA RCW 19.373.040(1)(a); HIPAA 45 CFR 164.524): consent, retention and restrictions do not apply
            privacy_officer export research withdrawn
              => DENIED: role permitted by privacy-officer; consent withdrawn at 2025-03-01 00:00:00 UTC
            patient export research another-subject withdrawn right-of-access
              => DENIED: a patient may act only on their own data; role permitted by patient; consent withdrawn at 2025-03-01 00:00:00 UTC
            surgeon export treatment-planning withdrawn right-of-access
              => DENIED: role permitted by surgeon-clinical; consent withdrawn at 2025-03-01 00:00:00 UTC
            patient read research withdrawn right-of-access
              => DENIED: role permitted by patient; consent withdrawn at 2025-03-01 00:00:00 UTC
        "#]],
    );
}

#[test]
fn restrictions() {
    check_cases(
        "surgeon read treatment-planning
         surgeon read treatment-planning retention-expired
         privacy_officer delete treatment-planning retention-expired
         surgeon share treatment-planning opt-out
         vendor read vendor-disclosure opt-out
         surgeon read treatment-planning opt-out
         marketing read marketing-images limit-use
         marketing read marketing-images limit-use-consent
         surgeon read treatment-planning limit-use
         surgeon share treatment-planning limit-use
         privacy_officer delete treatment-planning legal-hold
         patient delete treatment-planning legal-hold
         patient delete treatment-planning withdrawn
         patient read treatment-planning withdrawn
         patient read treatment-planning another-subject
         patient export treatment-planning another-subject
         surgeon read treatment-planning another-subject
         surgeon read no-such-purpose",
        expect![[r#"
            surgeon read treatment-planning
              => ALLOWED: role permitted by surgeon-clinical
            surgeon read treatment-planning retention-expired
              => DENIED: role permitted by surgeon-clinical; retention ended on 2025-06-01
            privacy_officer delete treatment-planning retention-expired
              => ALLOWED: role permitted by privacy-officer
            surgeon share treatment-planning opt-out
              => DENIED: role permitted by surgeon-clinical; subject opted out of sharing
            vendor read vendor-disclosure opt-out
              => DENIED: role permitted by vendor; subject opted out of sharing
            surgeon read treatment-planning opt-out
              => ALLOWED: role permitted by surgeon-clinical
            marketing read marketing-images limit-use
              => DENIED: role permitted by marketing; subject limited use to care
            marketing read marketing-images limit-use-consent
              => DENIED: role permitted by marketing; subject limited use to care
            surgeon read treatment-planning limit-use
              => ALLOWED: role permitted by surgeon-clinical
            surgeon share treatment-planning limit-use
              => DENIED: role permitted by surgeon-clinical; subject limited use to care
            privacy_officer delete treatment-planning legal-hold
              => DENIED: role permitted by privacy-officer; legal hold
            patient delete treatment-planning legal-hold
              => DENIED: role permitted by patient; legal hold
            patient delete treatment-planning withdrawn
              => ALLOWED: role permitted by patient
            patient read treatment-planning withdrawn
              => DENIED: role permitted by patient; consent withdrawn at 2025-03-01 00:00:00 UTC
            patient read treatment-planning another-subject
              => DENIED: a patient may act only on their own data; role permitted by patient
            patient export treatment-planning another-subject
              => DENIED: a patient may act only on their own data; role permitted by patient
            surgeon read treatment-planning another-subject
              => ALLOWED: role permitted by surgeon-clinical
            surgeon read no-such-purpose
              => DENIED: purpose unknown or disabled; role not permitted; consent does not cover purpose
        "#]],
    );
}

#[test]
fn break_glass() {
    check_cases(
        "clinical_staff export treatment-planning
         clinical_staff export treatment-planning break-glass
         clinical_staff export treatment-planning break-glass-no-reason
         clinical_staff export treatment-planning break-glass-late
         clinical_staff export treatment-planning break-glass missing
         front_desk read treatment-planning break-glass
         surgeon read marketing-images break-glass",
        expect![[r#"
            clinical_staff export treatment-planning
              => DENIED: role not permitted
            clinical_staff export treatment-planning break-glass
              => ALLOWED [privacy officer review]: BREAK-GLASS until 2025-06-01 13:00:00 UTC (airway emergency); flagged for privacy officer; role permitted by break-glass
            clinical_staff export treatment-planning break-glass-no-reason
              => DENIED [privacy officer review]: break-glass refused: a reason is required; role not permitted
            clinical_staff export treatment-planning break-glass-late
              => DENIED [privacy officer review]: break-glass refused: outside its window; role not permitted
            clinical_staff export treatment-planning break-glass missing
              => DENIED [privacy officer review]: BREAK-GLASS until 2025-06-01 13:00:00 UTC (airway emergency); flagged for privacy officer; role permitted by break-glass; no consent
            front_desk read treatment-planning break-glass
              => DENIED [privacy officer review]: BREAK-GLASS until 2025-06-01 13:00:00 UTC (airway emergency); flagged for privacy officer; role not permitted
            surgeon read marketing-images break-glass
              => DENIED [privacy officer review]: BREAK-GLASS until 2025-06-01 13:00:00 UTC (airway emergency); flagged for privacy officer; role not permitted
        "#]],
    );
}

#[test]
fn invalid_policy_text_is_refused_naming_the_problem() {
    let cat = catalogue();
    let unknown_attr = "permit (principal, action, resource) when { context.vip };";
    let err = Policy::new(cat.clone(), unknown_attr).unwrap_err();
    assert!(matches!(err, PolicyError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("vip"), "{err}");

    let err = Policy::new(cat.clone(), "permit (principal, action, resource").unwrap_err();
    assert!(matches!(err, PolicyError::Parse(_)), "{err}");

    let unknown_action = "permit (principal, action == Action::\"sell\", resource);";
    let err = Policy::new(cat.clone(), unknown_action).unwrap_err();
    assert!(err.to_string().contains("sell"), "{err}");

    // The shipped text validates, and an empty text is valid and denies everything.
    assert!(Policy::new(cat.clone(), DEFAULT_POLICIES).is_ok());
    let none = Policy::new(cat.clone(), "").unwrap();
    let object = ObjectId("o".into());
    let record = consent(&cat, ConsentState::Active, false);
    let d =
        none.decide(&request(Role::Surgeon, Action::Read, "treatment-planning", &object, record.as_ref()));
    assert!(!d.allowed());
}

#[test]
fn clinic_policy_can_narrow_the_defaults() {
    let cat = catalogue();
    let text = format!(
        "{DEFAULT_POLICIES}\nforbid (principal == Role::\"surgeon\", action == Action::\"share\", resource);"
    );
    let policy = Policy::new(cat.clone(), &text).unwrap();
    let object = ObjectId("o".into());
    let record = consent(&cat, ConsentState::Active, false);
    let share = request(Role::Surgeon, Action::Share, "treatment-planning", &object, record.as_ref());
    assert!(!policy.decide(&share).allowed());
    let read = request(Role::Surgeon, Action::Read, "treatment-planning", &object, record.as_ref());
    assert!(policy.decide(&read).allowed());
}
