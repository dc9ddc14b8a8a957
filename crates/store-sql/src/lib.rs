//! Metadata store adapters for FaceVault's `MetadataStore` port: SQLite through sqlx today,
//! PostgreSQL later with the same port and its own migrations.
//!
//! For most cases: [`SqlStore::open_sqlite`] on the vault's database file. The schema lives in
//! `migrations/sqlite/` (append-only) and is applied on open. Queries are written in portable
//! SQL (`ON CONFLICT`, no `WITHOUT ROWID`, no `AUTOINCREMENT`), so the PostgreSQL adapter can
//! share them. The store only ever holds wrapped keys and sealed details: no identifying byte
//! and no key in plaintext.
//!
//! Needs a tokio runtime (sqlx's). SQLite settings, and why: WAL with `synchronous = FULL` (a
//! commit is durable when it returns, which the vault's write ordering relies on),
//! `secure_delete = ON` and a WAL checkpoint after a shred (a shredded wrapped key is
//! overwritten in the file, not left in free pages), foreign keys on, file mode 0600.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use facevault_crypto::{Id, KekVersion, WrappedKey};
use facevault_vault::{
    BlobRef, Capture, ConsentRow, Derivative, DerivativeId, DerivativeKind, Disclosure, GovernanceRow,
    GovernanceStore, Node, Purpose, RequestRow, RequestStore, Scan, ScanId, ScanStore, ShredRecord,
    StoreError, SubjectId, SubjectRecord, SubjectStore, Timestamp, VendorNotice,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

mod accounts;
mod audit;
pub use audit::{SqlLogError, SqlLogStore};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A metadata store in a SQL database.
#[derive(Clone)]
pub struct SqlStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// A transaction that will write: it takes SQLite's write lock at `BEGIN` (waiting up to the
/// busy timeout for another writer). A deferred transaction that reads and then writes fails at
/// once with "database is locked" when another connection wrote in between (its snapshot is
/// stale, and SQLite does not wait in that case): two processes on one vault, or the retention
/// schedule and a request in one server, made shreds fail that way.
async fn write_tx(pool: &SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

fn unavailable(op: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| StoreError::Unavailable { op, message: e.to_string() }
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: what.into() }
}

/// Map a failed insert: a constraint violation is a conflict, anything else the store failing.
fn insert_err(op: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() || d.is_foreign_key_violation() => {
            StoreError::Conflict { op, what: d.message().to_string() }
        }
        _ => StoreError::Unavailable { op, message: e.to_string() },
    }
}

fn parse_id(row: &SqliteRow, col: &str) -> Result<Id, StoreError> {
    let s: String = row.try_get(col).map_err(|e| corrupt(format!("column {col}: {e}")))?;
    s.parse().map_err(|_| corrupt(format!("column {col} is not an id")))
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
    row: &'r SqliteRow,
    col: &str,
) -> Result<T, StoreError> {
    row.try_get(col).map_err(|e| corrupt(format!("column {col}: {e}")))
}

fn u64_of(row: &SqliteRow, col: &str) -> Result<u64, StoreError> {
    u64::try_from(get::<i64>(row, col)?).map_err(|_| corrupt(format!("column {col} is negative")))
}

fn u32_of(row: &SqliteRow, col: &str) -> Result<u32, StoreError> {
    u32::try_from(get::<i64>(row, col)?).map_err(|_| corrupt(format!("column {col} is out of range")))
}

fn i64_of(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Conflict { op: "insert", what: format!("{what} too large") })
}

fn blob_of(row: &SqliteRow) -> Result<BlobRef, StoreError> {
    Ok(BlobRef {
        object: parse_id(row, "blob_object")?,
        version: u32_of(row, "blob_version")?,
        len: u64_of(row, "blob_len")?,
    })
}

fn subject_of(row: &SqliteRow) -> Result<SubjectRecord, StoreError> {
    let version = KekVersion(u32_of(row, "kek_version")?);
    let wrapped: Vec<u8> = get(row, "wrapped_key")?;
    Ok(SubjectRecord {
        id: SubjectId(parse_id(row, "id")?),
        created_at: Timestamp(get(row, "created_at")?),
        wrapped_key: WrappedKey::from_parts(version, &wrapped).map_err(|e| corrupt(e.to_string()))?,
        details: get(row, "details")?,
        details_version: u32_of(row, "details_version")?,
    })
}

