//! The one fixture every API test uses: a real vault (SQLite, blob files, the SQL audit log) in
//! its own temporary directory, an account per staff role, three invited patients, and helpers
//! to log in and send requests to the router in process (`oneshot`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use facevault_app::accounts::totp_now;
use facevault_app::{App, AppError, ClinicFiles, Journal, SignedLog};
use facevault_crypto::{KeyProvider, MemoryKeys};
use facevault_policy::Role;
use facevault_server::{router, AppState, Backend, Config};
use facevault_store_blob::ObjectBlobStore;
use facevault_store_sql::{SqlLogStore, SqlStore};
use facevault_vault::{DynBlobStore, DynMetadataStore, ScanId, SubjectDetails, SubjectId, SystemClock};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Every staff role, each with an account named after it.
pub const STAFF: [Role; 7] = [
    Role::Surgeon,
    Role::ClinicalStaff,
    Role::FrontDesk,
    Role::Marketing,
    Role::PrivacyOfficer,
    Role::Vendor,
    Role::Admin,
];

/// Every staff account and patients A and B: the callers a role table is checked against.
pub const USERS: [&str; 9] = [
    "surgeon",
    "clinical_staff",
    "front_desk",
    "marketing",
    "privacy_officer",
    "vendor",
    "admin",
    "patient-a",
    "patient-b",
];

/// What differs between the vaults the test areas start from.
#[derive(Clone, Copy, Debug)]
pub struct Subjects {
    /// Where patients A and B live (C is always in Illinois).
    pub jurisdiction: &'static str,
    /// Whether B has a scan (a request about a subject with none involves no biometric data).
    pub b_scanned: bool,
}

pub struct Fixture {
    pub app: axum::Router,
    pub state: Arc<AppState>,
    pub dir: PathBuf,
    /// A consenting subject with two scans: `scan_a` for treatment planning and `post_a`, the
    /// same face after a 2 mm nasal dorsum reduction, for post-op tracking.
    pub a: SubjectId,
    pub scan_a: ScanId,
    pub post_a: ScanId,
    /// Another consenting subject, with one scan for treatment planning if asked for.
    pub b: SubjectId,
    scan_b: Option<ScanId>,
    /// An Illinois subject with no consent on record and no scan.
    pub c: SubjectId,
    /// A staff account's TOTP secret (for the roles that need one); a patient's login name.
    pub secrets: HashMap<String, String>,
    /// One login per user for [`Fixture::session`]: a TOTP code is accepted once.
    logins: Mutex<HashMap<String, Who>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn password(user: &str) -> String {
    format!("test-{user}-password")
}

pub fn small_ply() -> Vec<u8> {
    let face = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 1500);
    facevault_mesh::to_bytes(&face.mesh, facevault_mesh::FileFormat::PlyBinaryLittleEndian)
}

