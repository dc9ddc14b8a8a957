//! The `AccountStore` port on the server's account tables (`0008_accounts.sql`): staff and
//! patient accounts, hashed API tokens and the server's wrapped keys. Rows only: hashing,
//! sealing and the rules of logging in live in `facevault-server`. Nothing here is a secret in plaintext: passwords are Argon2id
//! hashes, tokens and invitations SHA-256 hashes, TOTP secrets sealed.

use facevault_vault::{AccountRow, AccountStore, StoreError, TokenRow};
use sqlx::sqlite::SqliteRow;

use crate::{get, insert_err, unavailable, SqlStore};

fn account_of(row: &SqliteRow) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        username: get(row, "username")?,
        role: get(row, "role")?,
        subject: get(row, "subject_id")?,
        password_hash: get(row, "password_hash")?,
        totp_sealed: get(row, "totp_sealed")?,
        invite_hash: get(row, "invite_hash")?,
        invite_expires: get(row, "invite_expires")?,
        created_at: get(row, "created_at")?,
        invited_by: get(row, "invited_by")?,
    })
}

fn token_of(row: &SqliteRow) -> Result<TokenRow, StoreError> {
    Ok(TokenRow {
        id: get(row, "id")?,
        token_hash: get(row, "token_hash")?,
        name: get(row, "name")?,
        role: get(row, "role")?,
        purposes: get(row, "purposes")?,
        created_by: get(row, "created_by")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        revoked: get::<i64>(row, "revoked")? != 0,
    })
}

impl AccountStore for SqlStore {
    /// Adds an account; a taken username or invitation, or a second account for a subject
    /// (the unique index of migration 0009), is a `Conflict`.
    async fn add_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO accounts (username, role, subject_id, password_hash, totp_sealed, invite_hash, \
             invite_expires, created_at, invited_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.username)
        .bind(&a.role)
        .bind(&a.subject)
        .bind(&a.password_hash)
        .bind(&a.totp_sealed)
        .bind(&a.invite_hash)
        .bind(a.invite_expires)
        .bind(a.created_at)
        .bind(&a.invited_by)
        .execute(&self.pool)
        .await
        .map_err(insert_err("add account"))?;
        Ok(())
    }

    async fn account(&self, username: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM accounts WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("read account"))?;
        row.as_ref().map(account_of).transpose()
    }

    async fn account_by_invite(&self, invite_hash: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM accounts WHERE invite_hash = ?")
            .bind(invite_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("read invitation"))?;
        row.as_ref().map(account_of).transpose()
    }

    async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY username")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable("list accounts"))?;
        rows.iter().map(account_of).collect()
    }

    /// Sets the password of an account whose invitation is `invite_hash`, and uses the
    /// invitation up (it cannot be accepted twice). False if no such invitation is open.
    async fn accept_invite(&self, invite_hash: &str, password_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET password_hash = ?, invite_hash = NULL, invite_expires = NULL \
             WHERE invite_hash = ?",
        )
        .bind(password_hash)
        .bind(invite_hash)
        .execute(&self.pool)
        .await
        .map_err(unavailable("accept invitation"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the accounts bound to a subject (after the subject is crypto-shredded).
    async fn remove_subject_accounts(&self, subject: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM accounts WHERE subject_id = ?")
            .bind(subject)
            .execute(&self.pool)
            .await
            .map_err(unavailable("remove accounts"))?;
        Ok(done.rows_affected())
    }

    async fn add_token(&self, t: &TokenRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, name, role, purposes, created_by, created_at, \
             expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
        .bind(&t.token_hash)
        .bind(&t.name)
        .bind(&t.role)
        .bind(&t.purposes)
        .bind(&t.created_by)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(i64::from(t.revoked))
        .execute(&self.pool)
        .await
        .map_err(insert_err("add token"))?;
        Ok(())
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM api_tokens WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("read token"))?;
        row.as_ref().map(token_of).transpose()
    }

    async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM api_tokens ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable("list tokens"))?;
        rows.iter().map(token_of).collect()
    }

    /// Revokes a token by id; false if there is none.
    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(unavailable("revoke token"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn server_key(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT value FROM server_keys WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("read server key"))?;
        row.as_ref().map(|r| get(r, "value")).transpose()
    }

    /// Stores a server key once: a second put of the same name is a `Conflict` (two servers
    /// racing to create it keep the first).
    async fn put_server_key(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO server_keys (name, value) VALUES (?, ?)")
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(insert_err("put server key"))?;
        Ok(())
    }
}