fn scan_of(row: &SqliteRow) -> Result<Scan, StoreError> {
    let unit: String = get(row, "source_unit")?;
    Ok(Scan {
        id: ScanId(parse_id(row, "id")?),
        subject: SubjectId(parse_id(row, "subject_id")?),
        capture: Capture {
            device: get(row, "device")?,
            captured_on: get(row, "captured_on")?,
            purpose: Purpose(get(row, "purpose")?),
        },
        source_unit: facevault_mesh::Unit::from_str(&unit).map_err(corrupt)?,
        vertices: u64_of(row, "vertices")?,
        triangles: u64_of(row, "triangles")?,
        imported_at: Timestamp(get(row, "imported_at")?),
        blob: blob_of(row)?,
    })
}

fn node_of(kind: &str, id: Id) -> Result<Node, StoreError> {
    match kind {
        "scan" => Ok(Node::Scan(ScanId(id))),
        "derivative" => Ok(Node::Derivative(DerivativeId(id))),
        other => Err(corrupt(format!("lineage parent kind {other:?}"))),
    }
}

fn node_parts(node: Node) -> (&'static str, String) {
    match node {
        Node::Scan(s) => ("scan", s.to_string()),
        Node::Derivative(d) => ("derivative", d.to_string()),
    }
}

const SCAN_COLUMNS: &str = "id, subject_id, device, captured_on, purpose, source_unit, vertices, triangles, \
                            imported_at, blob_object, blob_version, blob_len";
const DERIVATIVE_COLUMNS: &str =
    "id, subject_id, kind, producer, parameters, created_at, blob_object, blob_version, blob_len";

impl SqlStore {
    /// Open (creating if missing) the SQLite database at `path` and apply pending migrations.
    pub async fn open_sqlite(path: &Path) -> Result<SqlStore, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(unavailable("open database"))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Unavailable { op: "migrate", message: e.to_string() })?;
        let store = SqlStore { pool, path: path.to_path_buf() };
        store.restrict_permissions();
        Ok(store)
    }

    /// Make the database and its WAL files readable by the owner only. Best effort: the files
    /// hold only ciphertext and pseudonymous ids, so a failure here is not fatal.
    fn restrict_permissions(&self) {
        #[cfg(unix)]
        for suffix in ["", "-wal", "-shm"] {
            use std::os::unix::fs::PermissionsExt;
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }

    async fn derivative_rows(&self, rows: Vec<SqliteRow>) -> Result<Vec<Derivative>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = DerivativeId(parse_id(&row, "id")?);
            let kind: String = get(&row, "kind")?;
            let base = Derivative {
                id,
                subject: SubjectId(parse_id(&row, "subject_id")?),
                kind: DerivativeKind::parse(&kind)
                    .ok_or_else(|| corrupt(format!("derivative kind {kind:?}")))?,
                producer: get(&row, "producer")?,
                parameters: get(&row, "parameters")?,
                parents: Vec::new(),
                created_at: Timestamp(get(&row, "created_at")?),
                blob: blob_of(&row)?,
            };
            out.push(base);
        }
        for d in &mut out {
            let edges = sqlx::query(
                "SELECT parent_kind, parent_id FROM lineage WHERE child_id = ? ORDER BY position",
            )
            .bind(d.id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable("read lineage"))?;
            for e in edges {
                let kind: String = get(&e, "parent_kind")?;
                d.parents.push(node_of(&kind, parse_id(&e, "parent_id")?)?);
            }
        }
        Ok(out)
    }
}

