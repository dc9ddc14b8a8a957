//! The data subject's access and portability package (`facevault subject export`, `facevault
//! request complete` of an access request, and the server's export and completion endpoints).
//!
//! Everything the vault holds about one subject (`Vault::subject_package`, under an export
//! decision, handed over as the domain's plain `AccessPackage`) plus the audit entries about it, written as a tar archive (`manifest.json`,
//! `summary.html`, `details.json`, `scans/`, `derivatives/`, `consents/`, `notices/`,
//! `disclosures.json`, `retention.json`, `audit.json`; the layout and schema are in
//! `docs/access-export.md`) and encrypted in the age format, to a passphrase (scrypt recipient)
//! or to the patient's own X25519 key, so the patient opens it with the standard `age`/`rage`
//! tools. The archive is built in memory (`Zeroizing` buffers); the callers write or send only
//! the ciphertext.
//!
//! No I/O here: the caller reads the audit log (any `LogStore`) and hands over the package. This
//! crate knows nothing of the vault: its input is `facevault_domain::access`.

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use facevault_audit::{leaf_hash, AuditEntry, EntryView, LogStore};
use facevault_domain::access::{AccessConsent, AccessDerivative, AccessPackage};
use facevault_domain::documents::escape_html as esc;
use facevault_domain::{ConsentStatus, SignatureMethod, Timestamp};
use serde_json::{json, Value};
use sha2::Digest;
use zeroize::Zeroizing;

/// The manifest's `format` and `version` (docs/access-export.md).
pub const FORMAT: &str = "facevault-access-export";
pub const VERSION: u32 = 1;
/// scrypt work factor (log2 N) of the age recipient: age's reference default (about a second
/// to open on a laptop), fixed rather than age's per-machine calibration.
const SCRYPT_LOG_N: u8 = 18;
/// The shortest passphrase a caller may choose (a generated one has 30 characters).
pub const MIN_PASSPHRASE: usize = 12;
/// The lowest zxcvbn score (0-4) a chosen passphrase must reach: 3 is "about 10^10 guesses",
/// which an offline attacker against age's scrypt (about a second a guess) cannot try.
pub const MIN_PASSPHRASE_SCORE: u8 = 3;
/// zxcvbn's cost grows with the length; it scores the first this many characters (as its
/// authors advise), which is plenty to tell a strong passphrase.
const SCORED_CHARS: usize = 100;

/// Why a package could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("audit log: {0}")]
    Audit(String),
    #[error("building the archive: {0}")]
    Archive(#[from] std::io::Error),
    #[error("building the archive: {0}")]
    Json(#[from] serde_json::Error),
    #[error("age encryption: {0}")]
    Encrypt(String),
    #[error("recipient {0:?} is not an age X25519 public key (age1...)")]
    Recipient(String),
    #[error("the passphrase has {0} characters; use at least {MIN_PASSPHRASE}")]
    ShortPassphrase(usize),
    #[error(
        "the passphrase is too easy to guess (strength {score} of 4, at least {MIN_PASSPHRASE_SCORE} \
         needed): {why}"
    )]
    WeakPassphrase { score: u8, why: String },
    #[error("no system randomness: {0}")]
    Random(String),
}

pub type Result<T, E = ExportError> = std::result::Result<T, E>;

/// What a package is encrypted to.
pub enum Seal {
    /// A passphrase (age's scrypt recipient): given to the patient through another channel.
    Passphrase(age::secrecy::SecretString),
    /// The patient's own age X25519 public key (`age1...`).
    Recipient(age::x25519::Recipient),
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seal::Passphrase(_) => f.write_str("Seal::Passphrase(..)"),
            Seal::Recipient(r) => write!(f, "Seal::Recipient({r})"),
        }
    }
}

