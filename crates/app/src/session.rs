//! Who asks: the one description of a caller both front ends build (the CLI from `--actor` and
//! `--role`, the server from a login session or an API token), and the one ownership rule.

use facevault_policy::Role;
use facevault_vault::SubjectId;

use crate::error::{AppError, ErrorKind};

/// How the caller reached FaceVault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// A person: logged in to the server, or at the command line.
    Person,
    /// An API token, scoped to its purposes.
    Token { id: String, purposes: Vec<String> },
}

/// The caller of a use case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The audit log's actor: a login name (a patient's generated one too), `token:<id>`, or
    /// the CLI's `--actor` (a patient's subject id there). Pseudonymous, never a name.
    pub actor: String,
    pub role: Role,
    /// A patient's own subject: the only one they may act on.
    pub own_subject: Option<SubjectId>,
    pub via: Via,
}

impl Session {
    /// A person in `role`. A patient's own subject is their actor id when it is one (the CLI's
    /// `--role patient --actor <subject id>`).
    pub fn person(actor: impl Into<String>, role: Role) -> Session {
        let actor = actor.into();
        let own_subject = if role == Role::Patient {
            actor.strip_prefix("subject:").unwrap_or(&actor).parse().ok()
        } else {
            None
        };
        Session { actor, role, own_subject, via: Via::Person }
    }

    /// A patient logged in to the portal: the audit log names their account (`username`),
    /// and they act on their own subject.
    pub fn patient(username: impl Into<String>, subject: Option<SubjectId>) -> Session {
        Session { actor: username.into(), role: Role::Patient, own_subject: subject, via: Via::Person }
    }

    /// The role's name, as the audit log records it.
    pub fn role_name(&self) -> &'static str {
        self.role.as_str()
    }

    /// Whether this caller may act on `subject` as far as ownership goes: anyone but a patient,
    /// and a patient on their own subject only.
    pub fn owns(&self, subject: Option<SubjectId>) -> bool {
        self.role != Role::Patient || (subject.is_some() && subject == self.own_subject)
    }

    /// The purpose a request is made for: the one asked, else the use case's default; an API
    /// token may use only the purposes it was issued for.
    pub fn purpose(&self, asked: Option<&str>, default: &str) -> Result<String, AppError> {
        let purpose = asked.map(str::trim).filter(|p| !p.is_empty()).unwrap_or(default).to_owned();
        if let Via::Token { purposes, .. } = &self.via {
            if !purposes.contains(&purpose) {
                return Err(AppError::new(
                    ErrorKind::OutOfScope,
                    format!(
                        "this API token is not issued for purpose {purpose:?} (it is for {})",
                        purposes.join(", ")
                    ),
                )
                .at("purpose"));
            }
        }
        Ok(purpose)
    }

    /// Whether a person (not a token) is acting.
    pub fn is_person(&self) -> bool {
        self.via == Via::Person
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patient_owns_only_their_subject() {
        let me: SubjectId = "0123456789abcdef0123456789abcdef".parse().unwrap();
        let other: SubjectId = "fedcba9876543210fedcba9876543210".parse().unwrap();
        let p = Session::person(me.to_string(), Role::Patient);
        assert!(p.owns(Some(me)));
        assert!(!p.owns(Some(other)));
        assert!(!p.owns(None));
        let also = Session::person(format!("subject:{me}"), Role::Patient);
        assert!(also.owns(Some(me)));
        let surgeon = Session::person("dr-a", Role::Surgeon);
        assert!(surgeon.owns(Some(other)) && surgeon.owns(None));
    }

    #[test]
    fn a_token_keeps_to_its_purposes() {
        let t = Session {
            via: Via::Token { id: "t1".into(), purposes: vec!["research".into()] },
            ..Session::person("token:t1", Role::Surgeon)
        };
        assert_eq!(t.purpose(Some("research"), "treatment-planning").unwrap(), "research");
        let e = t.purpose(None, "treatment-planning").unwrap_err();
        assert_eq!((e.kind, e.field.as_deref()), (ErrorKind::OutOfScope, Some("purpose")));
    }
}
