//! Fault injection for crash-consistency tests: wrappers around any port that simulate the
//! process dying at the N-th store write, either before the write happens or just after it
//! became durable but before the caller heard back. After the crash every call fails, as in a
//! dead process; a test then "restarts" by opening a new vault over the unwrapped stores.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use facevault_crypto::{Id, KekVersion, WrappedKey};

use crate::error::StoreError;
use crate::ids::{DerivativeId, Node, ScanId, SubjectId, Timestamp};
use crate::model::{
    AccountRow, ConsentRow, Derivative, Disclosure, GovernanceRow, RequestRow, Scan, SubjectRecord, TokenRow,
    VendorNotice,
};
use crate::ports::{
    AccountStore, BlobStore, GovernanceStore, RequestStore, ScanStore, ShredRecord, SubjectStore,
};

/// Whether the crashing write lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// The write never happens.
    Before,
    /// The write is durable, but the process dies before it returns.
    After,
}

#[derive(Debug)]
struct State {
    steps: AtomicUsize,
    crash_at: usize,
    point: CrashPoint,
    crashed: AtomicBool,
}

/// A shared count of store writes across all wrapped ports, and where to crash.
#[derive(Clone, Debug)]
pub struct FaultPlan(Arc<State>);

impl FaultPlan {
    /// Count writes, never crash.
    pub fn never() -> FaultPlan {
        FaultPlan::crash_at(usize::MAX, CrashPoint::Before)
    }

    /// Crash at the `step`-th write (1-based).
    pub fn crash_at(step: usize, point: CrashPoint) -> FaultPlan {
        FaultPlan(Arc::new(State {
            steps: AtomicUsize::new(0),
            crash_at: step,
            point,
            crashed: AtomicBool::new(false),
        }))
    }

    /// Writes attempted so far.
    pub fn steps(&self) -> usize {
        self.0.steps.load(Ordering::SeqCst)
    }

    pub fn crashed(&self) -> bool {
        self.0.crashed.load(Ordering::SeqCst)
    }

    fn dead(&self) -> Result<(), StoreError> {
        if self.crashed() {
            return Err(StoreError::Injected { step: self.0.crash_at });
        }
        Ok(())
    }

    fn crash(&self) -> StoreError {
        self.0.crashed.store(true, Ordering::SeqCst);
        StoreError::Injected { step: self.0.crash_at }
    }

    /// Run one write under the plan.
    async fn write<T>(
        &self,
        op: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.dead()?;
        let step = self.0.steps.fetch_add(1, Ordering::SeqCst) + 1;
        if step == self.0.crash_at && self.0.point == CrashPoint::Before {
            return Err(self.crash());
        }
        let out = op.await?;
        if step == self.0.crash_at {
            return Err(self.crash());
        }
        Ok(out)
    }

    async fn read<T>(
        &self,
        op: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.dead()?;
        op.await
    }
}

/// A blob store that crashes as its [`FaultPlan`] says.
#[derive(Clone, Debug)]
pub struct FaultyBlobs<B> {
    pub inner: B,
    pub plan: FaultPlan,
}

impl<B: BlobStore> BlobStore for FaultyBlobs<B> {
    async fn put(&self, object: Id, sealed: Vec<u8>) -> Result<(), StoreError> {
        self.plan.write(self.inner.put(object, sealed)).await
    }
    async fn get(&self, object: Id) -> Result<Option<Vec<u8>>, StoreError> {
        self.plan.read(self.inner.get(object)).await
    }
    async fn delete(&self, object: Id) -> Result<(), StoreError> {
        self.plan.write(self.inner.delete(object)).await
    }
    async fn list(&self) -> Result<Vec<Id>, StoreError> {
        self.plan.read(self.inner.list()).await
    }
}

/// A metadata store that crashes as its [`FaultPlan`] says.
#[derive(Clone, Debug)]
pub struct FaultyMetadata<M> {
    pub inner: M,
    pub plan: FaultPlan,
}

impl<M: SubjectStore> SubjectStore for FaultyMetadata<M> {
    async fn vault_id_or_init(&self, candidate: Id) -> Result<Id, StoreError> {
        self.plan.read(self.inner.vault_id_or_init(candidate)).await
    }

    async fn insert_subject(&self, subject: SubjectRecord) -> Result<(), StoreError> {
        self.plan.write(self.inner.insert_subject(subject)).await
    }

    async fn subject(&self, id: SubjectId) -> Result<Option<SubjectRecord>, StoreError> {
        self.plan.read(self.inner.subject(id)).await
    }

    async fn subjects(&self) -> Result<Vec<SubjectRecord>, StoreError> {
        self.plan.read(self.inner.subjects()).await
    }

    async fn replace_wrapped_key(
        &self,
        id: SubjectId,
        expected: KekVersion,
        new: WrappedKey,
    ) -> Result<bool, StoreError> {
        self.plan.write(self.inner.replace_wrapped_key(id, expected, new)).await
    }

    async fn replace_details(
        &self,
        id: SubjectId,
        details: Vec<u8>,
        version: u32,
    ) -> Result<bool, StoreError> {
        self.plan.write(self.inner.replace_details(id, details, version)).await
    }

    async fn shred_subject(&self, id: SubjectId) -> Result<Option<ShredRecord>, StoreError> {
        self.plan.write(self.inner.shred_subject(id)).await
    }

    async fn purge_queue(&self) -> Result<Vec<Id>, StoreError> {
        self.plan.read(self.inner.purge_queue()).await
    }

    async fn dequeue_purged(&self, objects: Vec<Id>) -> Result<(), StoreError> {
        self.plan.write(self.inner.dequeue_purged(objects)).await
    }