impl Seal {
    /// A passphrase the caller chose: at least [`MIN_PASSPHRASE`] characters, and scored
    /// [`MIN_PASSPHRASE_SCORE`] or more by zxcvbn (a weak one is refused with zxcvbn's
    /// feedback, which never repeats the passphrase).
    pub fn passphrase(p: &str) -> Result<Seal> {
        let n = p.chars().count();
        if n < MIN_PASSPHRASE {
            return Err(ExportError::ShortPassphrase(n));
        }
        let scored: String = p.chars().take(SCORED_CHARS).collect();
        let entropy = zxcvbn::zxcvbn(&scored, &["facevault"]);
        let score = u8::from(entropy.score());
        if score < MIN_PASSPHRASE_SCORE {
            let feedback = entropy.feedback();
            let mut why: Vec<String> =
                feedback.and_then(|f| f.warning()).map(|w| w.to_string()).into_iter().collect();
            why.extend(feedback.into_iter().flat_map(|f| f.suggestions()).map(ToString::to_string));
            if why.is_empty() {
                why.push("use four or more uncommon words, or let FaceVault generate one".into());
            }
            return Err(ExportError::WeakPassphrase { score, why: why.join(" ") });
        }
        Ok(Seal::Passphrase(age::secrecy::SecretString::from(p.to_owned())))
    }

    /// An age X25519 public key.
    pub fn recipient(key: &str) -> Result<Seal> {
        let key = key.trim();
        key.parse().map(Seal::Recipient).map_err(|_| ExportError::Recipient(key.chars().take(80).collect()))
    }
}

/// The whole package, sealed: the archive of `package` and `audit` encrypted by `seal`.
pub fn package(package: &AccessPackage, audit: &[Value], seal: Seal) -> Result<Vec<u8>> {
    let tar = archive(package, audit)?;
    encrypt(&tar, seal)
}

/// Six groups of five base32 characters (150 bits), e.g. `k7q2m-...`: easy to read out.
pub fn generate_passphrase() -> Result<Zeroizing<String>> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = Zeroizing::new([0u8; 30]);
    getrandom::fill(&mut bytes[..]).map_err(|e| ExportError::Random(e.to_string()))?;
    let mut out = Zeroizing::new(String::with_capacity(35));
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    Ok(out)
}

/// `plain` encrypted in the age format by `seal`.
pub fn encrypt(plain: &[u8], seal: Seal) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut scrypt;
    let recipient: &dyn age::Recipient = match &seal {
        Seal::Passphrase(p) => {
            scrypt = age::scrypt::Recipient::new(p.clone());
            scrypt.set_work_factor(SCRYPT_LOG_N);
            &scrypt
        }
        Seal::Recipient(r) => r,
    };
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient))
        .map_err(|e| ExportError::Encrypt(e.to_string()))?;
    // age adds a header (~200 bytes) and 16 bytes a 64 KiB chunk.
    let mut out = Vec::with_capacity(plain.len() + plain.len() / 4096 + 1024);
    let mut w = encryptor.wrap_output(&mut out)?;
    w.write_all(plain)?;
    w.finish()?;
    Ok(out)
}

/// Every object id an audit entry about this subject may name.
pub fn objects_of(p: &AccessPackage) -> BTreeSet<String> {
    let mut set = BTreeSet::from([format!("subject:{}", p.subject)]);
    set.extend(p.scans.iter().map(|s| format!("scan:{}", s.id)));
    set.extend(p.derivatives.iter().map(|d| format!("derivative:{}", d.id)));
    set
}

/// The decoded audit entries about the subject in `store`: those whose object is the subject
/// or one of `objects` (its scans and derivatives), or whose reason names `subject:<id>` (the
/// import of a scan deleted since).
pub fn audit_about<S: LogStore + ?Sized>(
    store: &S,
    subject: impl std::fmt::Display,
    objects: &BTreeSet<String>,
) -> Result<Vec<Value>> {
    let damaged = |e: &dyn std::fmt::Display| ExportError::Audit(e.to_string());
    let named = format!("subject:{subject}");
    let mut out = Vec::new();
    let mut index = 0u64;
    let mut bad = None;
    let size = store.size().map_err(|e| damaged(&e))?;
    store
        .for_each_entry(0, size, &mut |bytes| {
            let i = index;
            index += 1;
            match AuditEntry::decode(bytes) {
                Ok(e) if objects.contains(e.object.as_str()) || e.reason.as_str().contains(&named) => {
                    let mut v = serde_json::to_value(EntryView::of(i, &e)).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("leaf_hash".into(), json!(leaf_hash(bytes)));
                    }
                    out.push(v);
                }
                Ok(_) => {}
                Err(e) => {
                    bad.get_or_insert(format!("entry {i}: {e}"));
                }
            }
        })
        .map_err(|e| damaged(&e))?;
    if let Some(why) = bad {
        return Err(ExportError::Audit(why));
    }
    Ok(out)
}

