//! The domain's rules as tables: one `check_*` helper per area, so a new case is one line.

use expect_test::{expect, Expect};
use facevault_domain::retention::audit_record_expires;
use facevault_domain::{
    check_capture, decide, plan, Catalogue, CatalogueConfig, Clock, ConsentDraft, ConsentRecord, Date,
    Enforcement, HoldKind, Jurisdiction, LegalHold, Notice, NoticeCovers, ObjectId, ObjectKind, PurposeId,
    RetentionPeriod, Signature, SignatureMethod, SimClock, StoredObject, SubjectId, SubjectRetention,
    Timestamp,
};

fn day(s: &str) -> Date {
    s.parse().unwrap_or_else(|e| panic!("bad date {s}: {e}"))
}

fn instant(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
}

fn jurisdiction(s: &str) -> Jurisdiction {
    match s {
        "il" => Jurisdiction::Il,
        "tx" => Jurisdiction::Tx,
        "wa" => Jurisdiction::Wa,
        "ca" => Jurisdiction::Ca,
        "eu" => Jurisdiction::Eu,
        "other" => Jurisdiction::Other,
        _ => panic!("unknown jurisdiction {s}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Purposes

/// Builds the catalogue from TOML config text; prints one line per purpose, or the error.
fn check_catalogue(toml_text: &str, expect: Expect) {
    let actual = match toml::from_str::<CatalogueConfig>(toml_text) {
        Err(e) => format!("config error: {}", e.message()),
        Ok(cfg) => match Catalogue::from_config(cfg) {
            Err(e) => format!("catalogue error: {e}"),
            Ok(cat) => cat
                .iter()
                .map(|p| {
                    let mut flags =
                        vec![if p.enabled { "on" } else { "off" }.to_owned(), p.retention.to_string()];
                    if p.share {
                        flags.push("share".into());
                    }
                    if p.sale {
                        flags.push("sale".into());
                    }
                    if let Some(v) = &p.vendor {
                        flags.push(format!("vendor={v}"));
                    }
                    format!("{} [{}]: {}\n", p.id, flags.join(" "), p.description)
                })
                .collect(),
        },
    };
    expect.assert_eq(&actual);
}

#[test]
fn catalogue_defaults_leave_identification_and_unnamed_vendor_off() {
    check_catalogue(
        "",
        expect![[r#"
            treatment-planning [on 3y]: Plan your surgical treatment from your 3D facial scan.
            outcome-simulation [on 1y]: Show you a simulated outcome of the planned procedure.
            post-op-tracking [on 3y]: Compare scans after surgery to follow your recovery.
            clinical-photography [on 3y]: Keep images derived from the scan in your clinical record.
            marketing-images [on 2y]: Use images derived from your scan in the clinic's marketing.
            research [on 3y]: Use your de-identified scan in clinical research.
            ai-model-training [on 1y]: Use your scan to train or evaluate AI models.
            vendor-disclosure [off 1y share]: Disclose your scan to a named vendor.
            identification-templates [off 30d]: Derive a template that can identify you.
        "#]],
    );
}

#[test]
fn catalogue_config_changes_adds_and_refuses() {
    check_catalogue(
        "defaults = false\n[[purpose]]\nid = \"treatment-planning\"\nretention = \"18m\"\n[[purpose]]\nid = \"second-opinion\"\ndescription = \"Send to a second surgeon.\"\nretention = \"90d\"\nshare = true",
        expect![[r#"
            catalogue error: purpose treatment-planning: field description is required for a purpose not in the defaults"#]],
    );
    check_catalogue(
        "[[purpose]]\nid = \"vendor-disclosure\"\nenabled = true\nvendor = \"Acme 3D Labs\"\n[[purpose]]\nid = \"ai-model-training\"\nenabled = false\n[[purpose]]\nid = \"second-opinion\"\ndescription = \"Send to a second surgeon.\"\nretention = \"90d\"\nshare = true",
        expect![[r#"
            treatment-planning [on 3y]: Plan your surgical treatment from your 3D facial scan.
            outcome-simulation [on 1y]: Show you a simulated outcome of the planned procedure.
            post-op-tracking [on 3y]: Compare scans after surgery to follow your recovery.
            clinical-photography [on 3y]: Keep images derived from the scan in your clinical record.
            marketing-images [on 2y]: Use images derived from your scan in the clinic's marketing.
            research [on 3y]: Use your de-identified scan in clinical research.
            ai-model-training [off 1y]: Use your scan to train or evaluate AI models.
            vendor-disclosure [on 1y share vendor=Acme 3D Labs]: Disclose your scan to a named vendor.
            identification-templates [off 30d]: Derive a template that can identify you.
            second-opinion [on 90d share]: Send to a second surgeon.
        "#]],
    );
    check_catalogue(
        "[[purpose]]\nid = \"vendor-disclosure\"\nenabled = true",
        expect![[
            r#"catalogue error: purpose vendor-disclosure: a sharing purpose that discloses to a vendor must name it"#
        ]],
    );
    check_catalogue(
        "[[purpose]]\nid = \"research\"\n[[purpose]]\nid = \"research\"",
        expect![[r#"catalogue error: purpose research is configured twice"#]],
    );
    check_catalogue(
        "[[purpose]]\nid = \"Research!\"",
        expect![[r#"config error: bad purpose id "Research!": use 1-64 characters a-z, 0-9 and '-'"#]],
    );
    check_catalogue(
        "[[purpose]]\nid = \"research\"\nretention = \"3 weeks\"",
        expect![[r#"config error: bad retention period "3 weeks": write e.g. 30d, 6m or 3y"#]],
    );
    check_catalogue(
        "[[purpose]]\nid = \"research\"\nretain = \"3y\"",
        expect!["config error: unknown field `retain`, expected one of `id`, `description`, `retention`, `share`, `sale`, `vendor`, `enabled`, `care`"],
    );
}

#[test]
fn catalogue_grants_only_enabled_purposes() {
    let cat = Catalogue::defaults();
    let grant = cat.grant("post-op-tracking").map(|g| g.retention);
    assert_eq!(grant, Ok(Some(RetentionPeriod::Years(3))));
    assert_eq!(
        cat.grant("identification-templates").map_err(|e| e.to_string()),
        Err("purpose identification-templates is disabled in this clinic's catalogue".to_owned())
    );
    assert_eq!(cat.grant("gossip").map_err(|e| e.to_string()), Err("unknown purpose gossip".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// Consent

const CAPTURE_AT: &str = "2025-01-10T10:00:00Z";

fn catalogue_with_vendor() -> Catalogue {
    let cfg: CatalogueConfig =
        toml::from_str("[[purpose]]\nid = \"vendor-disclosure\"\nenabled = true\nvendor = \"Acme 3D Labs\"")
            .unwrap();
    Catalogue::from_config(cfg).unwrap()
}

/// A draft that every jurisdiction accepts: full notice, two purposes (one shares), collect and
/// share consents, an electronic signature an hour before capture.
fn full_draft(cat: &Catalogue, purposes: &[&str]) -> ConsentDraft {
    let all = NoticeCovers { purposes: true, retention: true, withdrawal: true, limit_use: true };
    ConsentDraft {
        notice: Some(Notice::new("v3", "We use your 3D facial scan for ...", all)),
        purposes: purposes.iter().map(|p| cat.grant(p).unwrap()).collect(),
        collect: true,
        share: true,
        limit_use: false,
        signature: Some(Signature {
            method: SignatureMethod::Electronic,
            typed_name: "Jane Roe".into(),
            at: instant("2025-01-10T09:00:00Z"),
        }),
        expires: None,
        sale_authorization: None,
    }
}

/// Applies space-separated edits to the full draft, checks it for `j` at capture time and
/// prints the consent or the refusal.
fn check_consent(j: &str, edits: &str, expect: Expect) {
    let j = jurisdiction(j);
    let cat = catalogue_with_vendor();
    let mut d = full_draft(&cat, &["treatment-planning", "vendor-disclosure"]);
    for edit in edits.split_whitespace() {
        let notice = d.notice.clone().unwrap();
        let mut covers = notice.covers();
        match edit {
            "-notice" => d.notice = None,
            "blank-notice" => d.notice = Some(Notice::new("v3", "  ", covers)),
            "-purposes" => d.purposes.clear(),
            "only-treatment" => d.purposes.truncate(1),
            "-retention" => d.purposes[0].retention = None,
            "-collect" => d.collect = false,
            "-share" => d.share = false,
            "+sale" => d.purposes[1].purpose.sale = true,
            "-signature" => d.signature = None,
            "-typed-name" => d.signature.as_mut().unwrap().typed_name = " ".into(),
            "verbal" => d.signature.as_mut().unwrap().method = SignatureMethod::Verbal,
            "handwritten" => d.signature.as_mut().unwrap().method = SignatureMethod::Handwritten,
            "signed-after-capture" => d.signature.as_mut().unwrap().at = instant("2025-01-10T10:00:01Z"),
            "expired" => d.expires = Some(day("2025-01-10")),
            "expires-tomorrow" => d.expires = Some(day("2025-01-11")),
            "limit-use" => d.limit_use = true,
            "+sale-auth" | "sale-auth-13m" | "sale-auth-no-buyer" => {
                let expires = if edit == "sale-auth-13m" { day("2026-02-10") } else { day("2026-01-10") };
                let buyer = if edit == "sale-auth-no-buyer" { " " } else { "Acme Data Co" };
                d.sale_authorization = Some(facevault_domain::SaleAuthorization {
                    buyer: buyer.into(),
                    signed: instant("2025-01-10T09:30:00Z"),
                    expires,
                });
            }
            "-notice.purposes" | "-notice.retention" | "-notice.withdrawal" | "-notice.limit-use" => {
                match edit {
                    "-notice.purposes" => covers.purposes = false,
                    "-notice.retention" => covers.retention = false,
                    "-notice.withdrawal" => covers.withdrawal = false,
                    _ => covers.limit_use = false,
                }
                d.notice = Some(Notice::new(notice.version(), notice.text(), covers));
            }
            _ => panic!("unknown edit {edit}"),
        }
    }
    let actual = match check_capture(j, &d, instant(CAPTURE_AT)) {
        Err(e) => e.refusal(j),
        Ok(c) => {
            let purposes: Vec<String> = c.purposes().iter().map(|(p, r)| format!("{}={r}", p.id)).collect();
            format!(
                "ok {}: {}; share={} limit-use={}; notice {} sha256 {}..; signed {:?} by {} at {}; expires {:?}",
                c.jurisdiction(),
                purposes.join(" "),
                c.share(),
                c.limit_use(),
                c.notice().version(),
                &c.notice().sha256_hex()[..12],
                c.signature().method,
                c.signature().typed_name,
                c.signature().at,
                c.expires(),
            )
        }
    };
    expect.assert_eq(&actual);
}

#[test]
#[rustfmt::skip]
fn full_consent_is_accepted_everywhere() {
    for j in Jurisdiction::ALL {
        let cat = catalogue_with_vendor();
        let d = full_draft(&cat, &["treatment-planning", "vendor-disclosure"]);
        assert!(check_capture(j, &d, instant(CAPTURE_AT)).is_ok(), "{j}");
    }
    check_consent("ca", "limit-use expires-tomorrow", expect![["ok CA: treatment-planning=3y vendor-disclosure=1y; share=true limit-use=true; notice v3 sha256 94530219a3ce..; signed Electronic by Jane Roe at 2025-01-10 09:00:00 UTC; expires Some(2025-01-11)"]]);
    // What each jurisdiction does not require.
    check_consent("tx", "verbal -share -notice.purposes -notice.retention -notice.withdrawal -notice.limit-use", expect![["ok TX: treatment-planning=3y vendor-disclosure=1y; share=false limit-use=false; notice v3 sha256 94530219a3ce..; signed Verbal by Jane Roe at 2025-01-10 09:00:00 UTC; expires None"]]);
    check_consent("il", "only-treatment -share handwritten -notice.withdrawal -notice.limit-use", expect![["ok IL: treatment-planning=3y; share=false limit-use=false; notice v3 sha256 94530219a3ce..; signed Handwritten by Jane Roe at 2025-01-10 09:00:00 UTC; expires None"]]);
    check_consent("wa", "only-treatment -share verbal", expect![["ok WA: treatment-planning=3y; share=false limit-use=false; notice v3 sha256 94530219a3ce..; signed Verbal by Jane Roe at 2025-01-10 09:00:00 UTC; expires None"]]);
    check_consent("ca", "-share verbal -notice.withdrawal", expect![["ok CA: treatment-planning=3y vendor-disclosure=1y; share=false limit-use=false; notice v3 sha256 94530219a3ce..; signed Verbal by Jane Roe at 2025-01-10 09:00:00 UTC; expires None"]]);
    check_consent("eu", "-share -notice.purposes -notice.retention -notice.limit-use", expect![["ok EU: treatment-planning=3y vendor-disclosure=1y; share=false limit-use=false; notice v3 sha256 94530219a3ce..; signed Electronic by Jane Roe at 2025-01-10 09:00:00 UTC; expires None"]]);
}

#[test]
fn notice_keeps_text_with_its_sha256() {
    let n = Notice::new("v1", "abc", NoticeCovers::default());
    // FIPS 180-2 test vector for "abc".
    assert_eq!(n.sha256_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!((n.version(), n.text()), ("v1", "abc"));
}

#[test]
#[rustfmt::skip]
fn il_bipa_refuses_capture_naming_each_missing_element() {
    check_consent("il", "-notice", expect![[r#"capture refused: missing notice text shown to the subject (BIPA 740 ILCS 14/15(b)(1),(3) in IL)"#]]);
    check_consent("il", "blank-notice", expect![[r#"capture refused: missing notice text shown to the subject (BIPA 740 ILCS 14/15(b)(1),(3) in IL)"#]]);
    check_consent("il", "-purposes", expect![[r#"capture refused: missing a specific purpose (BIPA 740 ILCS 14/15(b)(2) in IL)"#]]);
    check_consent("il", "-retention", expect![[r#"capture refused: missing retention period stated for purpose treatment-planning (BIPA 740 ILCS 14/15(b)(2) in IL)"#]]);
    check_consent("il", "-collect", expect![[r#"capture refused: missing consent to collect (BIPA 740 ILCS 14/15(b)(1),(3) in IL)"#]]);
    check_consent("il", "-signature", expect![[r#"capture refused: missing signature (BIPA 740 ILCS 14/15(b)(1),(3) in IL)"#]]);
    check_consent("il", "-typed-name", expect![[r#"capture refused: missing signature with a typed name (BIPA 740 ILCS 14/15(b)(1),(3) in IL)"#]]);
    check_consent("il", "verbal", expect![[r#"capture refused: missing written release (handwritten or electronic signature) (BIPA 740 ILCS 14/15(b)(3) in IL)"#]]);
    check_consent("il", "-share", expect![[r#"capture refused: missing separate consent to share, for purpose vendor-disclosure (BIPA 740 ILCS 14/15(d)(1) in IL)"#]]);
    check_consent("il", "+sale", expect![[r#"capture refused: missing no sale of biometric data (purpose vendor-disclosure sells) (BIPA 740 ILCS 14/15(c) in IL)"#]]);
    check_consent("il", "signed-after-capture", expect![[r#"capture refused: missing consent given before capture (signed 2025-01-10 10:00:01 UTC) (FaceVault baseline in IL)"#]]);
    check_consent("il", "expired", expect![[r#"capture refused: missing an unexpired consent (expired 2025-01-10) (FaceVault baseline in IL)"#]]);
}

#[test]
#[rustfmt::skip]
fn tx_cubi_refuses_capture_naming_each_missing_element() {
    check_consent("tx", "-notice", expect![[r#"capture refused: missing notice text shown to the subject (CUBI 503.001(b) in TX)"#]]);
    check_consent("tx", "-purposes", expect![[r#"capture refused: missing a specific purpose (CUBI 503.001(b) in TX)"#]]);
    check_consent("tx", "-retention", expect![[r#"capture refused: missing retention period stated for purpose treatment-planning (FaceVault baseline in TX)"#]]);
    check_consent("tx", "-collect", expect![[r#"capture refused: missing consent to collect (CUBI 503.001(b) in TX)"#]]);
    check_consent("tx", "-signature", expect![[r#"capture refused: missing signature (CUBI 503.001(b) in TX)"#]]);
    check_consent("tx", "-typed-name", expect![[r#"capture refused: missing signature with a typed name (CUBI 503.001(b) in TX)"#]]);
    check_consent("tx", "signed-after-capture", expect![[r#"capture refused: missing consent given before capture (signed 2025-01-10 10:00:01 UTC) (CUBI 503.001(b) in TX)"#]]);
    check_consent("tx", "expired", expect![[r#"capture refused: missing an unexpired consent (expired 2025-01-10) (FaceVault baseline in TX)"#]]);
}

#[test]
#[rustfmt::skip]
fn wa_mhmda_refuses_capture_naming_each_missing_element() {
    check_consent("wa", "-notice", expect![[r#"capture refused: missing notice text shown to the subject (FaceVault baseline in WA)"#]]);
    check_consent("wa", "-notice.purposes", expect![[r#"capture refused: missing notice stating the purposes (MHMDA RCW 19.373.020, .030(1)(c) in WA)"#]]);
    check_consent("wa", "-purposes", expect![[r#"capture refused: missing a specific purpose (FaceVault baseline in WA)"#]]);
    check_consent("wa", "-retention", expect![[r#"capture refused: missing retention period stated for purpose treatment-planning (FaceVault baseline in WA)"#]]);
    check_consent("wa", "-collect", expect![[r#"capture refused: missing consent to collect (MHMDA RCW 19.373.030(1)(a) in WA)"#]]);
    check_consent("wa", "-share", expect![[r#"capture refused: missing separate consent to share, for purpose vendor-disclosure (MHMDA RCW 19.373.030(1)(b) in WA)"#]]);
    check_consent("wa", "+sale", expect!["capture refused: missing a signed sale authorization naming the buyer, for purpose vendor-disclosure (MHMDA RCW 19.373.070 in WA)"]);
    check_consent("wa", "+sale sale-auth-no-buyer", expect!["capture refused: missing a signed sale authorization naming the buyer, for purpose vendor-disclosure (MHMDA RCW 19.373.070 in WA)"]);
    check_consent("wa", "+sale sale-auth-13m", expect!["capture refused: missing a sale authorization that expires within 1 year of signing (it runs to 2026-02-10) (MHMDA RCW 19.373.070(2)(h) in WA)"]);
    check_consent("wa", "+sale +sale-auth", expect!["ok WA: treatment-planning=3y vendor-disclosure=1y; share=true limit-use=false; notice v3 sha256 94530219a3ce..; signed Electronic by Jane Roe at 2025-01-10 09:00:00 UTC; expires None"]);
    check_consent("wa", "-signature", expect![[r#"capture refused: missing signature (FaceVault baseline in WA)"#]]);
    check_consent("wa", "-typed-name", expect![[r#"capture refused: missing signature with a typed name (FaceVault baseline in WA)"#]]);
    check_consent("wa", "signed-after-capture", expect![[r#"capture refused: missing consent given before capture (signed 2025-01-10 10:00:01 UTC) (FaceVault baseline in WA)"#]]);
    check_consent("wa", "expired", expect![[r#"capture refused: missing an unexpired consent (expired 2025-01-10) (FaceVault baseline in WA)"#]]);
}

#[test]
#[rustfmt::skip]
fn ca_ccpa_refuses_capture_naming_each_missing_element() {
    check_consent("ca", "-notice", expect![[r#"capture refused: missing notice text shown to the subject (FaceVault baseline in CA)"#]]);
    check_consent("ca", "-notice.purposes", expect![[r#"capture refused: missing notice stating the purposes (CCPA 1798.100(a)(1),(3) in CA)"#]]);
    check_consent("ca", "-notice.retention", expect![[r#"capture refused: missing notice stating the retention period (CCPA 1798.100(a)(1),(3) in CA)"#]]);
    check_consent("ca", "-notice.limit-use", expect![[r#"capture refused: missing notice stating the right to limit use of sensitive data (CPRA 1798.121, 1798.135 in CA)"#]]);
    check_consent("ca", "-purposes", expect![[r#"capture refused: missing a specific purpose (FaceVault baseline in CA)"#]]);
    check_consent("ca", "-retention", expect![[r#"capture refused: missing retention period stated for purpose treatment-planning (CCPA 1798.100(a)(3) in CA)"#]]);
    check_consent("ca", "-collect", expect![[r#"capture refused: missing consent to collect (FaceVault baseline in CA)"#]]);
    check_consent("ca", "-signature", expect![[r#"capture refused: missing signature (FaceVault baseline in CA)"#]]);
    check_consent("ca", "-typed-name", expect![[r#"capture refused: missing signature with a typed name (FaceVault baseline in CA)"#]]);
    check_consent("ca", "signed-after-capture", expect![[r#"capture refused: missing consent given before capture (signed 2025-01-10 10:00:01 UTC) (FaceVault baseline in CA)"#]]);
    check_consent("ca", "expired", expect![[r#"capture refused: missing an unexpired consent (expired 2025-01-10) (FaceVault baseline in CA)"#]]);
}

#[test]
#[rustfmt::skip]
fn eu_gdpr_refuses_capture_naming_each_missing_element() {
    check_consent("eu", "-notice", expect![[r#"capture refused: missing notice text shown to the subject (FaceVault baseline in EU)"#]]);
    check_consent("eu", "-notice.withdrawal", expect![[r#"capture refused: missing notice stating how to withdraw consent (GDPR Art. 7(3) in EU)"#]]);
    check_consent("eu", "-purposes", expect![[r#"capture refused: missing a specific purpose (GDPR Art. 9(2)(a) in EU)"#]]);
    check_consent("eu", "-retention", expect![[r#"capture refused: missing retention period stated for purpose treatment-planning (FaceVault baseline in EU)"#]]);
    check_consent("eu", "-collect", expect![[r#"capture refused: missing consent to collect (GDPR Art. 9(2)(a) in EU)"#]]);
    check_consent("eu", "verbal", expect![[r#"capture refused: missing explicit consent (a written statement, not verbal) (GDPR Art. 9(2)(a) in EU)"#]]);
    check_consent("eu", "-signature", expect![[r#"capture refused: missing signature (FaceVault baseline in EU)"#]]);
    check_consent("eu", "-typed-name", expect![[r#"capture refused: missing signature with a typed name (FaceVault baseline in EU)"#]]);
    check_consent("eu", "signed-after-capture", expect![[r#"capture refused: missing consent given before capture (signed 2025-01-10 10:00:01 UTC) (FaceVault baseline in EU)"#]]);
    check_consent("eu", "expired", expect![[r#"capture refused: missing an unexpired consent (expired 2025-01-10) (FaceVault baseline in EU)"#]]);
}

#[test]
#[rustfmt::skip]
fn other_jurisdiction_refuses_capture_naming_each_baseline_element() {
    check_consent("other", "-notice", expect![[r#"capture refused: missing notice text shown to the subject (FaceVault baseline in other)"#]]);
    check_consent("other", "-purposes", expect![[r#"capture refused: missing a specific purpose (FaceVault baseline in other)"#]]);
    check_consent("other", "-retention", expect![[r#"capture refused: missing retention period stated for purpose treatment-planning (FaceVault baseline in other)"#]]);
    check_consent("other", "-collect", expect![[r#"capture refused: missing consent to collect (FaceVault baseline in other)"#]]);
    check_consent("other", "-signature", expect![[r#"capture refused: missing signature (FaceVault baseline in other)"#]]);
    check_consent("other", "-typed-name", expect![[r#"capture refused: missing signature with a typed name (FaceVault baseline in other)"#]]);
    check_consent("other", "signed-after-capture", expect![[r#"capture refused: missing consent given before capture (signed 2025-01-10 10:00:01 UTC) (FaceVault baseline in other)"#]]);
    check_consent("other", "expired", expect![[r#"capture refused: missing an unexpired consent (expired 2025-01-10) (FaceVault baseline in other)"#]]);
}

/// Consent status and coverage over time. Lines: `expires D`, `-share`, `withdraw T`, and
/// queries `? PURPOSE T`.
fn check_access(script: &str, expect: Expect) {
    let cat = catalogue_with_vendor();
    let mut d = full_draft(&cat, &["treatment-planning", "vendor-disclosure"]);
    let mut record: Option<ConsentRecord> = None;
    let mut out = String::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w[..] {
            ["expires", e] => d.expires = Some(day(e)),
            ["-share"] => d.share = false,
            ["+sale"] => d.purposes[1].purpose.sale = true,
            ["sale-auth", signed, expires] => {
                d.sale_authorization = Some(facevault_domain::SaleAuthorization {
                    buyer: "Acme Data Co".into(),
                    signed: instant(signed),
                    expires: day(expires),
                })
            }
            ["withdraw", t] => record
                .get_or_insert_with(|| {
                    check_capture(Jurisdiction::Other, &d, instant(CAPTURE_AT)).unwrap().into()
                })
                .withdraw(instant(t)),
            ["?", p, t] => {
                let r = record.get_or_insert_with(|| {
                    check_capture(Jurisdiction::Other, &d, instant(CAPTURE_AT)).unwrap().into()
                });
                let t = instant(t);
                let verdict = if r.covers(p, t) { "allowed" } else { "refused" };
                out += &format!("{p} at {t}: {verdict} ({:?})\n", r.status_at(t));
            }
            _ => panic!("bad line {line}"),
        }
    }
    expect.assert_eq(&out);
}

#[test]
fn withdrawal_takes_effect_at_once_and_expiry_on_its_day() {
    check_access(
        "withdraw 2025-06-01T12:00:00Z
         ? treatment-planning 2025-06-01T11:59:59Z
         ? treatment-planning 2025-06-01T12:00:00Z
         ? vendor-disclosure 2025-06-01T12:00:00Z",
        expect![[r#"
            treatment-planning at 2025-06-01 11:59:59 UTC: allowed (Active)
            treatment-planning at 2025-06-01 12:00:00 UTC: refused (Withdrawn { at: 2025-06-01T12:00:00Z })
            vendor-disclosure at 2025-06-01 12:00:00 UTC: refused (Withdrawn { at: 2025-06-01T12:00:00Z })
        "#]],
    );
    check_access(
        "expires 2026-01-01
         ? treatment-planning 2025-12-31T23:59:59Z
         ? treatment-planning 2026-01-01T00:00:00Z",
        expect![[r#"
            treatment-planning at 2025-12-31 23:59:59 UTC: allowed (Active)
            treatment-planning at 2026-01-01 00:00:00 UTC: refused (Expired { on: 2026-01-01 })
        "#]],
    );
    // Where the law does not require share consent at capture, a sharing purpose's use still
    // needs it; a purpose never granted is refused.
    check_access(
        "-share
         ? treatment-planning 2025-02-01T00:00:00Z
         ? vendor-disclosure 2025-02-01T00:00:00Z
         ? research 2025-02-01T00:00:00Z",
        expect![[r#"
            treatment-planning at 2025-02-01 00:00:00 UTC: allowed (Active)
            vendor-disclosure at 2025-02-01 00:00:00 UTC: refused (Active)
            research at 2025-02-01 00:00:00 UTC: refused (Active)
        "#]],
    );
}

#[test]
fn a_sale_purpose_is_used_only_while_its_authorization_holds() {
    // MHMDA: the authorization lapses by itself within a year; without one, a sale purpose is
    // never covered, whatever the subject's jurisdiction.
    check_access(
        "+sale
         ? vendor-disclosure 2025-02-01T00:00:00Z",
        expect![[r#"
            vendor-disclosure at 2025-02-01 00:00:00 UTC: refused (Active)
        "#]],
    );
    check_access(
        "+sale
         sale-auth 2025-01-10T09:30:00Z 2026-01-10
         ? vendor-disclosure 2025-01-10T09:29:59Z
         ? vendor-disclosure 2026-01-09T23:59:59Z
         ? vendor-disclosure 2026-01-10T00:00:00Z
         ? treatment-planning 2026-01-10T00:00:00Z",
        expect![[r#"
            vendor-disclosure at 2025-01-10 09:29:59 UTC: refused (Active)
            vendor-disclosure at 2026-01-09 23:59:59 UTC: allowed (Active)
            vendor-disclosure at 2026-01-10 00:00:00 UTC: refused (Active)
            treatment-planning at 2026-01-10 00:00:00 UTC: allowed (Active)
        "#]],
    );
}

// ---------------------------------------------------------------------------------------------
// Retention

/// Runs a retention scenario on a simulated clock. Lines:
/// `consent JUR DAY PURPOSE=PERIOD..` (signed that day at 09:00), `expires DAY`,
/// `last-visit DAY`, `scan|derivative ID DAY PURPOSE..`, `satisfied PURPOSE DAY`,
/// `withdraw DAY`, `hold KIND REF DAY REASON..`, `release REF DAY`, `deleted ID`,
/// and the outputs `plan DAY` (the schedule as known that day) and `at DAY` (the decision).
fn check_retention(script: &str, expect: Expect) {
    let cat = Catalogue::defaults();
    let clock = SimClock::on(day("2000-01-01"));
    let mut state: Option<SubjectRetention> = None;
    let mut pending = (Jurisdiction::Other, ConsentDraft::default(), day("2000-01-01"));
    let mut out = String::new();
    let st = |s: &mut Option<SubjectRetention>, p: &(Jurisdiction, ConsentDraft, Date)| {
        if s.is_none() {
            let signed = p.2.and_hms_opt(9, 0, 0).unwrap().and_utc();
            let active = check_capture(p.0, &p.1, signed).unwrap_or_else(|e| panic!("{}", e.refusal(p.0)));
            *s = Some(SubjectRetention::new(SubjectId("subj-7".into()), active.into(), p.2));
        }
    };
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let w: Vec<&str> = line.split_whitespace().collect();
        match (w[0], &w[1..]) {
            ("consent", [j, d, grants @ ..]) => {
                let mut draft = full_draft(&cat, &[]);
                for g in grants {
                    let (p, period) = g.split_once('=').unwrap();
                    let mut grant = cat.grant(p).unwrap();
                    grant.retention = Some(period.parse().unwrap());
                    draft.purposes.push(grant);
                }
                draft.signature.as_mut().unwrap().at = day(d).and_hms_opt(9, 0, 0).unwrap().and_utc();
                pending = (jurisdiction(j), draft, day(d));
            }
            ("expires", [d]) => pending.1.expires = Some(day(d)),
            (cmd, args) => {
                st(&mut state, &pending);
                let s = state.as_mut().unwrap();
                match (cmd, args) {
                    ("last-visit", [d]) => s.last_interaction = day(d),
                    ("scan" | "derivative", [id, d, purposes @ ..]) => s.objects.push(StoredObject {
                        id: ObjectId((*id).into()),
                        kind: if cmd == "scan" { ObjectKind::Scan } else { ObjectKind::Derivative },
                        purposes: purposes.iter().map(|p| PurposeId::new(*p).unwrap()).collect(),
                        stored: day(d),
                    }),
                    ("satisfied", [p, d]) => {
                        s.satisfied.insert(PurposeId::new(*p).unwrap(), day(d));
                    }
                    ("withdraw", [d]) => s.consent.withdraw(day(d).and_hms_opt(15, 0, 0).unwrap().and_utc()),
                    ("hold", [kind, reference, d, reason @ ..]) => {
                        let kind = match *kind {
                            "warrant" => HoldKind::Warrant,
                            "subpoena" => HoldKind::Subpoena,
                            _ => HoldKind::Litigation,
                        };
                        let event = s.place_hold(LegalHold {
                            kind,
                            reference: (*reference).into(),
                            reason: reason.join(" "),
                            placed: day(d).and_hms_opt(8, 0, 0).unwrap().and_utc(),
                            released: None,
                        });
                        out += &format!("event {event:?}\n");
                    }
                    ("release", [reference, d]) => {
                        let event = s.release_hold(reference, day(d).and_hms_opt(8, 0, 0).unwrap().and_utc());
                        out += &format!("event {event:?}\n");
                    }
                    ("deleted", [id]) => s.objects.retain(|o| o.id.0 != *id),
                    ("plan", [d]) => {
                        out += &format!("plan as of {d}:\n");
                        for x in plan(s, day(d)) {
                            let hold = x
                                .suspended_by
                                .map(|h| format!(" [suspended by hold {h}]"))
                                .unwrap_or_default();
                            out += &format!("  {} {}: {} ({}){hold}\n", x.due, x.target, x.rule, x.reason);
                        }
                    }
                    ("at", [d]) => {
                        clock.set(day(d).and_hms_opt(2, 0, 0).unwrap().and_utc());
                        let verdict = match decide(s, clock.today()) {
                            Enforcement::Keep => "keep".to_owned(),
                            Enforcement::ShredSubject(x) => format!("crypto-shred {} ({})", x.target, x.rule),
                            Enforcement::DeleteObjects(xs) => {
                                let v: Vec<String> =
                                    xs.iter().map(|x| format!("{} ({})", x.target, x.rule)).collect();
                                format!("delete {}", v.join(", "))
                            }
                        };
                        out += &format!("at {d}: {verdict}\n");
                    }
                    _ => panic!("bad line {line}"),
                }
            }
        }
    }
    expect.assert_eq(&out);
}

#[test]
fn bipa_destroys_three_years_after_last_interaction() {
    check_retention(
        "consent il 2024-01-01 treatment-planning=5y post-op-tracking=5y
         scan scan#1 2024-01-01 treatment-planning post-op-tracking
         last-visit 2025-03-01
         plan 2025-03-01
         at 2028-02-29
         at 2028-03-01
         at 2028-03-02",
        expect![[r#"
            plan as of 2025-03-01:
              2028-03-01 subject subj-7: bipa-3y (BIPA: 3 years after last interaction on 2025-03-01)
            at 2028-02-29: keep
            at 2028-03-01: crypto-shred subject subj-7 (bipa-3y)
            at 2028-03-02: crypto-shred subject subj-7 (bipa-3y)
        "#]],
    );
}

#[test]
fn bipa_purpose_satisfied_early_deletes_only_its_objects() {
    check_retention(
        "consent il 2024-01-01 treatment-planning=3y outcome-simulation=1y
         last-visit 2024-06-01
         scan scan#1 2024-01-01 treatment-planning outcome-simulation
         derivative sim#1 2024-01-02 outcome-simulation
         satisfied outcome-simulation 2024-03-15
         plan 2024-03-15
         at 2024-03-14
         at 2024-03-15
         deleted sim#1
         at 2024-03-16
         at 2026-12-31
         at 2027-01-01",
        expect![[r#"
            plan as of 2024-03-15:
              2024-03-15 derivative sim#1: purpose-satisfied (outcome-simulation: purpose satisfied on 2024-03-15)
              2027-01-01 subject subj-7: purpose-retention (treatment-planning: stated retention 3y from consent on 2024-01-01)
            at 2024-03-14: keep
            at 2024-03-15: delete derivative sim#1 (purpose-satisfied)
            at 2024-03-16: keep
            at 2026-12-31: keep
            at 2027-01-01: crypto-shred subject subj-7 (purpose-retention)
        "#]],
    );
}

#[test]
fn cubi_destroys_one_year_after_the_purpose_expires() {
    check_retention(
        "consent tx 2024-01-01 treatment-planning=1y post-op-tracking=3y
         scan scan#1 2024-01-01 treatment-planning
         scan scan#2 2024-02-01 post-op-tracking
         satisfied post-op-tracking 2024-06-01
         plan 2024-06-01
         at 2025-05-31
         at 2025-06-01
         deleted scan#2
         at 2025-12-31
         at 2026-01-01",
        expect![[r#"
            plan as of 2024-06-01:
              2025-06-01 scan scan#2: cubi-1y (CUBI: 1 year after purpose expired (post-op-tracking: purpose satisfied on 2024-06-01))
              2026-01-01 subject subj-7: cubi-1y (CUBI: 1 year after purpose expired (treatment-planning: stated retention 1y from consent on 2024-01-01))
            at 2025-05-31: keep
            at 2025-06-01: delete scan scan#2 (cubi-1y)
            at 2025-12-31: keep
            at 2026-01-01: crypto-shred subject subj-7 (cubi-1y)
        "#]],
    );
}

#[test]
fn legal_hold_suspends_destruction_until_released_and_is_recorded() {
    check_retention(
        "consent il 2024-01-01 treatment-planning=2y
         scan scan#1 2024-01-01 treatment-planning
         last-visit 2025-01-01
         hold subpoena SUB-17 2025-10-01 Cook County case 25-L-123
         release SUB-17 2026-03-15
         plan 2026-01-01
         at 2025-12-31
         at 2026-01-01
         plan 2026-03-15
         at 2026-03-14
         at 2026-03-15",
        expect![[r#"
            event HoldPlaced { subject: SubjectId("subj-7"), kind: Subpoena, reference: "SUB-17", reason: "Cook County case 25-L-123", at: 2025-10-01T08:00:00Z }
            event Ok(HoldReleased { subject: SubjectId("subj-7"), reference: "SUB-17", at: 2026-03-15T08:00:00Z })
            plan as of 2026-01-01:
              2026-01-01 subject subj-7: purpose-retention (treatment-planning: stated retention 2y from consent on 2024-01-01) [suspended by hold SUB-17]
            at 2025-12-31: keep
            at 2026-01-01: keep
            plan as of 2026-03-15:
              2026-03-15 subject subj-7: purpose-retention (treatment-planning: stated retention 2y from consent on 2024-01-01; deferred by subpoena SUB-17 until its release on 2026-03-15)
            at 2026-03-14: keep
            at 2026-03-15: crypto-shred subject subj-7 (purpose-retention)
        "#]],
    );
}

#[test]
fn releasing_an_unknown_hold_is_refused() {
    check_retention(
        "consent wa 2024-01-01 treatment-planning=2y
         release W-1 2024-02-01",
        expect![[r#"
            event Err(NoSuchHold { reference: "W-1" })
        "#]],
    );
}

#[test]
fn withdrawal_destroys_the_subject_on_that_day() {
    check_retention(
        "consent ca 2024-01-01 treatment-planning=3y post-op-tracking=3y
         scan scan#1 2024-01-01 treatment-planning
         withdraw 2024-05-10
         plan 2024-05-09
         at 2024-05-09
         plan 2024-05-10
         at 2024-05-10",
        expect![[r#"
            plan as of 2024-05-09:
              2027-01-01 subject subj-7: purpose-retention (post-op-tracking: stated retention 3y from consent on 2024-01-01)
            at 2024-05-09: keep
            plan as of 2024-05-10:
              2024-05-10 subject subj-7: consent-withdrawn (consent withdrawn on 2024-05-10)
            at 2024-05-10: crypto-shred subject subj-7 (consent-withdrawn)
        "#]],
    );
    // Texas too: withdrawal does not wait for CUBI's year.
    check_retention(
        "consent tx 2024-01-01 treatment-planning=3y
         withdraw 2024-05-10
         at 2024-05-09
         at 2024-05-10",
        expect![[r#"
            at 2024-05-09: keep
            at 2024-05-10: crypto-shred subject subj-7 (consent-withdrawn)
        "#]],
    );
}

#[test]
fn consent_expiry_destroys_on_the_expiry_day() {
    check_retention(
        "consent eu 2024-01-01 treatment-planning=3y
         expires 2025-01-01
         scan scan#1 2024-01-01 treatment-planning
         plan 2024-01-01
         at 2024-12-31
         at 2025-01-01",
        expect![[r#"
            plan as of 2024-01-01:
              2025-01-01 subject subj-7: consent-expired (treatment-planning: consent expired on 2025-01-01)
            at 2024-12-31: keep
            at 2025-01-01: crypto-shred subject subj-7 (consent-expired)
        "#]],
    );
}

#[test]
fn per_purpose_retention_deletes_objects_before_the_subject() {
    check_retention(
        "consent wa 2024-01-01 treatment-planning=3y outcome-simulation=6m
         scan scan#1 2024-01-01 treatment-planning outcome-simulation
         derivative sim#1 2024-01-05 outcome-simulation
         derivative photo#1 2024-01-05 clinical-photography
         plan 2024-01-05
         at 2024-01-04
         at 2024-01-05
         deleted photo#1
         at 2024-06-30
         at 2024-07-01",
        expect![[r#"
            plan as of 2024-01-05:
              2024-01-05 derivative photo#1: not-consented (clinical-photography is not consented)
              2024-07-01 derivative sim#1: purpose-retention (outcome-simulation: stated retention 6m from consent on 2024-01-01)
              2027-01-01 subject subj-7: purpose-retention (treatment-planning: stated retention 3y from consent on 2024-01-01)
            at 2024-01-04: keep
            at 2024-01-05: delete derivative photo#1 (not-consented)
            at 2024-06-30: keep
            at 2024-07-01: delete derivative sim#1 (purpose-retention)
        "#]],
    );
}

#[test]
fn audit_records_are_kept_six_years() {
    assert_eq!(audit_record_expires(day("2024-03-01")), day("2030-03-01"));
    // A leap day's sixth anniversary is the last day of February.
    assert_eq!(audit_record_expires(day("2024-02-29")), day("2030-02-28"));
}

#[test]
fn open_hold_suspends_object_deletions_too() {
    check_retention(
        "consent other 2024-01-01 treatment-planning=3y outcome-simulation=30d
         derivative sim#1 2024-01-02 outcome-simulation
         hold warrant W-9 2024-01-15 grand jury
         plan 2024-02-01
         at 2024-01-31
         at 2024-02-01",
        expect![[r#"
            event HoldPlaced { subject: SubjectId("subj-7"), kind: Warrant, reference: "W-9", reason: "grand jury", at: 2024-01-15T08:00:00Z }
            plan as of 2024-02-01:
              2024-01-31 derivative sim#1: purpose-retention (outcome-simulation: stated retention 30d from consent on 2024-01-01) [suspended by hold W-9]
              2027-01-01 subject subj-7: purpose-retention (treatment-planning: stated retention 3y from consent on 2024-01-01) [suspended by hold W-9]
            at 2024-01-31: keep
            at 2024-02-01: keep
        "#]],
    );
}

#[test]
fn sim_clock_lives_through_a_leap_day() {
    let clock = SimClock::on(day("2024-02-28"));
    clock.advance_days(1);
    assert_eq!(clock.today(), day("2024-02-29"));
    clock.advance_days(366);
    assert_eq!(clock.today(), day("2025-03-01"));
}

/// Who must confirm a consent: `purposes, by (subject|staff), after withdrawal (yes|no)`.
fn check_confirmation(purposes: &[&str], by_subject: bool, after_withdrawal: bool, expect: Expect) {
    let cat = facevault_domain::Catalogue::defaults();
    let draft = facevault_domain::ConsentDraft {
        purposes: purposes.iter().map(|p| cat.grant(p).unwrap()).collect(),
        ..Default::default()
    };
    let got = facevault_domain::confirmation_needed(&draft, by_subject, after_withdrawal);
    expect.assert_eq(got.as_deref().unwrap_or("in force at once"));
}

#[test]
fn staff_consents_beyond_care_or_after_withdrawal_wait_for_the_patient() {
    check_confirmation(
        &["treatment-planning", "post-op-tracking"],
        false,
        false,
        expect!["in force at once"],
    );
    check_confirmation(
        &["treatment-planning", "marketing-images", "research"],
        false,
        false,
        expect!["recorded by staff for purposes beyond care (marketing-images, research)"],
    );
    check_confirmation(
        &["ai-model-training"],
        false,
        false,
        expect!["recorded by staff for purposes beyond care (ai-model-training)"],
    );
    check_confirmation(
        &["treatment-planning"],
        false,
        true,
        expect!["recorded by staff after the patient withdrew consent"],
    );
    check_confirmation(&["marketing-images"], true, true, expect!["in force at once"]);
}
