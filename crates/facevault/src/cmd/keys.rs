//! `facevault key rotate` and `facevault fsck`: the vault's keys and integrity, with the
//! progress bar the long vault commands show on stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Result;
use clap::Subcommand;
use facevault_crypto::EnvKey;
use facevault_vault::Problem;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::vault::{fail, KeySource, Vault};
use super::Failure;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a new KEK current and rewrap every subject key under it (no blob is touched).
    /// With $FACEVAULT_KEK, add a higher VERSION:KEY entry first; this then rewraps.
    Rotate {
        /// Only finish an interrupted rotation.
        #[arg(long)]
        resume: bool,
    },
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub(crate) fn bar(len: Option<u64>, msg: &'static str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let pb = match len {
        Some(n) => ProgressBar::with_draw_target(Some(n), target).with_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => {
            let pb = ProgressBar::with_draw_target(None, target);
            pb.enable_steady_tick(Duration::from_millis(100));
            pb
        }
    };
    pb.with_message(msg)
}

pub(crate) async fn rotate(vault: &Vault, keys: KeySource, resume: bool) -> Result<()> {
    let pb = bar(None, "rewrapping subject keys");
    let result = if resume || keys == KeySource::Env {
        vault.finish_rotation().await
    } else {
        vault.rotate_kek().await
    };
    pb.finish_and_clear();
    let report = result.map_err(fail)?;
    eprintln!(
        "KEK {} is current; {} subject key(s) rewrapped; no blob was touched",
        report.version, report.rewrapped
    );
    if keys == KeySource::Env && !resume && report.rewrapped == 0 {
        eprintln!(
            "note: ${} holds fixed keys; to rotate, add a higher VERSION:KEY entry and run this again",
            EnvKey::VAR
        );
    }
    Ok(())
}

fn describe(p: &Problem) -> String {
    match p {
        Problem::OrphanBlob { object } => format!("orphan blob {object} (no record refers to it)"),
        Problem::MissingBlob { object } => format!("object {object} has no blob; restore it from a backup"),
        Problem::Undecryptable { object } => {
            format!("object {object} does not decrypt (damaged, truncated or swapped); restore it")
        }
        Problem::KeyUnwrapFailed { subject } => format!("the data key of subject {subject} does not unwrap"),
        Problem::RotationUnfinished { current, behind } => {
            format!("KEK rotation to version {current} unfinished ({behind} key(s) behind)")
        }
        other => format!("{other:?}"),
    }
}

pub(crate) async fn fsck(vault: &Vault, repair: bool) -> Result<()> {
    let pb = bar(None, "verifying every blob");
    let result = vault.fsck(repair).await;
    pb.finish_and_clear();
    let report = result.map_err(fail)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} subject(s), {} object(s) verified, {} blob(s) awaiting purge",
        report.subjects, report.objects_verified, report.pending_purge
    )?;
    for p in &report.problems {
        let tag = if p.repairable() { "repairable" } else { "problem" };
        writeln!(out, "{tag:<11} {}", describe(p))?;
    }
    if repair {
        writeln!(
            out,
            "repaired    {} orphan(s) removed, {} blob(s) purged",
            report.orphans_removed, report.purged
        )?;
    }
    let left = report.problems.iter().filter(|p| !(repair && p.repairable())).count();
    if left > 0 {
        let hint = if report.is_repairable() { "; `facevault fsck --repair` fixes them" } else { "" };
        return Err(Failure::Damaged(format!("fsck: {left} problem(s){hint}")).into());
    }
    writeln!(out, "clean")?;
    Ok(())
}