/// RFC 3339 UTC with milliseconds.
fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The file extension of a derivative's content.
fn extension(d: &AccessDerivative) -> &'static str {
    match d.kind.as_str() {
        "mesh" => "ply",
        "render" => "png",
        "measurements" | "inference" => "json",
        _ if d.content.starts_with(b"%PDF") => "pdf",
        _ if d.content.first() == Some(&b'<') => "html",
        _ if std::str::from_utf8(&d.content).is_ok() => "txt",
        _ => "bin",
    }
}

/// What kind of output a derivative is, in the patient's words.
fn category(kind: &str) -> &'static str {
    match kind {
        "mesh" => "simulation or processed 3D surface",
        "render" => "rendered image",
        "measurements" => "measurements",
        "report" => "report",
        "inference" => "AI inference",
        _ => "other output",
    }
}

/// How a derivative was produced, from its producer, parameters and sources.
fn explanation(d: &AccessDerivative) -> String {
    let der = d;
    let analysis = der.producer.rsplit(' ').next().unwrap_or_default();
    let what = match (analysis, der.kind.as_str()) {
        ("symmetry", "measurements") => {
            "Software found the mid-line (mid-sagittal plane) of the face by mirroring the scan and \
             fitting the mirror image back onto it (robust iterative closest point registration), then \
             measured how far each point lies from its mirror image: the asymmetry index (root mean \
             square and 95th percentile, in millimetres) and a per-point asymmetry map."
        }
        ("symmetry", "mesh") => {
            "A computed, perfectly symmetric version of the face: the scan averaged with its mirror \
             image across the mid-line. It is a simulation, not a record of how the face looks."
        }
        ("compare", "measurements") => {
            "Software aligned the later scan onto the earlier one (robust iterative closest point \
             registration) and measured the distance between the two surfaces at every point: the \
             change by region and at landmarks, and the volume difference."
        }
        ("compare", "mesh") => {
            "The later scan moved into the position of the earlier one by that alignment, so the two \
             can be compared point by point. Its shape is the later scan's, unchanged."
        }
        (_, "inference") => {
            "An inference about you made by software (a statistical or machine-learning model) from \
             the sources listed. It is an estimate that supports, and does not replace, your \
             clinician's judgement."
        }
        (_, "mesh") => {
            "A 3D surface computed by software from the sources listed (for example a simulated \
             outcome, or a cleaned or aligned copy of a scan)."
        }
        (_, "render") => "An image rendered by software from the sources listed.",
        (_, "measurements") => "Measurements computed by software from the sources listed.",
        (_, "report") if d.automated() => "A report generated by software from the sources listed.",
        (_, "report") => "A report written by a person; it is not automated processing.",
        _ => "An output computed from the sources listed.",
    };
    let parents: Vec<String> = der.parents.iter().map(ToString::to_string).collect();
    format!(
        "{what} Produced by \"{}\" with the parameters {} from {}.",
        der.producer,
        der.parameters,
        parents.join(", ")
    )
}

fn method(m: SignatureMethod) -> &'static str {
    match m {
        SignatureMethod::Handwritten => "handwritten",
        SignatureMethod::Electronic => "electronic",
        SignatureMethod::Verbal => "verbal",
    }
}

fn consent_json(c: &AccessConsent, at: Timestamp) -> Value {
    let a = c.record.consent();
    let n = a.notice();
    let covers = n.covers();
    let status = match c.record.status_at(at) {
        ConsentStatus::Withdrawn { .. } => "withdrawn",
        _ if c.pending => "pending",
        ConsentStatus::Active => "active",
        ConsentStatus::Expired { .. } => "expired",
    };
    json!({
        "id": c.id,
        "jurisdiction": a.jurisdiction().to_string(),
        "recorded_at": rfc3339(c.recorded_at),
        "status": status,
        "withdrawn_at": c.record.withdrawn().map(rfc3339),
        "expires": a.expires().map(|d| d.to_string()),
        "notice": {
            "version": n.version(),
            "sha256": n.sha256_hex(),
            "file": format!("notices/{}.txt", n.sha256_hex()),
            "covers": {
                "purposes": covers.purposes,
                "retention": covers.retention,
                "withdrawal": covers.withdrawal,
                "limit_use": covers.limit_use,
            },
        },
        "purposes": a.purposes().iter().map(|(p, r)| json!({
            "id": p.id.as_str(),
            "description": p.description,
            "retention": r.to_string(),
            "share": p.share,
            "sale": p.sale,
            "vendor": p.vendor,
        })).collect::<Vec<_>>(),
        "share": a.share(),
        "limit_use": a.limit_use(),
        "signature": {
            "method": method(a.signature().method),
            "typed_name": a.signature().typed_name,
            "at": rfc3339(a.signature().at),
        },
        "sale_authorization": a.sale_authorization().map(|s| json!({
            "buyer": s.buyer,
            "signed": rfc3339(s.signed),
            "expires": s.expires.to_string(),
        })),
    })
}

