//! FaceVault's access decisions. A read, analysis, export, share or delete names a purpose and
//! is allowed only if the role may do that action for that purpose (Cedar policies checked
//! against a schema), an active consent covers the purpose, the object is within retention,
//! and no restriction applies (opt-out, limit-use, legal hold for deletes).
//!
//! For most cases: build a [`Policy`] ([`Policy::default_for`] or [`Policy::new`] with a
//! clinic's policy text), call [`Policy::decide`] with an [`AccessRequest`], and hand the
//! [`AccessGrant`] of an allowed [`Decision`] to the vault function that needs it. A grant can
//! only be made here, so code that takes one cannot skip the check.
//!
//! Cedar sits in its own crate so that `facevault-domain` stays small and quick to build.
#![forbid(unsafe_code)]

pub mod gates;

use std::fmt;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Entities, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema, ValidationMode, Validator,
};
use facevault_domain::{Catalogue, ConsentRecord, ConsentStatus, Date, ObjectId, Timestamp};

/// The default role policies, shipped with the binary; a clinic may supply its own text.
pub const DEFAULT_POLICIES: &str = include_str!("../policies/default.cedar");
/// The schema every policy text is validated against.
pub const SCHEMA: &str = include_str!("../policies/schema.cedarschema");

/// The longest break-glass window: long enough for an emergency, short enough to review.
pub const BREAK_GLASS_MAX_HOURS: i64 = 4;

/// Purposes a limit-use request (CPRA 1798.121) leaves open: those needed for the care asked for,
/// the same list a health care provider may receive data for.
pub const LIMITED_USE_PURPOSES: &[&str] = facevault_domain::TREATMENT_PURPOSES;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Surgeon,
    ClinicalStaff,
    FrontDesk,
    Marketing,
    PrivacyOfficer,
    Vendor,
    Patient,
    Admin,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Surgeon,
        Role::ClinicalStaff,
        Role::FrontDesk,
        Role::Marketing,
        Role::PrivacyOfficer,
        Role::Vendor,
        Role::Patient,
        Role::Admin,
    ];
    /// The role's id in policies and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Surgeon => "surgeon",
            Role::ClinicalStaff => "clinical_staff",
            Role::FrontDesk => "front_desk",
            Role::Marketing => "marketing",
            Role::PrivacyOfficer => "privacy_officer",
            Role::Vendor => "vendor",
            Role::Patient => "patient",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, PolicyError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| PolicyError::UnknownRole(s.to_owned()))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Read,
    Analyze,
    Export,
    Share,
    Delete,
}

impl Action {
    pub const ALL: [Action; 5] =
        [Action::Read, Action::Analyze, Action::Export, Action::Share, Action::Delete];
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Analyze => "analyze",
            Action::Export => "export",
            Action::Share => "share",
            Action::Delete => "delete",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Emergency access: who asked, why, and until when. Checked before any policy sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlass {
    pub reason: String,
    pub from: Timestamp,
    pub until: Timestamp,
}

/// Restrictions on the subject's data, as the vault knows them when it asks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Restrictions {
    /// Opted out of sale and sharing (CCPA/CPRA): no share action, no sharing purpose.
    pub opt_out: bool,
    /// Asked to limit the use of sensitive data; also taken from the consent record.
    pub limit_use: bool,
    /// A legal hold suspends destruction: no delete.
    pub legal_hold: bool,
}

/// One access to decide. `retained_until` is the first day the object is out of retention.
#[derive(Clone, Copy, Debug)]
pub struct AccessRequest<'a> {
    pub actor: &'a str,
    pub role: Role,
    pub action: Action,
    pub purpose: &'a str,
    pub object: &'a ObjectId,
    pub consent: Option<&'a ConsentRecord>,
    pub retained_until: Date,
    pub restrictions: Restrictions,
    pub break_glass: Option<&'a BreakGlass>,
    /// Whether the actor is the subject the object belongs to: a patient acts only on their
    /// own data.
    pub actor_is_subject: bool,
    /// The export answers the subject's right of access and portability: the patient on their
    /// own record, or the privacy officer completing a verified access request (the caller
    /// vouches for the verification). See [`Reason::RightOfAccess`].
    pub right_of_access: bool,
    pub at: Timestamp,
}