    async fn rotation_target(&self) -> Result<Option<KekVersion>, StoreError> {
        self.plan.read(self.inner.rotation_target()).await
    }

    async fn set_rotation_target(&self, target: Option<KekVersion>) -> Result<(), StoreError> {
        self.plan.write(self.inner.set_rotation_target(target)).await
    }

    async fn close(&self) {
        self.inner.close().await;
    }
}

impl<M: ScanStore> ScanStore for FaultyMetadata<M> {
    async fn insert_scan(&self, scan: Scan) -> Result<(), StoreError> {
        self.plan.write(self.inner.insert_scan(scan)).await
    }

    async fn scan(&self, id: ScanId) -> Result<Option<Scan>, StoreError> {
        self.plan.read(self.inner.scan(id)).await
    }

    async fn scans_of(&self, subject: SubjectId) -> Result<Vec<Scan>, StoreError> {
        self.plan.read(self.inner.scans_of(subject)).await
    }

    async fn insert_derivative(&self, derivative: Derivative) -> Result<(), StoreError> {
        self.plan.write(self.inner.insert_derivative(derivative)).await
    }

    async fn derivative(&self, id: DerivativeId) -> Result<Option<Derivative>, StoreError> {
        self.plan.read(self.inner.derivative(id)).await
    }

    async fn derivatives_of(&self, subject: SubjectId) -> Result<Vec<Derivative>, StoreError> {
        self.plan.read(self.inner.derivatives_of(subject)).await
    }

    async fn children(&self, node: Node) -> Result<Vec<DerivativeId>, StoreError> {
        self.plan.read(self.inner.children(node)).await
    }

    async fn delete_objects(&self, subject: SubjectId, nodes: Vec<Node>) -> Result<ShredRecord, StoreError> {
        self.plan.write(self.inner.delete_objects(subject, nodes)).await
    }

    async fn record_disclosure(&self, disclosure: Disclosure) -> Result<(), StoreError> {
        self.plan.write(self.inner.record_disclosure(disclosure)).await
    }

    async fn disclosures_of(&self, subject: SubjectId) -> Result<Vec<Disclosure>, StoreError> {
        self.plan.read(self.inner.disclosures_of(subject)).await
    }
}

impl<M: GovernanceStore> GovernanceStore for FaultyMetadata<M> {
    async fn insert_consent(&self, consent: ConsentRow) -> Result<(), StoreError> {
        self.plan.write(self.inner.insert_consent(consent)).await
    }

    async fn consents_of(&self, subject: SubjectId) -> Result<Vec<ConsentRow>, StoreError> {
        self.plan.read(self.inner.consents_of(subject)).await
    }

    async fn withdraw_consent(&self, id: Id, at: Timestamp) -> Result<bool, StoreError> {
        self.plan.write(self.inner.withdraw_consent(id, at)).await
    }

    async fn governance(&self, subject: SubjectId) -> Result<Option<GovernanceRow>, StoreError> {
        self.plan.read(self.inner.governance(subject)).await
    }

    async fn put_governance(&self, row: GovernanceRow) -> Result<bool, StoreError> {
        self.plan.write(self.inner.put_governance(row)).await
    }

    async fn subject_stamp(&self, subject: SubjectId) -> Result<Option<String>, StoreError> {
        self.plan.read(self.inner.subject_stamp(subject)).await
    }
}

impl<M: RequestStore> RequestStore for FaultyMetadata<M> {
    async fn put_request(&self, request: RequestRow) -> Result<(), StoreError> {
        self.plan.write(self.inner.put_request(request)).await
    }

    async fn requests(&self) -> Result<Vec<RequestRow>, StoreError> {
        self.plan.read(self.inner.requests()).await
    }

    async fn put_vendor_notice(&self, notice: VendorNotice) -> Result<(), StoreError> {
        self.plan.write(self.inner.put_vendor_notice(notice)).await
    }

    async fn confirm_vendor_notice(
        &self,
        request: String,
        vendor: String,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.plan.write(self.inner.confirm_vendor_notice(request, vendor, at)).await
    }

    async fn vendor_notices(&self) -> Result<Vec<VendorNotice>, StoreError> {
        self.plan.read(self.inner.vendor_notices()).await
    }
}

impl<M: AccountStore> AccountStore for FaultyMetadata<M> {
    async fn add_account(&self, account: &AccountRow) -> Result<(), StoreError> {
        self.plan.write(self.inner.add_account(account)).await
    }

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        self.plan.read(self.inner.account(username)).await
    }

    async fn account_by_invite(&self, invite_hash: &str) -> Result<Option<AccountRow>, StoreError> {
        self.plan.read(self.inner.account_by_invite(invite_hash)).await
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        self.plan.read(self.inner.accounts()).await
    }

    async fn accept_invite(&self, invite_hash: &str, password_hash: &str) -> Result<bool, StoreError> {
        self.plan.write(self.inner.accept_invite(invite_hash, password_hash)).await
    }

    async fn remove_subject_accounts(&self, subject: &str) -> Result<u64, StoreError> {
        self.plan.write(self.inner.remove_subject_accounts(subject)).await
    }

    async fn add_token(&self, token: &TokenRow) -> Result<(), StoreError> {
        self.plan.write(self.inner.add_token(token)).await
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
        self.plan.read(self.inner.token_by_hash(token_hash)).await
    }

    async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        self.plan.read(self.inner.tokens()).await
    }

    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.plan.write(self.inner.revoke_token(id)).await
    }

    async fn server_key(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.plan.read(self.inner.server_key(name)).await
    }

    async fn put_server_key(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.plan.write(self.inner.put_server_key(name, value)).await
    }
}
