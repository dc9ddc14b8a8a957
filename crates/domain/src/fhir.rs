//! A consent as an HL7 FHIR R4 (4.0.1) `Consent` resource, for exchange with an EHR.
//!
//! The mapping, element by element:
//! - `status`: `active` while the consent holds at the export instant, else `inactive`
//!   (withdrawn or expired; the `withdrawn` extension and `provision.period.end` tell which).
//! - `scope` `patient-privacy`, `category` LOINC 59284-0 "Patient Consent", `policyRule` v3
//!   `OPTIN`: an opt-in privacy consent to collect and use biometric data.
//! - `patient` and `performer`: the caller's pseudonymous reference (`Patient/<subject id>`).
//!   The typed signature name is identity and is never put in the resource; only the signing
//!   time (`dateTime`) and method (extension) are.
//! - `sourceAttachment`: the exact notice text shown (the clinic's template, no identity) as
//!   `data`, its version as `title`. FHIR's `Attachment.hash` is a SHA-1, which FaceVault does
//!   not keep; the notice's SHA-256 (hex, as `consent show` prints it) is in the
//!   `notice-sha256` extension instead.
//! - `provision`: a `permit` to collect and use (and disclose, when sharing was consented) for
//!   the granted purposes, over `period` from the signature to the withdrawal or, for an expiry,
//!   the last day the consent holds. One nested `permit` per purpose carries the purpose
//!   (FaceVault's code, plus the HL7 PurposeOfUse code where one fits) and its retention period
//!   (extension, a UCUM `Duration`). A nested `deny` of `disclose` is present when the subject
//!   did not consent to sharing.
//! - Extensions (FaceVault's, under [`STRUCTURE_DEFINITION`]): jurisdiction, signature method,
//!   limit-use, withdrawal time, and the sale authorization when there is one.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::SecondsFormat;
use serde_json::{json, Value};

use crate::{ConsentRecord, ConsentStatus, Date, Purpose, RetentionPeriod, SignatureMethod, Timestamp};

/// FaceVault's code system for purposes: the code is the catalogue's purpose id.
pub const PURPOSE_SYSTEM: &str = "https://facevault.example/fhir/CodeSystem/purpose";
/// FaceVault's identifier system for consent ids.
pub const CONSENT_ID_SYSTEM: &str = "https://facevault.example/fhir/sid/consent";
/// The base URL of FaceVault's extensions; each extension's url is this plus its name.
pub const STRUCTURE_DEFINITION: &str = "https://facevault.example/fhir/StructureDefinition/";

const CONSENT_ACTION: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

/// `record` as a FHIR R4 `Consent`, as it stands at `at`. `consent_id` is the vault's id (the
/// resource id when it is a valid FHIR id, and always an identifier); `patient_ref` a literal
/// reference such as `Patient/<subject id>`, never a name; `organization` the custodian's
/// literal reference (`Organization/...`), if known.
pub fn consent_resource(
    record: &ConsentRecord,
    consent_id: &str,
    patient_ref: &str,
    organization: Option<&str>,
    at: Timestamp,
) -> Value {
    let c = record.consent();
    let status = match record.status_at(at) {
        ConsentStatus::Active => "active",
        ConsentStatus::Withdrawn { .. } | ConsentStatus::Expired { .. } => "inactive",
    };

    let mut extension = vec![
        json!({ "url": ext("jurisdiction"), "valueCode": c.jurisdiction().to_string() }),
        json!({ "url": ext("signature-method"), "valueCode": method_code(c.signature().method) }),
        json!({ "url": ext("limit-use"), "valueBoolean": c.limit_use() }),
    ];
    if let Some(w) = record.withdrawn() {
        extension.push(json!({ "url": ext("withdrawn"), "valueDateTime": date_time(w) }));
    }
    if let Some(a) = c.sale_authorization() {
        extension.push(json!({
            "url": ext("sale-authorization"),
            "extension": [
                { "url": "buyer", "valueString": a.buyer },
                { "url": "signed", "valueDateTime": date_time(a.signed) },
                { "url": "expires", "valueDate": a.expires.to_string() },
            ],
        }));
    }

    let notice = c.notice();
    let source = json!({
        "extension": [{ "url": ext("notice-sha256"), "valueString": notice.sha256_hex() }],
        "contentType": "text/plain; charset=utf-8",
        "data": B64.encode(notice.text().as_bytes()),
        "size": notice.text().len(),
        "title": notice.version(),
    });

    let mut period = serde_json::Map::new();
    period.insert("start".into(), date_time(c.signature().at).into());
    if let Some(end) = period_end(record.withdrawn(), c.expires()) {
        period.insert("end".into(), end.into());
    }
    let shares = |p: &Purpose| c.share() && (p.share || p.sale);
    let mut root_actions = vec![action("collect"), action("use")];
    if c.share() {
        root_actions.push(action("disclose"));
    }
    let mut nested: Vec<Value> = c
        .purposes()
        .iter()
        .map(|(p, retention)| {
            let mut actions = vec![action("collect"), action("use")];
            if shares(p) {
                actions.push(action("disclose"));
            }
            let mut provision = json!({
                "extension": [{ "url": ext("retention-period"), "valueDuration": duration(*retention) }],
                "type": "permit",
                "action": actions,
                "purpose": purpose_codings(p),
            });
            if let (Some(vendor), true) = (&p.vendor, shares(p)) {
                provision["actor"] = json!([{
                    "role": { "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "code": "IRCP",
                        "display": "information recipient",
                    }] },
                    "reference": { "display": vendor },
                }]);
            }
            provision
        })
        .collect();
    if !c.share() {
        nested.push(json!({ "type": "deny", "action": [action("disclose")] }));
    }

    // resourceType and id first, as FHIR's JSON examples have them (when serde_json keeps
    // insertion order; sorted otherwise).
    let mut resource = serde_json::Map::new();
    resource.insert("resourceType".into(), "Consent".into());
    if is_fhir_id(consent_id) {
        resource.insert("id".into(), consent_id.into());
    }
    let body = json!({
        "extension": extension,
        "identifier": [{ "system": CONSENT_ID_SYSTEM, "value": consent_id }],
        "status": status,
        "scope": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "patient-privacy",
            "display": "Privacy Consent",
        }] },
        "category": [{
            "coding": [{ "system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent" }],
            "text": "Biometric data consent",
        }],
        "patient": { "reference": patient_ref },
        "dateTime": date_time(c.signature().at),
        "performer": [{ "reference": patient_ref }],
        "sourceAttachment": source,
        "policyRule": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "OPTIN",
            "display": "opt-in",
        }] },
        "provision": {
            "type": "permit",
            "period": period,
            "action": root_actions,
            "purpose": c.purposes().iter().flat_map(|(p, _)| purpose_codings(p)).collect::<Vec<_>>(),
            "provision": nested,
        },
    });
    if let Value::Object(body) = body {
        resource.extend(body);
    }
    if let Some(org) = organization {
        resource.insert("organization".into(), json!([{ "reference": org }]));
    }
    Value::Object(resource)
}

