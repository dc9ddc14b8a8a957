//! Data-subject requests as tables: deadlines per law and kind, the lifecycle, verification,
//! agents, duplicates and the overdue and soon-due lists. One `check_*` helper per area.

use expect_test::{expect, Expect};
use facevault_domain::{
    deadlines, due_within, find_duplicate, overdue, required_verification, Date, DuplicatePolicy,
    HolidayCalendar, Jurisdiction, Law, NewRequest, Request, RequestId, RequestKind, Requester, SubjectId,
    Timestamp, VerificationLevel,
};

fn day(s: &str) -> Date {
    s.parse().unwrap_or_else(|e| panic!("bad date {s}: {e}"))
}

fn instant(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad instant {s}: {e}"))
}

fn law(s: &str) -> Law {
    match s {
        "ccpa" => Law::Ccpa,
        "gdpr" => Law::Gdpr,
        "mhmda" => Law::Mhmda,
        "bipa" => Law::Bipa,
        "cubi" => Law::Cubi,
        "other" => Law::Other,
        _ => panic!("unknown law {s}"),
    }
}

fn kind(s: &str) -> RequestKind {
    RequestKind::ALL.into_iter().find(|k| k.to_string() == s).unwrap_or_else(|| panic!("unknown kind {s}"))
}

fn level(s: &str) -> VerificationLevel {
    match s {
        "none" => VerificationLevel::None,
        "standard" => VerificationLevel::Standard,
        "strong" => VerificationLevel::Strong,
        _ => panic!("unknown level {s}"),
    }
}

/// "2026-11-20 Fri"
fn show(d: Date) -> String {
    d.format("%Y-%m-%d %a").to_string()
}

fn show_opt(d: Option<Date>) -> String {
    d.map_or_else(|| "-".to_owned(), show)
}

/// The US federal calendar for the years the tests use.
fn us() -> HolidayCalendar {
    HolidayCalendar::us_federal(2020..=2030)
}

/// A request described as "id subject law kind received [bio] [agent|agent+proof]".
fn new_request(spec: &str) -> NewRequest {
    let words: Vec<&str> = spec.split_whitespace().collect();
    let [id, subject, l, k, received, flags @ ..] = words.as_slice() else {
        panic!("bad request spec {spec}");
    };
    let mut requester = Requester::Subject;
    let mut involves_biometric = false;
    for f in flags {
        match *f {
            "bio" => involves_biometric = true,
            "agent" => requester = Requester::Agent { agent_id: "agent-1".into(), proof_of_authority: false },
            "agent+proof" => {
                requester = Requester::Agent { agent_id: "agent-1".into(), proof_of_authority: true }
            }
            _ => panic!("unknown flag {f}"),
        }
    }
    NewRequest {
        id: RequestId((*id).to_owned()),
        subject: SubjectId((*subject).to_owned()),
        kind: kind(k),
        law: law(l),
        requester,
        involves_biometric,
        received: instant(received),
    }
}