impl SubjectStore for SqlStore {
    async fn vault_id_or_init(&self, candidate: Id) -> Result<Id, StoreError> {
        sqlx::query(
            "INSERT INTO vault (singleton, vault_id) VALUES (1, ?) ON CONFLICT (singleton) DO NOTHING",
        )
        .bind(candidate.to_string())
        .execute(&self.pool)
        .await
        .map_err(unavailable("init vault id"))?;
        let row = sqlx::query("SELECT vault_id FROM vault WHERE singleton = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable("read vault id"))?;
        parse_id(&row, "vault_id")
    }

    async fn insert_subject(&self, s: SubjectRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO subjects (id, created_at, kek_version, wrapped_key, details, details_version) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(s.created_at.0)
        .bind(i64::from(s.wrapped_key.kek_version().0))
        .bind(s.wrapped_key.as_bytes().to_vec())
        .bind(s.details)
        .bind(i64::from(s.details_version))
        .execute(&self.pool)
        .await
        .map_err(insert_err("insert subject"))?;
        Ok(())
    }

    async fn subject(&self, id: SubjectId) -> Result<Option<SubjectRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM subjects WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("get subject"))?;
        row.as_ref().map(subject_of).transpose()
    }

    async fn subjects(&self) -> Result<Vec<SubjectRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM subjects ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable("list subjects"))?;
        rows.iter().map(subject_of).collect()
    }

    async fn replace_wrapped_key(
        &self,
        id: SubjectId,
        expected: KekVersion,
        new: WrappedKey,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE subjects SET kek_version = ?, wrapped_key = ? WHERE id = ? AND kek_version = ?",
        )
        .bind(i64::from(new.kek_version().0))
        .bind(new.as_bytes().to_vec())
        .bind(id.to_string())
        .bind(i64::from(expected.0))
        .execute(&self.pool)
        .await
        .map_err(unavailable("replace wrapped key"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn replace_details(
        &self,
        id: SubjectId,
        details: Vec<u8>,
        version: u32,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE subjects SET details = ?, details_version = ? WHERE id = ?")
            .bind(&details)
            .bind(i64::from(version))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(unavailable("replace details"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn shred_subject(&self, id: SubjectId) -> Result<Option<ShredRecord>, StoreError> {
        let op = "shred subject";
        let sid = id.to_string();
        let mut tx = write_tx(&self.pool).await.map_err(unavailable(op))?;
        let scans = sqlx::query("SELECT id, blob_object FROM scans WHERE subject_id = ?")
            .bind(&sid)
            .fetch_all(&mut *tx)
            .await
            .map_err(unavailable(op))?;
        let derivatives = sqlx::query("SELECT id, blob_object FROM derivatives WHERE subject_id = ?")
            .bind(&sid)
            .fetch_all(&mut *tx)
            .await
            .map_err(unavailable(op))?;
        let mut out = ShredRecord::default();
        for r in &scans {
            out.scans.push(ScanId(parse_id(r, "id")?));
            out.blobs.push(parse_id(r, "blob_object")?);
        }
        for r in &derivatives {
            out.derivatives.push(DerivativeId(parse_id(r, "id")?));
            out.blobs.push(parse_id(r, "blob_object")?);
        }
        // One statement per table, so the cost hardly grows with the number of scans.
        for sql in [
            "INSERT INTO purge_queue (object) SELECT blob_object FROM scans WHERE subject_id = ?",
            "INSERT INTO purge_queue (object) SELECT blob_object FROM derivatives WHERE subject_id = ?",
            "DELETE FROM lineage WHERE child_id IN (SELECT id FROM derivatives WHERE subject_id = ?)",
            "DELETE FROM derivatives WHERE subject_id = ?",
            "DELETE FROM scans WHERE subject_id = ?",
            "DELETE FROM consents WHERE subject_id = ?",
            "DELETE FROM governance WHERE subject_id = ?",
        ] {
            sqlx::query(sql).bind(&sid).execute(&mut *tx).await.map_err(unavailable(op))?;
        }
        let gone = sqlx::query("DELETE FROM subjects WHERE id = ?")
            .bind(&sid)
            .execute(&mut *tx)
            .await
            .map_err(unavailable(op))?;
        if gone.rows_affected() == 0 {
            tx.rollback().await.map_err(unavailable(op))?;
            return Ok(None);
        }
        tx.commit().await.map_err(unavailable(op))?;
        // Move the zeroed pages into the database file and empty the WAL, so no earlier page
        // image holding the wrapped key stays in either file.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await.map_err(unavailable(op))?;
        Ok(Some(out))
    }

    async fn purge_queue(&self) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query("SELECT object FROM purge_queue ORDER BY object")
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable("purge queue"))?;
        rows.iter().map(|r| parse_id(r, "object")).collect()
    }

    async fn dequeue_purged(&self, objects: Vec<Id>) -> Result<(), StoreError> {
        let mut tx = write_tx(&self.pool).await.map_err(unavailable("dequeue purged"))?;
        for object in objects {
            sqlx::query("DELETE FROM purge_queue WHERE object = ?")
                .bind(object.to_string())
                .execute(&mut *tx)
                .await
                .map_err(unavailable("dequeue purged"))?;
        }
        tx.commit().await.map_err(unavailable("dequeue purged"))
    }

    async fn rotation_target(&self) -> Result<Option<KekVersion>, StoreError> {
        let row = sqlx::query("SELECT rotation_target FROM vault WHERE singleton = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("rotation target"))?;
        let Some(row) = row else { return Ok(None) };
        let v: Option<i64> = get(&row, "rotation_target")?;
        v.map(|v| u32::try_from(v).map(KekVersion).map_err(|_| corrupt("rotation target out of range")))
            .transpose()
    }

    async fn set_rotation_target(&self, target: Option<KekVersion>) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE vault SET rotation_target = ? WHERE singleton = 1")
            .bind(target.map(|v| i64::from(v.0)))
            .execute(&self.pool)
            .await
            .map_err(unavailable("set rotation target"))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict {
                op: "set rotation target",
                what: "the vault has no id yet".into(),
            });
        }
        Ok(())
    }

    /// Close every connection (the WAL is checkpointed and removed).
    async fn close(&self) {
        self.pool.close().await;
    }
}

