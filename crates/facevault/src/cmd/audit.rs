//! `facevault audit verify|prove|consistency|checkpoint|list`: the vault's verifiable audit log
//! on the command line, through the application's audit use cases (the privacy office; each
//! read is journaled, and answered against the latest stored checkpoint: a read never signs).
//!
//! Proofs are printed as the JSON of `docs/audit-log.md`, with the encoded entry (base64) and
//! the signed checkpoint they lead to, so an outside verifier needs nothing else.

use std::path::PathBuf;

use anyhow::Result;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use clap::Subcommand;
use facevault_app::{EntryFilter, Verified};
use facevault_audit::{Decision, EntryView, Token};
use facevault_policy::Role;

use super::Failure;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every entry of the log against its latest signed checkpoint; exit code 7, naming
    /// the first bad entry, if they differ.
    Verify,
    /// Print the inclusion proof of entry N (JSON, RFC 9162) against the latest checkpoint.
    Prove {
        #[arg(long, value_name = "N")]
        entry: u64,
    },
    /// Print the consistency proof (JSON, RFC 9162) from the tree of OLD entries to the latest
    /// checkpoint.
    Consistency {
        #[arg(long, value_name = "OLD")]
        from: u64,
    },
    /// Print the latest signed checkpoint (C2SP signed note); the verifier key goes to stderr.
    Checkpoint,
    /// List entries (index, time, actor, role, action, purpose, object, decision, reason):
    /// for the privacy officer's review of break-glass uses and denials.
    List {
        /// Only break-glass accesses (allowed or refused): the ones to review.
        #[arg(long)]
        flagged: bool,
        /// Only denied decisions.
        #[arg(long)]
        denied: bool,
        /// Only entries about this object (e.g. `subject:<id>`, `scan:<id>`).
        #[arg(long)]
        object: Option<String>,
        /// Start at this entry index.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// At most this many entries.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

/// Who runs the CLI: `--actor`/`--role`, else $FACEVAULT_ACTOR/$FACEVAULT_ROLE, else
/// `cli-unattributed` and `admin`. Pseudonymous ids only: never a person's name.
#[derive(Debug, Clone)]
pub struct Actor {
    pub actor: String,
    pub role: String,
}

impl Actor {
    /// Refuses an actor or role that cannot be an id token, before any command runs.
    pub fn check(&self) -> Result<()> {
        for (field, value) in [("actor", &self.actor), ("role", &self.role)] {
            Token::new(field, value).map_err(|e| {
                Failure::Input(format!("--{field}: {e} (a pseudonymous id: letters, digits, ._:@/-)"))
            })?;
        }
        Ok(())
    }

    /// The role, checked.
    pub fn role(&self) -> Result<Role> {
        self.role.parse().map_err(|_| {
            let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            Failure::Input(format!("--role {:?} is not a role: use one of {}", self.role, roles.join(", ")))
                .into()
        })
    }
}

pub fn run(vault: Option<PathBuf>, who: &Actor, cmd: AuditCommand) -> Result<()> {
    who.check()?;
    let me = facevault_app::Session::person(who.actor.clone(), who.role()?);
    let dir = super::vault::vault_dir(vault);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let (app, _) = crate::layout::open_app(&dir).await?;
        let result = match cmd {
            AuditCommand::Verify => match app.audit_verify(&me).await {
                Ok(Verified::Empty) => {
                    eprintln!("audit log is empty; nothing to verify");
                    Ok(())
                }
                Ok(Verified::Ok { entries, root }) => {
                    println!("audit log OK: {entries} entries match the signed checkpoint (root {root})");
                    Ok(())
                }
                Ok(Verified::Damaged { problem, .. }) => {
                    Err(Failure::Damaged(format!("audit log damaged: {problem}")).into())
                }
                Err(e) => Err(e.into()),
            },
            AuditCommand::Prove { entry } => match app.audit_proof(&me, entry).await {
                Ok(p) => super::print_json(&serde_json::json!({
                    "index": p.index,
                    "size": p.size,
                    "path": p.path,
                    "entry": B64.encode(&p.entry),
                    "leaf_hash": p.leaf_hash,
                    "root": p.root,
                    "checkpoint": p.checkpoint,
                }))
                .map_err(Into::into),
                Err(e) => Err(e.into()),
            },
            AuditCommand::Consistency { from } => match app.audit_consistency(&me, from).await {
                Ok(c) => super::print_json(&serde_json::json!({
                    "old_size": c.old_size,
                    "new_size": c.new_size,
                    "path": c.path,
                    "old_root": c.old_root,
                    "new_root": c.new_root,
                    "checkpoint": c.checkpoint,
                }))
                .map_err(Into::into),
                Err(e) => Err(e.into()),
            },
            AuditCommand::Checkpoint => match app.audit_checkpoint(&me).await {
                Ok(c) => {
                    eprintln!("verifier key: {}", c.verifier);
                    print!("{}", c.note);
                    Ok(())
                }
                Err(e) => Err(e.into()),
            },
            AuditCommand::List { flagged, denied, object, from, limit, json } => {
                let filter = EntryFilter { from, limit, object, denied, flagged };
                match app.audit_entries(&me, filter).await {
                    Ok(rows) => list(&rows, json),
                    Err(e) => Err(e.into()),
                }
            }
        };
        crate::layout::close(&app).await;
        result
    })
}

fn list(rows: &[(u64, facevault_audit::AuditEntry)], json: bool) -> Result<()> {
    use std::io::Write;
    if json {
        let out: Vec<EntryView> = rows.iter().map(|(i, e)| EntryView::of(*i, e)).collect();
        return Ok(super::print_json(&out)?);
    }
    let mut out = std::io::stdout().lock();
    for (i, e) in rows {
        let decision = if e.decision == Decision::Allowed { "allowed" } else { "DENIED" };
        writeln!(
            out,
            "{i:>7}  {}  {} ({})  {} {} for {}  {decision}  {}",
            e.time,
            e.actor.as_str(),
            e.role.as_str(),
            e.action.as_str(),
            e.object.as_str(),
            e.purpose.as_str(),
            e.reason.as_str()
        )?;
    }
    Ok(())
}
