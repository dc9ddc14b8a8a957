//! Accounts of the server's users, kept in the vault's `AccountStore`: staff with Argon2id
//! passwords and, for the privacy officer and admin, a TOTP second factor whose secret is sealed
//! under an accounts key wrapped by the vault's KEK; patients by invitation (a generated login
//! name bound to their subject id, the invitation kept as a hash). The CLI (`facevault account`)
//! and the server (invitations, login) both use these. Sessions and cookies are the server's.
//!
//! Credentials never exceed their issuer: an invitation (which lets its holder act as the
//! patient) is issued only by a role that may read the patient's record, one portal account per
//! subject, a replacement only by the privacy officer; an API token's role may do nothing with
//! data, for its purposes, that its issuer's role may not (the policy shows it), and is in no
//! role gate its issuer is not in.
//!
//! No password, code or secret is logged, returned in an error, or stored but hashed or sealed.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use facevault_crypto::{
    open as open_blob, seal_slice, BlobContext, DataKey, Id, KeyContext, KeyProvider, ObjectKind, WrappedKey,
};
use facevault_policy::{gates, Action, Role};
use facevault_vault::{AccountRow, AccountStore, BlobStore, MetadataStore, SubjectId};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::AppError;
use crate::journal::{Jot, Record};
use crate::session::Session;
use crate::App;

/// Stands in for a subject id when the accounts key is wrapped; no subject has it.
const ACCOUNTS_KEY_ID: Id = Id::from_bytes(*b"facevault-accts\0");
const ACCOUNTS_KEY_NAME: &str = "accounts-key";

/// The roles that must log in with a second factor.
pub const TOTP_ROLES: &[Role] = &[Role::PrivacyOfficer, Role::Admin];

/// Random bytes from the system.
pub fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, AppError> {
    let mut b = Zeroizing::new([0u8; N]);
    getrandom::fill(b.as_mut()).map_err(|e| AppError::internal(format!("no system randomness: {e}")))?;
    Ok(b)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new secret as URL-safe base64 with `prefix`, and its hash as stored.
pub fn new_secret(prefix: &str) -> Result<(Zeroizing<String>, String), AppError> {
    let bytes = random::<32>()?;
    let secret = Zeroizing::new(format!("{prefix}{}", B64URL.encode(&bytes[..])));
    let hash = sha256_hex(secret.as_bytes());
    Ok((secret, hash))
}

// ---------------------------------------------------------------- passwords

/// The Argon2id hash of a password (PHC string with its own salt).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = random::<16>()?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), salt.as_ref())
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordVerifier::<str>::verify_password(&Argon2::default(), password.as_bytes(), hash).is_ok()
}

/// A hash no password matches, verified against when the account does not exist so that a
/// wrong name takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy: no account has this").unwrap_or_default())
}

/// What a new password must be: 12 to 1024 characters.
pub fn check_new_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if !(12..=1024).contains(&n) {
        return Err(AppError::field("password", "a password has 12 to 1024 characters"));
    }
    Ok(())
}

// ---------------------------------------------------------------- TOTP

/// The RFC 6238 code for time step `step` (30 s steps since the epoch), 6 digits.
pub fn totp_code(secret: &[u8], step: u64) -> u32 {
    use hmac::{Hmac, KeyInit, Mac};
    let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret) else {
        return u32::MAX;
    };
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]);
    bin % 1_000_000
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The current code of a secret given in base32 (as an authenticator app shows it).
pub fn totp_now(secret_base32: &str) -> Option<String> {
    let secret = base32_decode(secret_base32)?;
    Some(format!("{:06}", totp_code(&secret, unix_now() / 30)))
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, the form authenticator apps take.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let v = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(char::from(B32[((v >> (35 - 5 * i)) & 31) as usize]));
        }
    }
    out
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut acc = 0u64;
    let mut out = Vec::new();
    for c in s.trim().trim_end_matches('=').bytes() {
        let v = B32.iter().position(|&b| b == c.to_ascii_uppercase())?;
        acc = (acc << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The server's key for sealing TOTP secrets: a data key wrapped under the vault's KEK and
/// kept in `server_keys`; created on first use.
pub struct AccountsKey {
    vault: Id,
    key: DataKey,
}

impl std::fmt::Debug for AccountsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountsKey(..)")
    }
}