/// One file of the archive; scan and derivative contents are borrowed from the package.
struct Entry<'a> {
    path: String,
    category: &'static str,
    object: Option<String>,
    bytes: Content<'a>,
}

enum Content<'a> {
    Borrowed(&'a [u8]),
    Owned(Zeroizing<Vec<u8>>),
}

impl Content<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Content::Borrowed(b) => b,
            Content::Owned(b) => b,
        }
    }
}

fn owned_json(v: &Value) -> Result<Content<'static>> {
    let mut bytes = Zeroizing::new(serde_json::to_vec_pretty(v)?);
    bytes.push(b'\n');
    Ok(Content::Owned(bytes))
}

/// The tar archive of the package (manifest first), in memory.
pub fn archive(p: &AccessPackage, audit: &[Value]) -> Result<Zeroizing<Vec<u8>>> {
    let now = p.generated_at;
    let mut files: Vec<Entry<'_>> = Vec::new();
    let details = &p.details;
    files.push(Entry {
        path: "details.json".into(),
        category: "details",
        object: Some(format!("subject:{}", p.subject)),
        bytes: owned_json(&json!({
            "subject": p.subject,
            "created_at": rfc3339(p.created_at),
            "name": details.name,
            "date_of_birth": details.date_of_birth,
            "contact": details.contact,
            "jurisdiction": details.jurisdiction,
        }))?,
    });
    let mut scans = Vec::new();
    for s in &p.scans {
        let path = format!("scans/{}.ply", s.id);
        scans.push(json!({
            "id": s.id,
            "file": path,
            "device": s.device,
            "captured_on": s.captured_on,
            "purpose": s.purpose,
            "source_unit": s.source_unit,
            "vertices": s.vertices,
            "triangles": s.triangles,
            "imported_at": rfc3339(s.imported_at),
        }));
        files.push(Entry {
            path,
            category: "scans",
            object: Some(format!("scan:{}", s.id)),
            bytes: Content::Borrowed(&s.ply),
        });
    }
    let mut derivatives = Vec::new();
    for d in &p.derivatives {
        let der = d;
        let path = format!("derivatives/{}.{}", der.id, extension(d));
        derivatives.push(json!({
            "id": der.id,
            "file": path,
            "kind": der.kind,
            "category": category(&der.kind),
            "automated_processing": d.automated(),
            "producer": der.producer,
            "parameters": serde_json::from_str::<Value>(&der.parameters).unwrap_or_else(|_| Value::String(der.parameters.clone())),
            "parents": der.parents.iter().map(|n| n.object_id()).collect::<Vec<_>>(),
            "created_at": rfc3339(der.created_at),
            "explanation": explanation(d),
        }));
        files.push(Entry {
            path,
            category: "derivatives",
            object: Some(format!("derivative:{}", der.id)),
            bytes: Content::Borrowed(&d.content),
        });
    }
    files.push(Entry {
        path: "scans.json".into(),
        category: "scans",
        object: None,
        bytes: owned_json(&Value::Array(scans.clone()))?,
    });
    files.push(Entry {
        path: "derivatives.json".into(),
        category: "derivatives",
        object: None,
        bytes: owned_json(&Value::Array(derivatives.clone()))?,
    });
    let mut consents = Vec::new();
    let mut notices = BTreeMap::new();
    for c in &p.consents {
        let v = consent_json(c, now);
        files.push(Entry {
            path: format!("consents/{}.json", c.id),
            category: "consents",
            object: Some(format!("consent:{}", c.id)),
            bytes: owned_json(&v)?,
        });
        consents.push(v);
        let n = c.record.consent().notice();
        notices.entry(n.sha256_hex()).or_insert_with(|| n.text().as_bytes());
    }
    for (sha, &text) in &notices {
        files.push(Entry {
            path: format!("notices/{sha}.txt"),
            category: "notices",
            object: None,
            bytes: Content::Borrowed(text),
        });
    }
    let disclosures: Vec<Value> = p
        .disclosures
        .iter()
        .map(|d| {
            json!({
                "object": d.object,
                "at": rfc3339(d.at),
                "kind": d.kind,
                "purpose": d.purpose,
                "recipient": d.recipient,
                "vendor": d.vendor,
            })
        })
        .collect();
    let recipients: BTreeSet<&str> = p
        .disclosures
        .iter()
        .map(|d| d.vendor.as_deref().unwrap_or(&d.recipient))
        .filter(|r| !r.is_empty())
        .collect();
    files.push(Entry {
        path: "disclosures.json".into(),
        category: "disclosures",
        object: None,
        bytes: owned_json(&json!({ "disclosures": disclosures, "third_parties": recipients }))?,
    });
    let destructions: Vec<Value> = p
        .destructions
        .iter()
        .map(|d| {
            json!({
                "target": match &d.target {
                    facevault_domain::Target::Subject(s) => format!("subject:{}", s.0),
                    facevault_domain::Target::Object(o, _) => o.0.clone(),
                },
                "due": d.due.to_string(),
                "rule": d.rule.to_string(),
                "reason": d.reason,
                "suspended_by_legal_hold": d.suspended_by.is_some(),
            })
        })
        .collect();
    let g = &p.governance;
    let retention = json!({
        "as_of": now.date_naive().to_string(),
        "unplanned": p.unplanned,
        "destructions": destructions,
        "restrictions": {
            "opt_out_of_sale_and_sharing": g.opt_out.map(rfc3339),
            "limit_use": g.limit_use.map(rfc3339),
        },
        "legal_holds": g.holds.iter().map(|h| json!({
            "kind": h.kind.to_string(),
            "placed": rfc3339(h.placed),
            "released": h.released.map(rfc3339),
        })).collect::<Vec<_>>(),
        "purposes_satisfied": g.satisfied.iter().map(|(p, d)| (p.as_str().to_owned(), Value::String(d.to_string()))).collect::<serde_json::Map<_, _>>(),
    });
    files.push(Entry {
        path: "retention.json".into(),
        category: "retention",
        object: None,
        bytes: owned_json(&retention)?,
    });
    files.push(Entry {
        path: "audit.json".into(),
        category: "audit",
        object: None,
        bytes: owned_json(&Value::Array(audit.to_vec()))?,
    });
    let html = summary(p, &scans, &derivatives, &consents, &disclosures, &retention, audit);
    files.push(Entry {
        path: "summary.html".into(),
        category: "summary",
        object: None,
        bytes: Content::Owned(Zeroizing::new(html.as_bytes().to_vec())),
    });

    let listed: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "path": f.path,
                "category": f.category,
                "object": f.object,
                "size": f.bytes.bytes().len(),
                "sha256": sha256_hex(f.bytes.bytes()),
            })
        })
        .collect();
    let mut categories: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in &files {
        categories.entry(f.category).or_default().push(&f.path);
    }
    let manifest = json!({
        "format": FORMAT,
        "version": VERSION,
        "subject": p.subject,
        "generated_at": rfc3339(p.generated_at),
        "generator": format!("facevault {}", env!("CARGO_PKG_VERSION")),
        "counts": {
            "scans": p.scans.len(),
            "derivatives": p.derivatives.len(),
            "automated_processing": p.derivatives.iter().filter(|d| d.automated()).count(),
            "consents": p.consents.len(),
            "disclosures": p.disclosures.len(),
            "audit_entries": audit.len(),
        },
        "categories": categories,
        "files": listed,
    });
    let manifest = owned_json(&manifest)?;

    let mtime = u64::try_from(p.generated_at.timestamp()).unwrap_or(0);
    let total: usize = files.iter().map(|f| 512 + f.bytes.bytes().len().div_ceil(512) * 512).sum::<usize>()
        + 512
        + manifest.bytes().len().div_ceil(512) * 512
        + 2048;
    // Room for everything up front: the buffer never moves, so no unwiped copy is left behind.
    let mut buf = Zeroizing::new(Vec::with_capacity(total));
    let mut tar = tar::Builder::new(&mut *buf);
    for (path, bytes) in std::iter::once(("manifest.json", manifest.bytes()))
        .chain(files.iter().map(|f| (f.path.as_str(), f.bytes.bytes())))
    {
        let mut h = tar::Header::new_ustar();
        h.set_path(path)?;
        h.set_size(bytes.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        tar.append(&h, bytes)?;
    }
    tar.finish()?;
    drop(tar);
    Ok(buf)
}

