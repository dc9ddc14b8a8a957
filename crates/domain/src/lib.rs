//! FaceVault's privacy rules as pure functions over values: the purpose catalogue
//! ([`purpose`]), consent records and the check that guards a capture ([`consent`]), and the
//! retention engine that plans and decides destruction ([`retention`]).
//!
//! Nothing here does I/O, SQL, HTTP or async, and nothing knows a file path: a scan is an opaque
//! [`ObjectId`]. Time comes in as values or through the [`Clock`] port, so tests simulate years.
//!
//! For most cases: build a [`Catalogue`] (defaults or [`CatalogueConfig`]), fill a
//! [`ConsentDraft`], call [`check_capture`] to get the [`ActiveConsent`] a capture needs, keep it
//! as a [`ConsentRecord`], and ask [`retention::plan`] / [`retention::decide`] what to destroy.
#![forbid(unsafe_code)]

pub mod access;
pub mod consent;
pub mod consent_form;
pub mod documents;
mod error;
pub mod fhir;
pub mod posture;
pub mod purpose;
pub mod request;
pub mod retention;
pub mod settings;
mod time;
pub mod vendor;

pub use consent::{
    check_capture, confirmation_needed, ActiveConsent, ConsentDraft, ConsentRecord, ConsentStatus,
    Jurisdiction, MissingElement, Notice, NoticeCovers, PurposeGrant, SaleAuthorization, Signature,
    SignatureMethod, SALE_AUTHORIZATION_MAX,
};
pub use documents::{ClinicInfo, Documents};
pub use error::DomainError;
pub use purpose::{Catalogue, CatalogueConfig, Purpose, PurposeConfig, PurposeId};
pub use request::{
    deadlines, due_within, find_duplicate, overdue, required_verification, Deadlines, Due, Duplicate,
    DuplicatePolicy, DuplicateReason, HolidayCalendar, Law, NewRequest, Obligation, Request, RequestChange,
    RequestError, RequestEvent, RequestId, RequestKind, RequestState, Requester, VerificationLevel,
};
pub use retention::{
    decide, hold_standing, plan, Destruction, Enforcement, HoldKind, HoldStanding, LegalHold, ObjectId,
    ObjectKind, RetentionEvent, Rule, StoredObject, SubjectId, SubjectRetention, Target,
};
pub use time::{Clock, Date, RetentionPeriod, SimClock, Timestamp};
pub use vendor::{
    check_disclosure, disclose, missing_terms, required_terms, ContractTerm, DataCategory, Disclosure,
    DisclosureKind, DisclosureRefusal, Vendor, VendorConfig, VendorError, VendorId, VendorRegistry,
    VendorRole, RESERVED_RECIPIENTS, TREATMENT_PURPOSES,
};