impl AccountsKey {
    pub async fn load(
        vault: Id,
        meta: &impl AccountStore,
        keys: &dyn KeyProvider,
    ) -> Result<AccountsKey, AppError> {
        let kctx = KeyContext { vault, subject: ACCOUNTS_KEY_ID };
        let unwrap = |bytes: Vec<u8>| -> Result<AccountsKey, AppError> {
            let (version, wrapped) =
                bytes.split_first_chunk::<4>().ok_or_else(|| AppError::internal("accounts key: short"))?;
            let wrapped =
                WrappedKey::from_parts(facevault_crypto::KekVersion(u32::from_be_bytes(*version)), wrapped)
                    .map_err(AppError::internal)?;
            let key = keys.unwrap(&kctx, &wrapped).map_err(AppError::internal)?;
            Ok(AccountsKey { vault, key })
        };
        if let Some(bytes) = meta.server_key(ACCOUNTS_KEY_NAME).await.map_err(AppError::internal)? {
            return unwrap(bytes);
        }
        let key = DataKey::generate().map_err(AppError::internal)?;
        let wrapped = keys.wrap(&kctx, &key).map_err(AppError::internal)?;
        let mut bytes = wrapped.kek_version().0.to_be_bytes().to_vec();
        bytes.extend_from_slice(wrapped.as_bytes());
        match meta.put_server_key(ACCOUNTS_KEY_NAME, &bytes).await {
            Ok(()) => Ok(AccountsKey { vault, key }),
            // Another process created it first: use theirs.
            Err(facevault_vault::StoreError::Conflict { .. }) => {
                let bytes = meta.server_key(ACCOUNTS_KEY_NAME).await.map_err(AppError::internal)?;
                unwrap(bytes.ok_or_else(|| AppError::internal("accounts key vanished"))?)
            }
            Err(e) => Err(AppError::internal(e)),
        }
    }

    fn context(&self, username: &str) -> BlobContext {
        let d = Sha256::digest(username.as_bytes());
        let mut object = [0u8; 16];
        object.copy_from_slice(&d[..16]);
        BlobContext {
            vault: self.vault,
            subject: ACCOUNTS_KEY_ID,
            object: Id::from_bytes(object),
            kind: ObjectKind::SubjectDetails,
            version: 1,
        }
    }

    pub fn seal(&self, username: &str, secret: &[u8]) -> Result<Vec<u8>, AppError> {
        seal_slice(&self.key, &self.context(username), secret).map_err(AppError::internal)
    }

    pub fn open(&self, username: &str, sealed: Vec<u8>) -> Result<Zeroizing<Vec<u8>>, AppError> {
        open_blob(&self.key, &self.context(username), sealed).map(Zeroizing::new).map_err(AppError::internal)
    }
}

/// A login name: 3 to 64 of `a-z 0-9 . _ -`, starting with a letter (it appears in the audit
/// log as the actor, so it must be a token and should not be a person's full name).
pub fn check_username(name: &str) -> Result<(), AppError> {
    let ok = (3..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AppError::field("username", "3 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter"))
    }
}

/// A new staff account (from `facevault account add` or the demo). Returns the TOTP secret
/// in base32 when the account has a second factor (required for privacy officer and admin).
pub async fn add_staff(
    meta: &impl AccountStore,
    key: &AccountsKey,
    username: &str,
    role: Role,
    password: &str,
    totp: bool,
) -> Result<Option<String>, AppError> {
    check_username(username)?;
    if role == Role::Patient {
        return Err(AppError::field("role", "patient accounts are created by invitation"));
    }
    check_new_password(password)?;
    let totp = totp || TOTP_ROLES.contains(&role);
    let secret = if totp { Some(random::<20>()?) } else { None };
    let row = AccountRow {
        username: username.into(),
        role: role.as_str().into(),
        subject: None,
        password_hash: Some(hash_password(password)?),
        totp_sealed: secret.as_ref().map(|s| key.seal(username, s.as_ref())).transpose()?,
        invite_hash: None,
        invite_expires: None,
        created_at: unix_now() as i64,
        invited_by: None,
    };
    meta.add_account(&row).await.map_err(|e| match e {
        facevault_vault::StoreError::Conflict { .. } => {
            AppError::conflict(format!("account {username} exists"))
        }
        e => AppError::internal(e),
    })?;
    Ok(secret.map(|s| base32(s.as_ref())))
}

/// How long a patient's invitation stays open.
const INVITATION_DAYS: i64 = 7;

/// Creates a patient's portal account for `subject`, with no password until the invitation
/// is accepted: returns the login name (a generated handle), the one-time invitation secret
/// (only its hash is kept) and when it expires (Unix seconds). The store refuses a second
/// account for a subject. For fixtures and the demo; people invite through
/// [`App::invite_patient`], which checks who may.
pub async fn invite_patient(
    meta: &impl AccountStore,
    subject: SubjectId,
) -> Result<(String, Zeroizing<String>, i64), AppError> {
    open_invitation(meta, subject, None).await
}

