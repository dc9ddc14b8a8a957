//! Whole-log verification against a signed checkpoint. The first pass streams every entry
//! through the tree's right edge (one leaf hash and about one node hash an entry, no
//! allocation). Only when the log does not match does a second pass find the first bad entry,
//! by walking down the stored subtree hashes, each authenticated by its parent, towards the
//! leftmost subtree whose entries no longer hash to the stored value.

use crate::error::AuditError;
use crate::hash::{leaf_hash, node_hash, Hash};
use crate::note::Checkpoint;
use crate::store::{LogStore, StoreNodes};
use crate::tree::{split, subtree_hash, Frontier};

/// Why a log does not match its checkpoint. Indices count from 0.
///
/// # How to fix
/// The log was altered after the checkpoint was signed. Restore the entries from a backup
/// taken before the damage and verify again; treat the altered range as a security incident.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Entries before `index` are those the checkpoint signs; entry `index` is not (it was
    /// edited, deleted, inserted or moved).
    #[error("entry {index} is not the entry the checkpoint signs (edited, deleted, inserted or moved)")]
    BadEntry { index: u64 },
    /// The log ends before the checkpoint's size: entries from `index` on are gone.
    #[error("entries from {index} on are missing (the checkpoint covers {size})")]
    Missing { index: u64, size: u64 },
    /// The first `index` entries match the checkpoint, but the log holds more.
    #[error("entries from {index} on are not covered by the checkpoint")]
    Unsigned { index: u64 },
    /// The entries do not match, and the stored hashes were altered too, so the first bad
    /// entry can only be placed at or after `from`.
    #[error("the log does not match the checkpoint; the first bad entry is at or after {from} (stored hashes were altered too)")]
    Unlocated { from: u64 },
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// Checks that `entries` (encoded, in order) are exactly the `size` entries whose root is
/// `root`, streaming. Needs no store; says only whether they match.
pub fn entries_match<E: AsRef<[u8]>>(entries: impl IntoIterator<Item = E>, size: u64, root: &Hash) -> bool {
    let mut f = Frontier::default();
    for e in entries {
        f.push_leaf(leaf_hash(e.as_ref()));
    }
    f.size() == size && f.root() == *root
}

/// Checks every entry of `store` against `checkpoint` (already opened with
/// [`crate::open_checkpoint`], so its signature is checked). Returns the number of entries.
/// On a mismatch, names the first bad index when the stored subtree hashes are intact.
pub fn verify_log<S: LogStore + ?Sized>(store: &S, checkpoint: &Checkpoint) -> Result<u64, VerifyError> {
    let size = checkpoint.size;
    let mut f = Frontier::default();
    let mut prefix_root = None;
    if size == 0 {
        prefix_root = Some(f.root());
    }
    store
        .for_each_entry(0, u64::MAX, &mut |e| {
            f.push_leaf(leaf_hash(e));
            if f.size() == size {
                prefix_root = Some(f.root());
            }
        })
        .map_err(|e| AuditError::Store(Box::new(e)))?;
    let count = f.size();
    if prefix_root == Some(checkpoint.root) {
        return if count == size { Ok(size) } else { Err(VerifyError::Unsigned { index: size }) };
    }
    Err(locate(store, checkpoint, count)?)
}

/// Finds the first entry that differs from the tree the checkpoint signs.
fn locate<S: LogStore + ?Sized>(
    store: &S,
    checkpoint: &Checkpoint,
    count: u64,
) -> Result<VerifyError, AuditError> {
    let nodes = StoreNodes(store);
    let (mut lo, mut n, mut expected) = (0u64, checkpoint.size, checkpoint.root);
    // Stored hashes may be missing or altered; either way they cannot place the damage.
    let stored = |a, b| subtree_hash(&nodes, a, b).ok();
    while n > 1 {
        let k = split(n);
        let (Some(left), Some(right)) = (stored(lo, lo + k), stored(lo + k, lo + n)) else {
            return Ok(VerifyError::Unlocated { from: lo });
        };
        if node_hash(&left, &right) != expected {
            return Ok(VerifyError::Unlocated { from: lo });
        }
        if count < lo + k || entries_hash(store, lo, lo + k)? != left {
            expected = left;
            n = k;
        } else {
            expected = right;
            lo += k;
            n -= k;
        }
    }
    if n == 0 {
        // The checkpoint is of the empty tree but the root differs: not this log's checkpoint.
        return Ok(VerifyError::Unlocated { from: 0 });
    }
    if lo >= count {
        return Ok(VerifyError::Missing { index: lo, size: checkpoint.size });
    }
    if stored(lo, lo + 1) != Some(expected) {
        return Ok(VerifyError::Unlocated { from: lo });
    }
    Ok(VerifyError::BadEntry { index: lo })
}

/// MTH of the stored entries `[start, end)`.
fn entries_hash<S: LogStore + ?Sized>(store: &S, start: u64, end: u64) -> Result<Hash, AuditError> {
    let mut f = Frontier::default();
    store
        .for_each_entry(start, end, &mut |e| f.push_leaf(leaf_hash(e)))
        .map_err(|e| AuditError::Store(Box::new(e)))?;
    Ok(f.root())
}