impl ScanStore for SqlStore {
    async fn insert_scan(&self, s: Scan) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scans (id, subject_id, device, captured_on, purpose, source_unit, vertices, triangles, \
             imported_at, blob_object, blob_version, blob_len) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(s.subject.to_string())
        .bind(s.capture.device)
        .bind(s.capture.captured_on)
        .bind(s.capture.purpose.0)
        .bind(s.source_unit.symbol())
        .bind(i64_of(s.vertices, "vertex count")?)
        .bind(i64_of(s.triangles, "triangle count")?)
        .bind(s.imported_at.0)
        .bind(s.blob.object.to_string())
        .bind(i64::from(s.blob.version))
        .bind(i64_of(s.blob.len, "blob length")?)
        .execute(&self.pool)
        .await
        .map_err(insert_err("insert scan"))?;
        Ok(())
    }

    async fn scan(&self, id: ScanId) -> Result<Option<Scan>, StoreError> {
        let sql = format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("get scan"))?;
        row.as_ref().map(scan_of).transpose()
    }

    async fn scans_of(&self, subject: SubjectId) -> Result<Vec<Scan>, StoreError> {
        let sql = format!("SELECT {SCAN_COLUMNS} FROM scans WHERE subject_id = ? ORDER BY imported_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(subject.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable("list scans"))?;
        rows.iter().map(scan_of).collect()
    }

    async fn insert_derivative(&self, d: Derivative) -> Result<(), StoreError> {
        let op = "insert derivative";
        let mut tx = write_tx(&self.pool).await.map_err(unavailable(op))?;
        for parent in &d.parents {
            let (kind, pid) = node_parts(*parent);
            let sql = if kind == "scan" {
                "SELECT subject_id FROM scans WHERE id = ?"
            } else {
                "SELECT subject_id FROM derivatives WHERE id = ?"
            };
            let found = sqlx::query(sql).bind(pid).fetch_optional(&mut *tx).await.map_err(unavailable(op))?;
            if found.is_none() {
                return Err(StoreError::Conflict { op, what: format!("no parent {parent}") });
            }
        }
        sqlx::query(
            "INSERT INTO derivatives (id, subject_id, kind, producer, parameters, created_at, blob_object, \
             blob_version, blob_len) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(d.id.to_string())
        .bind(d.subject.to_string())
        .bind(d.kind.as_str())
        .bind(d.producer)
        .bind(d.parameters)
        .bind(d.created_at.0)
        .bind(d.blob.object.to_string())
        .bind(i64::from(d.blob.version))
        .bind(i64_of(d.blob.len, "blob length")?)
        .execute(&mut *tx)
        .await
        .map_err(insert_err(op))?;
        for (position, parent) in d.parents.iter().enumerate() {
            let (kind, pid) = node_parts(*parent);
            sqlx::query(
                "INSERT INTO lineage (child_id, position, parent_kind, parent_id) VALUES (?, ?, ?, ?)",
            )
            .bind(d.id.to_string())
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(kind)
            .bind(pid)
            .execute(&mut *tx)
            .await
            .map_err(insert_err(op))?;
        }
        tx.commit().await.map_err(unavailable(op))?;
        Ok(())
    }

    async fn derivative(&self, id: DerivativeId) -> Result<Option<Derivative>, StoreError> {
        let sql = format!("SELECT {DERIVATIVE_COLUMNS} FROM derivatives WHERE id = ?");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable("get derivative"))?;
        Ok(self.derivative_rows(rows).await?.pop())
    }

    async fn derivatives_of(&self, subject: SubjectId) -> Result<Vec<Derivative>, StoreError> {
        let sql = format!(
            "SELECT {DERIVATIVE_COLUMNS} FROM derivatives WHERE subject_id = ? ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(subject.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable("list derivatives"))?;
        self.derivative_rows(rows).await
    }

    async fn children(&self, node: Node) -> Result<Vec<DerivativeId>, StoreError> {
        let (kind, pid) = node_parts(node);
        let rows = sqlx::query(
            "SELECT DISTINCT child_id FROM lineage WHERE parent_kind = ? AND parent_id = ? ORDER BY child_id",
        )
        .bind(kind)
        .bind(pid)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable("children"))?;
        rows.iter().map(|r| parse_id(r, "child_id").map(DerivativeId)).collect()
    }

    async fn delete_objects(&self, subject: SubjectId, nodes: Vec<Node>) -> Result<ShredRecord, StoreError> {
        let op = "delete objects";
        let sid = subject.to_string();
        let mut tx = write_tx(&self.pool).await.map_err(unavailable(op))?;
        let mut out = ShredRecord::default();
        // Children first, so no lineage edge ever points at a removed row.
        let mut ordered = nodes;
        ordered.sort_by_key(|n| matches!(n, Node::Scan(_)));
        for node in ordered {
            let (select, delete, kind) = match node {
                Node::Scan(_) => (
                    "SELECT blob_object FROM scans WHERE id = ? AND subject_id = ?",
                    "DELETE FROM scans WHERE id = ?",
                    "scan",
                ),
                Node::Derivative(_) => (
                    "SELECT blob_object FROM derivatives WHERE id = ? AND subject_id = ?",
                    "DELETE FROM derivatives WHERE id = ?",
                    "derivative",
                ),
            };
            let id = node.id().to_string();
            let row = sqlx::query(select)
                .bind(&id)
                .bind(&sid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(unavailable(op))?;
            let Some(row) = row else { continue };
            let blob = parse_id(&row, "blob_object")?;
            sqlx::query("DELETE FROM lineage WHERE child_id = ? OR (parent_kind = ? AND parent_id = ?)")
                .bind(&id)
                .bind(kind)
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable(op))?;
            sqlx::query(delete).bind(&id).execute(&mut *tx).await.map_err(unavailable(op))?;
            sqlx::query("INSERT INTO purge_queue (object) VALUES (?) ON CONFLICT DO NOTHING")
                .bind(blob.to_string())
                .execute(&mut *tx)
                .await
                .map_err(unavailable(op))?;
            match node {
                Node::Scan(s) => out.scans.push(s),
                Node::Derivative(d) => out.derivatives.push(d),
            }
            out.blobs.push(blob);
        }
        tx.commit().await.map_err(unavailable(op))?;
        Ok(out)
    }

    async fn record_disclosure(&self, d: Disclosure) -> Result<(), StoreError> {
        let (kind, node) = node_parts(d.node);
        sqlx::query(
            "INSERT INTO disclosures (node_kind, node_id, subject_id, purpose, recipient, vendor, kind, at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(kind)
        .bind(node)
        .bind(d.subject.to_string())
        .bind(d.purpose.0)
        .bind(d.recipient)
        .bind(d.vendor)
        .bind(d.kind)
        .bind(d.at.0)
        .execute(&self.pool)
        .await
        .map_err(unavailable("record disclosure"))?;
        Ok(())
    }

    async fn disclosures_of(&self, subject: SubjectId) -> Result<Vec<Disclosure>, StoreError> {
        let rows = sqlx::query(
            "SELECT node_kind, node_id, purpose, recipient, vendor, kind, at FROM disclosures \
             WHERE subject_id = ? ORDER BY seq",
        )
        .bind(subject.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable("list disclosures"))?;
        rows.iter()
            .map(|r| {
                let kind: String = get(r, "node_kind")?;
                Ok(Disclosure {
                    node: node_of(&kind, parse_id(r, "node_id")?)?,
                    subject,
                    purpose: Purpose(get(r, "purpose")?),
                    recipient: get(r, "recipient")?,
                    vendor: get(r, "vendor")?,
                    kind: get(r, "kind")?,
                    at: Timestamp(get(r, "at")?),
                })
            })
            .collect()
    }
}

impl GovernanceStore for SqlStore {
    async fn insert_consent(&self, c: ConsentRow) -> Result<(), StoreError> {
        let op = "insert consent";
        let mut tx = write_tx(&self.pool).await.map_err(unavailable(op))?;
        sqlx::query("INSERT INTO notices (sha256, version, text) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
            .bind(&c.notice_sha256)
            .bind(&c.notice_version)
            .bind(&c.notice_text)
            .execute(&mut *tx)
            .await
            .map_err(insert_err(op))?;
        sqlx::query(
            "INSERT INTO consents (id, subject_id, jurisdiction, notice_sha256, signed_at, recorded_at, \
             withdrawn_at, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.to_string())
        .bind(c.subject.to_string())
        .bind(&c.jurisdiction)
        .bind(&c.notice_sha256)
        .bind(c.signed_at.0)
        .bind(c.recorded_at.0)
        .bind(c.withdrawn_at.map(|t| t.0))
        .bind(&c.sealed)
        .execute(&mut *tx)
        .await
        .map_err(insert_err(op))?;
        tx.commit().await.map_err(unavailable(op))?;
        Ok(())
    }

    async fn consents_of(&self, subject: SubjectId) -> Result<Vec<ConsentRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.jurisdiction, c.notice_sha256, n.version, n.text, c.signed_at, c.recorded_at, \
             c.withdrawn_at, c.sealed FROM consents c JOIN notices n ON n.sha256 = c.notice_sha256 \
             WHERE c.subject_id = ? ORDER BY c.recorded_at, c.id",
        )
        .bind(subject.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable("list consents"))?;
        rows.iter()
            .map(|r| {
                Ok(ConsentRow {
                    id: parse_id(r, "id")?,
                    subject,
                    jurisdiction: get(r, "jurisdiction")?,
                    notice_version: get(r, "version")?,
                    notice_sha256: get(r, "notice_sha256")?,
                    notice_text: get(r, "text")?,
                    signed_at: Timestamp(get(r, "signed_at")?),
                    recorded_at: Timestamp(get(r, "recorded_at")?),
                    withdrawn_at: get::<Option<i64>>(r, "withdrawn_at")?.map(Timestamp),
                    sealed: get(r, "sealed")?,
                })
            })
            .collect()
    }

    async fn withdraw_consent(&self, id: Id, at: Timestamp) -> Result<bool, StoreError> {
        let op = "withdraw consent";
        let done = sqlx::query("UPDATE consents SET withdrawn_at = COALESCE(withdrawn_at, ?) WHERE id = ?")
            .bind(at.0)
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(unavailable(op))?;
        Ok(done.rows_affected() == 1)
    }

    async fn governance(&self, subject: SubjectId) -> Result<Option<GovernanceRow>, StoreError> {
        let row = sqlx::query("SELECT version, updated_at, sealed FROM governance WHERE subject_id = ?")
            .bind(subject.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable("get governance"))?;
        row.map(|r| {
            Ok(GovernanceRow {
                subject,
                version: u32_of(&r, "version")?,
                updated_at: Timestamp(get(&r, "updated_at")?),
                sealed: get(&r, "sealed")?,
            })
        })
        .transpose()
    }

    async fn put_governance(&self, g: GovernanceRow) -> Result<bool, StoreError> {
        let op = "put governance";
        let done = if g.version == 1 {
            sqlx::query(
                "INSERT INTO governance (subject_id, version, updated_at, sealed) VALUES (?, 1, ?, ?) \
                 ON CONFLICT (subject_id) DO NOTHING",
            )
            .bind(g.subject.to_string())
            .bind(g.updated_at.0)
            .bind(&g.sealed)
            .execute(&self.pool)
            .await
            .map_err(insert_err(op))?
        } else {
            sqlx::query(
                "UPDATE governance SET version = ?, updated_at = ?, sealed = ? WHERE subject_id = ? AND version = ?",
            )
            .bind(i64::from(g.version))
            .bind(g.updated_at.0)
            .bind(&g.sealed)
            .bind(g.subject.to_string())
            .bind(i64::from(g.version) - 1)
            .execute(&self.pool)
            .await
            .map_err(unavailable(op))?
        };
        Ok(done.rows_affected() == 1)
    }

    async fn subject_stamp(&self, subject: SubjectId) -> Result<Option<String>, StoreError> {
        // One statement over the indexes by subject: the same fingerprint as the memory store.
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) || ':' || COALESCE(MAX(recorded_at), 0) || ':' || COUNT(withdrawn_at) \
                       || ':' || COALESCE(MAX(withdrawn_at), 0) FROM consents WHERE subject_id = ?1) \
               || '|' || COALESCE((SELECT version FROM governance WHERE subject_id = ?1), 0) \
               || '|' || (SELECT COUNT(*) || ':' || COALESCE(MAX(imported_at), 0) FROM scans WHERE subject_id = ?1) \
               || '|' || (SELECT COUNT(*) || ':' || COALESCE(MAX(created_at), 0) FROM derivatives \
                          WHERE subject_id = ?1) AS stamp \
             FROM subjects WHERE id = ?1",
        )
        .bind(subject.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable("subject stamp"))?;
        row.map(|r| get::<String>(&r, "stamp")).transpose()
    }
}