/// Runs one step "action instant [arg; arg]" and returns the outcome line.
fn step(r: &mut Request, line: &str) -> String {
    let (head, args) = line.split_once(" : ").unwrap_or((line, ""));
    let mut words = head.split_whitespace();
    let action = words.next().unwrap_or_else(|| panic!("empty step"));
    let at = instant(words.next().unwrap_or_else(|| panic!("step {line} has no time")));
    let args: Vec<&str> = args.split(';').map(str::trim).collect();
    let result = match action {
        "ack" => r.acknowledge(at),
        "authority" => r.record_agent_authority(at),
        "begin" => r.begin_verification(at),
        "verify" => r.verify(at, level(args[0])),
        "start" => r.start(at),
        "extend" => r.extend(at, instant(args[0]), args.get(1).copied().unwrap_or("")),
        "complete" => r.complete(at),
        "deny" => r.deny(at, args[0], args.get(1).copied().unwrap_or("")),
        "cancel" => r.cancel(at),
        "purged" => r.record_backups_purged(at),
        _ => panic!("unknown action {action}"),
    };
    match result {
        Ok(()) => format!("{action}: {}", r.state()),
        Err(e) => format!("{action}: error: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Holidays

/// Prints the calendar's days, one line each.
fn check_holidays(calendar: HolidayCalendar, expect: Expect) {
    let actual: String = calendar.iter().map(|d| format!("{}\n", show(d))).collect();
    expect.assert_eq(&actual);
}

#[test]
fn us_federal_holidays_move_to_the_observed_weekday() {
    // 2026: Independence Day is a Saturday (observed Friday 3 July); Juneteenth a Friday.
    check_holidays(
        HolidayCalendar::us_federal(2026..=2026),
        expect![[r#"
            2026-01-01 Thu
            2026-01-19 Mon
            2026-02-16 Mon
            2026-05-25 Mon
            2026-06-19 Fri
            2026-07-03 Fri
            2026-09-07 Mon
            2026-10-12 Mon
            2026-11-11 Wed
            2026-11-26 Thu
            2026-12-25 Fri
        "#]],
    );
    // 2022: New Year's Day on a Saturday is observed on 31 December 2021, so 2022 has no 1 January
    // holiday and 2021 has two (1 January 2021 and 31 December 2021). Christmas 2022 is a Sunday.
    check_holidays(
        HolidayCalendar::us_federal(2021..=2022),
        expect![[r#"
            2021-01-01 Fri
            2021-01-18 Mon
            2021-02-15 Mon
            2021-05-31 Mon
            2021-06-18 Fri
            2021-07-05 Mon
            2021-09-06 Mon
            2021-10-11 Mon
            2021-11-11 Thu
            2021-11-25 Thu
            2021-12-24 Fri
            2021-12-31 Fri
            2022-01-17 Mon
            2022-02-21 Mon
            2022-05-30 Mon
            2022-06-20 Mon
            2022-07-04 Mon
            2022-09-05 Mon
            2022-10-10 Mon
            2022-11-11 Fri
            2022-11-24 Thu
            2022-12-26 Mon
        "#]],
    );
    // No Juneteenth before 2021; an empty or absurd range gives no panic.
    check_holidays(
        HolidayCalendar::us_federal(2020..=2020),
        expect![[r#"
            2020-01-01 Wed
            2020-01-20 Mon
            2020-02-17 Mon
            2020-05-25 Mon
            2020-07-03 Fri
            2020-09-07 Mon
            2020-10-12 Mon
            2020-11-11 Wed
            2020-11-26 Thu
            2020-12-25 Fri
        "#]],
    );
    check_holidays(HolidayCalendar::us_federal(std::ops::RangeInclusive::new(2030, 2020)), expect![[""]]);
    assert_eq!(HolidayCalendar::us_federal(i32::MIN..=i32::MIN).iter().count(), 0);
    assert_eq!(HolidayCalendar::us_federal(i32::MAX - 1..=i32::MAX).iter().count(), 0);
    // Clamped to 1971..=9999; 1 January 10000 is a Saturday, observed on 31 December 9999.
    let all = HolidayCalendar::us_federal(i32::MIN..=i32::MAX);
    let (first, last) = (all.iter().next(), all.iter().last());
    assert_eq!(
        (first.map(show), last.map(show)),
        (Some(show(day("1971-01-01"))), Some(show(day("9999-12-31"))))
    );
    assert!(HolidayCalendar::us_federal(1900..=1970).iter().next().is_none());
}

// ---------------------------------------------------------------------------------------------
// Deadlines

/// Each line of `cases` is "law kind received"; prints the deadlines with their weekdays.
fn check_deadlines(calendar: &HolidayCalendar, cases: &str, expect: Expect) {
    let actual: String = cases
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let [l, k, received] = line.split_whitespace().collect::<Vec<_>>()[..] else {
                panic!("bad case {line}");
            };
            let received = instant(received);
            let d = deadlines(law(l), kind(k), received, calendar);
            format!(
                "{} {} {}: ack {}, respond {}, extended {}, backups {}\n",
                law(l),
                kind(k),
                show(received.date_naive()),
                show_opt(d.acknowledge_by),
                show(d.respond_by),
                show_opt(d.extended_respond_by),
                show_opt(d.backups_purged_by),
            )
        })
        .collect();
    expect.assert_eq(&actual);
}

#[test]
fn deadlines_per_law_and_kind() {
    // Received on a Monday with no holiday within three weeks: every law, every kind.
    let mut cases = String::new();
    for l in ["ccpa", "gdpr", "mhmda", "bipa", "cubi", "other"] {
        for k in RequestKind::ALL {
            cases.push_str(&format!("{l} {k} 2026-03-02T12:00:00Z\n"));
        }
    }
    check_deadlines(
        &us(),
        &cases,
        expect![[r#"
            CCPA access 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            CCPA delete 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            CCPA correct 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            CCPA opt-out 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
            CCPA limit-use 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
            GDPR access 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-02 Thu, extended 2026-06-02 Tue, backups -
            GDPR delete 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-02 Thu, extended 2026-06-02 Tue, backups -
            GDPR correct 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-02 Thu, extended 2026-06-02 Tue, backups -
            GDPR opt-out 2026-03-02 Mon: ack -, respond 2026-04-02 Thu, extended 2026-06-02 Tue, backups -
            GDPR limit-use 2026-03-02 Mon: ack -, respond 2026-04-02 Thu, extended 2026-06-02 Tue, backups -
            MHMDA access 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            MHMDA delete 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups 2026-09-02 Wed
            MHMDA correct 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            MHMDA opt-out 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
            MHMDA limit-use 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
            BIPA access 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            BIPA delete 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            BIPA correct 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            BIPA opt-out 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
            BIPA limit-use 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
            CUBI access 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            CUBI delete 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            CUBI correct 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            CUBI opt-out 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
            CUBI limit-use 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
            other access 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            other delete 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            other correct 2026-03-02 Mon: ack 2026-03-16 Mon, respond 2026-04-16 Thu, extended 2026-05-31 Sun, backups -
            other opt-out 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
            other limit-use 2026-03-02 Mon: ack -, respond 2026-03-23 Mon, extended -, backups -
        "#]],
    );
}

#[test]
fn law_follows_the_subjects_jurisdiction() {
    let actual: String =
        Jurisdiction::ALL.iter().map(|&j| format!("{j} -> {}\n", Law::for_jurisdiction(j))).collect();
    expect![[r#"
        IL -> BIPA
        TX -> CUBI
        WA -> MHMDA
        CA -> CCPA
        EU -> GDPR
        other -> other
    "#]]
    .assert_eq(&actual);
}

#[test]
fn business_days_skip_weekends() {
    // Received on a Friday, a Saturday and a Sunday: the weekend is not counted; calendar days are.
    check_deadlines(
        &HolidayCalendar::empty(),
        "ccpa access 2026-03-06T23:59:59Z
         ccpa access 2026-03-07T10:00:00Z
         ccpa access 2026-03-08T10:00:00Z
         ccpa opt-out 2026-03-06T10:00:00Z
         ccpa opt-out 2026-03-07T10:00:00Z",
        expect![[r#"
            CCPA access 2026-03-06 Fri: ack 2026-03-20 Fri, respond 2026-04-20 Mon, extended 2026-06-04 Thu, backups -
            CCPA access 2026-03-07 Sat: ack 2026-03-20 Fri, respond 2026-04-21 Tue, extended 2026-06-05 Fri, backups -
            CCPA access 2026-03-08 Sun: ack 2026-03-20 Fri, respond 2026-04-22 Wed, extended 2026-06-06 Sat, backups -
            CCPA opt-out 2026-03-06 Fri: ack -, respond 2026-03-27 Fri, extended -, backups -
            CCPA opt-out 2026-03-07 Sat: ack -, respond 2026-03-27 Fri, extended -, backups -
        "#]],
    );
}

#[test]
fn business_days_skip_holidays() {
    // The Friday before Thanksgiving (Thu 26 Nov 2026): the acknowledgement moves one day later
    // with the holiday calendar than without it. 2 July 2026: Independence Day is observed on
    // Friday 3 July. 24 December: Christmas and New Year's Day fall in the 10 business days.
    let cases = "ccpa delete 2026-11-20T16:00:00Z
                 ccpa opt-out 2026-11-20T16:00:00Z
                 ccpa limit-use 2026-07-02T09:00:00Z
                 ccpa correct 2026-07-02T09:00:00Z
                 ccpa access 2026-12-24T09:00:00Z
                 ccpa opt-out 2026-12-24T09:00:00Z";
    check_deadlines(
        &us(),
        cases,
        expect![[r#"
            CCPA delete 2026-11-20 Fri: ack 2026-12-07 Mon, respond 2027-01-04 Mon, extended 2027-02-18 Thu, backups -
            CCPA opt-out 2026-11-20 Fri: ack -, respond 2026-12-14 Mon, extended -, backups -
            CCPA limit-use 2026-07-02 Thu: ack -, respond 2026-07-24 Fri, extended -, backups -
            CCPA correct 2026-07-02 Thu: ack 2026-07-17 Fri, respond 2026-08-16 Sun, extended 2026-09-30 Wed, backups -
            CCPA access 2026-12-24 Thu: ack 2027-01-11 Mon, respond 2027-02-07 Sun, extended 2027-03-24 Wed, backups -
            CCPA opt-out 2026-12-24 Thu: ack -, respond 2027-01-19 Tue, extended -, backups -
        "#]],
    );
    check_deadlines(
        &HolidayCalendar::empty(),
        cases,
        expect![[r#"
            CCPA delete 2026-11-20 Fri: ack 2026-12-04 Fri, respond 2027-01-04 Mon, extended 2027-02-18 Thu, backups -
            CCPA opt-out 2026-11-20 Fri: ack -, respond 2026-12-11 Fri, extended -, backups -
            CCPA limit-use 2026-07-02 Thu: ack -, respond 2026-07-23 Thu, extended -, backups -
            CCPA correct 2026-07-02 Thu: ack 2026-07-16 Thu, respond 2026-08-16 Sun, extended 2026-09-30 Wed, backups -
            CCPA access 2026-12-24 Thu: ack 2027-01-07 Thu, respond 2027-02-07 Sun, extended 2027-03-24 Wed, backups -
            CCPA opt-out 2026-12-24 Thu: ack -, respond 2027-01-14 Thu, extended -, backups -
        "#]],
    );
    // A clinic's own calendar: one extra closure day moves a business-day deadline.
    check_deadlines(
        &HolidayCalendar::new([day("2026-03-10")]),
        "ccpa opt-out 2026-03-02T12:00:00Z",
        expect![[r#"
            CCPA opt-out 2026-03-02 Mon: ack -, respond 2026-03-24 Tue, extended -, backups -
        "#]],
    );
}

#[test]
fn gdpr_months_end_on_the_same_date_or_the_months_last_day() {
    // Regulation 1182/71 Art. 3(2)(c): 31 January → the last day of February (28, or 29 in a leap
    // year); the two further months count from there. 30 November → 30 December. 31 March → 30
    // April (no 31st). Time of day does not matter: the day is the UTC day of receipt.
    check_deadlines(
        &us(),
        "gdpr access 2027-01-31T08:00:00Z
         gdpr access 2028-01-31T08:00:00Z
         gdpr delete 2028-01-15T23:59:59Z
         gdpr delete 2026-11-30T00:00:00Z
         gdpr correct 2026-03-31T12:00:00Z
         gdpr access 2026-12-31T12:00:00Z
         gdpr access 2028-02-29T12:00:00Z",
        expect![[r#"
            GDPR access 2027-01-31 Sun: ack 2027-02-12 Fri, respond 2027-02-28 Sun, extended 2027-04-28 Wed, backups -
            GDPR access 2028-01-31 Mon: ack 2028-02-14 Mon, respond 2028-02-29 Tue, extended 2028-04-29 Sat, backups -
            GDPR delete 2028-01-15 Sat: ack 2028-01-31 Mon, respond 2028-02-15 Tue, extended 2028-04-15 Sat, backups -
            GDPR delete 2026-11-30 Mon: ack 2026-12-14 Mon, respond 2026-12-30 Wed, extended 2027-02-28 Sun, backups -
            GDPR correct 2026-03-31 Tue: ack 2026-04-14 Tue, respond 2026-04-30 Thu, extended 2026-06-30 Tue, backups -
            GDPR access 2026-12-31 Thu: ack 2027-01-15 Fri, respond 2027-01-31 Sun, extended 2027-03-31 Wed, backups -
            GDPR access 2028-02-29 Tue: ack 2028-03-14 Tue, respond 2028-03-29 Wed, extended 2028-05-29 Mon, backups -
        "#]],
    );
}

#[test]
fn mhmda_extension_and_backup_purge() {
    // 45 days + 45; backups purged within six months (31 August → 28 February; leap year 29).
    check_deadlines(
        &us(),
        "mhmda delete 2026-08-31T10:00:00Z
         mhmda delete 2027-08-31T10:00:00Z
         mhmda access 2026-12-24T10:00:00Z
         ccpa delete 2027-12-31T10:00:00Z",
        expect![[r#"
            MHMDA delete 2026-08-31 Mon: ack 2026-09-15 Tue, respond 2026-10-15 Thu, extended 2026-11-29 Sun, backups 2027-02-28 Sun
            MHMDA delete 2027-08-31 Tue: ack 2027-09-15 Wed, respond 2027-10-15 Fri, extended 2027-11-29 Mon, backups 2028-02-29 Tue
            MHMDA access 2026-12-24 Thu: ack 2027-01-11 Mon, respond 2027-02-07 Sun, extended 2027-03-24 Wed, backups -
            CCPA delete 2027-12-31 Fri: ack 2028-01-14 Fri, respond 2028-02-14 Mon, extended 2028-03-30 Thu, backups -
        "#]],
    );
}

#[test]
fn deadlines_at_the_end_of_time_saturate() {
    let d =
        deadlines(Law::Ccpa, RequestKind::Access, Date::MAX.and_hms_opt(0, 0, 0).unwrap().and_utc(), &us());
    assert_eq!(
        (d.respond_by, d.extended_respond_by, d.acknowledge_by),
        (Date::MAX, Some(Date::MAX), Some(Date::MAX))
    );
    let d =
        deadlines(Law::Gdpr, RequestKind::Delete, Date::MAX.and_hms_opt(0, 0, 0).unwrap().and_utc(), &us());
    assert_eq!(d.respond_by, Date::MAX);
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

/// Opens the request `spec` (see [`new_request`]), runs the steps, and prints each outcome,
/// then the audit events and the deadline the answer is due by.
fn check_lifecycle(spec: &str, steps: &[&str], expect: Expect) {
    let mut r = Request::receive(new_request(spec), &us());
    let mut actual: String = steps.iter().map(|s| step(&mut r, s) + "\n").collect();
    actual.push_str("events:\n");
    for e in r.events() {
        actual.push_str(&format!("  {} {} {}\n", e.at.format("%Y-%m-%d %H:%M"), e.request, e.change));
    }
    actual.push_str(&format!("respond by {}\n", show(r.respond_by())));
    expect.assert_eq(&actual);
}

#[test]
fn lifecycle_verified_extended_completed() {
    check_lifecycle(
        "r1 s1 ccpa access 2026-11-20T16:00:00Z bio",
        &[
            "ack 2026-11-23T09:00:00Z",
            "begin 2026-11-23T09:05:00Z",
            "verify 2026-11-24T10:00:00Z : strong",
            "extend 2027-01-04T10:00:00Z : 2027-01-04T09:00:00Z; many scans to export",
            "complete 2027-02-01T10:00:00Z",
        ],
        expect![[r#"
            ack: received
            begin: identity verification
            verify: in progress
            extend: extended
            complete: completed
            events:
              2026-11-20 16:00 r1 received access under CCPA
              2026-11-23 09:00 r1 acknowledged
              2026-11-23 09:05 r1 verification started
              2026-11-24 10:00 r1 verified (strong)
              2027-01-04 10:00 r1 extended (notice sent 2027-01-04 09:00:00 UTC: many scans to export)
              2027-02-01 10:00 r1 completed
            respond by 2027-02-18 Thu
        "#]],
    );
}

#[test]
fn lifecycle_illegal_transitions_are_named() {
    // Completing before verification, weaker verification than biometric data needs, extending
    // twice, and any change after completion.
    check_lifecycle(
        "r1 s1 gdpr delete 2027-01-31T08:00:00Z bio",
        &[
            "complete 2027-02-01T08:00:00Z",
            "start 2027-02-01T08:00:00Z",
            "verify 2027-02-01T08:00:00Z : strong",
            "begin 2027-02-01T08:00:00Z",
            "begin 2027-02-01T08:00:00Z",
            "verify 2027-02-02T08:00:00Z : standard",
            "complete 2027-02-02T08:00:00Z",
            "extend 2027-02-20T08:00:00Z : 2027-02-20T08:00:00Z; backlog",
            "extend 2027-02-21T08:00:00Z : 2027-02-21T08:00:00Z; backlog",
            "verify 2027-02-22T08:00:00Z : strong",
            "verify 2027-02-22T08:00:00Z : strong",
            "complete 2027-02-21T08:00:00Z",
            "complete 2027-03-01T08:00:00Z",
            "extend 2027-03-02T08:00:00Z : 2027-03-02T08:00:00Z; again",
            "deny 2027-03-02T08:00:00Z : too late; none",
            "cancel 2027-03-02T08:00:00Z",
            "ack 2027-03-02T08:00:00Z",
        ],
        expect![[r#"
            complete: error: cannot complete before identity is verified (strong verification required)
            start: error: cannot start before identity is verified (strong verification required)
            verify: error: cannot verify a request that is received
            begin: identity verification
            begin: error: cannot begin verification of a request that is identity verification
            verify: error: standard verification is not enough: this request needs strong
            complete: error: cannot complete before identity is verified (strong verification required)
            extend: extended
            extend: error: cannot extend a request twice
            verify: extended
            verify: error: identity is already verified
            complete: error: the change at 2027-02-21 08:00:00 UTC is before the request's last event at 2027-02-22 08:00:00 UTC
            complete: completed
            extend: error: cannot extend a request that is completed
            deny: error: cannot deny a request that is completed
            cancel: error: cannot cancel a request that is completed
            ack: error: cannot acknowledge a request that is completed
            events:
              2027-01-31 08:00 r1 received delete under GDPR
              2027-02-01 08:00 r1 verification started
              2027-02-20 08:00 r1 extended (notice sent 2027-02-20 08:00:00 UTC: backlog)
              2027-02-22 08:00 r1 verified (strong)
              2027-03-01 08:00 r1 completed
            respond by 2027-04-28 Wed
        "#]],
    );
}

#[test]
fn extension_rules() {
    // The notice must be sent by the original deadline (CCPA: 45 days, 2027-01-04), after receipt,
    // with a reason; recording it later is fine.
    check_lifecycle(
        "r1 s1 ccpa delete 2026-11-20T16:00:00Z",
        &[
            "extend 2027-01-05T09:00:00Z : 2027-01-05T08:00:00Z; backlog",
            "extend 2027-01-05T09:00:00Z : 2026-11-19T08:00:00Z; backlog",
            "extend 2027-01-05T09:00:00Z : 2027-01-04T23:59:59Z;  ",
            "extend 2027-01-05T09:00:00Z : 2027-01-04T23:59:59Z; backlog",
        ],
        expect![[r#"
            extend: error: the extension notice (2027-01-05) is after the original deadline 2027-01-04
            extend: error: the extension notice (2026-11-19 08:00:00 UTC) is before the request was received
            extend: error: the extension's reason must not be empty
            extend: extended
            events:
              2026-11-20 16:00 r1 received delete under CCPA
              2027-01-05 09:00 r1 extended (notice sent 2027-01-04 23:59:59 UTC: backlog)
            respond by 2027-02-18 Thu
        "#]],
    );
    // Opt-out has no extension outside the EU; under GDPR it has one.
    check_lifecycle(
        "r1 s1 ccpa opt-out 2026-11-20T16:00:00Z",
        &["extend 2026-11-21T09:00:00Z : 2026-11-21T09:00:00Z; backlog", "start 2026-11-21T09:00:00Z"],
        expect![[r#"
            extend: error: a opt-out request under CCPA cannot be extended
            start: in progress
            events:
              2026-11-20 16:00 r1 received opt-out under CCPA
              2026-11-21 09:00 r1 started
            respond by 2026-12-14 Mon
        "#]],
    );
    check_lifecycle(
        "r1 s1 gdpr opt-out 2026-11-20T16:00:00Z",
        &["extend 2026-11-21T09:00:00Z : 2026-11-21T09:00:00Z; complex", "complete 2026-11-22T09:00:00Z"],
        expect![[r#"
            extend: extended
            complete: completed
            events:
              2026-11-20 16:00 r1 received opt-out under GDPR
              2026-11-21 09:00 r1 extended (notice sent 2026-11-21 09:00:00 UTC: complex)
              2026-11-22 09:00 r1 completed
            respond by 2027-02-20 Sat
        "#]],
    );
}

#[test]
fn denial_needs_reason_and_basis_and_cancel_closes() {
    check_lifecycle(
        "r1 s1 ccpa delete 2026-11-20T16:00:00Z",
        &[
            "begin 2026-11-21T09:00:00Z",
            "deny 2026-12-21T09:00:00Z : identity could not be verified",
            "deny 2026-12-21T09:00:00Z :  ; Cal. Code Regs. tit. 11, 7062(f)",
            "deny 2026-12-21T09:00:00Z : identity could not be verified; Cal. Code Regs. tit. 11, 7062(f)",
            "cancel 2026-12-22T09:00:00Z",
        ],
        expect![[r#"
            begin: identity verification
            deny: error: the denial's legal basis must not be empty
            deny: error: the denial's reason must not be empty
            deny: denied
            cancel: error: cannot cancel a request that is denied
            events:
              2026-11-20 16:00 r1 received delete under CCPA
              2026-11-21 09:00 r1 verification started
              2026-12-21 09:00 r1 denied (identity could not be verified; Cal. Code Regs. tit. 11, 7062(f))
            respond by 2027-01-04 Mon
        "#]],
    );
    check_lifecycle(
        "r1 s1 mhmda correct 2026-11-20T16:00:00Z",
        &["cancel 2026-11-22T09:00:00Z", "ack 2026-11-23T09:00:00Z"],
        expect![[r#"
            cancel: canceled
            ack: error: cannot acknowledge a request that is canceled
            events:
              2026-11-20 16:00 r1 received correct under MHMDA
              2026-11-22 09:00 r1 canceled
            respond by 2027-01-04 Mon
        "#]],
    );
}

// ---------------------------------------------------------------------------------------------
// Verification and agents

#[test]
fn verification_is_proportionate_to_the_data() {
    let actual: String = RequestKind::ALL
        .iter()
        .flat_map(|&k| [false, true].map(|bio| (k, bio)))
        .map(|(k, bio)| {
            let data = if bio { "biometric" } else { "other" };
            format!("{k} {data}: {}\n", required_verification(k, bio))
        })
        .collect();
    expect![[r#"
        access other: standard
        access biometric: strong
        delete other: standard
        delete biometric: strong
        correct other: standard
        correct biometric: strong
        opt-out other: none
        opt-out biometric: none
        limit-use other: none
        limit-use biometric: none
    "#]]
    .assert_eq(&actual);
}

#[test]
fn agents_need_proof_of_authority_except_for_opt_out_and_limit_use() {
    check_lifecycle(
        "r1 s1 ccpa access 2026-11-20T16:00:00Z agent",
        &[
            "begin 2026-11-21T09:00:00Z",
            "ack 2026-11-21T09:00:00Z",
            "authority 2026-11-22T09:00:00Z",
            "authority 2026-11-22T09:00:00Z",
            "begin 2026-11-22T09:00:00Z",
            "verify 2026-11-23T09:00:00Z : standard",
            "complete 2026-11-24T09:00:00Z",
        ],
        expect![[r#"
            begin: error: cannot begin verification of: the authorized agent has not shown proof of authority
            ack: received
            authority: received
            authority: error: the agent's authority is already recorded
            begin: identity verification
            verify: in progress
            complete: completed
            events:
              2026-11-20 16:00 r1 received access under CCPA
              2026-11-21 09:00 r1 acknowledged
              2026-11-22 09:00 r1 agent authority received
              2026-11-22 09:00 r1 verification started
              2026-11-23 09:00 r1 verified (standard)
              2026-11-24 09:00 r1 completed
            respond by 2027-01-04 Mon
        "#]],
    );
    check_lifecycle(
        "r1 s1 ccpa opt-out 2026-11-20T16:00:00Z agent",
        &["complete 2026-11-21T09:00:00Z"],
        expect![[r#"
            complete: completed
            events:
              2026-11-20 16:00 r1 received opt-out under CCPA
              2026-11-21 09:00 r1 completed
            respond by 2026-12-14 Mon
        "#]],
    );
    check_lifecycle(
        "r1 s1 ccpa delete 2026-11-20T16:00:00Z agent+proof",
        &["authority 2026-11-21T09:00:00Z", "start 2026-11-21T09:00:00Z"],
        expect![[r#"
            authority: error: the agent's authority is already recorded
            start: error: cannot start before identity is verified (standard verification required)
            events:
              2026-11-20 16:00 r1 received delete under CCPA
            respond by 2027-01-04 Mon
        "#]],
    );
    check_lifecycle(
        "r1 s1 ccpa limit-use 2026-11-20T16:00:00Z",
        &["authority 2026-11-21T09:00:00Z", "start 2026-11-21T09:00:00Z", "complete 2026-11-21T10:00:00Z"],
        expect![[r#"
            authority: error: the subject made this request
            start: in progress
            complete: completed
            events:
              2026-11-20 16:00 r1 received limit-use under CCPA
              2026-11-21 09:00 r1 started
              2026-11-21 10:00 r1 completed
            respond by 2026-12-14 Mon
        "#]],
    );
}

// ---------------------------------------------------------------------------------------------
// Duplicates

/// Builds the earlier requests, each "spec => step, step", and prints what `find_duplicate`
/// says about the new one.
fn check_duplicate(earlier: &[&str], new: &str, policy: DuplicatePolicy, expect: Expect) {
    let calendar = us();
    let requests: Vec<Request> = earlier
        .iter()
        .map(|line| {
            let (spec, steps) = line.split_once(" => ").unwrap_or((line, ""));
            let mut r = Request::receive(new_request(spec), &calendar);
            for s in steps.split(", ").filter(|s| !s.is_empty()) {
                let outcome = step(&mut r, s);
                assert!(!outcome.contains("error"), "setup step {s} failed: {outcome}");
            }
            r
        })
        .collect();
    let actual = match find_duplicate(&requests, &new_request(new), &policy) {
        None => "no duplicate".to_owned(),
        Some(d) => format!("duplicate of {}: {:?}", d.of, d.reason),
    };
    expect.assert_eq(&actual);
}

#[test]
fn duplicates() {
    let policy = DuplicatePolicy::default();
    let done = |id: &str, subject: &str, received: &str, completed: &str| {
        format!(
            "{id} {subject} ccpa access {received} => begin {received}, verify {received} : standard, complete {completed}"
        )
    };
    // An open request of the same subject and kind.
    check_duplicate(
        &["r1 s1 ccpa delete 2026-11-01T10:00:00Z => begin 2026-11-02T10:00:00Z"],
        "r2 s1 ccpa delete 2026-11-20T10:00:00Z",
        policy,
        expect![[r#"duplicate of r1: Open"#]],
    );
    // Another subject, another kind, or a closed request: none.
    check_duplicate(
        &[
            "r1 s2 ccpa delete 2026-11-01T10:00:00Z",
            "r2 s1 ccpa access 2026-11-01T10:00:00Z",
            "r3 s1 ccpa delete 2026-11-01T10:00:00Z => cancel 2026-11-02T10:00:00Z",
        ],
        "r4 s1 ccpa delete 2026-11-20T10:00:00Z",
        policy,
        expect![[r#"no duplicate"#]],
    );
    // The oldest open one wins.
    check_duplicate(
        &["r2 s1 gdpr access 2026-11-10T10:00:00Z", "r1 s1 gdpr access 2026-11-01T10:00:00Z"],
        "r3 s1 gdpr access 2026-11-20T10:00:00Z",
        policy,
        expect![[r#"duplicate of r1: Open"#]],
    );
    // Recently completed: only when the policy asks, and only within the window.
    let recent = DuplicatePolicy { recently_completed_days: 30, ..policy };
    let opt_out = "r1 s1 ccpa opt-out 2026-10-01T10:00:00Z => complete 2026-10-25T10:00:00Z";
    check_duplicate(
        &[opt_out],
        "r2 s1 ccpa opt-out 2026-11-20T10:00:00Z",
        policy,
        expect![[r#"no duplicate"#]],
    );
    check_duplicate(
        &[opt_out],
        "r2 s1 ccpa opt-out 2026-11-20T10:00:00Z",
        recent,
        expect![[r#"duplicate of r1: RecentlyCompleted"#]],
    );
    check_duplicate(
        &[opt_out],
        "r2 s1 ccpa opt-out 2026-11-25T10:00:00Z",
        recent,
        expect![[r#"no duplicate"#]],
    );
    // Access: a third answered within 12 months may be denied under CCPA; two is fine; one answered
    // 13 months ago does not count; GDPR sets no count.
    let two = [
        done("a1", "s1", "2025-12-01T10:00:00Z", "2025-12-10T10:00:00Z"),
        done("a2", "s1", "2026-06-01T10:00:00Z", "2026-06-10T10:00:00Z"),
    ];
    let two: Vec<&str> = two.iter().map(String::as_str).collect();
    check_duplicate(
        &two,
        "a3 s1 ccpa access 2026-11-20T10:00:00Z",
        policy,
        expect![[r#"duplicate of a2: AccessLimitReached { answered: 2 }"#]],
    );
    check_duplicate(&two, "a3 s1 ccpa access 2026-12-11T10:00:00Z", policy, expect![[r#"no duplicate"#]]);
    check_duplicate(
        &two[1..],
        "a3 s1 ccpa access 2026-11-20T10:00:00Z",
        policy,
        expect![[r#"no duplicate"#]],
    );
    check_duplicate(&two, "a3 s1 gdpr access 2026-11-20T10:00:00Z", policy, expect![[r#"no duplicate"#]]);
    check_duplicate(&two, "a3 s2 ccpa access 2026-11-20T10:00:00Z", policy, expect![[r#"no duplicate"#]]);
    // Its own id is not a duplicate of itself.
    check_duplicate(
        &["r1 s1 ccpa delete 2026-11-01T10:00:00Z"],
        "r1 s1 ccpa delete 2026-11-01T10:00:00Z",
        policy,
        expect![[r#"no duplicate"#]],
    );
}

// ---------------------------------------------------------------------------------------------
// Overdue and soon due

/// Builds the requests like [`check_duplicate`], then prints the overdue list and what falls due
/// within `days` at `now`.
fn check_due(requests: &[&str], now: &str, days: u32, expect: Expect) {
    let calendar = us();
    let requests: Vec<Request> = requests
        .iter()
        .map(|line| {
            let (spec, steps) = line.split_once(" => ").unwrap_or((line, ""));
            let mut r = Request::receive(new_request(spec), &calendar);
            for s in steps.split(", ").filter(|s| !s.is_empty()) {
                let outcome = step(&mut r, s);
                assert!(!outcome.contains("error"), "setup step {s} failed: {outcome}");
            }
            r
        })
        .collect();
    let now = instant(now);
    let line =
        |d: &facevault_domain::Due<'_>| format!("  {} {} by {}\n", d.request.id(), d.obligation, show(d.by));
    let mut actual = "overdue:\n".to_owned();
    actual.extend(overdue(&requests, now).iter().map(line));
    actual.push_str(&format!("due within {days} days:\n"));
    actual.extend(due_within(&requests, now, days).iter().map(line));
    expect.assert_eq(&actual);
}

#[test]
fn overdue_and_soon_due() {
    let requests = [
        // Received 2026-11-20: ack by 2026-12-07, answer by 2027-01-04.
        "r1 s1 ccpa access 2026-11-20T16:00:00Z",
        "r2 s2 ccpa access 2026-11-20T16:00:00Z => ack 2026-11-21T09:00:00Z",
        // Opt-out received 2026-11-20: answer by 2026-12-14.
        "r3 s3 ccpa opt-out 2026-11-20T16:00:00Z",
        // Extended: due 2027-02-18.
        "r4 s4 ccpa delete 2026-11-20T16:00:00Z => ack 2026-11-21T09:00:00Z, extend 2026-12-01T09:00:00Z : 2026-12-01T09:00:00Z; backlog",
        // Closed ones owe nothing.
        "r5 s5 ccpa opt-out 2026-10-01T16:00:00Z => complete 2026-10-02T09:00:00Z",
        "r6 s6 ccpa access 2026-10-01T16:00:00Z => cancel 2026-10-02T09:00:00Z",
        // MHMDA deletes received 2026-10-01: backups purged by 2027-04-01, unless recorded.
        "r7 s7 mhmda delete 2026-10-01T16:00:00Z => ack 2026-10-02T09:00:00Z, begin 2026-10-02T09:00:00Z, verify 2026-10-03T09:00:00Z : standard, complete 2026-10-10T09:00:00Z",
        "r8 s8 mhmda delete 2026-10-01T16:00:00Z => ack 2026-10-02T09:00:00Z, begin 2026-10-02T09:00:00Z, verify 2026-10-03T09:00:00Z : standard, complete 2026-10-10T09:00:00Z, purged 2026-11-01T09:00:00Z",
    ];
    check_due(
        &requests,
        "2026-12-07T23:00:00Z",
        7,
        expect![[r#"
            overdue:
            due within 7 days:
              r1 acknowledge by 2026-12-07 Mon
              r3 respond by 2026-12-14 Mon
        "#]],
    );
    check_due(
        &requests,
        "2026-12-08T00:00:00Z",
        30,
        expect![[r#"
            overdue:
              r1 acknowledge by 2026-12-07 Mon
            due within 30 days:
              r3 respond by 2026-12-14 Mon
              r1 respond by 2027-01-04 Mon
              r2 respond by 2027-01-04 Mon
        "#]],
    );
    check_due(
        &requests,
        "2027-01-05T00:00:00Z",
        0,
        expect![[r#"
            overdue:
              r1 acknowledge by 2026-12-07 Mon
              r3 respond by 2026-12-14 Mon
              r1 respond by 2027-01-04 Mon
              r2 respond by 2027-01-04 Mon
            due within 0 days:
        "#]],
    );
    check_due(
        &requests,
        "2027-02-18T12:00:00Z",
        0,
        expect![[r#"
        overdue:
          r1 acknowledge by 2026-12-07 Mon
          r3 respond by 2026-12-14 Mon
          r1 respond by 2027-01-04 Mon
          r2 respond by 2027-01-04 Mon
        due within 0 days:
          r4 respond by 2027-02-18 Thu
    "#]],
    );
    check_due(
        &requests,
        "2027-04-02T00:00:00Z",
        0,
        expect![[r#"
            overdue:
              r1 acknowledge by 2026-12-07 Mon
              r3 respond by 2026-12-14 Mon
              r1 respond by 2027-01-04 Mon
              r2 respond by 2027-01-04 Mon
              r4 respond by 2027-02-18 Thu
              r7 purge backups by 2027-04-01 Thu
            due within 0 days:
        "#]],
    );
}

#[test]
fn mhmda_backup_purge_after_completion() {
    // Only a completed MHMDA delete takes it, once; recording it keeps the closing time.
    check_lifecycle(
        "r1 s1 mhmda delete 2026-10-01T16:00:00Z",
        &[
            "purged 2026-10-02T09:00:00Z",
            "begin 2026-10-02T09:00:00Z",
            "verify 2026-10-03T09:00:00Z : standard",
            "complete 2026-10-10T09:00:00Z",
            "purged 2026-10-09T09:00:00Z",
            "purged 2026-11-01T09:00:00Z",
            "purged 2026-11-02T09:00:00Z",
        ],
        expect![[r#"
            purged: error: cannot record purged backups for a request that is received
            begin: identity verification
            verify: in progress
            complete: completed
            purged: error: the change at 2026-10-09 09:00:00 UTC is before the request's last event at 2026-10-10 09:00:00 UTC
            purged: completed
            purged: error: the backups are already recorded as purged
            events:
              2026-10-01 16:00 r1 received delete under MHMDA
              2026-10-02 09:00 r1 verification started
              2026-10-03 09:00 r1 verified (standard)
              2026-10-10 09:00 r1 completed
              2026-11-01 09:00 r1 backups purged
            respond by 2026-11-15 Sun
        "#]],
    );
    check_lifecycle(
        "r1 s1 ccpa delete 2026-10-01T16:00:00Z",
        &[
            "begin 2026-10-02T09:00:00Z",
            "verify 2026-10-03T09:00:00Z : standard",
            "complete 2026-10-10T09:00:00Z",
            "purged 2026-11-01T09:00:00Z",
        ],
        expect![[r#"
            begin: identity verification
            verify: in progress
            complete: completed
            purged: error: cannot record purged backups for a request that is completed
            events:
              2026-10-01 16:00 r1 received delete under CCPA
              2026-10-02 09:00 r1 verification started
              2026-10-03 09:00 r1 verified (standard)
              2026-10-10 09:00 r1 completed
            respond by 2026-11-15 Sun
        "#]],
    );
    let mut r = Request::receive(new_request("r1 s1 mhmda delete 2026-10-01T16:00:00Z"), &us());
    for s in [
        "begin 2026-10-02T09:00:00Z",
        "verify 2026-10-03T09:00:00Z : standard",
        "complete 2026-10-10T09:00:00Z",
        "purged 2026-11-01T09:00:00Z",
    ] {
        let outcome = step(&mut r, s);
        assert!(!outcome.contains("error"), "{outcome}");
    }
    assert_eq!(r.closed_at(), Some(instant("2026-10-10T09:00:00Z")));
}
