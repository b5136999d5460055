use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test timestamp {s}: {e}"))
}

fn schedule(expr: &str, zone: &str) -> JobSchedule {
    JobSchedule::parse(expr, zone).unwrap_or_else(|e| panic!("{expr} in {zone}: {e}"))
}

/// (expression, zone, start, the next fire times in order; "none" = no further fire time).
/// Calendar facts used: 2026-01-01 is a Thursday; 2026-03-01, 03-29, 10-25 and 11-01 are
/// Sundays; Berlin goes 02:00->03:00 on 03-29 and 03:00->02:00 on 10-25 (at 01:00Z);
/// New York 02:00->03:00 on 03-08 (07:00Z) and 02:00->01:00 on 11-01 (06:00Z); Lord Howe
/// +10:30 -> +11:00 at 02:00 on 2026-10-04 and back at 02:00 -> 01:30 on 2026-04-05.
#[rustfmt::skip]
const CASES: &[(&str, &str, &str, &[&str])] = &[
    // Every 5 minutes, from between slots and from exactly on one (strictly after).
    ("*/5 * * * *", "UTC", "2026-01-01T00:02:00Z", &[
        "2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z",
    ]),
    ("*/5 * * * *", "UTC", "2026-01-01T00:05:00Z", &["2026-01-01T00:10:00Z"]),
    // Weekdays at 02:30, from Thursday: Thu, Fri, then Mon.
    ("30 2 * * 1-5", "UTC", "2026-01-01T00:00:00Z", &[
        "2026-01-01T02:30:00Z", "2026-01-02T02:30:00Z", "2026-01-05T02:30:00Z",
        "2026-01-06T02:30:00Z",
    ]),
    // Vixie day-of-week: 0 and 7 are Sunday (Jan 4), 1 is Monday (Jan 5).
    ("0 2 * * 0", "UTC", "2026-01-01T00:00:00Z", &["2026-01-04T02:00:00Z", "2026-01-11T02:00:00Z"]),
    ("0 2 * * 7", "UTC", "2026-01-01T00:00:00Z", &["2026-01-04T02:00:00Z", "2026-01-11T02:00:00Z"]),
    ("0 2 * * 1", "UTC", "2026-01-01T00:00:00Z", &["2026-01-05T02:00:00Z", "2026-01-12T02:00:00Z"]),
    // A range ending at 7: Fri, Sat, Sun.
    ("0 2 * * 5-7", "UTC", "2026-01-01T00:00:00Z", &[
        "2026-01-02T02:00:00Z", "2026-01-03T02:00:00Z", "2026-01-04T02:00:00Z",
        "2026-01-09T02:00:00Z",
    ]),
    // A step over 0-7: 0,2,4,6 = Sun, Tue, Thu, Sat.
    ("0 2 * * */2", "UTC", "2026-01-01T00:00:00Z", &[
        "2026-01-01T02:00:00Z", "2026-01-03T02:00:00Z", "2026-01-04T02:00:00Z",
        "2026-01-06T02:00:00Z",
    ]),
    // Names, alone and mixed with numbers.
    ("0 2 * * Mon-Fri", "UTC", "2026-01-01T00:00:00Z", &[
        "2026-01-01T02:00:00Z", "2026-01-02T02:00:00Z", "2026-01-05T02:00:00Z",
    ]),
    ("0 2 * * sat,0", "UTC", "2026-01-01T00:00:00Z", &[
        "2026-01-03T02:00:00Z", "2026-01-04T02:00:00Z", "2026-01-10T02:00:00Z",
    ]),
    // 6 fields, seconds first.
    ("15 */20 * * * *", "UTC", "2026-01-01T00:00:00Z", &[
        "2026-01-01T00:00:15Z", "2026-01-01T00:20:15Z", "2026-01-01T00:40:15Z",
        "2026-01-01T01:00:15Z",
    ]),
    // 6 fields keep the crate's day-of-week: 2 = Monday.
    ("0 0 9 * * 2", "UTC", "2026-01-01T00:00:00Z", &["2026-01-05T09:00:00Z"]),
    // 7 fields: a year that ends.
    ("0 0 12 1 1 ? 2027", "UTC", "2026-06-01T00:00:00Z", &["2027-01-01T12:00:00Z", "none"]),
    // @daily in Berlin: local midnight, 23:00Z in winter.
    ("@daily", "Europe/Berlin", "2026-01-01T00:00:00Z", &[
        "2026-01-02T00:00:00+01:00", "2026-01-03T00:00:00+01:00",
    ]),
    ("@weekly", "UTC", "2026-01-01T00:00:00Z", &["2026-01-04T00:00:00Z"]),
    ("@annually", "UTC", "2026-01-01T00:00:00Z", &["2027-01-01T00:00:00Z"]),
    // DOM/DOW both restricted: the 1st OR a Monday. (AND would give 2026-06-01 first.)
    ("0 3 1 * 1", "UTC", "2026-03-25T00:00:00Z", &[
        "2026-03-30T03:00:00Z", "2026-04-01T03:00:00Z", "2026-04-06T03:00:00Z",
    ]),
    // Monday 1 June fires once.
    ("0 3 1 * 1", "UTC", "2026-05-28T00:00:00Z", &["2026-06-01T03:00:00Z", "2026-06-08T03:00:00Z"]),
    // DOM starting with `*`: AND, as Vixie: odd days that are Mondays (Mar 9, 23).
    ("0 3 */2 * 1", "UTC", "2026-03-01T00:00:00Z", &[
        "2026-03-09T03:00:00Z", "2026-03-23T03:00:00Z",
    ]),
    // Berlin spring forward: 02:30 does not exist on 03-29, fires at 03:00+02:00.
    ("30 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00Z", &[
        "2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00",
    ]),
    // Every 30 min across the gap: 02:00, 02:30 and 03:00 are all 03:00+02:00, once.
    ("*/30 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", &[
        "2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00",
    ]),
    ("*/30 * * * *", "Europe/Berlin", "2026-03-29T03:00:00+02:00", &["2026-03-29T03:30:00+02:00"]),
    // Berlin fall back: 02:30 fires once, at +02:00.
    ("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", &[
        "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00",
    ]),
    // From inside the repeated hour (02:15+01:00), 02:30 has already fired today.
    ("30 2 * * *", "Europe/Berlin", "2026-10-25T02:15:00+01:00", &["2026-10-26T02:30:00+01:00"]),
    ("*/30 * * * *", "Europe/Berlin", "2026-10-25T02:00:00+02:00", &[
        "2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00", "2026-10-25T03:30:00+01:00",
    ]),
    ("*/30 * * * *", "Europe/Berlin", "2026-10-25T02:10:00+01:00", &["2026-10-25T03:00:00+01:00"]),
    // Every second: nothing fires in the repeated hour, every wall time in it already has.
    ("* * * * * *", "Europe/Berlin", "2026-10-25T02:10:00+01:00", &[
        "2026-10-25T03:00:00+01:00", "2026-10-25T03:00:01+01:00",
    ]),
    // New York.
    ("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", &[
        "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00",
    ]),
    ("30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z", &[
        "2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00",
    ]),
    // Half-hour zone without DST.
    ("0 9 * * *", "Asia/Kolkata", "2026-01-01T00:00:00Z", &[
        "2026-01-01T09:00:00+05:30", "2026-01-02T09:00:00+05:30",
    ]),
    // Lord Howe: a 30-minute jump forward (02:15 -> 02:30+11:00) and back (01:45 once).
    ("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", &[
        "2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00",
    ]),
    ("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z", &[
        "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30",
    ]),
    // Samoa skipped 2011-12-30 (23:59:59-10:00 was followed by 00:00:00+14:00 on the 31st):
    // noon on the 30th fires when the skipped day ends.
    ("0 12 * * *", "Pacific/Apia", "2011-12-29T00:00:00-10:00", &[
        "2011-12-29T12:00:00-10:00", "2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00",
    ]),
    // Never fires.
    ("0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", &["none"]),
    ("0 0 31 4 *", "Europe/Berlin", "2026-01-01T00:00:00Z", &["none"]),
];