/// A file from `docs/examples`.
pub fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh vault in a directory of its own (`name` and a counter keep the tests of this binary,
/// which run in parallel, apart), served with the configuration `tweak` leaves.
pub async fn fixture(name: &str, subjects: Subjects, tweak: impl FnOnce(&mut Config)) -> Fixture {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("facevault-api-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("vault.db");
    let keys: Box<dyn KeyProvider> = Box::new(MemoryKeys::generate().unwrap());
    let meta = SqlStore::open_sqlite(&db).await.unwrap();
    let blobs = ObjectBlobStore::local(&dir).unwrap();
    let (meta, blobs) = (DynMetadataStore::new(meta), DynBlobStore::new(blobs));
    let vault = facevault_vault::Vault::open(meta, blobs, keys, SystemClock).await.unwrap();
    let details = |name: &str, j: &str| SubjectDetails {
        name: name.into(),
        date_of_birth: None,
        contact: None,
        jurisdiction: Some(j.into()),
    };
    let a = vault.new_subject(&details("Patient A", subjects.jurisdiction)).await.unwrap();
    let b = vault.new_subject(&details("Patient B", subjects.jurisdiction)).await.unwrap();
    let c = vault.create_subject(&details("Patient C", "US-IL")).await.unwrap();
    let face = facevault_synthface::generate(&facevault_synthface::FaceParams::default(), 1500);
    let reduced = facevault_synthface::nasal_dorsum_reduction(&face, 2.0, 8.0);
    let capture = |p: &str| facevault_vault::Capture {
        device: "test".into(),
        captured_on: "2026-11-01".into(),
        purpose: facevault_vault::Purpose(p.into()),
    };
    let scan_a = vault.import_scan(a, &face.mesh, capture("treatment-planning")).await.unwrap();
    let post_a = vault.import_scan(a, &reduced.mesh, capture("post-op-tracking")).await.unwrap();
    let scan_b = if subjects.b_scanned {
        Some(vault.import_scan(b, &face.mesh, capture("treatment-planning")).await.unwrap())
    } else {
        None
    };
    let origin = format!("facevault.vault/{}", vault.id());
    let key = facevault_audit::SigningKey::generate(&origin).unwrap();
    let store = {
        let db = db.clone();
        // The SQL log store runs its own runtime: open it off this one.
        tokio::task::spawn_blocking(move || SqlLogStore::open_sqlite(&db).unwrap()).await.unwrap()
    };
    let journal = Journal::start(SignedLog::open(store, key, origin).unwrap()).unwrap();
    let policy = facevault_policy::Policy::default_for(facevault_domain::Catalogue::defaults()).unwrap();
    let files = Box::new(VaultFiles(dir.clone()));
    let app = App::new(vault, policy, journal, files);
    let mut config = Config { vault: dir.clone(), ..Config::default() };
    tweak(&mut config);
    let state = AppState::open(config, Backend { app }).await.unwrap();
    let mut secrets = HashMap::new();
    let meta = state.app().vault().metadata_store();
    for role in STAFF {
        let user = role.as_str();
        let secret = facevault_app::accounts::add_staff(
            meta,
            state.accounts_key(),
            user,
            role,
            &password(user),
            false,
        )
        .await
        .unwrap();
        if let Some(s) = secret {
            secrets.insert(user.to_owned(), s);
        }
    }
    for (user, subject) in [("patient-a", a), ("patient-b", b), ("patient-c", c)] {
        let (_, invitation, _) = facevault_app::accounts::invite_patient(meta, subject).await.unwrap();
        let acc =
            facevault_app::accounts::accept_invitation(meta, &invitation, &password(user)).await.unwrap();
        secrets.insert(user.to_owned(), acc.username);
    }
    Fixture {
        app: router(state.clone()),
        state,
        dir,
        a,
        scan_a,
        post_a,
        b,
        scan_b,
        c,
        secrets,
        logins: Mutex::default(),
    }
}

/// The clinic's files in the fixture's directory, as the binary keeps them in the vault's.
struct VaultFiles(PathBuf);

impl ClinicFiles for VaultFiles {
    fn config(&self, name: &str) -> Result<Option<String>, AppError> {
        match std::fs::read_to_string(self.0.join(name)) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AppError::internal(e)),
        }
    }

    fn write_config(&self, name: &str, text: &str) -> Result<(), AppError> {
        facevault_crypto::write_private(&self.0.join(name), text.as_bytes()).map_err(AppError::internal)
    }

    fn keep_certificate(&self, name: &str, json: &[u8]) -> Result<String, AppError> {
        let path = self.0.join("certificates").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).map_err(AppError::internal)?;
        facevault_crypto::write_private(&path, json).map_err(AppError::internal)?;
        Ok(path.display().to_string())
    }
}

/// A logged-in caller: the cookie and the CSRF token.
#[derive(Clone, Debug)]
pub struct Who {
    pub cookie: String,
    pub csrf: String,
}

/// A response: its status and headers, its body as text and as JSON (`Null` if it is not).
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
    pub text: String,
    pub content_type: String,
}

pub async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let content_type =
        headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, body, headers, text, content_type }
}

pub fn json_req(method: Method, path: &str, who: Option<&Who>, body: &Value) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(w) = who {
        r = r.header(header::COOKIE, &w.cookie).header("x-csrf-token", &w.csrf);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

/// A JSON POST.
pub fn post(path: &str, who: Option<&Who>, body: &Value) -> Request<Body> {
    json_req(Method::POST, path, who, body)
}

/// A POST without a body (the analyses take their arguments in the path and query).
pub fn post_empty(path: &str, who: &Who) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .body(Body::empty())
        .unwrap()
}

pub fn get(path: &str, who: Option<&Who>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(w) = who {
        r = r.header(header::COOKIE, &w.cookie);
    }
    r.body(Body::empty()).unwrap()
}

impl Fixture {
    /// B's scan; only for a fixture whose B has one.
    pub fn scan_b(&self) -> ScanId {
        self.scan_b.expect("this fixture gave B no scan")
    }

    /// The login name of `user` (a patient's is generated).
    pub fn username(&self, user: &str) -> String {
        if user.starts_with("patient") {
            self.secrets[user].clone()
        } else {
            user.to_owned()
        }
    }

    pub async fn try_login(&self, user: &str, password: &str, totp: Option<String>) -> Reply {
        let body = json!({"username": self.username(user), "password": password, "totp": totp});
        send(&self.app, json_req(Method::POST, "/api/login", None, &body)).await
    }

