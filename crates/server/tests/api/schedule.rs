//! Finding 20: destruction is scheduled. A running server enforces retention on the day it is
//! due, at the configured time, with no command run: the schedule's task over a simulated
//! clock, the server live on a TCP port.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chrono::{NaiveDate, NaiveTime};
use facevault_domain::SimClock;
use facevault_server::schedule::{RetentionSchedule, ACTOR};
use serde_json::Value;

use crate::common::{self, get, Subjects};

/// The earliest day something of `subject` is due for destruction, and what.
fn earliest(plan: &Value, subject: &str) -> (NaiveDate, Vec<String>) {
    let mine = plan.as_array().unwrap().iter().find(|p| p["subject"] == subject).unwrap();
    let due: Vec<(NaiveDate, String)> = mine["destructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["due"].as_str().unwrap().parse().unwrap(), d["target"].as_str().unwrap().to_owned()))
        .collect();
    let first = due.iter().map(|(d, _)| *d).min().unwrap_or_else(|| panic!("nothing planned: {mine}"));
    (first, due.into_iter().filter(|(d, _)| *d == first).map(|(_, t)| t).collect())
}

fn at(day: NaiveDate, h: u32, m: u32) -> chrono::DateTime<chrono::Utc> {
    day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap()).and_utc()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_destroys_what_lapses_on_the_day_with_no_command_run() {
    let subjects = Subjects { jurisdiction: "US-IL", b_scanned: true };
    let f = common::fixture("schedule", subjects, |c| c.retention_time = "03:00".into()).await;
    let live = f.serve().await;
    let po = f.session("privacy_officer").await;
    let r = live.send(get("/api/retention/plan", Some(&po))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (due, targets) = earliest(&r.body, &f.a.to_string());

    // The server wakes on its own, the day before the due day: nothing of A goes.
    let clock = Arc::new(SimClock::at(at(due.pred_opt().unwrap(), 12, 0)));
    let schedule = RetentionSchedule::new(f.state.clone(), clock.clone());
    let task = tokio::spawn(schedule.run(Duration::from_millis(20)));
    let runs =
        || async { f.audit().await.into_iter().filter(|e| e["actor"] == ACTOR).collect::<Vec<Value>>() };
    let wait_for = |what: &'static str, n: usize| {
        let runs = &runs;
        async move {
            let start = Instant::now();
            loop {
                let got = runs().await;
                if got.len() >= n {
                    return got;
                }
                assert!(start.elapsed() < Duration::from_secs(20), "{what}: {got:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let first = wait_for("the catch-up run on start", 1).await;
    assert!(
        first.iter().all(|e| !e["action"].as_str().unwrap().starts_with("retention.shred")
            && !e["reason"].as_str().unwrap().contains(&f.a.to_string())),
        "{first:?}"
    );
    // On the due day before its time: still nothing.
    clock.set(at(due, 2, 59));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(runs().await.len(), first.len(), "no run before 03:00");
    // At 03:00 on the due day the server destroys it, journaled as the schedule, certified.
    clock.set(at(due, 3, 0));
    let all = wait_for("the run on the due day", first.len() + 1).await;
    let destroyed: Vec<&Value> = all
        .iter()
        .filter(|e| matches!(e["action"].as_str(), Some("retention.shred" | "retention.delete")))
        .collect();
    assert!(!destroyed.is_empty(), "nothing destroyed on {due}: {all:?}");
    let r = live.send(get(&format!("/api/retention/plan?at={due}"), Some(&po))).await;
    let left: Vec<String> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["subject"] == f.a.to_string())
        .flat_map(|p| {
            p["destructions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["due"] == due.to_string())
                .map(|d| d["target"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(left.is_empty(), "still planned after the run: {left:?} (was {targets:?})");
    let certificates = std::fs::read_dir(f.dir.join("certificates")).map(|d| d.count()).unwrap_or(0);
    assert!(certificates >= 1, "no deletion certificate kept");
    task.abort();
}
