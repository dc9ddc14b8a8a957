-- Server accounts (issue 7): staff log in with a password (Argon2id PHC string) and, for some
-- roles, a TOTP second factor whose secret is stored sealed (never in plaintext). A patient's
-- account is created by an invitation: its login name is a generated handle (never the
-- patient's name) bound to a pseudonymous subject id, and it has no password until the
-- invitation, kept only as a SHA-256 hash, is accepted. Sessions live in the server's memory.
CREATE TABLE accounts (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    subject_id TEXT,
    password_hash TEXT,
    totp_sealed BLOB,
    invite_hash TEXT UNIQUE,
    invite_expires BIGINT,
    created_at BIGINT NOT NULL
);

-- Bearer tokens for integrations: only the SHA-256 of the token is kept. Each is scoped to a
-- role and a list of purposes, and expires.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    purposes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);

-- Small sealed or wrapped values the server keeps (the accounts data key, wrapped under the KEK).
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
