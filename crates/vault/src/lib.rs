//! FaceVault's use cases and the ports they run on.
//!
//! For most cases: build a [`Vault`] over a [`MetadataStore`], a [`BlobStore`], a
//! [`KeyProvider`] and a [`Clock`]; then `create_subject`, `import_scan`, `scan_mesh`,
//! `add_derivative`, `descendants`, `rotate_kek`, `shred_subject` and `fsck`.
//!
//! This crate knows nothing of SQL, files or HTTP: stores are ports (traits), with in-memory
//! adapters in `memory`, crash-injecting wrappers in `fault` and grant helpers in `testing`
//! for tests (the `testing` feature; the normal build has none of them). Every subject has
//! its own data key; every mesh, derivative and subject's identifying details reach a store only
//! sealed under it, so shredding the key erases them all.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod erased;
mod error;
mod export;
mod fsck;
mod governance;
mod ids;
mod model;
mod ports;
mod requests;
mod vault;

pub mod analyses;
pub mod conformance;
#[cfg(feature = "testing")]
pub mod fault;
#[cfg(feature = "testing")]
pub mod memory;
pub mod oversight;
#[cfg(feature = "testing")]
pub mod testing;

pub use erased::{DynBlobStore, DynMetadataStore};
pub use error::{StoreError, VaultError};
pub use export::{PackagedDerivative, PackagedScan, SubjectPackage};
pub use fsck::{FsckReport, Problem};
pub use governance::{
    parse_hold_kind, parse_jurisdiction_code, parse_object, parse_signature_method, Ask, Confirmation,
    ConfirmedBy, Enforced, GovernanceState, Recorder, Restriction, StoredConsent, SubjectPlan, Target,
};
pub use ids::{DerivativeId, Node, ScanId, SubjectId, Timestamp};
pub use model::{
    AccountRow, BlobRef, Capture, ConsentRow, Derivative, DerivativeKind, Disclosure, GovernanceRow,
    NewDerivative, Purpose, RequestRow, Scan, Subject, SubjectDetails, SubjectRecord, TokenRow, VendorNotice,
};
pub use ports::{
    AccountStore, BlobStore, Clock, FixedClock, GovernanceStore, KeyProvider, MetadataStore, RequestStore,
    ScanStore, ShredRecord, SubjectStore, SystemClock,
};
pub use requests::{parse_level, parse_request_kind, RequestUpdateError};
pub use vault::{RotationReport, ShredReport, Vault};