#[test]
fn next_fire_times() {
    for (expr, zone, from, expected) in CASES {
        let s = schedule(expr, zone);
        let mut t = ts(from);
        for want in *expected {
            let got = s.next_after(t);
            if *want == "none" {
                assert_eq!(got, None, "{expr} in {zone} after {t}");
                break;
            }
            let want = ts(want);
            assert_eq!(got, Some(want), "{expr} in {zone} after {t}");
            t = want;
        }
    }
}

#[test]
fn never_firing_is_quick() {
    let started = std::time::Instant::now();
    let s = schedule("0 0 30 2 *", "UTC");
    let slots = s.slots_between(ts("2000-01-01T00:00:00Z"), ts("2099-01-01T00:00:00Z"), 1000);
    assert_eq!(slots, Slots::default());
    assert_eq!(s.next_after(ts("1960-01-01T00:00:00Z")), None);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn before_1970_finds_the_first_slot() {
    let s = schedule("0 0 1 1 *", "UTC");
    assert_eq!(
        s.next_after(ts("1960-06-01T00:00:00Z")),
        Some(ts("1970-01-01T00:00:00Z"))
    );
}

#[test]
fn accessors() {
    let s = schedule("30 2 * * 1-5", "Europe/Berlin");
    assert_eq!(s.expression(), "30 2 * * 1-5");
    assert_eq!(s.timezone(), "Europe/Berlin");
}

#[test]
fn slots_count_and_newest() {
    let s = schedule("*/5 * * * *", "UTC");
    let (after, up_to) = (ts("2026-01-01T00:00:00Z"), ts("2026-01-01T01:00:00Z"));
    // 00:05 .. 01:00 inclusive; 00:00 is excluded.
    let all = s.slots_between(after, up_to, 100);
    let expected = Slots {
        count: 12,
        oldest: Some(ts("2026-01-01T00:05:00Z")),
        newest: Some(ts("2026-01-01T01:00:00Z")),
    };
    assert_eq!(all, expected);
    // Counting stops at the limit; the newest is still the last slot.
    assert_eq!(
        s.slots_between(after, up_to, 5),
        Slots {
            count: 5,
            ..expected.clone()
        }
    );
    assert_eq!(
        s.slots_between(after, up_to, 0),
        Slots {
            count: 0,
            ..expected.clone()
        }
    );
    // Just before a slot.
    let part = s.slots_between(after, ts("2026-01-01T00:59:59Z"), 3);
    assert_eq!(part.count, 3);
    assert_eq!(part.newest, Some(ts("2026-01-01T00:55:00Z")));
    // Nothing in range, and an empty range.
    assert_eq!(
        s.slots_between(after, ts("2026-01-01T00:04:59Z"), 10),
        Slots::default()
    );
    assert_eq!(s.slots_between(up_to, after, 10), Slots::default());
}

#[test]
fn slots_across_dst() {
    let s = schedule("*/30 * * * *", "Europe/Berlin");
    // Spring: 00:30Z, 01:00Z (02:00, 02:30 and 03:00 local, once), 01:30Z, 02:00Z.
    let spring = (ts("2026-03-29T00:00:00Z"), ts("2026-03-29T02:00:00Z"));
    let want = Slots {
        count: 4,
        oldest: Some(ts("2026-03-29T00:30:00Z")),
        newest: Some(ts("2026-03-29T02:00:00Z")),
    };
    assert_eq!(s.slots_between(spring.0, spring.1, 10), want);
    assert_eq!(
        s.slots_between(spring.0, spring.1, 2),
        Slots { count: 2, ..want }
    );
    // Autumn: 01:30+02, 02:00+02, 02:30+02, then 03:00+01, 03:30+01, 04:00+01.
    let autumn = (ts("2026-10-24T23:00:00Z"), ts("2026-10-25T03:00:00Z"));
    let want = Slots {
        count: 6,
        oldest: Some(ts("2026-10-24T23:30:00Z")),
        newest: Some(ts("2026-10-25T03:00:00Z")),
    };
    assert_eq!(s.slots_between(autumn.0, autumn.1, 10), want);
    assert_eq!(
        s.slots_between(autumn.0, autumn.1, 3),
        Slots { count: 3, ..want }
    );
    // Every minute through the autumn change: 02:01-02:59+02:00 (59), then the repeated
    // hour is quiet, then 03:00-04:00+01:00 (61).
    let s2 = schedule("* * * * *", "Europe/Berlin");
    let want = Slots {
        count: 120,
        oldest: Some(ts("2026-10-25T02:01:00+02:00")),
        newest: Some(ts("2026-10-25T04:00:00+01:00")),
    };
    let (after, up_to) = (ts("2026-10-25T00:00:00Z"), ts("2026-10-25T03:00:00Z"));
    assert_eq!(s2.slots_between(after, up_to, 1000), want);
    assert_eq!(
        s2.slots_between(after, up_to, 50),
        Slots { count: 50, ..want }
    );
    // Up to the middle of the repeated hour: the last slot is 02:30+02:00.
    let mid = s.slots_between(autumn.0, ts("2026-10-25T02:45:00+01:00"), 1);
    assert_eq!(mid.newest, Some(ts("2026-10-25T02:30:00+02:00")));
}

#[test]
fn every_second_for_a_year_is_cheap() {
    let started = std::time::Instant::now();
    let s = schedule("* * * * * *", "Europe/Berlin");
    let slots = s.slots_between(ts("2026-01-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"), 1000);
    assert_eq!(slots.count, 1000);
    assert_eq!(slots.oldest, Some(ts("2026-01-01T00:00:01Z")));
    assert_eq!(slots.newest, Some(ts("2027-01-01T00:00:00Z")));
    // Stepping through all 31.5 million would take far longer.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn jitter_is_deterministic_and_bounded() {
    let max = Duration::from_secs(600);
    let slot = ts("2026-03-29T01:00:00Z");
    assert_eq!(jitter("nightly", slot, max), jitter("nightly", slot, max));
    let mut seen = BTreeSet::new();
    for hour in 0..48 {
        let slot = ts("2026-01-01T00:00:00Z") + jiff::SignedDuration::from_hours(hour);
        let d = jitter("nightly", slot, max);
        assert!(d < max, "{d:?}");
        assert_eq!(d.subsec_nanos(), 0, "whole seconds for max >= 1s");
        seen.insert(d);
    }
    // 48 slots over 600 possible values: many distinct ones, not a constant.
    assert!(seen.len() > 30, "{seen:?}");
    let jobs: BTreeSet<_> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|j| jitter(j, slot, max))
        .collect();
    assert!(jobs.len() > 1);
    assert_eq!(jitter("nightly", slot, Duration::ZERO), Duration::ZERO);
    let small = Duration::from_millis(5);
    assert!(jitter("nightly", slot, small) < small);
    assert!(jitter("nightly", slot, Duration::MAX) < Duration::MAX);
}

