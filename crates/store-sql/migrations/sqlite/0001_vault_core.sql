-- FaceVault metadata, version 1. Migrations are append-only: never edit a released file, add
-- the next one. Portable SQL only (PostgreSQL gets its own folder with BYTEA for BLOB).

CREATE TABLE vault (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    vault_id TEXT NOT NULL,
    rotation_target BIGINT
);

-- A subject's identity is only in `details`, sealed under its data key; the data key is only
-- in `wrapped_key`, wrapped under KEK `kek_version`.
CREATE TABLE subjects (
    id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    kek_version BIGINT NOT NULL,
    wrapped_key BLOB NOT NULL,
    details BLOB NOT NULL,
    details_version BIGINT NOT NULL
);

CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    device TEXT NOT NULL,
    captured_on TEXT NOT NULL,
    purpose TEXT NOT NULL,
    source_unit TEXT NOT NULL,
    vertices BIGINT NOT NULL,
    triangles BIGINT NOT NULL,
    imported_at BIGINT NOT NULL,
    blob_object TEXT NOT NULL,
    blob_version BIGINT NOT NULL,
    blob_len BIGINT NOT NULL
);
CREATE INDEX scans_by_subject ON scans (subject_id);

CREATE TABLE derivatives (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    kind TEXT NOT NULL,
    producer TEXT NOT NULL,
    parameters TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    blob_object TEXT NOT NULL,
    blob_version BIGINT NOT NULL,
    blob_len BIGINT NOT NULL
);
CREATE INDEX derivatives_by_subject ON derivatives (subject_id);

-- Lineage edges: a derivative's parents in order. A parent is a scan or a derivative of the
-- same subject (checked by the adapter: SQL cannot reference one of two tables).
CREATE TABLE lineage (
    child_id TEXT NOT NULL REFERENCES derivatives (id),
    position INTEGER NOT NULL,
    parent_kind TEXT NOT NULL CHECK (parent_kind IN ('scan', 'derivative')),
    parent_id TEXT NOT NULL,
    PRIMARY KEY (child_id, position)
);
CREATE INDEX lineage_by_parent ON lineage (parent_id);
