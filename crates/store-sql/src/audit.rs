//! The audit log's durable store: [`SqlLogStore`], facevault-audit's [`LogStore`] port on SQLite
//! (tables `audit_entries`, `audit_nodes` and `audit_checkpoints`, migration 0004).
//!
//! Group commit: every [`LogStore::append`] is one transaction, so a whole
//! [`facevault_audit::AuditLog::append_batch`] shares one fsync'd commit (WAL, `synchronous =
//! FULL`); a batch is all there or not there at all, even after a crash.
//!
//! Several writers: the server keeps a store open for its whole life while CLI commands open
//! their own on the same file, append and close. So an append never trusts the size it holds:
//! it takes SQLite's write lock first (`BEGIN IMMEDIATE`), reads the size (one past the largest
//! index), loads the subtree hashes other writers stored since (the runs beyond the lengths it
//! holds, by primary key), and only then lets the log build the batch
//! ([`LogStore::append_with`]), writes it and commits. [`LogStore::refresh`] does the catching
//! up for readers; when nothing changed it costs one indexed read.
//!
//! Sync over async, and why this way: the port is sync (the audit crate is pure), sqlx is async.
//! The store owns a private current-thread tokio runtime and blocks on it at this edge only. The
//! subtree hashes (about two an entry, 32 bytes each, stored as one run per level and batch) are
//! loaded at open and kept in memory, so roots and proofs read no SQL; entries are read from SQL
//! in pages when asked for (whole-log verification streams them). Consequence: call it from plain threads, never from inside an
//! async runtime (use `spawn_blocking`); and it needs memory for the hashes, ~64 MB a million
//! entries.
//!
//! Queries are portable SQL (multi-row `INSERT ... VALUES`, `ORDER BY ... LIMIT`), so a
//! PostgreSQL adapter can share them.

use std::borrow::Borrow;
use std::fmt;
use std::path::{Path, PathBuf};

use facevault_audit::{AppendBatch, Hash, LogStore, NodeId};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, Transaction};

/// Entries read per query when streaming (about 6 MB of rows buffered ahead).
const CHUNK: i64 = 32_768;
/// Rows per multi-row INSERT (2 parameters a row; well under every engine's parameter limit).
const INSERT_ROWS: usize = 4096;

/// Why the SQL audit store failed.
///
/// # How to fix
/// `Database`: the file is unreadable, locked or full; check the path and disk. `Corrupt`: the
/// tables were altered outside FaceVault; run `facevault audit verify` and restore from backup.
/// `Refused`: a caller bug (a batch that does not continue the log).
#[derive(Debug)]
#[non_exhaustive]
pub enum SqlLogError {
    Database { op: &'static str, message: String },
    Corrupt { what: String },
    Refused { why: &'static str },
}

impl fmt::Display for SqlLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlLogError::Database { op, message } => write!(f, "audit store: {op}: {message}"),
            SqlLogError::Corrupt { what } => write!(f, "audit store is damaged: {what}"),
            SqlLogError::Refused { why } => write!(f, "audit store refused the batch: {why}"),
        }
    }
}

impl std::error::Error for SqlLogError {}

fn db(op: &'static str) -> impl Fn(sqlx::Error) -> SqlLogError {
    move |e| SqlLogError::Database { op, message: e.to_string() }
}

fn to_i64(v: u64) -> Result<i64, SqlLogError> {
    i64::try_from(v).map_err(|_| SqlLogError::Refused { why: "index beyond the SQL integer range" })
}

/// The audit log's entries and subtree hashes in a SQL database. See the module docs.
pub struct SqlLogStore {
    rt: tokio::runtime::Runtime,
    pool: SqlitePool,
    path: PathBuf,
    size: u64,
    /// `levels[l][i]` is the hash of the perfect subtree `(l, i)`.
    levels: Vec<Vec<Hash>>,
    /// A stored hash was missing or malformed at open: reads work, appends are refused.
    damaged: Option<String>,
}

