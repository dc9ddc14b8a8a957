//! The consent form as a clinic fills it in: the CLI reads it from TOML
//! (`docs/examples/consent-il.toml`), the server from JSON, and both turn it into a
//! [`ConsentDraft`] through [`ConsentForm::draft`], so the two read the same fields the same way.
//!
//! Converting checks the form's values (codes, dates, purposes of the catalogue); it does not
//! check what a jurisdiction requires, which is [`crate::check_capture`]'s job when the consent
//! is recorded. Nothing here reads a file: a notice given as `file` is read by the caller
//! (the CLI resolves it next to the consent file; the server refuses it).

use std::fmt;

use serde::Deserialize;

use crate::{
    Catalogue, ConsentDraft, Date, Jurisdiction, Notice, NoticeCovers, PurposeGrant, SaleAuthorization,
    Signature, SignatureMethod, Timestamp,
};

/// A consent form. Field names are those of the TOML file; `purpose` is the list of purposes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentForm {
    /// IL, TX, WA, CA, EU or other (any case).
    pub jurisdiction: String,
    /// Consent to collect (its own box).
    #[serde(default)]
    pub collect: bool,
    /// Consent to share (a separate box).
    #[serde(default)]
    pub share: bool,
    /// The subject asked to limit use to their care (CPRA 1798.121).
    #[serde(default)]
    pub limit_use: bool,
    /// YYYY-MM-DD: the first day the consent no longer holds.
    pub expires: Option<String>,
    pub notice: NoticeForm,
    pub signature: Option<SignatureForm>,
    #[serde(default, rename = "purpose")]
    pub purposes: Vec<PurposeForm>,
    pub sale_authorization: Option<SaleForm>,
}

/// The notice shown: its version, its exact text (or a file the caller reads), what it covers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeForm {
    pub version: String,
    pub text: Option<String>,
    /// Where the caller finds the text (the CLI: a path relative to the consent file).
    pub file: Option<String>,
    /// Any of `purposes`, `retention`, `withdrawal`, `limit-use`.
    #[serde(default)]
    pub covers: Vec<String>,
}

/// The subject's signature. The typed name is identifying: it is stored sealed, never shown.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureForm {
    /// handwritten, electronic or verbal.
    pub method: String,
    pub typed_name: String,
    /// RFC 3339; default now.
    pub at: Option<String>,
}

/// A purpose consented to, with the retention the consent states for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeForm {
    pub id: String,
    /// e.g. "3y", "18m", "30d".
    pub retention: Option<String>,
}

/// MHMDA's separate sale authorization (only for purposes marked `sale`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleForm {
    pub buyer: String,
    /// RFC 3339.
    pub signed: String,
    /// YYYY-MM-DD, at most a year after signing.
    pub expires: String,
}

/// A value of the form that cannot be used, naming its field (`notice.covers`,
/// `purpose[1].retention`, ...). It never quotes the typed name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConsentFormError {
    pub field: String,
    pub message: String,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> ConsentFormError {
    ConsentFormError { field: field.into(), message: message.into() }
}

fn day(s: &str, field: &str) -> Result<Date, ConsentFormError> {
    s.parse::<Date>().map_err(|_| bad(field, format!("{field} {s:?} is not a YYYY-MM-DD date")))
}

fn instant(s: &str, field: &str) -> Result<Timestamp, ConsentFormError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| bad(field, format!("{field} {s:?}: {e}")))
}

fn signature_method(s: &str) -> Option<SignatureMethod> {
    match s {
        "handwritten" => Some(SignatureMethod::Handwritten),
        "electronic" => Some(SignatureMethod::Electronic),
        "verbal" => Some(SignatureMethod::Verbal),
        _ => None,
    }
}

