-- Consents, notices and each subject's governance state (issue 5).
--
-- A notice is the clinic's template text, kept by its SHA-256 for as long as the vault lives
-- (it names no one). A consent keeps in plaintext only what the retention clock and an auditor
-- need; the consent itself, with the typed signature, is sealed under the subject's data key
-- and goes with the subject's shred. The governance state (opt-out, limit-use, legal holds,
-- purposes satisfied) is sealed the same way: a hold's docket can name the person.
CREATE TABLE notices (
    sha256 TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    text TEXT NOT NULL
);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    jurisdiction TEXT NOT NULL,
    notice_sha256 TEXT NOT NULL REFERENCES notices (sha256),
    signed_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    withdrawn_at BIGINT,
    sealed BLOB NOT NULL
);
CREATE INDEX consents_by_subject ON consents (subject_id);

CREATE TABLE governance (
    subject_id TEXT PRIMARY KEY REFERENCES subjects (id),
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sealed BLOB NOT NULL
);