impl fmt::Debug for SqlLogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlLogStore")
            .field("path", &self.path)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl SqlLogStore {
    /// Opens (creating if missing, migrating) the SQLite database at `path` and loads the
    /// subtree hashes. Blocks; must not be called inside an async runtime.
    pub fn open_sqlite(path: &Path) -> Result<SqlLogStore, SqlLogError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SqlLogError::Database { op: "start runtime", message: e.to_string() })?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Lets SQLite's thread read a whole chunk ahead of the hashing (see for_each_entry).
            .row_buffer_size(CHUNK as usize);
        let (pool, size, rows) = rt.block_on(async {
            let pool = SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await
                .map_err(db("open database"))?;
            crate::MIGRATOR
                .run(&pool)
                .await
                .map_err(|e| SqlLogError::Database { op: "migrate", message: e.to_string() })?;
            let size = stored_size(&pool).await?;
            let rows =
                sqlx::query("SELECT level, first_idx, hashes FROM audit_nodes ORDER BY level, first_idx")
                    .fetch_all(&pool)
                    .await
                    .map_err(db("load hashes"))?;
            Ok::<_, SqlLogError>((pool, size, rows))
        })?;
        let mut levels: Vec<Vec<Hash>> = Vec::new();
        let damaged = add_runs(&mut levels, &rows)?;
        Ok(SqlLogStore { rt, pool, path: path.to_path_buf(), size, levels, damaged })
    }

    /// Stores a signed checkpoint note for the tree of `size` entries (the first one signed for
    /// a size is kept).
    pub fn put_checkpoint(&self, size: u64, note: &str) -> Result<(), SqlLogError> {
        let size = to_i64(size)?;
        self.rt.block_on(async {
            sqlx::query(
                "INSERT INTO audit_checkpoints (size, note) VALUES (?, ?) ON CONFLICT (size) DO NOTHING",
            )
            .bind(size)
            .bind(note)
            .execute(&self.pool)
            .await
            .map_err(db("store checkpoint"))
        })?;
        Ok(())
    }

    /// The signed checkpoint note of the largest tree stored of at most `at_most` entries, if
    /// any (a reader asks for one it can prove against: another process may have appended and
    /// signed past the entries it has seen).
    pub fn latest_checkpoint(&self, at_most: u64) -> Result<Option<String>, SqlLogError> {
        let at_most = i64::try_from(at_most).unwrap_or(i64::MAX);
        self.rt.block_on(async {
            sqlx::query_scalar(
                "SELECT note FROM audit_checkpoints WHERE size <= ? ORDER BY size DESC LIMIT 1",
            )
            .bind(at_most)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read checkpoint"))
        })
    }

    /// Closes the database (the WAL is checkpointed).
    pub fn close(self) {
        self.rt.block_on(self.pool.close());
    }

    /// Takes in what other writers stored: the log now has `size` entries and `rows` are the
    /// runs of hashes this store lacked ([`missing_runs`]). A log that shrank, or runs that do
    /// not cover it, mark the store damaged.
    fn catch_up(&mut self, size: u64, rows: &[SqliteRow]) -> Result<(), SqlLogError> {
        let mut damaged = add_runs(&mut self.levels, rows)?;
        if size < self.size {
            damaged.get_or_insert_with(|| format!("the log shrank from {} to {size} entries", self.size));
        }
        for level in 0..64u8 {
            let held = self.levels.get(usize::from(level)).map_or(0, Vec::len) as u64;
            if held < size >> level {
                damaged.get_or_insert_with(|| format!("subtree hashes of level {level} end at {held}"));
            }
        }
        if let Some(what) = damaged {
            self.damaged = Some(what.clone());
            return Err(SqlLogError::Corrupt { what });
        }
        self.size = size;
        Ok(())
    }

    /// The write path of [`LogStore::append`] and [`LogStore::append_with`]: under SQLite's
    /// write lock, catch up with other writers, build the batch, check it continues the log,
    /// write it and commit. Returns whether a batch was taken.
    fn append_locked<B: Borrow<AppendBatch>>(
        &mut self,
        build: impl FnOnce(&Self) -> Option<B>,
    ) -> Result<bool, SqlLogError> {
        if let Some(what) = &self.damaged {
            return Err(SqlLogError::Corrupt { what: what.clone() });
        }
        // A transaction dropped on an error path queues its rollback and hands its connection
        // back to the pool from a task, which needs the runtime's context.
        let handle = self.rt.handle().clone();
        let _in_runtime = handle.enter();
        // IMMEDIATE: the write lock is taken now, so the size read next stays the log's size
        // until the commit (a deferred transaction would read, then race for the lock).
        let mut tx = self.rt.block_on(self.pool.begin_with("BEGIN IMMEDIATE")).map_err(db("begin"))?;
        let staged = self.stage(&mut tx, build);
        let batch = match staged {
            Ok(Some(batch)) => batch,
            Ok(None) => {
                self.rt.block_on(tx.rollback()).map_err(db("rollback"))?;
                return Ok(false);
            }
            Err(e) => {
                let _ = self.rt.block_on(tx.rollback());
                return Err(e);
            }
        };
        let batch = batch.borrow();
        if batch.entries.is_empty() && batch.nodes.is_empty() {
            self.rt.block_on(tx.rollback()).map_err(db("rollback"))?;
            return Ok(true);
        }
        self.rt.block_on(async {
            write_rows(&mut tx, batch).await?;
            tx.commit().await.map_err(db("commit"))
        })?;
        self.size += batch.entries.len() as u64;
        for (id, h) in &batch.nodes {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            self.levels[level].push(*h);
        }
        Ok(true)
    }

    /// Inside the write transaction `tx`: catches up, builds the batch and checks it.
    fn stage<B: Borrow<AppendBatch>>(
        &mut self,
        tx: &mut Transaction<'static, Sqlite>,
        build: impl FnOnce(&Self) -> Option<B>,
    ) -> Result<Option<B>, SqlLogError> {
        let size = self.rt.block_on(stored_size(&mut **tx))?;
        if size != self.size {
            let rows = self.rt.block_on(missing_runs(&mut **tx, &self.levels, size))?;
            self.catch_up(size, &rows)?;
        }
        let Some(batch) = build(&*self) else { return Ok(None) };
        if batch.borrow().first_index != self.size {
            return Err(SqlLogError::Refused { why: "first index is not the log size" });
        }
        self.check_nodes(batch.borrow())?;
        Ok(Some(batch))
    }

    fn check_nodes(&self, batch: &AppendBatch) -> Result<(), SqlLogError> {
        let mut lens: Vec<usize> = self.levels.iter().map(Vec::len).collect();
        for (id, _) in &batch.nodes {
            let level = usize::from(id.level);
            if lens.len() <= level {
                lens.resize(level + 1, 0);
            }
            if usize::try_from(id.index).ok() != Some(lens[level]) {
                return Err(SqlLogError::Refused { why: "subtree hashes out of order" });
            }
            lens[level] += 1;
        }
        Ok(())
    }
}

