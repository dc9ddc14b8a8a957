//! The RFC 9162 Merkle tree over stored hashes: the root of any prefix, the inclusion path of a
//! leaf (§2.1.3.1) and the consistency path between two sizes (§2.1.4.1).
//!
//! Hashes are read from a [`NodeSource`] that holds every *perfect* subtree: the `2^level`
//! leaves starting at `index << level`. Any MTH the RFC's recursion asks for is a right fold of
//! at most 64 such subtrees, so a root or proof costs O(log n) reads and hashes, never a rehash.

use crate::error::AuditError;
use crate::hash::{empty_root, node_hash, Hash};

/// A perfect subtree: the `2^level` leaves from `index << level`. Leaves are level 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

/// Where perfect-subtree hashes come from: a store, or a cache in memory.
pub trait NodeSource {
    /// The hash of `id`, which lies inside the tree.
    fn node_hash(&self, id: NodeId) -> Result<Hash, AuditError>;
}

/// The largest power of two strictly below `n` (the RFC's split point `k`); `n` is at least 2.
pub(crate) fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees that make up `[start, end)`, largest first, if `start` is aligned as in
/// the RFC's recursion; an error otherwise (a caller bug, not data).
fn pieces(start: u64, end: u64, out: &mut Vec<NodeId>) -> Result<(), AuditError> {
    let len = end.checked_sub(start).ok_or(AuditError::Internal("range ends before it starts"))?;
    let mut offset = start;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if len & width != 0 {
            if offset % width != 0 {
                return Err(AuditError::Internal("range is not a subtree of the RFC recursion"));
            }
            out.push(NodeId { level, index: offset >> level });
            offset += width;
        }
    }
    Ok(())
}

/// Folds hashes of consecutive perfect subtrees, largest first, into their MTH.
pub(crate) fn fold_right(hashes: impl DoubleEndedIterator<Item = Hash>) -> Hash {
    let mut it = hashes.rev();
    let Some(mut acc) = it.next() else { return empty_root() };
    for h in it {
        acc = node_hash(&h, &acc);
    }
    acc
}

/// MTH(D[start:end]) for a range the RFC's recursion produces (the empty tree for `start == end`).
pub fn subtree_hash(src: &(impl NodeSource + ?Sized), start: u64, end: u64) -> Result<Hash, AuditError> {
    let mut ids = Vec::with_capacity(64);
    pieces(start, end, &mut ids)?;
    let hashes = ids.iter().map(|&id| src.node_hash(id)).collect::<Result<Vec<_>, _>>()?;
    Ok(fold_right(hashes.into_iter()))
}

/// The root of the first `size` leaves.
pub fn root_at(src: &(impl NodeSource + ?Sized), size: u64) -> Result<Hash, AuditError> {
    subtree_hash(src, 0, size)
}

/// The audit path of leaf `index` in the tree of `size` leaves, leaf side first (RFC 9162
/// §2.1.3.1 PATH).
pub fn inclusion_path(
    src: &(impl NodeSource + ?Sized),
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, AuditError> {
    if index >= size {
        return Err(AuditError::OutOfRange { index, size });
    }
    let (mut lo, mut n, mut m) = (0u64, size, index);
    let mut path = Vec::new();
    while n > 1 {
        let k = split(n);
        if m < k {
            path.push(subtree_hash(src, lo + k, lo + n)?);
            n = k;
        } else {
            path.push(subtree_hash(src, lo, lo + k)?);
            m -= k;
            lo += k;
            n -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency path from `old` to `new` leaves (RFC 9162 §2.1.4.1 PROOF/SUBPROOF). Empty
/// when `old` is 0 or equals `new`.
pub fn consistency_path(
    src: &(impl NodeSource + ?Sized),
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, AuditError> {
    if old > new {
        return Err(AuditError::OutOfRange { index: old, size: new });
    }
    let mut path = Vec::new();
    if old == 0 || old == new {
        return Ok(path);
    }
    let (mut lo, mut n, mut m, mut whole) = (0u64, new, old, true);
    loop {
        if m == n {
            if !whole {
                path.push(subtree_hash(src, lo, lo + m)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            path.push(subtree_hash(src, lo + k, lo + n)?);
            n = k;
        } else {
            path.push(subtree_hash(src, lo, lo + k)?);
            m -= k;
            lo += k;
            n -= k;
            whole = false;
        }
    }
    path.reverse();
    Ok(path)
}

/// The right edge of a growing tree: the perfect subtrees covering all leaves so far, largest
/// first. Appending a leaf merges at most log2(n) of them; the root folds them.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    stack: Vec<(u8, Hash)>,
}

impl Frontier {
    /// Loads the frontier of a tree of `size` leaves from stored hashes.
    pub fn load(src: &(impl NodeSource + ?Sized), size: u64) -> Result<Frontier, AuditError> {
        let mut ids = Vec::with_capacity(64);
        pieces(0, size, &mut ids)?;
        let stack =
            ids.iter().map(|&id| Ok((id.level, src.node_hash(id)?))).collect::<Result<_, AuditError>>()?;
        Ok(Frontier { size, stack })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; `completed` receives every perfect subtree it completes, the leaf
    /// itself first.
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, Hash)) {
        let index = self.size;
        completed(NodeId { level: 0, index }, leaf);
        let mut top = (0u8, leaf);
        while let Some(&(level, left)) = self.stack.last() {
            if level != top.0 {
                break;
            }
            self.stack.pop();
            let level = level + 1;
            top = (level, node_hash(&left, &top.1));
            completed(NodeId { level, index: index >> level }, top.1);
        }
        self.stack.push(top);
        self.size += 1;
    }

    /// Appends a leaf hash, keeping no record of the completed subtrees (streaming verification).
    #[inline]
    pub fn push_leaf(&mut self, leaf: Hash) {
        let mut top = (0u8, leaf);
        while let Some(&(level, left)) = self.stack.last() {
            if level != top.0 {
                break;
            }
            self.stack.pop();
            top = (level + 1, node_hash(&left, &top.1));
        }
        self.stack.push(top);
        self.size += 1;
    }

    /// MTH of all leaves so far.
    pub fn root(&self) -> Hash {
        fold_right(self.stack.iter().map(|&(_, h)| h))
    }
}