/// Why a decision went the way it did. Display is the sentence the audit log records.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Cedar permitted the role, naming the policies (their `@id`).
    RolePermitted {
        policies: Vec<String>,
    },
    RoleNotPermitted,
    UnknownPurpose,
    NoConsent,
    ConsentWithdrawn {
        at: Timestamp,
    },
    ConsentExpired {
        on: Date,
    },
    PurposeNotConsented,
    RetentionExpired {
        on: Date,
    },
    OptedOut,
    LimitedUse,
    LegalHold,
    /// A patient asked about another subject's data.
    NotOwnData,
    BreakGlassInvalid(&'static str),
    /// Emergency access used: the privacy officer must review it.
    BreakGlass {
        reason: String,
        until: Timestamp,
    },
    /// The subject's right of access and portability: decided as erasure is, without consent,
    /// retention or restriction checks.
    RightOfAccess,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::RolePermitted { policies } => write!(f, "role permitted by {}", policies.join(", ")),
            Reason::RoleNotPermitted => f.write_str("role not permitted"),
            Reason::UnknownPurpose => f.write_str("purpose unknown or disabled"),
            Reason::NoConsent => f.write_str("no consent"),
            Reason::ConsentWithdrawn { at } => write!(f, "consent withdrawn at {at}"),
            Reason::ConsentExpired { on } => write!(f, "consent expired on {on}"),
            Reason::PurposeNotConsented => f.write_str("consent does not cover purpose"),
            Reason::RetentionExpired { on } => write!(f, "retention ended on {on}"),
            Reason::OptedOut => f.write_str("subject opted out of sharing"),
            Reason::LimitedUse => f.write_str("subject limited use to care"),
            Reason::LegalHold => f.write_str("legal hold"),
            Reason::NotOwnData => f.write_str("a patient may act only on their own data"),
            Reason::BreakGlassInvalid(why) => write!(f, "break-glass refused: {why}"),
            Reason::BreakGlass { reason, until } => {
                write!(f, "BREAK-GLASS until {until} ({reason}); flagged for privacy officer")
            }
            Reason::RightOfAccess => f.write_str(
                "right of access and portability (GDPR Art. 15, 20; CCPA 1798.110, 1798.130; \
                 MHMDA RCW 19.373.040(1)(a); HIPAA 45 CFR 164.524): consent, retention and \
                 restrictions do not apply",
            ),
        }
    }
}

/// Proof that an access was decided and allowed. Fields are private and there is no public
/// constructor: vault functions take `&AccessGrant`, so they cannot run without a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessGrant {
    actor: String,
    role: Role,
    action: Action,
    purpose: String,
    object: ObjectId,
    at: Timestamp,
    flagged: bool,
}

impl AccessGrant {
    pub fn actor(&self) -> &str {
        &self.actor
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn action(&self) -> Action {
        self.action
    }
    pub fn purpose(&self) -> &str {
        &self.purpose
    }
    pub fn object(&self) -> &ObjectId {
        &self.object
    }
    pub fn at(&self) -> Timestamp {
        self.at
    }
    /// Whether break-glass was used: the privacy officer must review this access.
    pub fn flagged_for_privacy_officer(&self) -> bool {
        self.flagged
    }
    /// Whether this grant covers `action` on `object`; a vault function checks this first.
    pub fn covers(&self, action: Action, object: &ObjectId) -> bool {
        self.action == action && &self.object == object
    }
}

/// The outcome of [`Policy::decide`], with every reason that applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    grant: Option<AccessGrant>,
    reasons: Vec<Reason>,
}

