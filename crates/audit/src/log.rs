//! [`AuditLog`]: the append-only log over a [`LogStore`]. It keeps the tree's right edge in
//! memory, so an append hashes O(log n) nodes and reads nothing unless another writer appended
//! to the store since (then it reloads the edge, O(log n) hashes, under the store's write lock);
//! roots and proofs of any size read O(log n) stored subtree hashes.

use crate::entry::AuditEntry;
use crate::error::AuditError;
use crate::hash::{leaf_hash, Hash};
use crate::note::Checkpoint;
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::store::{AppendBatch, LogStore, StoreNodes};
use crate::tree::{self, Frontier};

/// The audit log. For most cases: [`AuditLog::open`] a store, [`AuditLog::append`] (or
/// [`AuditLog::append_batch`] for group commit), then sign [`AuditLog::checkpoint`] with
/// [`crate::sign_checkpoint`] and hand out proofs.
#[derive(Debug)]
pub struct AuditLog<S> {
    store: S,
    frontier: Frontier,
}

impl<S: LogStore> AuditLog<S> {
    /// Opens the log held by `store` (reads O(log n) hashes).
    pub fn open(store: S) -> Result<AuditLog<S>, AuditError> {
        let size = store.size().map_err(store_err)?;
        let frontier = Frontier::load(&StoreNodes(&store), size)?;
        Ok(AuditLog { store, frontier })
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Root of the whole log.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The unsigned checkpoint of the current tree.
    pub fn checkpoint(&self, origin: &str) -> Checkpoint {
        Checkpoint { origin: origin.to_owned(), size: self.size(), root: self.root() }
    }

    /// Appends one entry and returns its index.
    pub fn append(&mut self, entry: &AuditEntry) -> Result<u64, AuditError> {
        self.append_batch(std::slice::from_ref(entry)).map(|r| r.start)
    }

    /// Appends entries in one store write (one transaction in a SQL store); returns their
    /// indices. On a store error nothing is appended.
    ///
    /// Several writers may share the store (the server and CLI commands on one vault): the
    /// batch's first index and the tree's right edge are taken from the store under its write
    /// lock ([`LogStore::append_with`]), never from this handle's memory, so entries another
    /// writer appended since come first and this handle catches up with them.
    pub fn append_batch(&mut self, entries: &[AuditEntry]) -> Result<std::ops::Range<u64>, AuditError> {
        if entries.is_empty() {
            let size = self.size();
            return Ok(size..size);
        }
        // Encoding and leaf hashing need no lock; only the tree's interior waits for it.
        let mut encoded: Vec<Vec<u8>> = entries.iter().map(AuditEntry::encode).collect();
        let leaves: Vec<Hash> = encoded.iter().map(|e| leaf_hash(e)).collect();
        let frontier = &self.frontier;
        let mut built: Option<Result<Frontier, AuditError>> = None;
        let wrote = self
            .store
            .append_with(&mut |store| {
                let next = match store.size().map_err(store_err) {
                    Ok(size) if size == frontier.size() => Ok(frontier.clone()),
                    Ok(size) => Frontier::load(&StoreNodes(store), size),
                    Err(e) => Err(e),
                };
                let mut next = match next {
                    Ok(f) => f,
                    Err(e) => {
                        built = Some(Err(e));
                        return None;
                    }
                };
                let mut batch = AppendBatch {
                    first_index: next.size(),
                    entries: std::mem::take(&mut encoded),
                    nodes: Vec::with_capacity(leaves.len() * 2 + 64),
                };
                for leaf in &leaves {
                    next.push(*leaf, |id, h| batch.nodes.push((id, h)));
                }
                built = Some(Ok(next));
                Some(batch)
            })
            .map_err(store_err)?;
        match built {
            Some(Ok(next)) if wrote => {
                self.frontier = next;
                Ok(self.size() - entries.len() as u64..self.size())
            }
            Some(Err(e)) => Err(e),
            _ => Err(AuditError::Internal("the store did not take the batch it was given")),
        }
    }

    /// Brings the size, root and frontier up to date with the store, which may have grown by
    /// other writers' appends (a long-lived process calls this before it reads); returns the
    /// size. Cheap when nothing changed: the store checks with one indexed read.
    pub fn refresh(&mut self) -> Result<u64, AuditError> {
        let size = self.store.refresh().map_err(store_err)?;
        if size != self.frontier.size() {
            self.frontier = Frontier::load(&StoreNodes(&self.store), size)?;
        }
        Ok(size)
    }

    /// The decoded entry at `index`.
    pub fn entry(&self, index: u64) -> Result<AuditEntry, AuditError> {
        let bytes = self.store.entry(index).map_err(store_err)?.ok_or(AuditError::MissingEntry { index })?;
        AuditEntry::decode(&bytes).map_err(|source| AuditError::BadEntry { index, source })
    }

    /// Root of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        self.check_size(size)?;
        tree::root_at(&StoreNodes(&self.store), size)
    }

    /// Proof that entry `index` is in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<InclusionProof, AuditError> {
        self.check_size(size)?;
        let path = tree::inclusion_path(&StoreNodes(&self.store), index, size)?;
        Ok(InclusionProof { index, size, path })
    }

    /// Proof that the tree of `old_size` entries is a prefix of the tree of `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof, AuditError> {
        self.check_size(new_size)?;
        let path = tree::consistency_path(&StoreNodes(&self.store), old_size, new_size)?;
        Ok(ConsistencyProof { old_size, new_size, path })
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, for what the log itself does not keep (signed checkpoints). Appending through
    /// it would leave the log's frontier behind: append through the log.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    pub fn into_store(self) -> S {
        self.store
    }

    fn check_size(&self, size: u64) -> Result<(), AuditError> {
        if size > self.size() {
            return Err(AuditError::OutOfRange { index: size, size: self.size() });
        }
        Ok(())
    }
}

fn store_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> AuditError {
    AuditError::Store(Box::new(e))
}
