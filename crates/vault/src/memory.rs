//! In-memory adapters for the ports, for tests and demos. Each is a cheap handle (`Clone`
//! shares the same state), so a test can "restart" a vault over the same stores, and look at
//! or damage the raw bytes a store holds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

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

fn lock<'a, T>(m: &'a Mutex<T>, op: &'static str) -> Result<MutexGuard<'a, T>, StoreError> {
    m.lock().map_err(|_| StoreError::Unavailable { op, message: "lock poisoned".into() })
}

/// Blobs in a map.
#[derive(Clone, Debug, Default)]
pub struct MemoryBlobs(Arc<Mutex<BTreeMap<Id, Vec<u8>>>>);

impl MemoryBlobs {
    pub fn new() -> MemoryBlobs {
        MemoryBlobs::default()
    }

    /// A copy of every stored blob (a "backup").
    pub fn snapshot(&self) -> BTreeMap<Id, Vec<u8>> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Overwrite a blob's raw bytes (to simulate damage, swaps or restoring a backup).
    pub fn set_raw(&self, object: Id, bytes: Vec<u8>) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(object, bytes);
        }
    }
}

impl BlobStore for MemoryBlobs {
    async fn put(&self, object: Id, sealed: Vec<u8>) -> Result<(), StoreError> {
        lock(&self.0, "put blob")?.insert(object, sealed);
        Ok(())
    }

    async fn get(&self, object: Id) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(lock(&self.0, "get blob")?.get(&object).cloned())
    }

    async fn delete(&self, object: Id) -> Result<(), StoreError> {
        lock(&self.0, "delete blob")?.remove(&object);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<Id>, StoreError> {
        Ok(lock(&self.0, "list blobs")?.keys().copied().collect())
    }
}

#[derive(Debug, Default)]
struct MetaState {
    vault: Option<Id>,
    subjects: BTreeMap<SubjectId, SubjectRecord>,
    scans: BTreeMap<ScanId, Scan>,
    derivatives: BTreeMap<DerivativeId, Derivative>,
    rotation: Option<KekVersion>,
    purge: Vec<Id>,
    disclosures: Vec<Disclosure>,
    consents: Vec<ConsentRow>,
    governance: BTreeMap<SubjectId, GovernanceRow>,
    requests: BTreeMap<String, RequestRow>,
    vendor_notices: Vec<VendorNotice>,
    accounts: BTreeMap<String, AccountRow>,
    tokens: Vec<TokenRow>,
    server_keys: BTreeMap<String, Vec<u8>>,
}

/// Metadata (and the server's accounts) in maps, with the same integrity rules a database adapter enforces (unique ids,
/// records only for existing subjects and parents).
#[derive(Clone, Debug, Default)]
pub struct MemoryMetadata(Arc<Mutex<MetaState>>);

impl MemoryMetadata {
    pub fn new() -> MemoryMetadata {
        MemoryMetadata::default()
    }
}

fn conflict(op: &'static str, what: String) -> StoreError {
    StoreError::Conflict { op, what }
}

impl SubjectStore for MemoryMetadata {
    async fn vault_id_or_init(&self, candidate: Id) -> Result<Id, StoreError> {
        Ok(*lock(&self.0, "vault id")?.vault.get_or_insert(candidate))
    }

    async fn insert_subject(&self, subject: SubjectRecord) -> Result<(), StoreError> {
        let mut s = lock(&self.0, "insert subject")?;
        if s.subjects.contains_key(&subject.id) {
            return Err(conflict("insert subject", format!("subject {} exists", subject.id)));
        }
        s.subjects.insert(subject.id, subject);
        Ok(())
    }

    async fn subject(&self, id: SubjectId) -> Result<Option<SubjectRecord>, StoreError> {
        Ok(lock(&self.0, "get subject")?.subjects.get(&id).cloned())
    }

    async fn subjects(&self) -> Result<Vec<SubjectRecord>, StoreError> {
        Ok(lock(&self.0, "list subjects")?.subjects.values().cloned().collect())
    }

