//! Destruction, written once: the erasure sequence (hold → recipients → decision → shred →
//! journaled reason → portal account closed → vendor notices → what the law keeps → purge → certificate) that an
//! erasure request and a direct shred share, and retention (the plan, and its enforcement,
//! which the CLI and the server's schedule both run). Every destruction's audit entry binds its
//! rule and the list destroyed, and gets a signed deletion certificate issued from the durable
//! entry, kept through [`crate::ClinicFiles`].

use facevault_audit::{Deletion, DeletionCertificate, Destroyed};
use facevault_domain::Destruction;
use facevault_policy::{gates, Action};
use facevault_vault::oversight::ERASURE_KEEPS;
use facevault_vault::{BlobStore, Enforced, MetadataStore, SubjectId, SubjectPlan, Target};

use crate::access::Known;
use crate::error::AppError;
use crate::journal::{Jot, Record};
use crate::session::Session;
use crate::App;

/// A signed deletion certificate, issued from its durable audit entry and kept.
#[derive(Clone, Debug)]
pub struct Certified {
    pub subject: SubjectId,
    /// The audit entry of the destruction.
    pub index: u64,
    pub certificate: DeletionCertificate,
    /// Where it was kept (a path in the vault directory).
    pub kept_at: String,
}

/// What an erasure destroyed and whom it told.
#[derive(Clone, Debug)]
pub struct Erasure {
    pub subject: SubjectId,
    pub scans: usize,
    pub derivatives: usize,
    pub blobs_purged: usize,
    /// Vendors sent a deletion notice, pending until each confirms (erasure requests).
    pub vendor_notices: Vec<String>,
    /// What the law requires keeping (erasure requests).
    pub kept: Option<&'static str>,
    pub certificate: Certified,
}

/// An erasure done, its certificate still to issue once the journal is durable.
#[derive(Clone, Debug)]
pub(crate) struct Erased {
    pub(crate) subject: SubjectId,
    pub(crate) scans: usize,
    pub(crate) derivatives: usize,
    pub(crate) blobs_purged: usize,
    pub(crate) vendor_notices: Vec<String>,
    pub(crate) kept: Option<&'static str>,
}

impl Erased {
    pub(crate) fn certified(self, certificate: Certified) -> Erasure {
        Erasure {
            subject: self.subject,
            scans: self.scans,
            derivatives: self.derivatives,
            blobs_purged: self.blobs_purged,
            vendor_notices: self.vendor_notices,
            kept: self.kept,
            certificate,
        }
    }
}

/// One subject's destruction by the retention engine.
#[derive(Clone, Debug)]
pub enum Retained {
    /// Every purpose lapsed: the subject was crypto-shredded.
    Shredded { subject: SubjectId, destruction: Destruction, scans: usize, derivatives: usize },
    /// Some purposes lapsed: those objects (with their derivatives) were deleted.
    Deleted { subject: SubjectId, rules: Vec<String>, objects: usize },
}

/// What one run of retention enforcement did.
#[derive(Clone, Debug)]
pub struct RetentionRun {
    pub day: chrono::NaiveDate,
    pub done: Vec<Retained>,
    pub blobs_purged: usize,
    pub certificates: Vec<Certified>,
}

