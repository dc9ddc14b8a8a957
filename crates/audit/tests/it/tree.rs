//! The tree, roots and proofs against a direct transcription of RFC 9162's recursive
//! definitions (MTH, PATH, PROOF/SUBPROOF), on every size up to 300, plus known vectors.

use facevault_audit::tree::Frontier;
use facevault_audit::tree::{consistency_path, inclusion_path, root_at};
use facevault_audit::{
    empty_root, leaf_hash, node_hash, verify_consistency, verify_inclusion, AppendBatch, Hash, LogStore,
    MemoryStore, NodeId, ProofError,
};
use proptest::prelude::*;

// ---- RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1, transcribed over leaf hashes. ----

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => empty_root(),
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

/// A store holding `n` synthetic entries `entry-<i>`, built through the frontier.
fn store_of(n: usize) -> (MemoryStore, Vec<Hash>) {
    let mut store = MemoryStore::new();
    let mut f = Frontier::default();
    let mut leaves = vec![];
    for i in 0..n {
        let e = format!("entry-{i}").into_bytes();
        let leaf = leaf_hash(&e);
        let mut batch = AppendBatch { first_index: i as u64, entries: vec![e], nodes: vec![] };
        f.push(leaf, |id, h| batch.nodes.push((id, h)));
        store.append(&batch).unwrap();
        leaves.push(leaf);
    }
    (store, leaves)
}

struct Nodes<'a>(&'a MemoryStore);
impl facevault_audit::NodeSource for Nodes<'_> {
    fn node_hash(&self, id: NodeId) -> Result<Hash, facevault_audit::AuditError> {
        self.0
            .node(id)
            .unwrap()
            .ok_or(facevault_audit::AuditError::MissingHash { level: id.level, index: id.index })
    }
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut b = h.0;
    b[bit / 8 % 32] ^= 1 << (bit % 8);
    Hash(b)
}

const N: usize = 300;

#[test]
fn roots_and_inclusion_proofs_match_the_rfc_for_every_size_and_index() {
    let (store, leaves) = store_of(N);
    let src = Nodes(&store);
    for n in 0..=N {
        let root = mth(&leaves[..n]);
        assert_eq!(root_at(&src, n as u64).unwrap(), root, "root of {n}");
        for m in 0..n {
            let p = inclusion_path(&src, m as u64, n as u64).unwrap();
            assert_eq!(p, path(m, &leaves[..n]), "path {m} of {n}");
            verify_inclusion(&leaves[m], m as u64, n as u64, &p, &root).unwrap();
            // The same path does not prove a different leaf, index or size.
            let other = leaves[(m + 1) % N];
            assert!(verify_inclusion(&other, m as u64, n as u64, &p, &root).is_err());
            if n > 1 {
                assert!(verify_inclusion(&leaves[m], ((m + 1) % n) as u64, n as u64, &p, &root).is_err());
            }
        }
        assert_eq!(
            verify_inclusion(&leaves[0], n as u64, n as u64, &[], &root),
            Err(ProofError::IndexOutOfRange { index: n as u64, size: n as u64 })
        );
    }
}

#[test]
fn consistency_proofs_match_the_rfc_for_every_pair_of_sizes() {
    let (store, leaves) = store_of(N);
    let src = Nodes(&store);
    let roots: Vec<Hash> = (0..=N).map(|n| mth(&leaves[..n])).collect();
    for n in 0..=N {
        for m in 0..=n {
            let p = consistency_path(&src, m as u64, n as u64).unwrap();
            let expected = if m == 0 || m == n { vec![] } else { subproof(m, &leaves[..n], true) };
            assert_eq!(p, expected, "proof {m} -> {n}");
            verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &p).unwrap();
            if m > 0 && m < n {
                // Wrong old or new roots fail. (Sizes are not bound by the proof alone: the
                // checkpoint signs them.)
                assert!(verify_consistency(m as u64, n as u64, &roots[m - 1], &roots[n], &p).is_err());
                assert!(verify_consistency(m as u64, n as u64, &roots[m], &roots[n - 1], &p).is_err());
                // Dropping or adding a hash fails.
                assert!(
                    verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &p[..p.len() - 1]).is_err()
                );
                let mut longer = p.clone();
                longer.push(roots[0]);
                assert!(verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &longer).is_err());
            }
        }
    }
    assert_eq!(
        verify_consistency(5, 4, &roots[5], &roots[4], &[]),
        Err(ProofError::SizesOutOfOrder { old: 5, new: 4 })
    );
    assert!(verify_consistency(4, 4, &roots[4], &roots[5], &[]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_flipped_bit_breaks_an_inclusion_proof(n in 1usize..=N, m in 0usize..N, at in 0usize..64, bit in 0usize..256) {
        let (store, leaves) = store_of(n);
        let m = m % n;
        let root = mth(&leaves);
        let mut p = inclusion_path(&Nodes(&store), m as u64, n as u64).unwrap();
        prop_assert!(verify_inclusion(&leaves[m], m as u64, n as u64, &p, &root).is_ok());
        prop_assert!(verify_inclusion(&flip(&leaves[m], bit), m as u64, n as u64, &p, &root).is_err());
        prop_assert!(verify_inclusion(&leaves[m], m as u64, n as u64, &p, &flip(&root, bit)).is_err());
        if !p.is_empty() {
            let i = at % p.len();
            p[i] = flip(&p[i], bit);
            prop_assert!(verify_inclusion(&leaves[m], m as u64, n as u64, &p, &root).is_err());
        }
    }

    #[test]
    fn any_flipped_bit_breaks_a_consistency_proof(n in 2usize..=N, m in 1usize..N, at in 0usize..64, bit in 0usize..256) {
        let (store, leaves) = store_of(n);
        let m = 1 + m % (n - 1);
        let (old, new) = (mth(&leaves[..m]), mth(&leaves));
        let mut p = consistency_path(&Nodes(&store), m as u64, n as u64).unwrap();
        prop_assert!(verify_consistency(m as u64, n as u64, &old, &new, &p).is_ok());
        prop_assert!(verify_consistency(m as u64, n as u64, &flip(&old, bit), &new, &p).is_err());
        prop_assert!(verify_consistency(m as u64, n as u64, &old, &flip(&new, bit), &p).is_err());
        let i = at % p.len();
        p[i] = flip(&p[i], bit);
        prop_assert!(verify_consistency(m as u64, n as u64, &old, &new, &p).is_err());
    }
}

fn hex(s: &str) -> Hash {
    let b: Vec<u8> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
    Hash(b.try_into().unwrap())
}

#[test]
fn known_vectors() {
    // SHA-256 of the empty string.
    assert_eq!(empty_root(), hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    // The eight leaves and roots of certificate-transparency's merkle tree tests
    // (also transparency-dev/merkle testonly).
    let inputs: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let mut f = Frontier::default();
    for (input, root) in inputs.iter().zip(roots) {
        f.push_leaf(leaf_hash(input));
        assert_eq!(f.root(), hex(root), "root of {} leaves", f.size());
    }
}
