//! Access: the policy's decision on a purpose, and the role gate for what the policy does not
//! decide. One ownership rule (a patient acts only on their own subject, [`Session::owns`]) and
//! one break-glass window ([`crate::BREAK_GLASS_MINUTES`]) for both front ends. Each decision is
//! journaled, allowed or denied. Break-glass is for people: a token asking for it is refused.

use facevault_policy::{AccessGrant, Action, BreakGlass, Role};
use facevault_vault::{Ask, BlobStore, MetadataStore, Node, Scan, SubjectId, Target};

use crate::error::AppError;
use crate::journal::{Jot, Record};
use crate::session::Session;
use crate::App;

/// What a decision is about: a target, or a scan whose record the use case has just read
/// (one store read fewer).
#[derive(Clone, Copy, Debug)]
pub enum Known<'a> {
    Target(Target),
    Scan(&'a Scan),
}

impl<M: MetadataStore, B: BlobStore> App<M, B> {
    /// The whole decision of an access, journaled as `audit_action`; the grant, or
    /// [`crate::ErrorKind::Denied`] naming every reason.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide(
        &self,
        s: &Session,
        jot: &Jot,
        audit_action: &'static str,
        action: Action,
        purpose: &str,
        known: Known<'_>,
        break_glass: Option<&str>,
    ) -> Result<AccessGrant, AppError> {
        self.decide_as(s, jot, audit_action, action, purpose, known, break_glass, false).await
    }

    /// [`App::decide`] of an export answering the subject's right of access and portability:
    /// the patient on their own record, or the privacy officer completing a verified access
    /// request (the caller has checked it is one). The policy decides it as erasure is, by
    /// role and ownership, without consent, retention or restriction checks.
    pub(crate) async fn decide_right_of_access(
        &self,
        s: &Session,
        jot: &Jot,
        audit_action: &'static str,
        purpose: &str,
        known: Known<'_>,
    ) -> Result<AccessGrant, AppError> {
        self.decide_as(s, jot, audit_action, Action::Export, purpose, known, None, true).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide_as(
        &self,
        s: &Session,
        jot: &Jot,
        audit_action: &'static str,
        action: Action,
        purpose: &str,
        known: Known<'_>,
        break_glass: Option<&str>,
        right_of_access: bool,
    ) -> Result<AccessGrant, AppError> {
        let target = match known {
            Known::Target(t) => t,
            Known::Scan(scan) => Target::Node(Node::Scan(scan.id)),
        };
        let break_glass = break_glass.map(str::trim).filter(|r| !r.is_empty());
        if break_glass.is_some() && !s.is_person() {
            let reason = "break-glass is for people: an API token cannot use it; log in";
            jot.push(Record::denied(audit_action, purpose, target.object_id().0, reason));
            return Err(AppError::forbidden(reason));
        }
        let glass = break_glass.map(|r| {
            let from = crate::time::now_ms();
            BreakGlass {
                reason: r.to_owned(),
                from,
                until: from + chrono::TimeDelta::minutes(crate::BREAK_GLASS_MINUTES),
            }
        });
        // The policy knows a patient by their subject id; the journal names their account.
        let actor = match (s.role, s.own_subject) {
            (Role::Patient, Some(own)) => own.to_string(),
            _ => s.actor.clone(),
        };
        let ask = Ask {
            actor: &actor,
            role: s.role,
            action,
            purpose,
            target,
            break_glass: glass.as_ref(),
            right_of_access,
        };
        let decision = match known {
            Known::Target(_) => self.vault.authorize(&self.policy, &ask).await?,
            Known::Scan(scan) => self.vault.authorize_scan(&self.policy, &ask, scan).await?,
        };
        let object = target.object_id().0;
        jot.push(Record {
            action: audit_action,
            purpose: purpose.to_owned(),
            object: object.clone(),
            allowed: decision.allowed(),
            reason: decision.reasons().iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        });
        let why = decision.refusal();
        decision.into_grant().ok_or_else(|| {
            AppError::denied(format!("{action} of {object} for {purpose} by role {} denied: {why}", s.role))
        })
    }

    /// A role gate for what the policy does not decide (listings, metadata, governance
    /// changes): the role must be listed, and a patient may act only on their own subject. A
    /// refusal is journaled as `action` on `object` for `purpose`.
    #[allow(clippy::too_many_arguments)]
    pub fn gate(
        &self,
        s: &Session,
        jot: &Jot,
        roles: &[Role],
        action: &'static str,
        purpose: &str,
        object: String,
        subject: Option<SubjectId>,
    ) -> Result<(), AppError> {
        let own = s.owns(subject);
        if roles.contains(&s.role) && own {
            return Ok(());
        }
        let reason = if own {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            format!("role {} may not {action} (roles: {})", s.role, names.join(", "))
        } else {
            "a patient may act only on their own data".to_owned()
        };
        jot.push(Record::denied(action, purpose, object, reason.clone()));
        Err(AppError::forbidden(reason))
    }
}
