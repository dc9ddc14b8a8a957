//! The ports: what the vault needs from the outside, as traits. Adapters live in other crates
//! (`store-sql`, `store-blob`) and in `memory` for tests (the `testing` feature).
//!
//! The metadata a vault keeps is split by concern ([`SubjectStore`], [`ScanStore`],
//! [`GovernanceStore`], [`RequestStore`]), so a reader sees which records a method touches;
//! [`MetadataStore`] is all four, which the use cases bound on. [`AccountStore`] is the
//! server's, beside them.
//!
//! Ports are async because the real adapters (sqlx, object_store) are; the vault's use cases are
//! runtime-agnostic async functions. Each method is atomic on its own: the use cases order
//! their calls so that a crash between any two leaves a state `fsck` can repair.

use std::future::Future;

pub use facevault_crypto::KeyProvider;
use facevault_crypto::{Id, KekVersion, WrappedKey};

use crate::error::StoreError;
use crate::ids::{DerivativeId, Node, ScanId, SubjectId, Timestamp};
use crate::model::{
    AccountRow, ConsentRow, Derivative, Disclosure, GovernanceRow, RequestRow, Scan, SubjectRecord, TokenRow,
    VendorNotice,
};

/// Stores sealed blobs by object id. It only ever sees ciphertext.
pub trait BlobStore: Send + Sync {
    /// Store a blob; when this returns `Ok` the blob is durable.
    fn put(&self, object: Id, sealed: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The blob of `object`, or `None` if there is none.
    fn get(&self, object: Id) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// Delete a blob; deleting a missing blob is not an error.
    fn delete(&self, object: Id) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every stored object id.
    fn list(&self) -> impl Future<Output = Result<Vec<Id>, StoreError>> + Send;
}

/// What a shred removed from the metadata store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShredRecord {
    pub scans: Vec<ScanId>,
    pub derivatives: Vec<DerivativeId>,
    /// The blobs now queued for purging (already undecryptable: their key is gone).
    pub blobs: Vec<Id>,
}

/// Subjects and keys: the vault's id, subject records (wrapped data keys, sealed details),
/// crypto-shredding and the purge queue it fills, the KEK rotation marker, and closing the store.
pub trait SubjectStore: Send + Sync {
    /// The vault's id, storing `candidate` first if the store has none yet.
    fn vault_id_or_init(&self, candidate: Id) -> impl Future<Output = Result<Id, StoreError>> + Send;

