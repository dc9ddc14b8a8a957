//! Type-erased stores, so a front end (the server, the application layer) can hold a vault
//! without naming an adapter type: `Vault<DynMetadataStore, DynBlobStore, ..>`. The binary
//! wraps the adapters it opens (`DynMetadataStore::new(sql_store)`).
//!
//! The ports return `impl Future`, which a trait object cannot; each wrapper holds an
//! `Arc<dyn ..>` of a private twin trait whose methods return boxed futures, implemented for
//! every adapter. One allocation per call, next to a database round trip or a blob read.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use facevault_crypto::{Id, KekVersion, WrappedKey};

use crate::error::StoreError;
use crate::ids::{DerivativeId, Node, ScanId, SubjectId, Timestamp};
use crate::model::{
    AccountRow, ConsentRow, Derivative, Disclosure, GovernanceRow, RequestRow, Scan, SubjectRecord, TokenRow,
    VendorNotice,
};
use crate::ports::{
    AccountStore, BlobStore, GovernanceStore, MetadataStore, RequestStore, ScanStore, ShredRecord,
    SubjectStore,
};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type Answer<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// A metadata store (with the server's accounts) of any adapter type. `Clone` shares it.
#[derive(Clone)]
pub struct DynMetadataStore(Arc<dyn ErasedMetadata>);

impl DynMetadataStore {
    pub fn new<S: MetadataStore + AccountStore + 'static>(store: S) -> DynMetadataStore {
        DynMetadataStore(Arc::new(store))
    }
}

impl fmt::Debug for DynMetadataStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DynMetadataStore(..)")
    }
}

/// A blob store of any adapter type. `Clone` shares it.
#[derive(Clone)]
pub struct DynBlobStore(Arc<dyn ErasedBlobs>);

impl DynBlobStore {
    pub fn new<S: BlobStore + 'static>(store: S) -> DynBlobStore {
        DynBlobStore(Arc::new(store))
    }
}

impl fmt::Debug for DynBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DynBlobStore(..)")
    }
}

/// [`BlobStore`], object safe.
trait ErasedBlobs: Send + Sync {
    fn put(&self, object: Id, sealed: Vec<u8>) -> Answer<'_, ()>;
    fn get(&self, object: Id) -> Answer<'_, Option<Vec<u8>>>;
    fn delete(&self, object: Id) -> Answer<'_, ()>;
    fn list(&self) -> Answer<'_, Vec<Id>>;
}

impl<T: BlobStore + 'static> ErasedBlobs for T {
    fn put(&self, object: Id, sealed: Vec<u8>) -> Answer<'_, ()> {
        Box::pin(BlobStore::put(self, object, sealed))
    }
    fn get(&self, object: Id) -> Answer<'_, Option<Vec<u8>>> {
        Box::pin(BlobStore::get(self, object))
    }
    fn delete(&self, object: Id) -> Answer<'_, ()> {
        Box::pin(BlobStore::delete(self, object))
    }
    fn list(&self) -> Answer<'_, Vec<Id>> {
        Box::pin(BlobStore::list(self))
    }
}

impl BlobStore for DynBlobStore {
    fn put(&self, object: Id, sealed: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.put(object, sealed)
    }
    fn get(&self, object: Id) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send {
        self.0.get(object)
    }
    fn delete(&self, object: Id) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.delete(object)
    }
    fn list(&self) -> impl Future<Output = Result<Vec<Id>, StoreError>> + Send {
        self.0.list()
    }
}

