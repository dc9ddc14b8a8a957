//! [`AuditLog`]: the append-only log over a [`LogStore`]. It keeps the tree's right edge in
//! memory, so an append hashes O(log n) nodes and reads nothing; roots and proofs of any size
//! read O(log n) stored subtree hashes.

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
    pub fn append_batch(&mut self, entries: &[AuditEntry]) -> Result<std::ops::Range<u64>, AuditError> {
        let first_index = self.size();
        let mut next = self.frontier.clone();
        let mut batch = AppendBatch {
            first_index,
            entries: Vec::with_capacity(entries.len()),
            nodes: Vec::with_capacity(entries.len() * 2 + 64),
        };
        for e in entries {
            let bytes = e.encode();
            next.push(leaf_hash(&bytes), |id, h| batch.nodes.push((id, h)));
            batch.entries.push(bytes);
        }
        self.store.append(&batch).map_err(store_err)?;
        self.frontier = next;
        Ok(first_index..self.size())
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