/// Writes a batch's rows inside `tx` (committing is the caller's step, so a test can drop the
/// transaction half way, as a crash would).
async fn write_rows(tx: &mut Transaction<'static, Sqlite>, batch: &AppendBatch) -> Result<(), SqlLogError> {
    let first = to_i64(batch.first_index)?;
    let mut at = first;
    for chunk in batch.entries.chunks(INSERT_ROWS) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO audit_entries (idx, entry) ");
        q.push_values(chunk, |mut b, e| {
            b.push_bind(at).push_bind(e.as_slice());
            at += 1;
        });
        q.build().execute(&mut **tx).await.map_err(db("insert entries"))?;
    }
    // One run per level: within a batch each level's indices follow each other (checked).
    let mut runs: Vec<(i64, i64, Vec<u8>)> = Vec::new();
    for (id, h) in &batch.nodes {
        let level = i64::from(id.level);
        match runs.iter_mut().find(|r| r.0 == level) {
            Some(run) => run.2.extend_from_slice(&h.0),
            None => runs.push((level, to_i64(id.index)?, h.0.to_vec())),
        }
    }
    if !runs.is_empty() {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO audit_nodes (level, first_idx, hashes) ");
        q.push_values(&runs, |mut b, (level, first, hashes)| {
            b.push_bind(*level).push_bind(*first).push_bind(hashes.as_slice());
        });
        q.build().execute(&mut **tx).await.map_err(db("insert hashes"))?;
    }
    Ok(())
}

