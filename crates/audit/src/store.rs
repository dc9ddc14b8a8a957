//! The storage port of the log and its in-memory adapter. A store keeps the encoded entries and
//! the hash of every perfect subtree (about two hashes an entry), written together per batch so
//! the vault's SQL adapter can commit a batch in one transaction (group commit).

use std::fmt;

use crate::error::AuditError;
use crate::hash::Hash;
use crate::tree::{NodeId, NodeSource};

/// One atomic append: the entries from `first_index` on and the subtree hashes they complete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendBatch {
    pub first_index: u64,
    pub entries: Vec<Vec<u8>>,
    pub nodes: Vec<(NodeId, Hash)>,
}

/// Where a log keeps its entries and subtree hashes. Appends are all-or-nothing.
pub trait LogStore {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Number of entries stored.
    fn size(&self) -> Result<u64, Self::Error>;
    /// Stores a batch atomically; `batch.first_index` equals the current size (a store shared
    /// by several writers compares it with the size under its write lock, and refuses it if
    /// another writer appended since).
    fn append(&mut self, batch: &AppendBatch) -> Result<(), Self::Error>;
    /// Stores the batch `build` makes, atomically and as the only writer while it runs. A store
    /// that several writers (processes) share takes its write lock, catches up with what the
    /// others appended as [`LogStore::refresh`] does, then calls `build` once with itself: its
    /// size is the batch's first index and its subtree hashes are those of the whole log. The
    /// batch is checked and written as [`LogStore::append`] does, then the lock is released.
    /// `build` returning `None` writes nothing and this returns `Ok(false)`.
    ///
    /// The default, for a store with one writer, is `build` then `append`.
    fn append_with(
        &mut self,
        build: &mut dyn FnMut(&Self) -> Option<AppendBatch>,
    ) -> Result<bool, Self::Error> {
        match build(&*self) {
            Some(batch) => self.append(&batch).map(|()| true),
            None => Ok(false),
        }
    }
    /// Catches up with what other writers appended since this store last looked, and returns
    /// the size. Cheap when nothing changed. The default, for a store with one writer, has
    /// nothing to catch up with.
    fn refresh(&mut self) -> Result<u64, Self::Error> {
        self.size()
    }
    /// The encoded entry at `index`, if stored.
    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Calls `f` on each encoded entry from `start` up to (not including) `end` or the last
    /// one, in order, without collecting them.
    fn for_each_entry(&self, start: u64, end: u64, f: &mut dyn FnMut(&[u8])) -> Result<(), Self::Error>;
    /// The hash of a perfect subtree, if stored.
    fn node(&self, id: NodeId) -> Result<Option<Hash>, Self::Error>;
    /// Stores a signed checkpoint note for the tree of `size` entries (the first one stored for
    /// a size is kept).
    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), Self::Error>;
    /// The signed checkpoint note of the largest tree stored of at most `at_most` entries, if
    /// any (with several writers, one may have signed past the entries a reader has seen).
    fn latest_checkpoint(&self, at_most: u64) -> Result<Option<String>, Self::Error>;
    /// Releases the store (a database adapter checkpoints and closes its files).
    fn close(self)
    where
        Self: Sized,
    {
    }
}

/// Reads subtree hashes from a store for the tree functions.
pub(crate) struct StoreNodes<'a, S: ?Sized>(pub &'a S);

impl<S: LogStore + ?Sized> NodeSource for StoreNodes<'_, S> {
    fn node_hash(&self, id: NodeId) -> Result<Hash, AuditError> {
        self.0
            .node(id)
            .map_err(|e| AuditError::Store(Box::new(e)))?
            .ok_or(AuditError::MissingHash { level: id.level, index: id.index })
    }
}