impl ConsentForm {
    /// The jurisdiction and the draft the form describes, checked against the catalogue (each
    /// purpose must be an enabled one). `now` is the signing time when the form gives none;
    /// `read_notice_file` returns the text of a notice given as `file`, or why it cannot.
    pub fn draft(
        &self,
        catalogue: &Catalogue,
        now: Timestamp,
        read_notice_file: impl FnOnce(&str) -> Result<String, String>,
    ) -> Result<(Jurisdiction, ConsentDraft), ConsentFormError> {
        let j = Jurisdiction::ALL
            .into_iter()
            .find(|j| j.to_string().eq_ignore_ascii_case(&self.jurisdiction))
            .ok_or_else(|| {
                bad(
                    "jurisdiction",
                    format!("jurisdiction {:?}: use IL, TX, WA, CA, EU or other", self.jurisdiction),
                )
            })?;
        let text = match (&self.notice.text, &self.notice.file) {
            (Some(t), None) => t.clone(),
            (None, Some(file)) => read_notice_file(file).map_err(|e| bad("notice.file", e))?,
            _ => return Err(bad("notice", "[notice] needs exactly one of `text` or `file`")),
        };
        let mut covers = NoticeCovers::default();
        for c in &self.notice.covers {
            match c.as_str() {
                "purposes" => covers.purposes = true,
                "retention" => covers.retention = true,
                "withdrawal" => covers.withdrawal = true,
                "limit-use" => covers.limit_use = true,
                other => {
                    return Err(bad(
                        "notice.covers",
                        format!("notice.covers {other:?}: use purposes, retention, withdrawal, limit-use"),
                    ))
                }
            }
        }
        let mut purposes = Vec::with_capacity(self.purposes.len());
        for (i, p) in self.purposes.iter().enumerate() {
            let purpose = catalogue.get(&p.id).filter(|p| p.enabled).ok_or_else(|| {
                bad(
                    format!("purpose[{i}].id"),
                    format!("purpose {:?} is not an enabled purpose of the catalogue", p.id),
                )
            })?;
            let retention = match &p.retention {
                Some(r) => Some(r.parse().map_err(|e| {
                    bad(format!("purpose[{i}].retention"), format!("purpose {:?}: {e}", p.id))
                })?),
                None => None,
            };
            purposes.push(PurposeGrant { purpose: purpose.clone(), retention });
        }
        let signature = match &self.signature {
            None => None,
            Some(s) => Some(Signature {
                method: signature_method(&s.method).ok_or_else(|| {
                    bad(
                        "signature.method",
                        format!("signature.method {:?}: use handwritten, electronic or verbal", s.method),
                    )
                })?,
                typed_name: s.typed_name.clone(),
                at: match &s.at {
                    None => now,
                    Some(t) => instant(t, "signature.at")?,
                },
            }),
        };
        let expires = self.expires.as_deref().map(|e| day(e, "expires")).transpose()?;
        let sale_authorization = match &self.sale_authorization {
            None => None,
            Some(a) => Some(SaleAuthorization {
                buyer: a.buyer.clone(),
                signed: instant(&a.signed, "sale_authorization.signed")?,
                expires: day(&a.expires, "sale_authorization.expires")?,
            }),
        };
        let notice = Notice::new(self.notice.version.clone(), text, covers);
        Ok((
            j,
            ConsentDraft {
                notice: Some(notice),
                purposes,
                collect: self.collect,
                share: self.share,
                limit_use: self.limit_use,
                signature,
                expires,
                sale_authorization,
            },
        ))
    }
}

impl fmt::Debug for SignatureForm {
    // The typed name is identifying: not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureForm")
            .field("method", &self.method)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ConsentForm {
    // The typed name is identifying and the notice text long: neither is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsentForm")
            .field("jurisdiction", &self.jurisdiction)
            .field("purposes", &self.purposes.iter().map(|p| p.id.as_str()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(json: &str) -> ConsentForm {
        serde_json::from_str(json).unwrap()
    }

    fn now() -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z").unwrap().with_timezone(&chrono::Utc)
    }

    #[test]
    fn a_complete_form_becomes_its_draft() {
        let f = form(
            r#"{"jurisdiction": "il", "collect": true, "expires": "2028-12-31",
                "notice": {"version": "v1", "text": "T", "covers": ["purposes", "retention", "withdrawal"]},
                "signature": {"method": "electronic", "typed_name": "A. P."},
                "purpose": [{"id": "treatment-planning", "retention": "3y"}]}"#,
        );
        let (j, d) = f.draft(&Catalogue::defaults(), now(), |_| Err("no files".into())).unwrap();
        assert_eq!(j, Jurisdiction::Il);
        assert!(d.collect && !d.share);
        assert_eq!(d.notice.as_ref().map(|n| n.text()), Some("T"));
        assert_eq!(d.signature.as_ref().map(|s| s.at), Some(now()));
        assert_eq!(d.purposes.len(), 1);
        assert_eq!(d.expires.map(|e| e.to_string()).as_deref(), Some("2028-12-31"));
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases = [
            (r#""jurisdiction": "XX", "notice": {"version": "v", "text": "t"}"#, "jurisdiction"),
            (r#""jurisdiction": "IL", "notice": {"version": "v"}"#, "notice"),
            (r#""jurisdiction": "IL", "notice": {"version": "v", "file": "n.txt"}"#, "notice.file"),
            (
                r#""jurisdiction": "IL", "notice": {"version": "v", "text": "t", "covers": ["x"]}"#,
                "notice.covers",
            ),
            (
                r#""jurisdiction": "IL", "notice": {"version": "v", "text": "t"}, "purpose": [{"id": "nope"}]"#,
                "purpose[0].id",
            ),
            (
                r#""jurisdiction": "IL", "notice": {"version": "v", "text": "t"},
                   "purpose": [{"id": "treatment-planning", "retention": "forever"}]"#,
                "purpose[0].retention",
            ),
            (
                r#""jurisdiction": "IL", "notice": {"version": "v", "text": "t"},
                   "signature": {"method": "telepathic", "typed_name": "Secret Name"}"#,
                "signature.method",
            ),
            (
                r#""jurisdiction": "IL", "notice": {"version": "v", "text": "t"}, "expires": "soon""#,
                "expires",
            ),
        ];
        for (body, field) in cases {
            let f = form(&format!("{{{body}}}"));
            let e = f.draft(&Catalogue::defaults(), now(), |_| Err("no files here".into())).err();
            assert_eq!(e.as_ref().map(|e| e.field.as_str()), Some(field), "{body}");
            assert!(!e.map(|e| e.message).unwrap_or_default().contains("Secret Name"));
        }
    }

    #[test]
    fn a_notice_file_is_read_by_the_caller() {
        let f = form(r#"{"jurisdiction": "EU", "notice": {"version": "v", "file": "n.txt"}}"#);
        let (_, d) = f.draft(&Catalogue::defaults(), now(), |p| Ok(format!("text of {p}"))).unwrap();
        assert_eq!(d.notice.map(|n| n.text().to_owned()).as_deref(), Some("text of n.txt"));
    }
}
