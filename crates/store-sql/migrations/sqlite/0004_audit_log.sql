-- The verifiable audit log (facevault-audit): encoded entries, the hash of every perfect subtree
-- (level, index) they complete, and the signed checkpoints published over them. Append-only: no
-- row is ever updated or deleted, and none holds biometric data or a plaintext identity.
-- Portable SQL: BLOB becomes BYTEA in the PostgreSQL migration, nothing else changes.
CREATE TABLE audit_entries (
    idx BIGINT PRIMARY KEY NOT NULL,
    entry BLOB NOT NULL
);
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE audit_checkpoints (
    size BIGINT PRIMARY KEY NOT NULL,
    note TEXT NOT NULL
);
