//! The one error of every use case. Its [`ErrorKind`] is what the front ends render: the CLI as
//! an exit code ([`ErrorKind::exit_code`]), the server as an HTTP status and a stable code
//! ([`ErrorKind::status`], [`ErrorKind::code`]). A rule about which failure is which lives here
//! and nowhere else.

use std::fmt;

use facevault_crypto::CryptoError;
use facevault_vault::VaultError;

/// What kind of failure, for the front ends to render.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A value the caller gave is wrong; `field` names it.
    Invalid,
    /// No such subject, scan, derivative, request or token (or it was shredded).
    NotFound,
    /// The caller's role may not do this (a role gate), or a patient asked about someone else.
    Forbidden,
    /// The policy or the consent refused the access.
    Denied,
    /// An API token asked for a purpose it was not issued for.
    OutOfScope,
    /// The object's state does not allow it now: a legal hold, a request's state, a duplicate.
    Conflict,
    /// The uploaded or imported bytes are not a valid mesh.
    MalformedMesh,
    /// An analysis could not produce a trustworthy result (for example a poor alignment).
    AnalysisFailed,
    /// A body or file over the limit.
    TooLarge,
    /// The key provider does not hold the vault's key, or the passphrase is wrong.
    Key,
    /// The vault is damaged: a blob is missing or does not decrypt.
    Damaged,
    /// An output file could not be written.
    Output,
    /// A configuration text of the clinic (`vendors.toml`, `clinic.toml`, `posture.toml`,
    /// `purposes.toml`) is wrong: for whoever runs FaceVault to fix, not the caller.
    Misconfigured,
    /// Anything else: the detail is for the operator's log.
    Internal,
}

impl ErrorKind {
    /// The CLI's exit code: 3 invalid input, 4 output not written, 5 wrong passphrase or key,
    /// 6 unknown or shredded id, 7 damaged vault, 8 refused by the policy, the consent or the
    /// role, 9 not allowed in the object's present state, 1 anything else.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Invalid
            | ErrorKind::MalformedMesh
            | ErrorKind::TooLarge
            | ErrorKind::Misconfigured => 3,
            ErrorKind::Output => 4,
            ErrorKind::Key => 5,
            ErrorKind::NotFound => 6,
            ErrorKind::Damaged => 7,
            ErrorKind::Forbidden | ErrorKind::Denied | ErrorKind::OutOfScope => 8,
            ErrorKind::Conflict => 9,
            ErrorKind::AnalysisFailed | ErrorKind::Internal => 1,
        }
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Invalid => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Forbidden | ErrorKind::Denied | ErrorKind::OutOfScope => 403,
            ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::MalformedMesh | ErrorKind::AnalysisFailed => 422,
            ErrorKind::Key
            | ErrorKind::Damaged
            | ErrorKind::Output
            | ErrorKind::Misconfigured
            | ErrorKind::Internal => 500,
        }
    }

    /// The stable machine-readable code of the HTTP error body.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "bad_request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Denied => "denied",
            ErrorKind::OutOfScope => "out_of_scope",
            ErrorKind::Conflict => "conflict",
            ErrorKind::MalformedMesh => "malformed_mesh",
            ErrorKind::AnalysisFailed => "analysis_failed",
            ErrorKind::TooLarge => "payload_too_large",
            ErrorKind::Key
            | ErrorKind::Damaged
            | ErrorKind::Output
            | ErrorKind::Misconfigured
            | ErrorKind::Internal => "internal",
        }
    }

    /// Whether the message is for the operator only (a server answers a generic one).
    pub fn is_internal(self) -> bool {
        self.status() >= 500
    }
}