/// [`MetadataStore`] (its four concerns) and [`AccountStore`], object safe. A method taking references ties them
/// all to the future's one lifetime; the wrapper's `async fn`s take them apart again.
trait ErasedMetadata: Send + Sync {
    fn vault_id_or_init(&self, candidate: Id) -> Answer<'_, Id>;
    fn insert_subject(&self, subject: SubjectRecord) -> Answer<'_, ()>;
    fn subject(&self, id: SubjectId) -> Answer<'_, Option<SubjectRecord>>;
    fn subjects(&self) -> Answer<'_, Vec<SubjectRecord>>;
    fn replace_wrapped_key(&self, id: SubjectId, expected: KekVersion, new: WrappedKey) -> Answer<'_, bool>;
    fn shred_subject(&self, id: SubjectId) -> Answer<'_, Option<ShredRecord>>;
    fn purge_queue(&self) -> Answer<'_, Vec<Id>>;
    fn dequeue_purged(&self, objects: Vec<Id>) -> Answer<'_, ()>;
    fn insert_scan(&self, scan: Scan) -> Answer<'_, ()>;
    fn scan(&self, id: ScanId) -> Answer<'_, Option<Scan>>;
    fn scans_of(&self, subject: SubjectId) -> Answer<'_, Vec<Scan>>;
    fn insert_derivative(&self, derivative: Derivative) -> Answer<'_, ()>;
    fn derivative(&self, id: DerivativeId) -> Answer<'_, Option<Derivative>>;
    fn derivatives_of(&self, subject: SubjectId) -> Answer<'_, Vec<Derivative>>;
    fn children(&self, node: Node) -> Answer<'_, Vec<DerivativeId>>;
    fn record_disclosure(&self, disclosure: Disclosure) -> Answer<'_, ()>;
    fn disclosures_of(&self, subject: SubjectId) -> Answer<'_, Vec<Disclosure>>;
    fn delete_objects(&self, subject: SubjectId, nodes: Vec<Node>) -> Answer<'_, ShredRecord>;
    fn insert_consent(&self, consent: ConsentRow) -> Answer<'_, ()>;
    fn consents_of(&self, subject: SubjectId) -> Answer<'_, Vec<ConsentRow>>;
    fn withdraw_consent(&self, id: Id, at: Timestamp) -> Answer<'_, bool>;
    fn governance(&self, subject: SubjectId) -> Answer<'_, Option<GovernanceRow>>;
    fn subject_stamp(&self, subject: SubjectId) -> Answer<'_, Option<String>>;
    fn put_governance(&self, row: GovernanceRow) -> Answer<'_, bool>;
    fn replace_details(&self, id: SubjectId, details: Vec<u8>, version: u32) -> Answer<'_, bool>;
    fn put_request(&self, request: RequestRow) -> Answer<'_, ()>;
    fn requests(&self) -> Answer<'_, Vec<RequestRow>>;
    fn put_vendor_notice(&self, notice: VendorNotice) -> Answer<'_, ()>;
    fn confirm_vendor_notice(&self, request: String, vendor: String, at: Timestamp) -> Answer<'_, bool>;
    fn vendor_notices(&self) -> Answer<'_, Vec<VendorNotice>>;
    fn rotation_target(&self) -> Answer<'_, Option<KekVersion>>;
    fn set_rotation_target(&self, target: Option<KekVersion>) -> Answer<'_, ()>;
    fn close(&self) -> BoxFuture<'_, ()>;

    fn add_account<'a>(&'a self, account: &'a AccountRow) -> Answer<'a, ()>;
    fn account<'a>(&'a self, username: &'a str) -> Answer<'a, Option<AccountRow>>;
    fn account_by_invite<'a>(&'a self, invite_hash: &'a str) -> Answer<'a, Option<AccountRow>>;
    fn accounts(&self) -> Answer<'_, Vec<AccountRow>>;
    fn accept_invite<'a>(&'a self, invite_hash: &'a str, password_hash: &'a str) -> Answer<'a, bool>;
    fn remove_subject_accounts<'a>(&'a self, subject: &'a str) -> Answer<'a, u64>;
    fn add_token<'a>(&'a self, token: &'a TokenRow) -> Answer<'a, ()>;
    fn token_by_hash<'a>(&'a self, token_hash: &'a str) -> Answer<'a, Option<TokenRow>>;
    fn tokens(&self) -> Answer<'_, Vec<TokenRow>>;
    fn revoke_token<'a>(&'a self, id: &'a str) -> Answer<'a, bool>;
    fn server_key<'a>(&'a self, name: &'a str) -> Answer<'a, Option<Vec<u8>>>;
    fn put_server_key<'a>(&'a self, name: &'a str, value: &'a [u8]) -> Answer<'a, ()>;
}