/// As [`invite_patient`], recording who invited.
async fn open_invitation(
    meta: &impl AccountStore,
    subject: SubjectId,
    invited_by: Option<&str>,
) -> Result<(String, Zeroizing<String>, i64), AppError> {
    let handle = random::<5>()?;
    let username = format!("patient-{}", handle.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let (secret, hash) = new_secret("fvi_")?;
    let now = unix_now() as i64;
    let expires = now + INVITATION_DAYS * 86_400;
    meta.add_account(&AccountRow {
        username: username.clone(),
        role: Role::Patient.as_str().into(),
        subject: Some(subject.to_string()),
        password_hash: None,
        totp_sealed: None,
        invite_hash: Some(hash),
        invite_expires: Some(expires),
        created_at: now,
        invited_by: invited_by.map(str::to_owned),
    })
    .await
    .map_err(|e| match e {
        facevault_vault::StoreError::Conflict { .. } => AppError::conflict(format!(
            "subject {subject} already has a portal account; a new invitation replaces it and only \
             the privacy officer issues one"
        )),
        e => AppError::internal(e),
    })?;
    Ok((username, secret, expires))
}

/// A patient accepts an invitation and sets their password; it cannot be accepted twice.
pub async fn accept_invitation(
    meta: &impl AccountStore,
    invitation: &str,
    password: &str,
) -> Result<AccountRow, AppError> {
    check_new_password(password)?;
    let hash = sha256_hex(invitation.trim().as_bytes());
    let gone = || AppError::not_found("no open invitation matches; ask the clinic for a new one");
    let account = meta.account_by_invite(&hash).await.map_err(AppError::internal)?.ok_or_else(gone)?;
    if account.invite_expires.is_none_or(|e| e <= unix_now() as i64) {
        return Err(gone());
    }
    let phc = hash_password(password)?;
    if !meta.accept_invite(&hash, &phc).await.map_err(AppError::internal)? {
        return Err(gone());
    }
    Ok(account)
}

/// A patient's invitation: their login name, the one-time secret to give them, and when it
/// expires (Unix seconds).
#[derive(Debug)]
pub struct Invitation {
    pub username: String,
    pub secret: Zeroizing<String>,
    pub expires: i64,
}

/// Who invited a patient to the portal and when (Unix seconds), as the patient is shown it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitedBy {
    /// The inviting account's login name (`None` for accounts made before it was recorded).
    pub by: Option<String>,
    pub at: i64,
}