/// The log's size as stored: one past the largest index (one read of the primary key's last
/// entry; a count would read every row).
async fn stored_size<'e>(ex: impl sqlx::Executor<'e, Database = Sqlite>) -> Result<u64, SqlLogError> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) FROM audit_entries")
        .fetch_one(ex)
        .await
        .map_err(db("read the log size"))?;
    match last {
        None => Ok(0),
        Some(last) => u64::try_from(last)
            .ok()
            .and_then(|l| l.checked_add(1))
            .ok_or_else(|| SqlLogError::Corrupt { what: format!("entry index {last}") }),
    }
}

/// The stored runs of subtree hashes a holder of `levels` lacks for a log of `size` entries:
/// at each level `l` whose `size >> l` hashes it does not all hold, the runs from the length it
/// holds on (by primary key; at most one condition a level).
async fn missing_runs<'e>(
    ex: impl sqlx::Executor<'e, Database = Sqlite>,
    levels: &[Vec<Hash>],
    size: u64,
) -> Result<Vec<SqliteRow>, SqlLogError> {
    let held = |l: u8| levels.get(usize::from(l)).map_or(0, Vec::len) as u64;
    let wanted: Vec<(i64, i64)> = (0..64u8)
        .filter(|&l| size >> l > held(l))
        .map(|l| Ok((i64::from(l), to_i64(held(l))?)))
        .collect::<Result<_, SqlLogError>>()?;
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut q: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT level, first_idx, hashes FROM audit_nodes WHERE ");
    for (i, (level, from)) in wanted.iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        q.push("(level = ").push_bind(*level).push(" AND first_idx >= ").push_bind(*from).push(")");
    }
    q.push(" ORDER BY level, first_idx");
    q.build().fetch_all(ex).await.map_err(db("load hashes"))
}

/// Appends stored runs `(level, first_idx, hashes)`, in `(level, first_idx)` order, to `levels`.
/// Returns what is damaged, if anything: a gap, an overlap or a torn run keeps what comes before
/// it (verification will place the damage), and the store then refuses appends.
fn add_runs(levels: &mut Vec<Vec<Hash>>, rows: &[SqliteRow]) -> Result<Option<String>, SqlLogError> {
    let mut damaged = None;
    for row in rows {
        let level: i64 = row.try_get(0).map_err(db("read hashes"))?;
        let first: i64 = row.try_get(1).map_err(db("read hashes"))?;
        let hashes: &[u8] = row.try_get(2).map_err(db("read hashes"))?;
        let level = match usize::try_from(level) {
            Ok(l) if l < 64 => l,
            _ => {
                damaged.get_or_insert_with(|| format!("subtree hashes at level {level}"));
                continue;
            }
        };
        if levels.len() <= level {
            levels.resize_with(level + 1, Vec::new);
        }
        let at = &mut levels[level];
        if usize::try_from(first).ok() != Some(at.len()) || hashes.len() % 32 != 0 {
            damaged.get_or_insert_with(|| format!("subtree hashes ({level}, {first}) out of place"));
            continue;
        }
        at.extend(hashes.chunks_exact(32).filter_map(|c| <[u8; 32]>::try_from(c).ok()).map(Hash));
    }
    Ok(damaged)
}