    fn insert_subject(&self, subject: SubjectRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn subject(
        &self,
        id: SubjectId,
    ) -> impl Future<Output = Result<Option<SubjectRecord>, StoreError>> + Send;

    fn subjects(&self) -> impl Future<Output = Result<Vec<SubjectRecord>, StoreError>> + Send;

    /// Replace a subject's wrapped key if it is still wrapped under `expected` (compare and
    /// swap). `false` if the subject is gone or was rewrapped meanwhile.
    fn replace_wrapped_key(
        &self,
        id: SubjectId,
        expected: KekVersion,
        new: WrappedKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replace a subject's sealed details (a correction); `false` if the subject is gone.
    fn replace_details(
        &self,
        id: SubjectId,
        details: Vec<u8>,
        version: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// In one transaction: remove the subject (its wrapped key and details), its consents and
    /// governance state, its scans, its derivatives and their lineage edges, and queue their
    /// blobs for purging. Returns what was removed; `None` if no such subject.
    fn shred_subject(
        &self,
        id: SubjectId,
    ) -> impl Future<Output = Result<Option<ShredRecord>, StoreError>> + Send;

    /// Blobs queued for deletion by shreds.
    fn purge_queue(&self) -> impl Future<Output = Result<Vec<Id>, StoreError>> + Send;

    /// Forget queued blobs once they are deleted.
    fn dequeue_purged(&self, objects: Vec<Id>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The KEK version a rotation in progress is moving every subject key to, if any.
    fn rotation_target(&self) -> impl Future<Output = Result<Option<KekVersion>, StoreError>> + Send;

    fn set_rotation_target(
        &self,
        target: Option<KekVersion>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Release the store when a process is done with it (a database adapter closes its
    /// connections and checkpoints its write-ahead log). Nothing by default; the store is not
    /// used afterwards.
    fn close(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Scans, derivatives and their lineage, the deletion of single objects, and the record of
/// disclosures.
pub trait ScanStore: Send + Sync {
    fn insert_scan(&self, scan: Scan) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn scan(&self, id: ScanId) -> impl Future<Output = Result<Option<Scan>, StoreError>> + Send;

    fn scans_of(&self, subject: SubjectId) -> impl Future<Output = Result<Vec<Scan>, StoreError>> + Send;

    /// Insert a derivative and its lineage edges (to `derivative.parents`) in one transaction.
    fn insert_derivative(
        &self,
        derivative: Derivative,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn derivative(
        &self,
        id: DerivativeId,
    ) -> impl Future<Output = Result<Option<Derivative>, StoreError>> + Send;

    fn derivatives_of(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<Derivative>, StoreError>> + Send;

    /// Derivatives with `node` among their direct parents.
    fn children(&self, node: Node) -> impl Future<Output = Result<Vec<DerivativeId>, StoreError>> + Send;

    /// In one transaction: remove these scans and derivatives of `subject` (records and the
    /// lineage edges into them) and queue their blobs for purging. The caller passes every
    /// descendant too, so no derivative is left pointing at a removed parent.
    fn delete_objects(
        &self,
        subject: SubjectId,
        nodes: Vec<Node>,
    ) -> impl Future<Output = Result<ShredRecord, StoreError>> + Send;

    /// Append a disclosure record (durable when this returns).
    fn record_disclosure(
        &self,
        disclosure: Disclosure,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A subject's disclosures, oldest first.
    fn disclosures_of(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<Disclosure>, StoreError>> + Send;
}

/// Consents and the sealed governance state (restrictions, holds, purposes satisfied), and the
/// stamp an access decision's cache is keyed by.
pub trait GovernanceStore: Send + Sync {
    /// Store a consent (the subject must exist); a later consent supersedes an earlier one.
    fn insert_consent(&self, consent: ConsentRow) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A subject's consents, oldest first.
    fn consents_of(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<ConsentRow>, StoreError>> + Send;

    /// Mark a consent withdrawn at `at`, unless it already is; `false` if no such consent.
    fn withdraw_consent(
        &self,
        id: Id,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn governance(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Option<GovernanceRow>, StoreError>> + Send;

    /// Store a subject's governance state if its version is `expected + 1` (compare and swap,
    /// `expected` 0 for the first): `false` if someone else updated it meanwhile.
    fn put_governance(&self, row: GovernanceRow) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A fingerprint of everything an access decision reads about a subject (its consents and
    /// their withdrawals, its governance version, its scans and derivatives), in one read: it
    /// changes whenever any of them does, by any process. `None` if the subject is gone.
    fn subject_stamp(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// Data-subject requests and the vendor notices of an erasure.
pub trait RequestStore: Send + Sync {
    /// Insert or replace a data-subject request.
    fn put_request(&self, request: RequestRow) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every request.
    fn requests(&self) -> impl Future<Output = Result<Vec<RequestRow>, StoreError>> + Send;

    /// Insert a vendor notice (one per request and vendor; a second is ignored).
    fn put_vendor_notice(&self, notice: VendorNotice) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Mark a vendor notice confirmed at `at` unless it already is; `false` if no such notice.
    fn confirm_vendor_notice(
        &self,
        request: String,
        vendor: String,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn vendor_notices(&self) -> impl Future<Output = Result<Vec<VendorNotice>, StoreError>> + Send;
}

/// Everything the vault's use cases store besides blobs: the five concerns above and below,
/// which one database adapter implements together (a blanket impl makes it a `MetadataStore`).
/// A use case bounds on this; a caller holding a concrete store imports the concern traits it
/// calls. Accounts are one of them because erasure closes a subject's portal account.
pub trait MetadataStore: SubjectStore + ScanStore + GovernanceStore + RequestStore + AccountStore {}

impl<T: SubjectStore + ScanStore + GovernanceStore + RequestStore + AccountStore> MetadataStore for T {}

/// Stores the accounts of the server's users, hashed API tokens and a few wrapped keys. Rows
/// only: hashing, sealing and the rules (one portal account per subject among them) live in
/// `facevault-app`; the store keeps that rule too, against races.
pub trait AccountStore: Send + Sync {
    /// Add an account; a taken username or invitation hash, or a second account for one
    /// subject, is a `Conflict`.
    fn add_account(&self, account: &AccountRow) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn account(&self, username: &str) -> impl Future<Output = Result<Option<AccountRow>, StoreError>> + Send;
    /// The account whose open invitation hashes to `invite_hash`.
    fn account_by_invite(
        &self,
        invite_hash: &str,
    ) -> impl Future<Output = Result<Option<AccountRow>, StoreError>> + Send;
    /// Every account, by username.
    fn accounts(&self) -> impl Future<Output = Result<Vec<AccountRow>, StoreError>> + Send;
    /// Set the password of the account whose invitation is `invite_hash`, and use the
    /// invitation up (it cannot be accepted twice). `false` if no such invitation is open.
    fn accept_invite(
        &self,
        invite_hash: &str,
        password_hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Remove the accounts bound to a subject (after the subject is crypto-shredded); how many.
    fn remove_subject_accounts(&self, subject: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Add a token; a taken id or hash is a `Conflict`.
    fn add_token(&self, token: &TokenRow) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn token_by_hash(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<TokenRow>, StoreError>> + Send;
    /// Every token, oldest first (then by id).
    fn tokens(&self) -> impl Future<Output = Result<Vec<TokenRow>, StoreError>> + Send;
    /// Revoke a token by id; `false` if there is none.
    fn revoke_token(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn server_key(&self, name: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// Store a server key once: a second put of the same name is a `Conflict` (two servers
    /// racing to create it keep the first).
    fn put_server_key(&self, name: &str, value: &[u8])
        -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The time, for records. A port so tests are deterministic.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp(ms)
    }
}

/// A clock stopped at one instant.
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The domain's simulated clock drives the vault too, so retention tests live through years.
impl Clock for facevault_domain::SimClock {
    fn now(&self) -> Timestamp {
        Timestamp(facevault_domain::Clock::now(self).timestamp_millis())
    }
}

/// A shared clock: a test keeps one handle to move time and gives the vault the other.
impl<T: Clock + ?Sized> Clock for std::sync::Arc<T> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}