/// A use case that failed: its kind, a message naming ids (never a subject's details or key
/// material), and the field of the request at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
    pub field: Option<String>,
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> AppError {
        AppError { kind, message: message.into(), field: None }
    }

    /// A wrong value, naming the field (an HTTP body field or query parameter; the CLI's
    /// matching option).
    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        AppError { kind: ErrorKind::Invalid, message: message.into(), field: Some(field.to_owned()) }
    }

    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Forbidden, message)
    }

    pub fn denied(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Denied, message)
    }

    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Conflict, message)
    }

    pub fn internal(detail: impl fmt::Display) -> AppError {
        AppError::new(ErrorKind::Internal, detail.to_string())
    }

    /// The same error about `field`.
    pub fn at(mut self, field: &str) -> AppError {
        self.field = Some(field.to_owned());
        self
    }
}

/// The message, after the field at fault when there is one (`date_of_birth: not a date`).
impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AppError {}

/// The kind of a key provider's failure, if it is one the person running FaceVault can fix.
fn key_kind(c: &CryptoError) -> Option<String> {
    let msg = c.to_string();
    Some(match c {
        CryptoError::KeyUnwrapFailed { .. } | CryptoError::UnknownKekVersion { .. } => format!(
            "{msg}: the key provider does not hold this vault's key (wrong {} or key file?)",
            facevault_crypto::EnvKey::VAR
        ),
        CryptoError::WrongPassphrase { .. }
        | CryptoError::BadKeyFile { .. }
        | CryptoError::KeyFileIo { .. }
        | CryptoError::EnvMissing { .. }
        | CryptoError::EnvInvalid { .. }
        | CryptoError::EmptyPassphrase
        | CryptoError::WeakKdfParams { .. } => msg,
        _ => return None,
    })
}

impl From<CryptoError> for AppError {
    fn from(c: CryptoError) -> AppError {
        match key_kind(&c) {
            Some(m) => AppError::new(ErrorKind::Key, m),
            None => AppError::new(ErrorKind::Internal, c.to_string()),
        }
    }
}

impl From<VaultError> for AppError {
    fn from(e: VaultError) -> AppError {
        let msg = e.to_string();
        let kind = match &e {
            VaultError::UnknownSubject { .. }
            | VaultError::UnknownScan { .. }
            | VaultError::UnknownDerivative { .. }
            | VaultError::UnknownRequest { .. }
            | VaultError::UnknownConsent { .. } => ErrorKind::NotFound,
            VaultError::ConsentRefused { .. }
            | VaultError::NoConsent { .. }
            | VaultError::CaptureRefused { .. }
            | VaultError::NotGranted { .. } => ErrorKind::Denied,
            VaultError::HoldExists { .. }
            | VaultError::NoSuchHold { .. }
            | VaultError::Contended { .. }
            | VaultError::ConsentNotPending { .. } => ErrorKind::Conflict,
            VaultError::MissingBlob { .. } | VaultError::Crypto(CryptoError::DecryptionFailed { .. }) => {
                return AppError::new(ErrorKind::Damaged, format!("{msg}; run `facevault fsck`"));
            }
            VaultError::Crypto(c) => match key_kind(c) {
                Some(m) => return AppError::new(ErrorKind::Key, m),
                None => ErrorKind::Internal,
            },
            _ => ErrorKind::Internal,
        };
        AppError::new(kind, msg)
    }
}

impl From<facevault_vault::StoreError> for AppError {
    fn from(e: facevault_vault::StoreError) -> AppError {
        AppError::from(VaultError::Store(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_kind_renders_the_same_on_both_front_ends() {
        let table = [
            (ErrorKind::Invalid, 3, 400),
            (ErrorKind::NotFound, 6, 404),
            (ErrorKind::Denied, 8, 403),
            (ErrorKind::Forbidden, 8, 403),
            (ErrorKind::Conflict, 9, 409),
            (ErrorKind::Damaged, 7, 500),
            (ErrorKind::Key, 5, 500),
        ];
        for (kind, exit, status) in table {
            assert_eq!((kind.exit_code(), kind.status()), (exit, status), "{kind:?}");
        }
    }

    #[test]
    fn vault_errors_are_classified_once() {
        let e = AppError::from(VaultError::UnknownRequest { id: "r1".into() });
        assert_eq!((e.kind, e.message.contains("r1")), (ErrorKind::NotFound, true));
    }
}