impl Decision {
    pub fn allowed(&self) -> bool {
        self.grant.is_some()
    }
    pub fn reasons(&self) -> &[Reason] {
        &self.reasons
    }
    /// Why a refusal refused, for the person refused: every reason but the role permission
    /// (a role allowed by Cedar can still be refused by consent, retention or a restriction),
    /// joined by "; ".
    pub fn refusal(&self) -> String {
        let why: Vec<String> = self
            .reasons
            .iter()
            .filter(|r| !matches!(r, Reason::RolePermitted { .. }))
            .map(ToString::to_string)
            .collect();
        why.join("; ")
    }
    pub fn grant(&self) -> Option<&AccessGrant> {
        self.grant.as_ref()
    }
    pub fn into_grant(self) -> Option<AccessGrant> {
        self.grant
    }
    /// Whether break-glass was asked for, allowed or not: the privacy officer reviews both.
    pub fn flagged_for_privacy_officer(&self) -> bool {
        self.reasons.iter().any(|r| matches!(r, Reason::BreakGlass { .. } | Reason::BreakGlassInvalid(_)))
    }
}

/// Errors building a [`Policy`]: each names what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("policy schema does not parse: {0}")]
    Schema(String),
    #[error("policy text does not parse: {0}")]
    Parse(String),
    #[error("policy does not validate against the schema: {0}")]
    Invalid(String),
    #[error("unknown role {0:?}")]
    UnknownRole(String),
}

/// Validated role policies plus the purpose catalogue they are read with.
#[derive(Debug)]
pub struct Policy {
    policies: PolicySet,
    schema: Schema,
    catalogue: Catalogue,
    authorizer: Authorizer,
    entities: Entities,
}

impl Policy {
    /// The shipped policies over `catalogue`.
    pub fn default_for(catalogue: Catalogue) -> Result<Self, PolicyError> {
        Self::new(catalogue, DEFAULT_POLICIES)
    }

    /// A clinic's policy text, parsed and validated (strict mode) against [`SCHEMA`].
    pub fn new(catalogue: Catalogue, text: &str) -> Result<Self, PolicyError> {
        let (schema, _warnings) =
            Schema::from_cedarschema_str(SCHEMA).map_err(|e| PolicyError::Schema(e.to_string()))?;
        let policies = PolicySet::from_str(text).map_err(|e| PolicyError::Parse(e.to_string()))?;
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result.validation_errors().map(|e| e.to_string()).collect();
            return Err(PolicyError::Invalid(errors.join("; ")));
        }
        Ok(Self { policies, schema, catalogue, authorizer: Authorizer::new(), entities: Entities::empty() })
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Decides one access. Every check runs, so the reasons list all that failed.
    pub fn decide(&self, r: &AccessRequest<'_>) -> Decision {
        let mut reasons = Vec::new();
        let mut ok = true;

        let glass = match r.break_glass {
            None => false,
            Some(b) => match check_break_glass(b, r.at) {
                Ok(()) => {
                    reasons.push(Reason::BreakGlass { reason: b.reason.clone(), until: b.until });
                    true
                }
                Err(why) => {
                    reasons.push(Reason::BreakGlassInvalid(why));
                    ok = false;
                    false
                }
            },
        };

        let purpose = self.catalogue.get(r.purpose).filter(|p| p.enabled);
        if purpose.is_none() {
            reasons.push(Reason::UnknownPurpose);
            ok = false;
        }

        if r.role == Role::Patient && !r.actor_is_subject {
            reasons.push(Reason::NotOwnData);
            ok = false;
        }
        match self.role_permits(r.role, r.action, r.purpose, glass) {
            Some(policies) => reasons.push(Reason::RolePermitted { policies }),
            None => {
                reasons.push(Reason::RoleNotPermitted);
                ok = false;
            }
        }

        // The subject's own access (and the privacy office answering their verified request)
        // is a right regardless of consent, retention or a restriction (GDPR Art. 15, 20; CCPA
        // 1798.110, 1798.130; MHMDA RCW 19.373.040(1)(a); HIPAA 45 CFR 164.524): decided as
        // erasure is, by role and ownership alone.
        let access_right = r.right_of_access
            && r.action == Action::Export
            && ((r.role == Role::Patient && r.actor_is_subject) || r.role == Role::PrivacyOfficer);
        if access_right {
            reasons.push(Reason::RightOfAccess);
        }

        // Deleting never harms the subject and must stay possible after withdrawal or expiry,
        // so only the other actions need consent and retention.
        if r.action != Action::Delete && !access_right {
            if let Some(reason) = consent_problem(r) {
                reasons.push(reason);
                ok = false;
            }
            if r.at.date_naive() >= r.retained_until {
                reasons.push(Reason::RetentionExpired { on: r.retained_until });
                ok = false;
            }
        }

        let sharing = r.action == Action::Share || purpose.is_some_and(|p| p.share || p.sale);
        if r.restrictions.opt_out && sharing && !access_right {
            reasons.push(Reason::OptedOut);
            ok = false;
        }
        let limit = r.restrictions.limit_use || r.consent.is_some_and(|c| c.consent().limit_use());
        if limit && !access_right && (!LIMITED_USE_PURPOSES.contains(&r.purpose) || r.action == Action::Share)
        {
            reasons.push(Reason::LimitedUse);
            ok = false;
        }
        if r.restrictions.legal_hold && r.action == Action::Delete {
            reasons.push(Reason::LegalHold);
            ok = false;
        }

        let grant = ok.then(|| AccessGrant {
            actor: r.actor.to_owned(),
            role: r.role,
            action: r.action,
            purpose: r.purpose.to_owned(),
            object: r.object.clone(),
            at: r.at,
            flagged: glass,
        });
        Decision { grant, reasons }
    }

