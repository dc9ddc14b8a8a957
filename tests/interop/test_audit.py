"""An independent verifier of FaceVault's audit log, written from docs/audit-log.md and the RFCs
and sharing no code with FaceVault: Python's hashlib for SHA-256 and the `cryptography` package
for Ed25519.

It reads the fixture that the audit crate's tests keep in crates/audit/tests/fixtures (a Rust
test fails if those files drift from what the code produces), then:
- decodes every entry from its documented byte layout;
- recomputes the root of every prefix with RFC 9162's recursive MTH;
- recomputes every inclusion and consistency proof with the RFC's PATH and SUBPROOF, and checks
  them with the RFC's verification algorithms; any flipped bit must fail;
- checks the C2SP signed-note checkpoint: layout, key id, Ed25519 signature, origin, size and
  root, and that each fail_* checkpoint is refused.
"""
import base64
import hashlib
import json
import re
import struct
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FIXTURES = Path(__file__).resolve().parents[2] / "crates/audit/tests/fixtures"


def sha256(b):
    return hashlib.sha256(b).digest()


def leaf(entry):
    return sha256(b"\x00" + entry)


def node(left, right):
    return sha256(b"\x01" + left + right)


def split_point(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """RFC 9162 2.1.1 over leaf hashes."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    """RFC 9162 2.1.3.1 PATH(m, D[n])."""
    n = len(leaves)
    if n <= 1:
        return []
    k = split_point(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    """RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split_point(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def verify_inclusion(leaf_hash, index, size, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, proof):
    """RFC 9162 2.1.4.2, with the trivial cases (equal sizes, empty old tree) of the RFC's text."""
    if first > second:
        return False
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0:
        return not proof
    if not proof:
        return False
    proof = list(proof)
    if first & (first - 1) == 0:
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


TOKEN = re.compile(rb"[A-Za-z0-9._:@/-]{1,128}")
TIME = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def decode_entry(b):
    """The v1 layout of docs/audit-log.md."""
    assert b[0] == 1, "version"
    at = 1

    def field():
        nonlocal at
        (n,) = struct.unpack_from(">H", b, at)
        value = b[at + 2 : at + 2 + n]
        assert len(value) == n, "truncated"
        at += 2 + n
        return value

    out = {}
    for name in ["actor", "role", "action", "purpose", "object"]:
        out[name] = field()
        assert TOKEN.fullmatch(out[name]), name
    assert b[at] in (0, 1)
    out["decision"] = "allowed" if b[at] == 1 else "denied"
    at += 1
    out["reason"] = field().decode("utf-8")
    out["time"] = field()
    assert TIME.fullmatch(out["time"])
    assert at == len(b), "trailing bytes"
    return out


@pytest.fixture(scope="module")
def log():
    data = json.loads((FIXTURES / "log.json").read_text())
    data["entries"] = [base64.b64decode(e) for e in data["entries"]]
    data["leaves"] = [leaf(e) for e in data["entries"]]
    return data


def h(s):
    raw = base64.b64decode(s, validate=True)
    assert len(raw) == 32
    return raw


def flips(hashes):
    """Every proof with one bit flipped in one of its hashes (a few bits each)."""
    for i, x in enumerate(hashes):
        for bit in (0, 77, 255):
            y = bytearray(x)
            y[bit // 8] ^= 1 << (bit % 8)
            yield hashes[:i] + [bytes(y)] + hashes[i + 1 :]


def test_entries_decode_and_hold_only_pseudonymous_ids(log):
    for e in log["entries"]:
        d = decode_entry(e)
        assert not re.search(rb"\s", d["actor"])
        assert d["time"].startswith(b"2026-")


def test_roots_of_every_prefix(log):
    for n, root in enumerate(log["roots"]):
        assert mth(log["leaves"][:n]) == h(root), n
    assert h(log["roots"][0]) == hashlib.sha256(b"").digest()


def test_inclusion_proofs(log):
    leaves = log["leaves"]
    assert len(log["inclusion"]) > 50
    for p in log["inclusion"]:
        i, n, proof = p["index"], p["size"], [h(x) for x in p["path"]]
        assert proof == path(i, leaves[:n])
        root = mth(leaves[:n])
        assert verify_inclusion(leaves[i], i, n, proof, root)
        assert not verify_inclusion(leaves[(i + 1) % n] if n > 1 else b"\0" * 32, i, n, proof, root)
        for bad in flips(proof):
            assert not verify_inclusion(leaves[i], i, n, bad, root)
        assert not verify_inclusion(leaves[i], i, n, proof + [root], root)


def test_consistency_proofs(log):
    leaves = log["leaves"]
    assert len(log["consistency"]) > 50
    for p in log["consistency"]:
        m, n, proof = p["old_size"], p["new_size"], [h(x) for x in p["path"]]
        old, new = mth(leaves[:m]), mth(leaves[:n])
        assert proof == ([] if m in (0, n) else subproof(m, leaves[:n], True))
        assert verify_consistency(m, n, old, new, proof)
        for bad in flips(proof):
            assert not verify_consistency(m, n, old, new, bad)
        if 0 < m < n:
            assert not verify_consistency(m, n, mth(leaves[: m - 1]), new, proof)
            assert not verify_consistency(m, n, old, mth(leaves[: n - 1]), proof)


def parse_vkey(text):
    name, key_id, key = text.strip().split("+", 2)
    raw = base64.b64decode(key, validate=True)
    assert raw[0] == 1 and len(raw) == 33, "Ed25519 key"
    expected = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert bytes.fromhex(key_id) == expected, "key id"
    return name, expected, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note, vkey, origin):
    """C2SP signed-note + tlog-checkpoint. Returns (size, root) or raises."""
    name, key_id, pub = vkey
    text, sep, sigs = note.rpartition("\n\n")
    assert sep and sigs.endswith("\n"), "layout"
    text = text + "\n"
    good = False
    for line in sigs[:-1].split("\n"):
        assert line.startswith("\u2014 "), "signature line prefix"
        signer, b64 = line[2:].split(" ", 1)
        blob = base64.b64decode(b64, validate=True)
        if signer != name or blob[:4] != key_id:
            continue
        pub.verify(blob[4:], text.encode("utf-8"))  # raises InvalidSignature
        good = True
    if not good:
        raise InvalidSignature("no signature by the log's key")
    lines = text[:-1].split("\n")
    assert lines[0] == origin
    assert re.fullmatch(r"0|[1-9][0-9]*", lines[1])
    return int(lines[1]), h(lines[2])


def test_checkpoint_signs_the_whole_log(log):
    vkey = parse_vkey((FIXTURES / "verifier.vkey").read_text())
    assert vkey[0] == log["origin"]
    note = (FIXTURES / "checkpoint.txt").read_bytes().decode("utf-8")
    size, root = open_checkpoint(note, vkey, log["origin"])
    assert size == len(log["entries"])
    assert root == mth(log["leaves"])


@pytest.mark.parametrize("name", ["fail_checkpoint_size.txt", "fail_checkpoint_other_key.txt"])
def test_forged_checkpoints_are_refused(log, name):
    vkey = parse_vkey((FIXTURES / "verifier.vkey").read_text())
    note = (FIXTURES / name).read_text(encoding="utf-8")
    with pytest.raises(InvalidSignature):
        open_checkpoint(note, vkey, log["origin"])


def test_a_stale_checkpoint_does_not_cover_the_log(log):
    vkey = parse_vkey((FIXTURES / "verifier.vkey").read_text())
    note = (FIXTURES / "fail_checkpoint_stale.txt").read_text(encoding="utf-8")
    size, root = open_checkpoint(note, vkey, log["origin"])
    assert (size, root) != (len(log["entries"]), mth(log["leaves"]))
    # It is still a genuine prefix: the log grew from it consistently.
    assert root == mth(log["leaves"][:size])


def test_an_edited_entry_changes_the_root(log):
    entries = list(log["entries"])
    e = bytearray(entries[20])
    e[-3] ^= 1
    entries[20] = bytes(e)
    assert mth([leaf(x) for x in entries]) != mth(log["leaves"])