fn ext(name: &str) -> String {
    format!("{STRUCTURE_DEFINITION}{name}")
}

fn method_code(m: SignatureMethod) -> &'static str {
    match m {
        SignatureMethod::Handwritten => "handwritten",
        SignatureMethod::Electronic => "electronic",
        SignatureMethod::Verbal => "verbal",
    }
}

/// A FHIR `dateTime`/`instant`: UTC, fractional seconds only when there are any.
fn date_time(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Where the consent stops: the withdrawal instant, or the last day before the expiry day
/// (FHIR's `Period.end` includes its whole day), whichever comes first.
fn period_end(withdrawn: Option<Timestamp>, expires: Option<Date>) -> Option<String> {
    let last_day = |e: Date| e.pred_opt().unwrap_or(e).to_string();
    match (withdrawn, expires) {
        (None, None) => None,
        (Some(w), None) => Some(date_time(w)),
        (None, Some(e)) => Some(last_day(e)),
        (Some(w), Some(e)) if w.date_naive() < e => Some(date_time(w)),
        (Some(_), Some(e)) => Some(last_day(e)),
    }
}

fn action(code: &str) -> Value {
    let display = match code {
        "collect" => "Collect",
        "use" => "Use",
        _ => "Disclose",
    };
    json!({ "coding": [{ "system": CONSENT_ACTION, "code": code, "display": display }] })
}

/// FaceVault's coding of the purpose, then HL7's PurposeOfUse code where one fits.
fn purpose_codings(p: &Purpose) -> Vec<Value> {
    let mut codings =
        vec![json!({ "system": PURPOSE_SYSTEM, "code": p.id.as_str(), "display": p.description })];
    let hl7 = match p.id.as_str() {
        "treatment-planning" | "outcome-simulation" | "post-op-tracking" | "clinical-photography" => {
            Some(("TREAT", "treatment"))
        }
        "research" => Some(("HRESCH", "healthcare research")),
        "marketing-images" => Some(("HMARKT", "healthcare marketing")),
        _ => None,
    };
    if let Some((code, display)) = hl7 {
        codings.push(json!({ "system": ACT_REASON, "code": code, "display": display }));
    }
    codings
}

/// A retention period as a UCUM `Duration`.
fn duration(r: RetentionPeriod) -> Value {
    let (value, unit, code) = match r {
        RetentionPeriod::Days(n) => (n, "days", "d"),
        RetentionPeriod::Months(n) => (n, "months", "mo"),
        RetentionPeriod::Years(n) => (n, "years", "a"),
    };
    json!({ "value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": code })
}

/// FHIR's `id` type: 1 to 64 of `[A-Za-z0-9.-]`.
fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}
