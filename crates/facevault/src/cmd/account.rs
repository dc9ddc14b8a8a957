//! `facevault account add|list` (server accounts, kept in the vault's database) and
//! `facevault otp` (the current code of a TOTP secret, for scripts and the demo; people use an
//! authenticator app). Passwords never appear on the command line: they come from
//! $FACEVAULT_NEW_PASSWORD or are asked for without echo.

use std::io::{Read, Write};

use anyhow::Result;
use clap::Subcommand;
use facevault_policy::Role;
use zeroize::Zeroizing;

use super::vault::Ctx;
use super::Failure;

const PASSWORD_VAR: &str = "FACEVAULT_NEW_PASSWORD";

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add a staff account for the server (privacy officer or admin only). The password comes
    /// from $FACEVAULT_NEW_PASSWORD, else is asked twice. Privacy officer and admin accounts
    /// get a TOTP second factor, as does any account given --totp: its secret is printed
    /// once, to enter in an authenticator app. Patients are invited from the server.
    Add {
        /// The login name: 3 to 64 of a-z, 0-9, '.', '_', '-' (it is the audit log's actor).
        username: String,
        /// Its role: surgeon, clinical_staff, front_desk, marketing, privacy_officer, vendor or
        /// admin.
        #[arg(value_name = "ROLE")]
        account_role: String,
        /// Require a TOTP code at login (always on for privacy_officer and admin).
        #[arg(long)]
        totp: bool,
    },
    /// List the server's accounts: name, role, second factor, and a patient's subject.
    List,
    /// Invite a patient to the portal: creates their account (a generated login name bound to
    /// the subject) and prints the one-time invitation secret, valid 7 days, to give them.
    Invite { subject: facevault_vault::SubjectId },
    /// Accept an invitation: the secret comes from $FACEVAULT_INVITATION and the new password
    /// from $FACEVAULT_NEW_PASSWORD (else both are asked for). Prints the login name.
    Accept,
}

fn new_password() -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(PASSWORD_VAR) {
        return Ok(Zeroizing::new(p));
    }
    let no_tty =
        |e: std::io::Error| Failure::Input(format!("cannot ask for the password ({e}); set {PASSWORD_VAR}"));
    let first = Zeroizing::new(rpassword::prompt_password("New account password: ").map_err(no_tty)?);
    let again = Zeroizing::new(rpassword::prompt_password("Again: ").map_err(no_tty)?);
    if *first != *again {
        return Err(Failure::Input("the passwords differ".into()).into());
    }
    Ok(first)
}

pub(crate) async fn account(ctx: &Ctx<'_>, cmd: AccountCommand) -> Result<()> {
    let (app, me) = (ctx.app, &ctx.session);
    match cmd {
        AccountCommand::Accept => {
            let invitation = match std::env::var("FACEVAULT_INVITATION") {
                Ok(v) => Zeroizing::new(v),
                Err(_) => Zeroizing::new(
                    rpassword::prompt_password("Invitation: ")
                        .map_err(|e| Failure::Input(format!("cannot ask ({e}); set FACEVAULT_INVITATION")))?,
                ),
            };
            let password = new_password()?;
            let a = app.accept_invitation(&invitation, &password).await?;
            println!("{}", a.username);
        }
        AccountCommand::Invite { subject } => {
            let i = app.invite_patient(me, subject).await?;
            println!("{}", i.username);
            println!("invitation {}", i.secret.as_str());
            eprintln!("give the patient the invitation (valid 7 days); it is shown once");
        }
        AccountCommand::Add { username, account_role, totp } => {
            let role: Role = account_role
                .parse()
                .map_err(|_| Failure::Input(format!("{account_role:?} is not a role")))?;
            let password = new_password()?;
            let secret = app.add_staff(me, &username, role, &password, totp).await?;
            println!("{username}");
            if let Some(secret) = secret {
                eprintln!("second factor: enter this secret in an authenticator app (shown once):");
                println!("totp-secret {secret}");
                println!("otpauth://totp/FaceVault:{username}?secret={secret}&issuer=FaceVault");
            }
        }
        AccountCommand::List => {
            let rows = app.accounts(me).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:<24}  {:<16}  {:<5}  SUBJECT", "ACCOUNT", "ROLE", "TOTP")?;
            for a in rows {
                let state = if a.invite_hash.is_some() { " (invited)" } else { "" };
                writeln!(
                    out,
                    "{:<24}  {:<16}  {:<5}  {}{state}",
                    a.username,
                    a.role,
                    if a.totp_sealed.is_some() { "yes" } else { "no" },
                    a.subject.unwrap_or_default()
                )?;
            }
        }
    }
    Ok(())
}

/// `facevault otp`: the current 6-digit code of a base32 TOTP secret read from stdin.
pub fn otp() -> Result<()> {
    let mut secret = Zeroizing::new(String::new());
    std::io::stdin().read_to_string(&mut secret)?;
    let code = facevault_app::accounts::totp_now(secret.trim())
        .ok_or_else(|| Failure::Input("standard input is not a base32 TOTP secret".into()))?;
    println!("{code}");
    Ok(())
}