impl<M: MetadataStore + AccountStore, B: BlobStore> App<M, B> {
    /// Adds a staff account (the privacy office); returns the TOTP secret in base32 when it has
    /// a second factor (always for the privacy officer and admin).
    pub async fn add_staff(
        &self,
        s: &Session,
        username: &str,
        role: Role,
        password: &str,
        totp: bool,
    ) -> Result<Option<String>, AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::COMPLIANCE, "account.add", "administration", "accounts".into(), None)?;
            let meta = self.vault.metadata_store();
            let key = AccountsKey::load(self.vault.id(), meta, self.vault.key_provider().as_ref()).await?;
            let secret = add_staff(meta, &key, username, role, password, totp).await?;
            jot.change(
                "account.add",
                "administration",
                format!("account:{username}"),
                format!("role {role}"),
            );
            Ok(secret)
        })
    }

    /// The accounts (the privacy office): names, roles, second factor, a patient's subject.
    pub async fn accounts(&self, s: &Session) -> Result<Vec<AccountRow>, AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::COMPLIANCE, "account.list", "administration", "accounts".into(), None)?;
            let rows = self.vault.metadata_store().accounts().await?;
            jot.change("account.list", "administration", "accounts".into(), format!("{} listed", rows.len()));
            Ok(rows)
        })
    }

    /// Invites a patient to the portal: creates their account with no password until they
    /// accept, and returns the one-time secret to give them. The secret lets whoever holds it
    /// act as the patient, so only a person whose role may read the patient's record issues
    /// one (the care team, the privacy officer; not the front desk or admin). One portal
    /// account per subject: while the subject has one (accepted or not), a new invitation
    /// replaces it and only the privacy officer issues that (the old login and invitation stop
    /// working); anyone else is refused as a conflict with the subject's state.
    pub async fn invite_patient(&self, s: &Session, subject: SubjectId) -> Result<Invitation, AppError> {
        journaled!(self, s, |jot| {
            let object = format!("subject:{subject}");
            person_only(s)?;
            if !self.policy.role_may(s.role, Action::Read, crate::CLINICAL) {
                let reason = format!(
                    "an invitation lets its holder act as the patient; role {} may not read the \
                     patient's record, so it issues none",
                    s.role
                );
                jot.push(Record::denied("account.invite", "administration", object, reason.clone()));
                return Err(AppError::forbidden(reason));
            }
            self.gate(
                s,
                &jot,
                gates::INVITE,
                "account.invite",
                "administration",
                object.clone(),
                Some(subject),
            )?;
            self.vault.scans_of(subject).await?;
            let meta = self.vault.metadata_store();
            let subject_text = subject.to_string();
            let existing =
                meta.accounts().await?.into_iter().find(|a| a.subject.as_deref() == Some(&subject_text));
            if let Some(old) = existing {
                let since = crate::time::secs_rfc3339(old.created_at);
                if !gates::REINVITE.contains(&s.role) {
                    let reason = format!(
                        "subject {subject} already has a portal account ({}, invited {since}); one \
                         account per subject: a new invitation replaces it and only the privacy \
                         officer issues one",
                        old.username
                    );
                    jot.push(Record::denied("account.invite", "administration", object, reason.clone()));
                    return Err(AppError::conflict(reason));
                }
                meta.remove_subject_accounts(&subject_text).await?;
                jot.change(
                    "account.replace",
                    "administration",
                    format!("account:{}", old.username),
                    format!("portal account of {object} (invited {since}) replaced by a new invitation"),
                );
            }
            let (username, secret, expires) = open_invitation(meta, subject, Some(&s.actor)).await?;
            jot.change(
                "account.invite",
                "administration",
                object,
                format!("patient account {username} invited"),
            );
            Ok(Invitation { username, secret, expires })
        })
    }

    /// A patient accepts their invitation and sets a password; journaled under their account,
    /// naming who invited them.
    pub async fn accept_invitation(&self, invitation: &str, password: &str) -> Result<AccountRow, AppError> {
        let meta = self.vault.metadata_store();
        let pw = Zeroizing::new(password.to_owned());
        let invitation = Zeroizing::new(invitation.to_owned());
        let account = accept_invitation(meta, &invitation, &pw).await?;
        let subject = account.subject.as_deref().and_then(|s| s.parse().ok());
        let by = account.invited_by.as_deref().unwrap_or("unrecorded");
        let jot = Jot::new();
        jot.push(Record::change(
            "account.accept",
            "administration",
            format!("account:{}", account.username),
            format!("invitation by {by} accepted, password set"),
        ));
        self.audited(&Session::patient(account.username.clone(), subject), jot, Ok(account)).await
    }

    /// The session of a patient named by their portal login name (the CLI's `--role patient
    /// --actor <login>`): their account gives their own subject, as a login does. A name that
    /// is no patient's account acts on no subject.
    pub async fn patient_session(&self, login: &str) -> Result<Session, AppError> {
        let account = self.vault.metadata_store().account(login).await?;
        let subject = account
            .filter(|a| a.role == Role::Patient.as_str())
            .and_then(|a| a.subject)
            .and_then(|s| s.parse().ok());
        Ok(Session::patient(login, subject))
    }

    /// Who invited the calling patient and when (`None` for staff and tokens): what the
    /// patient's portal shows from their first login on.
    pub async fn invited_by(&self, s: &Session) -> Result<Option<InvitedBy>, AppError> {
        if s.role != Role::Patient || !s.is_person() {
            return Ok(None);
        }
        let account = self.vault.metadata_store().account(&s.actor).await?;
        Ok(account.map(|a| InvitedBy { by: a.invited_by, at: a.created_at }))
    }
}

/// Whether a credential (an API token) acting in `role` for `purposes` stays within what its
/// issuer's role may do: for every purpose and action, the policy lets `role` do nothing that
/// it does not let `issuer` do, and `role` is in no role gate `issuer` is not in. The reason
/// when it does not.
fn within_issuer(
    policy: &facevault_policy::Policy,
    issuer: Role,
    role: Role,
    purposes: &[String],
) -> Result<(), String> {
    if role == issuer {
        return Ok(());
    }
    for p in purposes {
        if let Some(a) =
            Action::ALL.into_iter().find(|&a| policy.role_may(role, a, p) && !policy.role_may(issuer, a, p))
        {
            return Err(format!(
                "a token may do no more than its issuer: role {role} may {a} for {p}, which role \
                 {issuer} may not"
            ));
        }
    }
    if gates::ALL.iter().any(|g| g.contains(&role) && !g.contains(&issuer)) {
        return Err(format!(
            "a token may do no more than its issuer: role {role} has rights role {issuer} has not"
        ));
    }
    Ok(())
}