/// The first `<decimal length>:<bytes>` of a packed chunk and what follows it.
fn unpack(packed: &[u8]) -> Result<(&[u8], &[u8]), SqlLogError> {
    let corrupt = || SqlLogError::Corrupt { what: "a packed chunk of entries does not parse".into() };
    let colon = packed.iter().take(21).position(|&b| b == b':').ok_or_else(corrupt)?;
    let len: usize =
        std::str::from_utf8(&packed[..colon]).ok().and_then(|s| s.parse().ok()).ok_or_else(corrupt)?;
    let body = &packed[colon + 1..];
    if body.len() < len {
        return Err(corrupt());
    }
    Ok(body.split_at(len))
}

impl LogStore for SqlLogStore {
    type Error = SqlLogError;

    fn size(&self) -> Result<u64, SqlLogError> {
        Ok(self.size)
    }

    fn append(&mut self, batch: &AppendBatch) -> Result<(), SqlLogError> {
        self.append_locked(|_| Some(batch)).map(|_| ())
    }

    fn append_with(
        &mut self,
        build: &mut dyn FnMut(&Self) -> Option<AppendBatch>,
    ) -> Result<bool, SqlLogError> {
        self.append_locked(build)
    }

    fn refresh(&mut self) -> Result<u64, SqlLogError> {
        if let Some(what) = &self.damaged {
            return Err(SqlLogError::Corrupt { what: what.clone() });
        }
        let size = self.rt.block_on(stored_size(&self.pool))?;
        if size == self.size {
            return Ok(size);
        }
        // Size and hashes from one snapshot (a read transaction), so they match.
        let (size, rows) = self.rt.block_on(async {
            let mut tx = self.pool.begin().await.map_err(db("begin"))?;
            let size = stored_size(&mut *tx).await?;
            let rows = missing_runs(&mut *tx, &self.levels, size).await?;
            tx.rollback().await.map_err(db("rollback"))?;
            Ok::<_, SqlLogError>((size, rows))
        })?;
        self.catch_up(size, &rows)?;
        Ok(size)
    }

    fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, SqlLogError> {
        let Ok(idx) = i64::try_from(index) else { return Ok(None) };
        self.rt.block_on(async {
            sqlx::query_scalar("SELECT entry FROM audit_entries WHERE idx = ?")
                .bind(idx)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("read entry"))
        })
    }

    fn for_each_entry(&self, start: u64, end: u64, f: &mut dyn FnMut(&[u8])) -> Result<(), SqlLogError> {
        let start = i64::try_from(start).unwrap_or(i64::MAX);
        let end = i64::try_from(end).unwrap_or(i64::MAX);
        // Chunks of indices, read on two connections in turn: SQLite's worker thread reads the
        // next chunk while this thread hashes the current one. SQLite concatenates a chunk into
        // one value, `<decimal length>:<entry bytes>` per entry in index order, so the cost per
        // entry is a copy rather than a row crossing sqlx's worker channel (which capped full-log
        // verification below a million entries a second).
        let chunk = |lo: i64| {
            let hi = lo.saturating_add(CHUNK).min(end);
            async move {
                if lo >= hi {
                    return Ok(Vec::new());
                }
                let packed: Option<Vec<u8>> = sqlx::query_scalar(
                    "SELECT CAST(group_concat(length(entry) || ':' || entry, '') AS BLOB) \
                     FROM (SELECT entry FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx)",
                )
                .bind(lo)
                .bind(hi)
                .fetch_one(&self.pool)
                .await
                .map_err(db("read entries"))?;
                Ok(packed.unwrap_or_default())
            }
        };
        self.rt.block_on(async {
            let last: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) FROM audit_entries")
                .fetch_one(&self.pool)
                .await
                .map_err(db("read entries"))?;
            let end = end.min(last.map_or(0, |l| l.saturating_add(1)));
            let mut lo = start;
            let mut rows = chunk(lo).await?;
            while lo < end {
                lo = lo.saturating_add(CHUNK);
                let process = async {
                    let mut rest: &[u8] = &rows;
                    while !rest.is_empty() {
                        let (entry, tail) = unpack(rest)?;
                        f(entry);
                        rest = tail;
                    }
                    Ok::<_, SqlLogError>(())
                };
                let (next, done) = futures_util::future::join(chunk(lo), process).await;
                done?;
                rows = next?;
            }
            Ok(())
        })
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash>, SqlLogError> {
        let Ok(i) = usize::try_from(id.index) else { return Ok(None) };
        Ok(self.levels.get(usize::from(id.level)).and_then(|l| l.get(i)).copied())
    }

    fn put_checkpoint(&mut self, size: u64, note: &str) -> Result<(), SqlLogError> {
        SqlLogStore::put_checkpoint(self, size, note)
    }

    fn latest_checkpoint(&self, at_most: u64) -> Result<Option<String>, SqlLogError> {
        SqlLogStore::latest_checkpoint(self, at_most)
    }

    fn close(self) {
        SqlLogStore::close(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use facevault_audit::{
        open_checkpoint, sign_checkpoint, AuditEntry, AuditLog, Decision, Reason, SigningKey, Timestamp,
        Token, VerifyError,
    };

    const ORIGIN: &str = "test.example/audit";

    fn entry(i: u64) -> AuditEntry {
        let t = |f, s: &str| Token::new(f, s).map_err(|e| e.to_string());
        let e = || -> Result<AuditEntry, String> {
            Ok(AuditEntry {
                actor: t("actor", &format!("user-{}", i % 7))?,
                role: t("role", "surgeon")?,
                action: t("action", "scan.read")?,
                purpose: t("purpose", "treatment_planning")?,
                object: t("object", &format!("scan-{i}"))?,
                decision: if i % 5 == 0 { Decision::Denied } else { Decision::Allowed },
                reason: Reason::new("policy default").map_err(|e| e.to_string())?,
                time: Timestamp::from_unix_micros(1_700_000_000_000_000 + i as i64)
                    .map_err(|e| e.to_string())?,
            })
        };
        match e() {
            Ok(e) => e,
            Err(m) => unreachable!("test entry {i}: {m}"),
        }
    }

    fn entries(range: std::ops::Range<u64>) -> Vec<AuditEntry> {
        range.map(entry).collect()
    }

    fn filled(path: &Path, n: u64, batch: u64) -> AuditLog<SqlLogStore> {
        let mut log = AuditLog::open(SqlLogStore::open_sqlite(path).unwrap()).unwrap();
        let mut i = 0;
        while i < n {
            let to = (i + batch).min(n);
            log.append_batch(&entries(i..to)).unwrap();
            i = to;
        }
        log
    }

    fn signed(log: &AuditLog<SqlLogStore>, key: &SigningKey) -> facevault_audit::Checkpoint {
        let note = sign_checkpoint(&log.checkpoint(ORIGIN), key).unwrap();
        open_checkpoint(&note, &key.verifier(), ORIGIN).unwrap()
    }

    fn sql(path: &Path, statement: &str) {
        let store = SqlLogStore::open_sqlite(path).unwrap();
        store.rt.block_on(async {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).execute(&store.pool).await.unwrap()
        });
        store.close();
    }

    #[test]
    fn reopen_gives_the_same_root_and_proofs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let log = filled(&path, 1000, 37);
        let (root, proof) = (log.root(), log.inclusion_proof(417, 1000).unwrap());
        let mut memory = AuditLog::open(facevault_audit::MemoryStore::new()).unwrap();
        memory.append_batch(&entries(0..1000)).unwrap();
        assert_eq!(root, memory.root());
        log.into_store().close();

        let mut log = AuditLog::open(SqlLogStore::open_sqlite(&path).unwrap()).unwrap();
        assert_eq!(log.size(), 1000);
        assert_eq!(log.root(), root);
        assert_eq!(log.inclusion_proof(417, 1000).unwrap(), proof);
        assert_eq!(log.entry(417).unwrap(), entry(417));
        // Appends continue where the old handle stopped.
        log.append_batch(&entries(1000..1010)).unwrap();
        memory.append_batch(&entries(1000..1010)).unwrap();
        assert_eq!(log.root(), memory.root());
        assert_eq!(log.consistency_proof(1000, 1010).unwrap(), memory.consistency_proof(1000, 1010).unwrap());
    }

    #[test]
    fn verify_log_streams_a_large_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let n = 40_003;
        let log = filled(&path, n, 5000);
        let key = SigningKey::generate(ORIGIN).unwrap();
        assert_eq!(facevault_audit::verify_log(log.store(), &signed(&log, &key)).unwrap(), n);
    }

    #[test]
    fn edited_row_is_named_by_verify_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let log = filled(&path, 300, 64);
        let key = SigningKey::generate(ORIGIN).unwrap();
        let cp = signed(&log, &key);
        log.into_store().close();
        let other = hex(&entry(9).encode());
        sql(&path, &format!("UPDATE audit_entries SET entry = X'{other}' WHERE idx = 213"));
        let store = SqlLogStore::open_sqlite(&path).unwrap();
        assert!(matches!(
            facevault_audit::verify_log(&store, &cp),
            Err(VerifyError::BadEntry { index: 213 })
        ));
    }

    #[test]
    fn deleted_row_is_named_by_verify_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let log = filled(&path, 100, 100);
        let key = SigningKey::generate(ORIGIN).unwrap();
        let cp = signed(&log, &key);
        log.into_store().close();
        sql(&path, "DELETE FROM audit_entries WHERE idx = 42");
        let store = SqlLogStore::open_sqlite(&path).unwrap();
        let got = facevault_audit::verify_log(&store, &cp);
        assert!(matches!(got, Err(VerifyError::BadEntry { index: 42 })), "{got:?}");
    }

    #[test]
    fn a_batch_dropped_before_commit_leaves_the_old_root() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let mut log = filled(&path, 50, 50);
        let root = log.root();
        // Build the next batch as the log would, write its rows, and crash before the commit.
        let mut shadow = AuditLog::open(facevault_audit::MemoryStore::new()).unwrap();
        shadow.append_batch(&entries(0..50)).unwrap();
        shadow.append_batch(&entries(50..80)).unwrap();
        let mut batch = AppendBatch { first_index: 50, entries: Vec::new(), nodes: Vec::new() };
        batch.entries = entries(50..80).iter().map(AuditEntry::encode).collect();
        for level in 0..8u8 {
            let from = log.store().levels.get(usize::from(level)).map_or(0, Vec::len) as u64;
            for index in from.. {
                match shadow.store().node(NodeId { level, index }).unwrap() {
                    Some(h) => batch.nodes.push((NodeId { level, index }, h)),
                    None => break,
                }
            }
        }
        batch.nodes.sort_by_key(|(id, _)| (id.level, id.index));
        let store = log.store();
        store.rt.block_on(async {
            let mut tx = store.pool.begin().await.unwrap();
            write_rows(&mut tx, &batch).await.unwrap();
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries").fetch_one(&mut *tx).await.unwrap();
            assert_eq!(n, 80, "the rows were written inside the transaction");
            drop(tx);
        });
        // The handle is still usable and unchanged; a fresh open sees the old log too.
        assert_eq!(log.root(), root);
        let reopened = AuditLog::open(SqlLogStore::open_sqlite(&path).unwrap()).unwrap();
        assert_eq!((reopened.size(), reopened.root()), (50, root));
        reopened.into_store().close();
        // And the real append of the same batch then succeeds.
        log.append_batch(&entries(50..80)).unwrap();
        assert_eq!(log.root(), shadow.root());
    }

    #[test]
    fn a_batch_that_does_not_continue_the_log_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let log = filled(&path, 10, 10);
        let mut store = log.into_store();
        let bad = AppendBatch { first_index: 3, entries: vec![entry(3).encode()], nodes: Vec::new() };
        assert!(matches!(store.append(&bad), Err(SqlLogError::Refused { .. })));
        let bad = AppendBatch {
            first_index: 10,
            entries: vec![entry(10).encode()],
            nodes: vec![(NodeId { level: 0, index: 11 }, Hash([0; 32]))],
        };
        assert!(matches!(store.append(&bad), Err(SqlLogError::Refused { .. })));
        store.close();
        assert_eq!(SqlLogStore::open_sqlite(&path).unwrap().size().unwrap(), 10);
    }

    #[test]
    fn checkpoints_are_kept_per_size_and_the_latest_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlLogStore::open_sqlite(&dir.path().join("vault.db")).unwrap();
        assert_eq!(store.latest_checkpoint(u64::MAX).unwrap(), None);
        store.put_checkpoint(2, "two").unwrap();
        store.put_checkpoint(10, "ten").unwrap();
        store.put_checkpoint(10, "ten again").unwrap();
        store.put_checkpoint(5, "five").unwrap();
        assert_eq!(store.latest_checkpoint(u64::MAX).unwrap().as_deref(), Some("ten"));
    }

    fn is_corrupt(got: Result<impl fmt::Debug, facevault_audit::AuditError>) -> bool {
        match got {
            Err(facevault_audit::AuditError::Store(e)) => {
                matches!(e.downcast_ref::<SqlLogError>(), Some(SqlLogError::Corrupt { .. }))
            }
            _ => false,
        }
    }

    #[test]
    fn a_store_damaged_at_open_refuses_appends_and_refreshes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        filled(&path, 20, 20).into_store().close();
        sql(&path, "UPDATE audit_nodes SET first_idx = 1 WHERE level = 0");
        let mut store = SqlLogStore::open_sqlite(&path).unwrap();
        let next = AppendBatch { first_index: 20, entries: vec![entry(20).encode()], nodes: Vec::new() };
        assert!(matches!(store.append(&next), Err(SqlLogError::Corrupt { .. })));
        let mut built = false;
        let got = store.append_with(&mut |_| {
            built = true;
            Some(next.clone())
        });
        assert!(matches!(got, Err(SqlLogError::Corrupt { .. })) && !built, "{got:?}");
        assert!(matches!(store.refresh(), Err(SqlLogError::Corrupt { .. })));
        store.close();
        assert_eq!(SqlLogStore::open_sqlite(&path).unwrap().size().unwrap(), 20);
    }

    #[test]
    fn damage_stored_by_another_writer_is_caught_before_an_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let mut log = filled(&path, 20, 20);
        let root = log.root();
        // Another writer stores an entry without its subtree hashes.
        sql(
            &path,
            &format!("INSERT INTO audit_entries (idx, entry) VALUES (20, X'{}')", hex(&entry(20).encode())),
        );
        assert!(is_corrupt(log.append(&entry(21))));
        assert_eq!((log.size(), log.root()), (20, root), "the handle answers for the tree it knew");
        assert!(is_corrupt(log.append(&entry(21))), "and keeps refusing");
        assert!(is_corrupt(log.refresh()));
        log.into_store().close();
        let n: i64 = {
            let store = SqlLogStore::open_sqlite(&path).unwrap();
            let n = store.rt.block_on(async {
                sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries").fetch_one(&store.pool).await.unwrap()
            });
            store.close();
            n
        };
        assert_eq!(n, 21, "nothing was appended after the damaged entry");
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02X}")).collect()
    }
}