impl<T: MetadataStore + AccountStore + 'static> ErasedMetadata for T {
    fn vault_id_or_init(&self, candidate: Id) -> Answer<'_, Id> {
        Box::pin(SubjectStore::vault_id_or_init(self, candidate))
    }
    fn insert_subject(&self, subject: SubjectRecord) -> Answer<'_, ()> {
        Box::pin(SubjectStore::insert_subject(self, subject))
    }
    fn subject(&self, id: SubjectId) -> Answer<'_, Option<SubjectRecord>> {
        Box::pin(SubjectStore::subject(self, id))
    }
    fn subjects(&self) -> Answer<'_, Vec<SubjectRecord>> {
        Box::pin(SubjectStore::subjects(self))
    }
    fn replace_wrapped_key(&self, id: SubjectId, expected: KekVersion, new: WrappedKey) -> Answer<'_, bool> {
        Box::pin(SubjectStore::replace_wrapped_key(self, id, expected, new))
    }
    fn shred_subject(&self, id: SubjectId) -> Answer<'_, Option<ShredRecord>> {
        Box::pin(SubjectStore::shred_subject(self, id))
    }
    fn purge_queue(&self) -> Answer<'_, Vec<Id>> {
        Box::pin(SubjectStore::purge_queue(self))
    }
    fn dequeue_purged(&self, objects: Vec<Id>) -> Answer<'_, ()> {
        Box::pin(SubjectStore::dequeue_purged(self, objects))
    }
    fn insert_scan(&self, scan: Scan) -> Answer<'_, ()> {
        Box::pin(ScanStore::insert_scan(self, scan))
    }
    fn scan(&self, id: ScanId) -> Answer<'_, Option<Scan>> {
        Box::pin(ScanStore::scan(self, id))
    }
    fn scans_of(&self, subject: SubjectId) -> Answer<'_, Vec<Scan>> {
        Box::pin(ScanStore::scans_of(self, subject))
    }
    fn insert_derivative(&self, derivative: Derivative) -> Answer<'_, ()> {
        Box::pin(ScanStore::insert_derivative(self, derivative))
    }
    fn derivative(&self, id: DerivativeId) -> Answer<'_, Option<Derivative>> {
        Box::pin(ScanStore::derivative(self, id))
    }
    fn derivatives_of(&self, subject: SubjectId) -> Answer<'_, Vec<Derivative>> {
        Box::pin(ScanStore::derivatives_of(self, subject))
    }
    fn children(&self, node: Node) -> Answer<'_, Vec<DerivativeId>> {
        Box::pin(ScanStore::children(self, node))
    }
    fn record_disclosure(&self, disclosure: Disclosure) -> Answer<'_, ()> {
        Box::pin(ScanStore::record_disclosure(self, disclosure))
    }
    fn disclosures_of(&self, subject: SubjectId) -> Answer<'_, Vec<Disclosure>> {
        Box::pin(ScanStore::disclosures_of(self, subject))
    }
    fn delete_objects(&self, subject: SubjectId, nodes: Vec<Node>) -> Answer<'_, ShredRecord> {
        Box::pin(ScanStore::delete_objects(self, subject, nodes))
    }
    fn insert_consent(&self, consent: ConsentRow) -> Answer<'_, ()> {
        Box::pin(GovernanceStore::insert_consent(self, consent))
    }
    fn consents_of(&self, subject: SubjectId) -> Answer<'_, Vec<ConsentRow>> {
        Box::pin(GovernanceStore::consents_of(self, subject))
    }
    fn withdraw_consent(&self, id: Id, at: Timestamp) -> Answer<'_, bool> {
        Box::pin(GovernanceStore::withdraw_consent(self, id, at))
    }
    fn governance(&self, subject: SubjectId) -> Answer<'_, Option<GovernanceRow>> {
        Box::pin(GovernanceStore::governance(self, subject))
    }
    fn subject_stamp(&self, subject: SubjectId) -> Answer<'_, Option<String>> {
        Box::pin(GovernanceStore::subject_stamp(self, subject))
    }
    fn put_governance(&self, row: GovernanceRow) -> Answer<'_, bool> {
        Box::pin(GovernanceStore::put_governance(self, row))
    }
    fn replace_details(&self, id: SubjectId, details: Vec<u8>, version: u32) -> Answer<'_, bool> {
        Box::pin(SubjectStore::replace_details(self, id, details, version))
    }
    fn put_request(&self, request: RequestRow) -> Answer<'_, ()> {
        Box::pin(RequestStore::put_request(self, request))
    }
    fn requests(&self) -> Answer<'_, Vec<RequestRow>> {
        Box::pin(RequestStore::requests(self))
    }
    fn put_vendor_notice(&self, notice: VendorNotice) -> Answer<'_, ()> {
        Box::pin(RequestStore::put_vendor_notice(self, notice))
    }
    fn confirm_vendor_notice(&self, request: String, vendor: String, at: Timestamp) -> Answer<'_, bool> {
        Box::pin(RequestStore::confirm_vendor_notice(self, request, vendor, at))
    }
    fn vendor_notices(&self) -> Answer<'_, Vec<VendorNotice>> {
        Box::pin(RequestStore::vendor_notices(self))
    }
    fn rotation_target(&self) -> Answer<'_, Option<KekVersion>> {
        Box::pin(SubjectStore::rotation_target(self))
    }
    fn set_rotation_target(&self, target: Option<KekVersion>) -> Answer<'_, ()> {
        Box::pin(SubjectStore::set_rotation_target(self, target))
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(SubjectStore::close(self))
    }

    fn add_account<'a>(&'a self, account: &'a AccountRow) -> Answer<'a, ()> {
        Box::pin(AccountStore::add_account(self, account))
    }
    fn account<'a>(&'a self, username: &'a str) -> Answer<'a, Option<AccountRow>> {
        Box::pin(AccountStore::account(self, username))
    }
    fn account_by_invite<'a>(&'a self, invite_hash: &'a str) -> Answer<'a, Option<AccountRow>> {
        Box::pin(AccountStore::account_by_invite(self, invite_hash))
    }
    fn accounts(&self) -> Answer<'_, Vec<AccountRow>> {
        Box::pin(AccountStore::accounts(self))
    }
    fn accept_invite<'a>(&'a self, invite_hash: &'a str, password_hash: &'a str) -> Answer<'a, bool> {
        Box::pin(AccountStore::accept_invite(self, invite_hash, password_hash))
    }
    fn remove_subject_accounts<'a>(&'a self, subject: &'a str) -> Answer<'a, u64> {
        Box::pin(AccountStore::remove_subject_accounts(self, subject))
    }
    fn add_token<'a>(&'a self, token: &'a TokenRow) -> Answer<'a, ()> {
        Box::pin(AccountStore::add_token(self, token))
    }
    fn token_by_hash<'a>(&'a self, token_hash: &'a str) -> Answer<'a, Option<TokenRow>> {
        Box::pin(AccountStore::token_by_hash(self, token_hash))
    }
    fn tokens(&self) -> Answer<'_, Vec<TokenRow>> {
        Box::pin(AccountStore::tokens(self))
    }
    fn revoke_token<'a>(&'a self, id: &'a str) -> Answer<'a, bool> {
        Box::pin(AccountStore::revoke_token(self, id))
    }
    fn server_key<'a>(&'a self, name: &'a str) -> Answer<'a, Option<Vec<u8>>> {
        Box::pin(AccountStore::server_key(self, name))
    }
    fn put_server_key<'a>(&'a self, name: &'a str, value: &'a [u8]) -> Answer<'a, ()> {
        Box::pin(AccountStore::put_server_key(self, name, value))
    }
}