    async fn replace_wrapped_key(
        &self,
        id: SubjectId,
        expected: KekVersion,
        new: WrappedKey,
    ) -> Result<bool, StoreError> {
        let mut s = lock(&self.0, "replace wrapped key")?;
        match s.subjects.get_mut(&id) {
            Some(r) if r.wrapped_key.kek_version() == expected => {
                r.wrapped_key = new;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn replace_details(
        &self,
        id: SubjectId,
        details: Vec<u8>,
        version: u32,
    ) -> Result<bool, StoreError> {
        let mut s = lock(&self.0, "replace details")?;
        match s.subjects.get_mut(&id) {
            Some(r) => {
                r.details = details;
                r.details_version = version;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn shred_subject(&self, id: SubjectId) -> Result<Option<ShredRecord>, StoreError> {
        let mut s = lock(&self.0, "shred subject")?;
        if s.subjects.remove(&id).is_none() {
            return Ok(None);
        }
        let mut out = ShredRecord::default();
        s.scans.retain(|_, scan| {
            let keep = scan.subject != id;
            if !keep {
                out.scans.push(scan.id);
                out.blobs.push(scan.blob.object);
            }
            keep
        });
        s.derivatives.retain(|_, d| {
            let keep = d.subject != id;
            if !keep {
                out.derivatives.push(d.id);
                out.blobs.push(d.blob.object);
            }
            keep
        });
        s.purge.extend(out.blobs.iter().copied());
        s.consents.retain(|c| c.subject != id);
        s.governance.remove(&id);
        Ok(Some(out))
    }

    async fn purge_queue(&self) -> Result<Vec<Id>, StoreError> {
        Ok(lock(&self.0, "purge queue")?.purge.clone())
    }

    async fn dequeue_purged(&self, objects: Vec<Id>) -> Result<(), StoreError> {
        lock(&self.0, "dequeue purged")?.purge.retain(|o| !objects.contains(o));
        Ok(())
    }

    async fn rotation_target(&self) -> Result<Option<KekVersion>, StoreError> {
        Ok(lock(&self.0, "rotation target")?.rotation)
    }

    async fn set_rotation_target(&self, target: Option<KekVersion>) -> Result<(), StoreError> {
        lock(&self.0, "set rotation target")?.rotation = target;
        Ok(())
    }
}

impl ScanStore for MemoryMetadata {
    async fn insert_scan(&self, scan: Scan) -> Result<(), StoreError> {
        let mut s = lock(&self.0, "insert scan")?;
        if !s.subjects.contains_key(&scan.subject) {
            return Err(conflict("insert scan", format!("no subject {}", scan.subject)));
        }
        if s.scans.contains_key(&scan.id) {
            return Err(conflict("insert scan", format!("scan {} exists", scan.id)));
        }
        s.scans.insert(scan.id, scan);
        Ok(())
    }

    async fn scan(&self, id: ScanId) -> Result<Option<Scan>, StoreError> {
        Ok(lock(&self.0, "get scan")?.scans.get(&id).cloned())
    }

    async fn scans_of(&self, subject: SubjectId) -> Result<Vec<Scan>, StoreError> {
        let s = lock(&self.0, "list scans")?;
        Ok(s.scans.values().filter(|x| x.subject == subject).cloned().collect())
    }

    async fn insert_derivative(&self, d: Derivative) -> Result<(), StoreError> {
        let mut s = lock(&self.0, "insert derivative")?;
        if !s.subjects.contains_key(&d.subject) {
            return Err(conflict("insert derivative", format!("no subject {}", d.subject)));
        }
        for p in &d.parents {
            let exists = match p {
                Node::Scan(id) => s.scans.contains_key(id),
                Node::Derivative(id) => s.derivatives.contains_key(id),
            };
            if !exists {
                return Err(conflict("insert derivative", format!("no parent {p}")));
            }
        }
        if s.derivatives.contains_key(&d.id) {
            return Err(conflict("insert derivative", format!("derivative {} exists", d.id)));
        }
        s.derivatives.insert(d.id, d);
        Ok(())
    }

    async fn derivative(&self, id: DerivativeId) -> Result<Option<Derivative>, StoreError> {
        Ok(lock(&self.0, "get derivative")?.derivatives.get(&id).cloned())
    }

    async fn derivatives_of(&self, subject: SubjectId) -> Result<Vec<Derivative>, StoreError> {
        let s = lock(&self.0, "list derivatives")?;
        Ok(s.derivatives.values().filter(|x| x.subject == subject).cloned().collect())
    }

    async fn children(&self, node: Node) -> Result<Vec<DerivativeId>, StoreError> {
        let s = lock(&self.0, "children")?;
        Ok(s.derivatives.values().filter(|d| d.parents.contains(&node)).map(|d| d.id).collect())
    }

    async fn delete_objects(&self, subject: SubjectId, nodes: Vec<Node>) -> Result<ShredRecord, StoreError> {
        let mut s = lock(&self.0, "delete objects")?;
        let mut out = ShredRecord::default();
        for node in nodes {
            match node {
                Node::Scan(id) => {
                    if let Some(scan) = s.scans.get(&id).filter(|x| x.subject == subject).cloned() {
                        s.scans.remove(&id);
                        out.scans.push(id);
                        out.blobs.push(scan.blob.object);
                    }
                }
                Node::Derivative(id) => {
                    if let Some(d) = s.derivatives.get(&id).filter(|x| x.subject == subject).cloned() {
                        s.derivatives.remove(&id);
                        out.derivatives.push(id);
                        out.blobs.push(d.blob.object);
                    }
                }
            }
        }
        s.purge.extend(out.blobs.iter().copied());
        Ok(out)
    }

    async fn record_disclosure(&self, disclosure: Disclosure) -> Result<(), StoreError> {
        lock(&self.0, "record disclosure")?.disclosures.push(disclosure);
        Ok(())
    }

    async fn disclosures_of(&self, subject: SubjectId) -> Result<Vec<Disclosure>, StoreError> {
        let s = lock(&self.0, "list disclosures")?;
        Ok(s.disclosures.iter().filter(|d| d.subject == subject).cloned().collect())
    }
}

impl GovernanceStore for MemoryMetadata {
    async fn insert_consent(&self, consent: ConsentRow) -> Result<(), StoreError> {
        let mut s = lock(&self.0, "insert consent")?;
        if !s.subjects.contains_key(&consent.subject) {
            return Err(conflict("insert consent", format!("no subject {}", consent.subject)));
        }
        if s.consents.iter().any(|c| c.id == consent.id) {
            return Err(conflict("insert consent", format!("consent {} exists", consent.id)));
        }
        s.consents.push(consent);
        Ok(())
    }

    async fn consents_of(&self, subject: SubjectId) -> Result<Vec<ConsentRow>, StoreError> {
        let s = lock(&self.0, "list consents")?;
        Ok(s.consents.iter().filter(|c| c.subject == subject).cloned().collect())
    }

    async fn withdraw_consent(&self, id: Id, at: Timestamp) -> Result<bool, StoreError> {
        let mut s = lock(&self.0, "withdraw consent")?;
        match s.consents.iter_mut().find(|c| c.id == id) {
            Some(c) => {
                c.withdrawn_at.get_or_insert(at);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn governance(&self, subject: SubjectId) -> Result<Option<GovernanceRow>, StoreError> {
        Ok(lock(&self.0, "get governance")?.governance.get(&subject).cloned())
    }

    async fn put_governance(&self, row: GovernanceRow) -> Result<bool, StoreError> {
        let mut s = lock(&self.0, "put governance")?;
        if !s.subjects.contains_key(&row.subject) {
            return Err(conflict("put governance", format!("no subject {}", row.subject)));
        }
        let current = s.governance.get(&row.subject).map_or(0, |g| g.version);
        if row.version != current + 1 {
            return Ok(false);
        }
        s.governance.insert(row.subject, row);
        Ok(true)
    }

    async fn subject_stamp(&self, subject: SubjectId) -> Result<Option<String>, StoreError> {
        let s = lock(&self.0, "subject stamp")?;
        if !s.subjects.contains_key(&subject) {
            return Ok(None);
        }
        let consents: Vec<_> = s.consents.iter().filter(|c| c.subject == subject).collect();
        let scans: Vec<_> = s.scans.values().filter(|x| x.subject == subject).collect();
        let derived: Vec<_> = s.derivatives.values().filter(|d| d.subject == subject).collect();
        Ok(Some(format!(
            "{}:{}:{}:{}|{}|{}:{}|{}:{}",
            consents.len(),
            consents.iter().map(|c| c.recorded_at.0).max().unwrap_or(0),
            consents.iter().filter(|c| c.withdrawn_at.is_some()).count(),
            consents.iter().filter_map(|c| c.withdrawn_at.map(|t| t.0)).max().unwrap_or(0),
            s.governance.get(&subject).map_or(0, |g| g.version),
            scans.len(),
            scans.iter().map(|x| x.imported_at.0).max().unwrap_or(0),
            derived.len(),
            derived.iter().map(|d| d.created_at.0).max().unwrap_or(0),
        )))
    }
}

impl RequestStore for MemoryMetadata {
    async fn put_request(&self, request: RequestRow) -> Result<(), StoreError> {
        lock(&self.0, "put request")?.requests.insert(request.id.clone(), request);
        Ok(())
    }

    async fn requests(&self) -> Result<Vec<RequestRow>, StoreError> {
        Ok(lock(&self.0, "list requests")?.requests.values().cloned().collect())
    }

    async fn put_vendor_notice(&self, notice: VendorNotice) -> Result<(), StoreError> {
        let mut s = lock(&self.0, "put vendor notice")?;
        if !s.vendor_notices.iter().any(|n| n.request == notice.request && n.vendor == notice.vendor) {
            s.vendor_notices.push(notice);
        }
        Ok(())
    }

    async fn confirm_vendor_notice(
        &self,
        request: String,
        vendor: String,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut s = lock(&self.0, "confirm vendor notice")?;
        match s.vendor_notices.iter_mut().find(|n| n.request == request && n.vendor == vendor) {
            Some(n) => {
                n.confirmed_at.get_or_insert(at);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn vendor_notices(&self) -> Result<Vec<VendorNotice>, StoreError> {
        Ok(lock(&self.0, "list vendor notices")?.vendor_notices.clone())
    }
}

impl AccountStore for MemoryMetadata {
    async fn add_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        let mut s = lock(&self.0, "add account")?;
        if s.accounts.contains_key(&a.username) {
            return Err(conflict("add account", format!("account {} exists", a.username)));
        }
        if a.invite_hash.is_some() && s.accounts.values().any(|x| x.invite_hash == a.invite_hash) {
            return Err(conflict("add account", "invitation hash taken".into()));
        }
        if a.subject.is_some() && s.accounts.values().any(|x| x.subject == a.subject) {
            return Err(conflict("add account", "the subject has a portal account".into()));
        }
        s.accounts.insert(a.username.clone(), a.clone());
        Ok(())
    }

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        Ok(lock(&self.0, "read account")?.accounts.get(username).cloned())
    }

    async fn account_by_invite(&self, invite_hash: &str) -> Result<Option<AccountRow>, StoreError> {
        let s = lock(&self.0, "read invitation")?;
        Ok(s.accounts.values().find(|a| a.invite_hash.as_deref() == Some(invite_hash)).cloned())
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        Ok(lock(&self.0, "list accounts")?.accounts.values().cloned().collect())
    }

    async fn accept_invite(&self, invite_hash: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut s = lock(&self.0, "accept invitation")?;
        match s.accounts.values_mut().find(|a| a.invite_hash.as_deref() == Some(invite_hash)) {
            Some(a) => {
                a.password_hash = Some(password_hash.to_owned());
                a.invite_hash = None;
                a.invite_expires = None;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn remove_subject_accounts(&self, subject: &str) -> Result<u64, StoreError> {
        let mut s = lock(&self.0, "remove accounts")?;
        let before = s.accounts.len();
        s.accounts.retain(|_, a| a.subject.as_deref() != Some(subject));
        Ok((before - s.accounts.len()) as u64)
    }

    async fn add_token(&self, t: &TokenRow) -> Result<(), StoreError> {
        let mut s = lock(&self.0, "add token")?;
        if s.tokens.iter().any(|x| x.id == t.id || x.token_hash == t.token_hash) {
            return Err(conflict("add token", format!("token {} exists", t.id)));
        }
        s.tokens.push(t.clone());
        s.tokens.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(())
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
        let s = lock(&self.0, "read token")?;
        Ok(s.tokens.iter().find(|t| t.token_hash == token_hash).cloned())
    }

    async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        Ok(lock(&self.0, "list tokens")?.tokens.clone())
    }

    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let mut s = lock(&self.0, "revoke token")?;
        match s.tokens.iter_mut().find(|t| t.id == id) {
            Some(t) => {
                t.revoked = true;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn server_key(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(lock(&self.0, "read server key")?.server_keys.get(name).cloned())
    }

    async fn put_server_key(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut s = lock(&self.0, "put server key")?;
        if s.server_keys.contains_key(name) {
            return Err(conflict("put server key", format!("server key {name} exists")));
        }
        s.server_keys.insert(name.to_owned(), value.to_vec());
        Ok(())
    }
}