impl RequestStore for SqlStore {
    async fn put_request(&self, r: RequestRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO requests (id, subject_id, kind, state, received_at, doc) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, doc = excluded.doc",
        )
        .bind(&r.id)
        .bind(&r.subject)
        .bind(&r.kind)
        .bind(&r.state)
        .bind(r.received_at.0)
        .bind(&r.doc)
        .execute(&self.pool)
        .await
        .map_err(insert_err("put request"))?;
        Ok(())
    }

    async fn requests(&self) -> Result<Vec<RequestRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, subject_id, kind, state, received_at, doc FROM requests ORDER BY received_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable("list requests"))?;
        rows.iter()
            .map(|r| {
                Ok(RequestRow {
                    id: get(r, "id")?,
                    subject: get(r, "subject_id")?,
                    kind: get(r, "kind")?,
                    state: get(r, "state")?,
                    received_at: Timestamp(get(r, "received_at")?),
                    doc: get(r, "doc")?,
                })
            })
            .collect()
    }

    async fn put_vendor_notice(&self, n: VendorNotice) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO vendor_notices (request_id, vendor, subject_id, sent_at, confirmed_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (request_id, vendor) DO NOTHING",
        )
        .bind(&n.request)
        .bind(&n.vendor)
        .bind(n.subject.to_string())
        .bind(n.sent_at.0)
        .bind(n.confirmed_at.map(|t| t.0))
        .execute(&self.pool)
        .await
        .map_err(insert_err("put vendor notice"))?;
        Ok(())
    }

    async fn confirm_vendor_notice(
        &self,
        request: String,
        vendor: String,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE vendor_notices SET confirmed_at = COALESCE(confirmed_at, ?) WHERE request_id = ? AND vendor = ?",
        )
        .bind(at.0)
        .bind(&request)
        .bind(&vendor)
        .execute(&self.pool)
        .await
        .map_err(unavailable("confirm vendor notice"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn vendor_notices(&self) -> Result<Vec<VendorNotice>, StoreError> {
        let rows = sqlx::query(
            "SELECT request_id, vendor, subject_id, sent_at, confirmed_at FROM vendor_notices ORDER BY sent_at, request_id, vendor",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable("list vendor notices"))?;
        rows.iter()
            .map(|r| {
                Ok(VendorNotice {
                    request: get(r, "request_id")?,
                    vendor: get(r, "vendor")?,
                    subject: SubjectId(parse_id(r, "subject_id")?),
                    sent_at: Timestamp(get(r, "sent_at")?),
                    confirmed_at: get::<Option<i64>>(r, "confirmed_at")?.map(Timestamp),
                })
            })
            .collect()
    }
}
