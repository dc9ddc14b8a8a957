-- Every time plaintext leaves the vault (an export), which object, whose, why and when. Written
-- before the plaintext is handed out; append-only; kept after a shred (pseudonymous ids only).
CREATE TABLE disclosures (
    seq INTEGER PRIMARY KEY,
    node_kind TEXT NOT NULL CHECK (node_kind IN ('scan', 'derivative')),
    node_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX disclosures_by_subject ON disclosures (subject_id);