#[test]
fn bad_inputs_name_the_problem() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "* * * *",
            "UTC",
            &["\"* * * *\"", "4 fields", "5, 6 or 7 fields expected"],
        ),
        (
            "* * * * * * * *",
            "UTC",
            &["8 fields", "5, 6 or 7 fields expected"],
        ),
        ("", "UTC", &["empty"]),
        ("   ", "UTC", &["empty"]),
        ("61 * * * *", "UTC", &["minute", "\"61\"", "0-59"]),
        ("0 25 * * *", "UTC", &["hour", "\"25\""]),
        ("0 0 0 * *", "UTC", &["day-of-month", "\"0\""]),
        ("0 0 * 13 *", "UTC", &["month", "\"13\""]),
        ("0 2 * * 8", "UTC", &["day-of-week", "\"8\"", "0-7"]),
        ("0 2 * * 5-1", "UTC", &["day-of-week", "backwards"]),
        ("0 2 * * */0", "UTC", &["day-of-week", "step"]),
        ("0 2 * * Mun", "UTC", &["day-of-week", "\"Mun\""]),
        ("0 2 1 * x", "UTC", &["day-of-week", "\"x\""]),
        ("*/0 * * * *", "UTC", &["minute", "\"*/0\""]),
        ("0 0 0 1 1 ? 1800", "UTC", &["year", "\"1800\""]),
        (
            "0 0 9 * * 0",
            "UTC",
            &["day-of-week", "\"0\"", "1 = Sunday"],
        ),
        ("@fortnightly", "UTC", &["\"@fortnightly\"", "@daily"]),
        ("@reboot", "UTC", &["\"@reboot\""]),
        (
            "0 2 * * *",
            "Europe/Berln",
            &["unknown time zone \"Europe/Berln\""],
        ),
        ("0 2 * * *", "", &["unknown time zone \"\""]),
    ];
    for (expr, zone, wanted) in cases {
        let err = JobSchedule::parse(expr, zone).expect_err(expr);
        for want in *wanted {
            assert!(
                err.contains(want),
                "{expr:?} in {zone:?}: {err:?} lacks {want:?}"
            );
        }
    }
}