/// A JSON value as plain text (strings without their quotes).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        v => v.to_string(),
    }
}

/// A table of `rows` with the given `(header, key)` columns, every cell escaped.
fn table(out: &mut String, columns: &[(&str, &str)], rows: &[Value]) {
    if rows.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str("<table>\n<tr>");
    for (h, _) in columns {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>\n");
    for r in rows {
        out.push_str("<tr>");
        for (_, k) in columns {
            let _ = write!(out, "<td>{}</td>", esc(&text(&r[*k])));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The human-readable summary.
fn summary(
    p: &AccessPackage,
    scans: &[Value],
    derivatives: &[Value],
    consents: &[Value],
    disclosures: &[Value],
    retention: &Value,
    audit: &[Value],
) -> String {
    let d = &p.details;
    let mut o = String::new();
    o.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Your data held by the clinic (FaceVault access export)</title>\n<style>\
         body{font-family:sans-serif;max-width:70em;margin:2em auto;line-height:1.4}\
         table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #999;padding:.2em .5em;\
         text-align:left;vertical-align:top}.auto{background:#fff3cd}</style>\n</head>\n<body>\n",
    );
    let _ = writeln!(o, "<h1>Your data held by the clinic</h1>");
    let _ = writeln!(
        o,
        "<p>This package holds everything the clinic's FaceVault stores about you, as of {}. \
         Every file is listed with its SHA-256 in <code>manifest.json</code>; the layout is \
         described in FaceVault's <code>docs/access-export.md</code>.</p>",
        esc(&rfc3339(p.generated_at))
    );
    let _ = writeln!(o, "<h2>Who you are</h2>\n<table>");
    for (k, v) in [
        ("Record id", p.subject.clone()),
        ("Name", d.name.clone()),
        ("Date of birth", d.date_of_birth.clone().unwrap_or_else(|| "-".into())),
        ("Contact", d.contact.clone().unwrap_or_else(|| "-".into())),
        ("Jurisdiction", d.jurisdiction.clone().unwrap_or_else(|| "-".into())),
        ("Record created", rfc3339(p.created_at)),
    ] {
        let _ = writeln!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    o.push_str("</table>\n");

    let _ = writeln!(o, "<h2>Your 3D scans ({})</h2>", scans.len());
    table(
        &mut o,
        &[
            ("Scan", "id"),
            ("File", "file"),
            ("Captured", "captured_on"),
            ("Device", "device"),
            ("Purpose", "purpose"),
            ("Vertices", "vertices"),
            ("Triangles", "triangles"),
        ],
        scans,
    );

    let automated = derivatives.iter().filter(|v| v["automated_processing"] == Value::Bool(true)).count();
    let _ = writeln!(
        o,
        "<h2>What was computed from your scans ({})</h2>\n<p>{automated} of these are the output of \
         <strong>automated processing</strong> (software, including any AI inference, simulation or \
         recommendation), marked below with how each was produced.</p>",
        derivatives.len()
    );
    for v in derivatives {
        let auto = v["automated_processing"] == Value::Bool(true);
        let _ = writeln!(
            o,
            "<div{}><h3>{} {}</h3>\n<p><strong>{}</strong> &middot; file <code>{}</code> &middot; created {} \
             &middot; from {}</p>\n<p>{}</p></div>",
            if auto { " class=\"auto\"" } else { "" },
            esc(&text(&v["category"])),
            esc(&text(&v["id"])),
            if auto { "Automated processing" } else { "Not automated processing" },
            esc(&text(&v["file"])),
            esc(&text(&v["created_at"])),
            esc(&v["parents"].as_array().map(|a| a.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_default()),
            esc(&text(&v["explanation"])),
        );
    }

    let _ = writeln!(o, "<h2>Your consents ({})</h2>", consents.len());
    for c in consents {
        let purposes: Vec<String> = c["purposes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        format!(
                            "{} (kept {}): {}",
                            text(&p["id"]),
                            text(&p["retention"]),
                            text(&p["description"])
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "<h3>Consent {}</h3>\n<p>{} &middot; jurisdiction {} &middot; recorded {} &middot; signed {} by \
             {} ({}) &middot; withdrawn {} &middot; share with third parties: {}</p>\n<ul>",
            esc(&text(&c["id"])),
            esc(&text(&c["status"])),
            esc(&text(&c["jurisdiction"])),
            esc(&text(&c["recorded_at"])),
            esc(&text(&c["signature"]["at"])),
            esc(&text(&c["signature"]["typed_name"])),
            esc(&text(&c["signature"]["method"])),
            esc(&text(&c["withdrawn_at"])),
            if c["share"] == Value::Bool(true) { "yes" } else { "no" },
        );
        for p in purposes {
            let _ = writeln!(o, "<li>{}</li>", esc(&p));
        }
        let notice = p
            .consents
            .iter()
            .find(|s| s.id == text(&c["id"]))
            .map(|s| s.record.consent().notice().text().to_owned())
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "</ul>\n<p>The notice you were shown (version {}, SHA-256 {}):</p>\n<pre>{}</pre>",
            esc(&text(&c["notice"]["version"])),
            esc(&text(&c["notice"]["sha256"])),
            esc(&notice)
        );
    }

    let recipients: BTreeSet<String> =
        disclosures.iter().map(|d| text(&d["recipient"])).filter(|r| !r.is_empty() && r != "-").collect();
    let _ = writeln!(
        o,
        "<h2>Who received your data ({})</h2>\n<p>Third parties: {}</p>",
        disclosures.len(),
        if recipients.is_empty() {
            "none".into()
        } else {
            esc(&recipients.into_iter().collect::<Vec<_>>().join(", "))
        }
    );
    table(
        &mut o,
        &[
            ("Object", "object"),
            ("When", "at"),
            ("Kind", "kind"),
            ("Purpose", "purpose"),
            ("Recipient", "recipient"),
        ],
        disclosures,
    );

    let _ = writeln!(o, "<h2>How long your data is kept</h2>");
    if let Some(why) = retention["unplanned"].as_str() {
        let _ = writeln!(o, "<p>{}</p>", esc(why));
    }
    let rows = retention["destructions"].as_array().cloned().unwrap_or_default();
    table(&mut o, &[("What", "target"), ("Destroyed on", "due"), ("Rule", "rule"), ("Why", "reason")], &rows);

    let _ = writeln!(o, "<h2>Who accessed your data (audit log, {} entries)</h2>", audit.len());
    table(
        &mut o,
        &[
            ("#", "index"),
            ("When", "time"),
            ("Who", "actor"),
            ("Role", "role"),
            ("Action", "action"),
            ("Purpose", "purpose"),
            ("Object", "object"),
            ("Decision", "decision"),
            ("Reason", "reason"),
        ],
        audit,
    );
    o.push_str("</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn generated_passphrases_are_six_groups_of_five_base32() {
        let a = generate_passphrase().unwrap();
        let b = generate_passphrase().unwrap();
        assert_ne!(*a, *b);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(groups.len(), 6);
        assert!(groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|c| b"abcdefghijklmnopqrstuvwxyz234567".contains(&c))));
    }

    #[test]
    fn passphrases_are_scored() {
        let long_weak = "a".repeat(100_000);
        for weak in
            ["            ", "aaaaaaaaaaaa", "123456789012", "password1234", "qwertyuiopas", &long_weak]
        {
            match Seal::passphrase(weak) {
                Err(e @ ExportError::WeakPassphrase { .. }) => {
                    let m = e.to_string();
                    assert!(
                        m.contains("too easy to guess") && !m.contains("aaaa") && !m.contains("1234"),
                        "{m}"
                    );
                }
                other => panic!("{weak:?}: {other:?}"),
            }
        }
        let generated = generate_passphrase().unwrap();
        for strong in [
            "correct horse battery staple",
            "tulip-granite-harbour-violin",
            "parity-export-passphrase",
            "bench-export-passphrase",
            generated.as_str(),
        ] {
            assert!(Seal::passphrase(strong).is_ok(), "{strong:?}: {:?}", Seal::passphrase(strong));
        }
    }
}