    /// Whether the role policies let `role` take `action` for `purpose` at all, before any
    /// consent, retention or restriction, and without break-glass: what a role may ever do, the
    /// measure a credential issued by someone in `role` is held to.
    pub fn role_may(&self, role: Role, action: Action, purpose: &str) -> bool {
        self.role_permits(role, action, purpose, false).is_some()
    }

    /// The ids of the Cedar policies that permit the role, or None when Cedar denies.
    fn role_permits(&self, role: Role, action: Action, purpose: &str, glass: bool) -> Option<Vec<String>> {
        let principal = uid("Role", role.as_str())?;
        let action = uid("Action", action.as_str())?;
        let resource = uid("Purpose", purpose)?;
        let context =
            Context::from_pairs([("break_glass".to_owned(), RestrictedExpression::new_bool(glass))]).ok()?;
        let request = Request::new(principal, action, resource, context, Some(&self.schema)).ok()?;
        let response = self.authorizer.is_authorized(&request, &self.policies, &self.entities);
        if response.decision() != cedar_policy::Decision::Allow {
            return None;
        }
        let mut ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| self.policies.annotation(id, "id").map_or_else(|| id.to_string(), str::to_owned))
            .collect();
        ids.sort();
        Some(ids)
    }
}

fn uid(kind: &str, id: &str) -> Option<EntityUid> {
    let name = EntityTypeName::from_str(kind).ok()?;
    Some(EntityUid::from_type_name_and_id(name, EntityId::new(id)))
}

fn check_break_glass(b: &BreakGlass, at: Timestamp) -> Result<(), &'static str> {
    if b.reason.trim().is_empty() {
        return Err("a reason is required");
    }
    if b.until <= b.from || b.until - b.from > chrono_hours(BREAK_GLASS_MAX_HOURS) {
        return Err("window must be positive and at most 4 hours");
    }
    if at < b.from || at >= b.until {
        return Err("outside its window");
    }
    Ok(())
}

fn chrono_hours(h: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::hours(h)
}

fn consent_problem(r: &AccessRequest<'_>) -> Option<Reason> {
    let Some(c) = r.consent else {
        return Some(Reason::NoConsent);
    };
    match c.status_at(r.at) {
        ConsentStatus::Withdrawn { at } => Some(Reason::ConsentWithdrawn { at }),
        ConsentStatus::Expired { on } => Some(Reason::ConsentExpired { on }),
        ConsentStatus::Active if !c.covers(r.purpose, r.at) => Some(Reason::PurposeNotConsented),
        ConsentStatus::Active => None,
    }
}