#[test]
fn odd_inputs_do_not_panic() {
    let inputs = [
        "🙂 * * * *",
        "1-2-3 * * * *",
        "0 0 0 0 0",
        "*/99999999999 * * * *",
        "0 0 * * 1/0",
        "0 0 * * ,",
        "0 0 * * 1,",
        "0 0 * * -",
        "0 0 * * 7-",
        "0 0 * * 99999999999",
        "0 0 * * ?/2",
        "0 0 * * */9",
        "@",
        "@DAILY",
        "? ? ? ? ?",
        "* * * * * * 2101",
        "0 0 0 1 1 ? 2020-2040/2200",
        "60 * * * * *",
        "L * * * *",
        "0 0 * * 5#3",
        "0 0 L * *",
        "\t0\t0 * * *\n",
        "- - - - -",
        "/ / / / /",
        "0 0 * * mon-",
    ];
    for input in inputs {
        if let Ok(s) = JobSchedule::parse(input, "Europe/Berlin") {
            let _ = s.next_after(ts("2026-01-01T00:00:00Z"));
        }
    }
    // Extremes of the timestamp range: the crate's years are 1970-2100.
    let s = schedule("* * * * *", "UTC");
    assert_eq!(s.next_after(Timestamp::MAX), None);
    assert_eq!(
        s.next_after(Timestamp::MIN),
        Some(ts("1970-01-01T00:00:00Z"))
    );
    let slots = s.slots_between(Timestamp::MIN, Timestamp::MAX, 10);
    assert_eq!(slots.count, 10);
    assert_eq!(slots.newest, Some(ts("2100-12-31T23:59:00Z")));
}