impl SubjectStore for DynMetadataStore {
    fn vault_id_or_init(&self, candidate: Id) -> impl Future<Output = Result<Id, StoreError>> + Send {
        self.0.vault_id_or_init(candidate)
    }

    fn insert_subject(&self, subject: SubjectRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.insert_subject(subject)
    }

    fn subject(
        &self,
        id: SubjectId,
    ) -> impl Future<Output = Result<Option<SubjectRecord>, StoreError>> + Send {
        self.0.subject(id)
    }

    fn subjects(&self) -> impl Future<Output = Result<Vec<SubjectRecord>, StoreError>> + Send {
        self.0.subjects()
    }

    fn replace_wrapped_key(
        &self,
        id: SubjectId,
        expected: KekVersion,
        new: WrappedKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.replace_wrapped_key(id, expected, new)
    }

    fn replace_details(
        &self,
        id: SubjectId,
        details: Vec<u8>,
        version: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.replace_details(id, details, version)
    }

    fn shred_subject(
        &self,
        id: SubjectId,
    ) -> impl Future<Output = Result<Option<ShredRecord>, StoreError>> + Send {
        self.0.shred_subject(id)
    }

    fn purge_queue(&self) -> impl Future<Output = Result<Vec<Id>, StoreError>> + Send {
        self.0.purge_queue()
    }

    fn dequeue_purged(&self, objects: Vec<Id>) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.dequeue_purged(objects)
    }

    fn rotation_target(&self) -> impl Future<Output = Result<Option<KekVersion>, StoreError>> + Send {
        self.0.rotation_target()
    }

    fn set_rotation_target(
        &self,
        target: Option<KekVersion>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.set_rotation_target(target)
    }

    fn close(&self) -> impl Future<Output = ()> + Send {
        self.0.close()
    }
}

