-- The verifiable audit log (facevault-audit): one row per encoded entry, the hashes of the
-- perfect subtrees the entries complete, and the signed checkpoints published over them.
-- Append-only: no row is ever updated or deleted, and none holds biometric data or a plaintext
-- identity. Subtree hashes are stored as runs: `hashes` is the concatenation of the 32-byte
-- hashes of subtrees (level, first_idx), (level, first_idx + 1), ... written by one batch, so a
-- batch adds about one row per tree level instead of two rows per entry.
-- Portable SQL: the PostgreSQL migration says BYTEA for BLOB and BIGINT for the keys.
CREATE TABLE audit_entries (
    idx INTEGER PRIMARY KEY NOT NULL,
    entry BLOB NOT NULL
);
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    first_idx BIGINT NOT NULL,
    hashes BLOB NOT NULL,
    PRIMARY KEY (level, first_idx)
);
CREATE TABLE audit_checkpoints (
    size INTEGER PRIMARY KEY NOT NULL,
    note TEXT NOT NULL
);