/// API tokens start with this, so a leaked one is recognisable (and scannable).
pub const TOKEN_PREFIX: &str = "fvt_";

/// A new API token, as a front end took it.
#[derive(Clone, Debug)]
pub struct NewToken {
    /// What the token is for (an integration's name: a-z 0-9 . _ -).
    pub name: String,
    /// The role it acts in (not patient).
    pub role: String,
    /// The purposes it may be used for (at least one, of the catalogue).
    pub purposes: Vec<String>,
    /// Days until it expires (1 to 365).
    pub expires_in_days: u32,
}

/// An issued token: its row and the secret, shown once (only its hash is kept).
#[derive(Debug)]
pub struct IssuedToken {
    pub row: facevault_vault::TokenRow,
    pub secret: Zeroizing<String>,
}

/// Only a person (not a token) manages tokens and accounts.
fn person_only(s: &Session) -> Result<(), AppError> {
    if s.is_person() {
        Ok(())
    } else {
        Err(AppError::forbidden("API tokens cannot manage tokens or accounts; log in"))
    }
}

impl<M: MetadataStore + AccountStore, B: BlobStore> App<M, B> {
    /// Issues an API token for an integration (the privacy office, logged in).
    pub async fn create_token(&self, s: &Session, new: NewToken) -> Result<IssuedToken, AppError> {
        journaled!(self, s, |jot| {
            person_only(s)?;
            self.gate(s, &jot, gates::COMPLIANCE, "token.create", "administration", "tokens".into(), None)?;
            check_username(&new.name)
                .map_err(|_| AppError::field("name", "3 to 64 of a-z, 0-9, '.', '_', '-'"))?;
            let role: Role = new
                .role
                .parse()
                .map_err(|_| AppError::field("role", format!("{:?} is not a role", new.role)))?;
            if role == Role::Patient {
                return Err(AppError::field("role", "a patient acts through their own login, not a token"));
            }
            if new.purposes.is_empty() {
                return Err(AppError::field("purposes", "name at least one purpose"));
            }
            if let Some(p) = new.purposes.iter().find(|p| self.policy.catalogue().get(p).is_none()) {
                return Err(AppError::field("purposes", format!("{p:?} is not a purpose of the catalogue")));
            }
            if !(1..=365).contains(&new.expires_in_days) {
                return Err(AppError::field("expires_in_days", "1 to 365"));
            }
            if let Err(reason) = within_issuer(&self.policy, s.role, role, &new.purposes) {
                jot.push(Record::denied("token.create", "administration", "tokens".into(), reason.clone()));
                return Err(AppError::forbidden(reason));
            }
            let (secret, hash) = new_secret(TOKEN_PREFIX)?;
            let id = Id::random().map_err(AppError::internal)?.to_string();
            let now = unix_now() as i64;
            let row = facevault_vault::TokenRow {
                id: id.clone(),
                token_hash: hash,
                name: new.name.clone(),
                role: role.as_str().into(),
                purposes: new.purposes.join(","),
                created_by: s.actor.clone(),
                created_at: now,
                expires_at: now + i64::from(new.expires_in_days) * 86_400,
                revoked: false,
            };
            self.vault.metadata_store().add_token(&row).await?;
            jot.change(
                "token.create",
                "administration",
                format!("token:{id}"),
                format!("role {role} for {}", row.purposes),
            );
            Ok(IssuedToken { row, secret })
        })
    }

    /// The API tokens (never their secrets).
    pub async fn tokens(&self, s: &Session) -> Result<Vec<facevault_vault::TokenRow>, AppError> {
        journaled!(self, s, |jot| {
            self.gate(s, &jot, gates::COMPLIANCE, "token.list", "administration", "tokens".into(), None)?;
            let rows = self.vault.metadata_store().tokens().await?;
            jot.change("token.list", "administration", "tokens".into(), format!("{} listed", rows.len()));
            Ok(rows)
        })
    }

    /// Revokes an API token at once.
    pub async fn revoke_token(&self, s: &Session, id: Id) -> Result<(), AppError> {
        journaled!(self, s, |jot| {
            person_only(s)?;
            self.gate(s, &jot, gates::COMPLIANCE, "token.revoke", "administration", "tokens".into(), None)?;
            if !self.vault.metadata_store().revoke_token(&id.to_string()).await? {
                return Err(AppError::not_found(format!("no token {id}")));
            }
            jot.change("token.revoke", "administration", format!("token:{id}"), "revoked");
            Ok(())
        })
    }
}