/// The error of [`MemoryStore`]: a batch that does not continue the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("batch does not continue the log: {0}")]
pub struct MemoryStoreError(&'static str);

/// An in-memory [`LogStore`] for tests, benchmarks and small tools. Entries live in one byte
/// buffer (no allocation per entry); hashes in one vector per tree level.
#[derive(Default, Clone)]
pub struct MemoryStore {
    data: Vec<u8>,
    /// `ends[i]` is the end of entry `i` in `data`.
    ends: Vec<usize>,
    levels: Vec<Vec<Hash>>,
    /// Signed checkpoint notes by tree size.
    checkpoints: std::collections::BTreeMap<u64, String>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").field("entries", &self.ends.len()).finish_non_exhaustive()
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn range(&self, i: usize) -> Option<std::ops::Range<usize>> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        Some(start..end)
    }

    /// All encoded entries, in order.
    pub fn entries(&self) -> Vec<Vec<u8>> {
        (0..self.ends.len())
            .filter_map(|i| self.range(i).and_then(|r| self.data.get(r)).map(<[u8]>::to_vec))
            .collect()
    }

    /// Replaces the entries and leaves every stored hash alone: what an attacker with write
    /// access to the entry table could do. For tamper tests and drills only.
    pub fn danger_replace_entries(&mut self, entries: &[Vec<u8>]) {
        self.data.clear();
        self.ends.clear();
        for e in entries {
            self.data.extend_from_slice(e);
            self.ends.push(self.data.len());
        }
    }

    /// Overwrites one stored subtree hash, if present. For tamper tests and drills only.
    pub fn danger_set_node(&mut self, id: NodeId, hash: Hash) {
        if let Some(h) = self.levels.get_mut(usize::from(id.level)).and_then(|l| l.get_mut(id.index as usize))
        {
            *h = hash;
        }
    }
}

impl LogStore for MemoryStore {
    type Error = MemoryStoreError;

    fn size(&self) -> Result<u64, Self::Error> {
        Ok(self.ends.len() as u64)
    }

    fn append(&mut self, batch: &AppendBatch) -> Result<(), Self::Error> {
        if batch.first_index != self.ends.len() as u64 {
            return Err(MemoryStoreError("first index is not the log size"));
        }
        // Check every node before changing anything, so a refused batch leaves no trace.
        let mut lens: Vec<usize> = self.levels.iter().map(Vec::len).collect();
        for (id, _) in &batch.nodes {
            let level = usize::from(id.level);
            if lens.len() <= level {
                lens.resize(level + 1, 0);
            }
            if id.index != lens[level] as u64 {
                return Err(MemoryStoreError("node hashes out of order"));
            }
            lens[level] += 1;
        }
        for e in &batch.entries {
            self.data.extend_from_slice(e);
            self.ends.push(self.data.len());
        }
        for (id, h) in &batch.nodes {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            self.levels[level].push(*h);
        }
        Ok(())
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, Self::Error> {
        let Ok(i) = usize::try_from(index) else { return Ok(None) };
        Ok(self.range(i).and_then(|r| self.data.get(r)).map(<[u8]>::to_vec))
    }

    fn for_each_entry(&self, start: u64, end: u64, f: &mut dyn FnMut(&[u8])) -> Result<(), Self::Error> {
        let n = self.ends.len();
        let start = usize::try_from(start).unwrap_or(usize::MAX).min(n);
        let end = usize::try_from(end).unwrap_or(usize::MAX).min(n);
        let mut from = if start == 0 { 0 } else { self.ends[start - 1] };
        for &to in self.ends.get(start..end).unwrap_or(&[]) {
            if let Some(e) = self.data.get(from..to) {
                f(e);
            }
            from = to;
        }
        Ok(())
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash>, Self::Error> {
        let Ok(i) = usize::try_from(id.index) else { return Ok(None) };
        Ok(self.levels.get(usize::from(id.level)).and_then(|l| l.get(i)).copied())
    }

    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), Self::Error> {
        self.checkpoints.entry(size).or_insert_with(|| note.to_owned());
        Ok(())
    }

    fn latest_checkpoint(&self, at_most: u64) -> Result<Option<String>, Self::Error> {
        Ok(self.checkpoints.range(..=at_most).next_back().map(|(_, n)| n.clone()))
    }
}
