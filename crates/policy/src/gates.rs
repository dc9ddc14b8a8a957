//! Who may do what the Cedar policy does not decide: governance changes (consents,
//! restrictions, legal holds, satisfied purposes, retention), listings and metadata, and account
//! management. The policy decides only "may this role do this action for this purpose"; these
//! lists gate the actions that name no purpose. The CLI and the server both read them, so a role
//! has the same rights at the terminal and over HTTP.
//!
//! A list says which roles may act; a patient in one may act only on their own subject, which
//! the caller checks. The order is the one denial messages list the roles in.

use crate::Role;

/// Staff who work with patients' records: they list and add subjects, and (with the patient)
/// read lineage and disclosures.
pub const CARE: &[Role] =
    &[Role::Surgeon, Role::ClinicalStaff, Role::FrontDesk, Role::PrivacyOfficer, Role::Admin];

/// Staff who capture scans.
pub const CAPTURE: &[Role] = &[Role::Surgeon, Role::ClinicalStaff];

/// Who records, reads and withdraws consents: the care team, the front desk taking the form,
/// the privacy officer, and the patient (withdrawal at least must be as easy as giving consent).
pub const CONSENT: &[Role] =
    &[Role::Surgeon, Role::ClinicalStaff, Role::FrontDesk, Role::PrivacyOfficer, Role::Patient, Role::Admin];

/// Who approves a consent that waits for confirmation, against the signed form: the privacy
/// officer alone (not the administrator: approving consent is a privacy decision).
pub const CONSENT_APPROVE: &[Role] = &[Role::PrivacyOfficer];

/// Who records a subject's restriction requests (opt-out, limit-use) and lifts them.
pub const RESTRICTION: &[Role] = &[Role::FrontDesk, Role::PrivacyOfficer, Role::Patient, Role::Admin];

/// The privacy office: legal holds, retention plans and runs, the audit log, API tokens,
/// account management, data-subject request handling, vendors and the posture report.
pub const COMPLIANCE: &[Role] = &[Role::PrivacyOfficer, Role::Admin];

/// Who records that a purpose is satisfied.
pub const SATISFIED: &[Role] = &[Role::Surgeon, Role::ClinicalStaff, Role::PrivacyOfficer, Role::Admin];

/// Who may open a data-subject request: the front desk, the privacy office, and a patient (their
/// own). Every later move is [`COMPLIANCE`]'s.
pub const REQUEST_OPEN: &[Role] = &[Role::FrontDesk, Role::PrivacyOfficer, Role::Admin, Role::Patient];

/// Who invites a patient to the portal: an invitation's secret lets whoever holds it log in as
/// the patient, so only roles that may read the patient's record themselves issue one (the
/// front desk and admin, refused it, do not). A subject's second invitation, which replaces
/// their account, is the privacy officer's alone ([`REINVITE`]).
pub const INVITE: &[Role] = &[Role::Surgeon, Role::ClinicalStaff, Role::PrivacyOfficer];

/// Who replaces a subject's portal account with a new invitation.
pub const REINVITE: &[Role] = &[Role::PrivacyOfficer];

/// Every list above: what a role may do beyond the policy's decisions. An API token's role must
/// be in none its issuer's role is not in.
pub const ALL: &[&[Role]] =
    &[CARE, CAPTURE, CONSENT, RESTRICTION, COMPLIANCE, SATISFIED, REQUEST_OPEN, INVITE, REINVITE];