/// Why an erasure happens, for its journal and certificate.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Why<'a> {
    /// An erasure request: vendors are told, and what the law keeps is journaled.
    Request(&'a facevault_domain::request::RequestId),
    /// A direct shred under a rule the caller names.
    Shred(&'a str),
}

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// The erasure sequence on `subject`, journaled in `jot`; its certificate is issued by
    /// [`App::commit_certified`] once the journal is durable.
    pub(crate) async fn erase(
        &self,
        s: &Session,
        jot: &Jot,
        subject: SubjectId,
        purpose: &str,
        why: Why<'_>,
    ) -> Result<Erased, AppError> {
        let (action, rule, object) = match why {
            Why::Request(id) => ("request.erasure", format!("request:{id}"), format!("request:{id}")),
            Why::Shred(rule) => ("subject.shred", rule.to_owned(), format!("subject:{subject}")),
        };
        // A legal hold is an exception the law requires: the data stays.
        if self.vault.governance(subject).await?.open_hold().is_some() {
            let reason = "a legal hold suspends destruction of this subject's data";
            jot.push(Record::denied(action, "erasure", object, reason));
            let next = match why {
                Why::Request(id) => format!("; deny request {id} with its basis instead"),
                Why::Shred(_) => "; release the hold first if the law allows".to_owned(),
            };
            return Err(AppError::conflict(format!("{reason}{next}")));
        }
        // Every vendor that received data is told, before the key that could read it goes.
        let vendors = match why {
            Why::Request(_) => self.vault.disclosed_vendors(subject).await?,
            Why::Shred(_) => Vec::new(),
        };
        let known = Known::Target(Target::Subject(subject));
        let grant = self.decide(s, jot, "subject.delete", Action::Delete, purpose, known, None).await?;
        let report = self.vault.shred_subject(&grant, subject).await?;
        jot.deletion(action, "erasure", subject, &rule, report.destroyed(), true);
        self.close_portal(jot, subject).await?;
        let mut kept = None;
        if let Why::Request(id) = why {
            for v in &vendors {
                self.vault.notify_vendor(&id.0, subject, v).await?;
                jot.change(
                    "request.vendor-notice",
                    "request",
                    object.clone(),
                    format!("deletion notice to vendor {v}"),
                );
            }
            jot.change("request.erasure-exceptions", "request", object, ERASURE_KEEPS);
            kept = Some(ERASURE_KEEPS);
        }
        let blobs_purged = self.vault.purge_blobs(|_, _| {}).await?;
        Ok(Erased {
            subject,
            scans: report.scans,
            derivatives: report.derivatives,
            blobs_purged,
            vendor_notices: vendors,
            kept,
        })
    }

    /// Closes a shredded subject's portal account (and any open invitation): its login and
    /// invitation stop working, and the server ends its sessions at their next request.
    async fn close_portal(&self, jot: &Jot, subject: SubjectId) -> Result<(), AppError> {
        let closed = self.vault.metadata_store().remove_subject_accounts(&subject.to_string()).await?;
        if closed > 0 {
            jot.change(
                "account.close",
                "erasure",
                format!("subject:{subject}"),
                format!("{closed} portal account closed with the subject"),
            );
        }
        Ok(())
    }

    /// Crypto-shreds a subject directly, under a delete decision of the policy: destroys its data key, details
    /// and records, then its blobs; irreversible. `rule` is recorded as the certificate's rule
    /// (an erasure request's id, a court order). `purpose` is what the data was held for
    /// (default: the first its consent grants).
    pub async fn shred_subject(
        &self,
        s: &Session,
        subject: SubjectId,
        purpose: Option<&str>,
        rule: &str,
    ) -> Result<Erasure, AppError> {
        let jot = Jot::new();
        let r = async {
            if rule.trim().is_empty() {
                return Err(AppError::field("rule", "name the request or reason"));
            }
            let held = self.vault.delete_purpose(subject).await?;
            let purpose = s.purpose(purpose, &held)?;
            self.erase(s, &jot, subject, &purpose, Why::Shred(rule)).await
        }
        .await;
        let (_, mut certs) = self.commit_certified(s, jot).await?;
        let erased = r?;
        let cert = certs.pop().ok_or_else(|| AppError::internal("the shred's certificate was not issued"))?;
        Ok(erased.certified(cert))
    }

    /// The retention plan as known on `at` (default today): what is destroyed when, and why,
    /// per subject (dry run).
    pub async fn retention_plan(
        &self,
        s: &Session,
        at: Option<&str>,
    ) -> Result<(chrono::NaiveDate, Vec<SubjectPlan>), AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::COMPLIANCE, "retention.plan", "retention", "vault".into(), None)?;
            let at = match at {
                Some(d) => crate::time::parse_date(d)
                    .ok_or_else(|| AppError::field("at", "not a YYYY-MM-DD date"))?,
                None => crate::time::today(),
            };
            let plan = self.vault.retention_plan(at).await?;
            jot.change("retention.plan", "retention", "vault".into(), format!("plan as of {at}"));
            Ok((at, plan))
        })
    }

    /// Destroys what is due on `day`: crypto-shreds subjects whose every purpose lapsed,
    /// deletes single objects (with their derivatives) when only some did. Each destruction is
    /// audited and gets a signed deletion certificate. What the CLI's `retention enforce` and
    /// the server's daily schedule run.
    pub async fn enforce_retention(
        &self,
        s: &Session,
        day: chrono::NaiveDate,
    ) -> Result<RetentionRun, AppError> {
        let jot = Jot::new();
        let r = async {
            self.gate(s, &jot, gates::COMPLIANCE, "retention.enforce", "retention", "vault".into(), None)?;
            let enforced = self.vault.enforce_retention(day).await?;
            if enforced.is_empty() {
                jot.change("retention.enforce", "retention", "vault".into(), format!("nothing due on {day}"));
            }
            let mut done = Vec::new();
            for e in enforced {
                match e {
                    Enforced::Shredded { destruction, report } => {
                        jot.deletion(
                            "retention.shred",
                            "retention",
                            report.subject,
                            &destruction.rule.to_string(),
                            report.destroyed(),
                            true,
                        );
                        self.close_portal(&jot, report.subject).await?;
                        done.push(Retained::Shredded {
                            subject: report.subject,
                            destruction,
                            scans: report.scans,
                            derivatives: report.derivatives,
                        });
                    }
                    Enforced::Deleted { subject, destructions, removed } => {
                        let mut rules: Vec<String> =
                            destructions.iter().map(|d| d.rule.to_string()).collect();
                        rules.dedup();
                        let destroyed: Vec<Destroyed> = removed.iter().map(|n| n.destroyed()).collect();
                        jot.deletion(
                            "retention.delete",
                            "retention",
                            subject,
                            &rules.join("+"),
                            destroyed,
                            false,
                        );
                        done.push(Retained::Deleted { subject, rules, objects: removed.len() });
                    }
                }
            }
            let blobs_purged = self.vault.purge_blobs(|_, _| {}).await?;
            Ok::<_, AppError>((done, blobs_purged))
        }
        .await;
        let (_, certificates) = self.commit_certified(s, jot).await?;
        let (done, blobs_purged) = r?;
        Ok(RetentionRun { day, done, blobs_purged, certificates })
    }

    /// Appends what a use case journaled and issues the deletion certificate of each
    /// destruction in it from its durable entry, against the latest stored checkpoint (which
    /// covers it: the journal signs one after every batch); each is kept through the clinic's
    /// files. Returns the audit index of the journal's first record and the certificates.
    pub(crate) async fn commit_certified(
        &self,
        s: &Session,
        jot: Jot,
    ) -> Result<(u64, Vec<Certified>), AppError> {
        let (records, deletions) = jot.into_parts();
        let first = self.journal.append(&s.actor, s.role_name(), records).await?;
        let mut out = Vec::new();
        for d in deletions {
            let index = first + d.at as u64;
            let deletion = Deletion {
                subject: d.subject.to_string(),
                destroyed: d.destroyed,
                rule: d.rule,
                key_id: d.key_shredded.then(|| format!("subject-key:{}", d.subject)),
            };
            let certificate = self
                .journal
                .read(move |l| -> Result<DeletionCertificate, AppError> {
                    let (note, _) = l.latest()?.ok_or_else(|| AppError::internal("no signed checkpoint"))?;
                    l.certificate(&note, index, &deletion)
                })
                .await??;
            let mut json = serde_json::to_vec_pretty(&certificate).map_err(AppError::internal)?;
            json.push(b'\n');
            let kept_at = self.files.keep_certificate(&format!("{}-{index}.json", d.subject), &json)?;
            out.push(Certified { subject: d.subject, index, certificate, kept_at });
        }
        Ok((first, out))
    }
}