    /// A new session for `user`, with the second factor if their role needs one.
    pub async fn login(&self, user: &str) -> Who {
        let totp = self.secrets.get(user).filter(|_| !user.starts_with("patient")).and_then(|s| totp_now(s));
        let r = self.try_login(user, &password(user), totp).await;
        assert_eq!(r.status, StatusCode::OK, "{user}: {}", r.body);
        let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
        let cookie = set.split(';').next().unwrap().to_owned();
        Who { cookie, csrf: r.body["csrf_token"].as_str().unwrap().to_owned() }
    }

    /// `user`'s one session in this fixture: logged in the first time, then reused (a TOTP
    /// code is accepted once, so a second login within its window would fail).
    pub async fn session(&self, user: &str) -> Who {
        if let Some(w) = self.logins.lock().unwrap().get(user) {
            return w.clone();
        }
        let who = self.login(user).await;
        self.logins.lock().unwrap().insert(user.to_owned(), who.clone());
        who
    }

    /// A session for each of [`USERS`].
    pub async fn everyone(&self) -> HashMap<&'static str, Who> {
        let mut who = HashMap::new();
        for user in USERS {
            who.insert(user, self.session(user).await);
        }
        who
    }

    /// Writes `file` in the vault's directory.
    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.join(file), text).unwrap();
    }

    /// Checks that GET `path` answers 200 to exactly `allowed` and 403 to everyone else.
    pub async fn check_reads(&self, who: &HashMap<&'static str, Who>, path: &str, allowed: &[&str]) {
        let mut wrong = String::new();
        for user in USERS {
            let r = send(&self.app, get(path, Some(&who[user]))).await;
            let want = if allowed.contains(&user) { StatusCode::OK } else { StatusCode::FORBIDDEN };
            if r.status != want {
                wrong.push_str(&format!("GET {path} as {user}: {} (want {want}) {}\n", r.status, r.text));
            }
        }
        assert!(wrong.is_empty(), "{wrong}");
    }

    /// Every audit entry, as the privacy officer reads them.
    pub async fn audit(&self) -> Vec<Value> {
        let po = self.session("privacy_officer").await;
        let r = send(&self.app, get("/api/audit/entries?limit=1000", Some(&po))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body.as_array().unwrap().clone()
    }

    /// What a scan's lineage lists as derived from it, as the surgeon reads it.
    pub async fn descendants(&self, scan: ScanId) -> Vec<String> {
        let w = self.session("surgeon").await;
        let r = send(&self.app, get(&format!("/api/lineage/{scan}"), Some(&w))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["descendants"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_owned()).collect()
    }
}

/// The fixture's server on a real TCP port (the connection loop of `facevault serve`, with its
/// header timeout and every layer), for the tests that attack it as a client on the network
/// would. Dropping it stops the server.
pub struct Live {
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Fixture {
    /// Serves this fixture's state on 127.0.0.1 on a free port.
    pub async fn serve(&self) -> Live {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = self.state.clone();
        tokio::spawn(async move {
            let _ = facevault_server::serve_on(listener, state, async {
                let _ = stopped.await;
            })
            .await;
        });
        Live { addr, stop: Some(stop) }
    }
}

impl Live {
    /// Sends `req` over a new TCP connection (HTTP/1.1, `Connection: close`) and reads the whole
    /// answer.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        self.send_from(None, req).await
    }

    /// [`Live::send`] from the local address `from` (any of 127.0.0.0/8 on Linux), for tests
    /// of what the server does per client address.
    pub async fn send_from(&self, from: Option<std::net::IpAddr>, req: Request<Body>) -> Reply {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (parts, body) = req.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut head =
            format!("{} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", parts.method, self.addr);
        for (name, value) in &parts.headers {
            head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut tcp = match from {
            None => tokio::net::TcpStream::connect(self.addr).await.unwrap(),
            Some(ip) => {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(std::net::SocketAddr::new(ip, 0)).unwrap();
                socket.connect(self.addr).await.unwrap()
            }
        };
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(&body).await.unwrap();
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.unwrap();
        parse_reply(&raw)
    }
}

/// An HTTP/1.1 answer as read off the wire (a body of `Content-Length`, chunks, or to the end).
pub fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("no end of headers in the answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let code: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            header::HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    let chunked = headers.get(header::TRANSFER_ENCODING).is_some_and(|v| v.as_bytes() == b"chunked");
    let bytes = if chunked {
        let mut out = Vec::new();
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16).unwrap();
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        out
    } else {
        let len = headers.get(header::CONTENT_LENGTH).map(|v| v.to_str().unwrap().parse::<usize>().unwrap());
        rest[..len.unwrap_or(rest.len()).min(rest.len())].to_vec()
    };
    let content_type =
        headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status: StatusCode::from_u16(code).unwrap(), body, headers, text, content_type }
}