impl ScanStore for DynMetadataStore {
    fn insert_scan(&self, scan: Scan) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.insert_scan(scan)
    }

    fn scan(&self, id: ScanId) -> impl Future<Output = Result<Option<Scan>, StoreError>> + Send {
        self.0.scan(id)
    }

    fn scans_of(&self, subject: SubjectId) -> impl Future<Output = Result<Vec<Scan>, StoreError>> + Send {
        self.0.scans_of(subject)
    }

    fn insert_derivative(
        &self,
        derivative: Derivative,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.insert_derivative(derivative)
    }

    fn derivative(
        &self,
        id: DerivativeId,
    ) -> impl Future<Output = Result<Option<Derivative>, StoreError>> + Send {
        self.0.derivative(id)
    }

    fn derivatives_of(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<Derivative>, StoreError>> + Send {
        self.0.derivatives_of(subject)
    }

    fn children(&self, node: Node) -> impl Future<Output = Result<Vec<DerivativeId>, StoreError>> + Send {
        self.0.children(node)
    }

    fn delete_objects(
        &self,
        subject: SubjectId,
        nodes: Vec<Node>,
    ) -> impl Future<Output = Result<ShredRecord, StoreError>> + Send {
        self.0.delete_objects(subject, nodes)
    }

    fn record_disclosure(
        &self,
        disclosure: Disclosure,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.record_disclosure(disclosure)
    }

    fn disclosures_of(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<Disclosure>, StoreError>> + Send {
        self.0.disclosures_of(subject)
    }
}

impl GovernanceStore for DynMetadataStore {
    fn insert_consent(&self, consent: ConsentRow) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.insert_consent(consent)
    }

    fn consents_of(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Vec<ConsentRow>, StoreError>> + Send {
        self.0.consents_of(subject)
    }

    fn withdraw_consent(
        &self,
        id: Id,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.withdraw_consent(id, at)
    }

    fn governance(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Option<GovernanceRow>, StoreError>> + Send {
        self.0.governance(subject)
    }

    fn put_governance(&self, row: GovernanceRow) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.put_governance(row)
    }

    fn subject_stamp(
        &self,
        subject: SubjectId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        self.0.subject_stamp(subject)
    }
}

impl RequestStore for DynMetadataStore {
    fn put_request(&self, request: RequestRow) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.put_request(request)
    }

    fn requests(&self) -> impl Future<Output = Result<Vec<RequestRow>, StoreError>> + Send {
        self.0.requests()
    }

    fn put_vendor_notice(&self, notice: VendorNotice) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.0.put_vendor_notice(notice)
    }

    fn confirm_vendor_notice(
        &self,
        request: String,
        vendor: String,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.confirm_vendor_notice(request, vendor, at)
    }

    fn vendor_notices(&self) -> impl Future<Output = Result<Vec<VendorNotice>, StoreError>> + Send {
        self.0.vendor_notices()
    }
}

impl AccountStore for DynMetadataStore {
    async fn add_account(&self, account: &AccountRow) -> Result<(), StoreError> {
        self.0.add_account(account).await
    }
    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        self.0.account(username).await
    }
    async fn account_by_invite(&self, invite_hash: &str) -> Result<Option<AccountRow>, StoreError> {
        self.0.account_by_invite(invite_hash).await
    }
    fn accounts(&self) -> impl Future<Output = Result<Vec<AccountRow>, StoreError>> + Send {
        self.0.accounts()
    }
    async fn accept_invite(&self, invite_hash: &str, password_hash: &str) -> Result<bool, StoreError> {
        self.0.accept_invite(invite_hash, password_hash).await
    }
    async fn remove_subject_accounts(&self, subject: &str) -> Result<u64, StoreError> {
        self.0.remove_subject_accounts(subject).await
    }
    async fn add_token(&self, token: &TokenRow) -> Result<(), StoreError> {
        self.0.add_token(token).await
    }
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
        self.0.token_by_hash(token_hash).await
    }
    fn tokens(&self) -> impl Future<Output = Result<Vec<TokenRow>, StoreError>> + Send {
        self.0.tokens()
    }
    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.0.revoke_token(id).await
    }
    async fn server_key(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.server_key(name).await
    }
    async fn put_server_key(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0.put_server_key(name, value).await
    }
}
