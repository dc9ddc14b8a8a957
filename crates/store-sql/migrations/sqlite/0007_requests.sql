-- Data-subject requests (issue 6): what opened each and its event history as JSON, with the
-- columns a listing needs. Pseudonymous subject ids only; no foreign key, because a request is
-- the record of an erasure and outlives the subject. Vendor notices of an erasure are kept
-- until each vendor confirms.
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX requests_by_subject ON requests (subject_id);

CREATE TABLE vendor_notices (
    request_id TEXT NOT NULL,
    vendor TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    PRIMARY KEY (request_id, vendor)
);
