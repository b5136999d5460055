//! Retention policy for the `forget` command.
//!
//! The rules follow restic's `forget --keep-*` flags because that is what users
//! already know: snapshots are grouped by host and path set, and each group is
//! judged on its own, newest first.

use std::collections::{BTreeMap, HashSet};

use jiff::{Span, Timestamp, ZonedDateTime, tz::TimeZone};

/// What the retention policy needs to know about one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub id: String,
    pub time: Timestamp,
    pub host: String,
    pub paths: Vec<String>,
    pub tags: Vec<String>,
}

/// The `--keep-*` options of `forget`.
///
/// A count of `Some(0)` and a zero `keep_within` are treated as unset (as restic
/// does), so a policy made only of those is empty.
#[derive(Default, Clone, Debug)]
pub struct RetentionPolicy {
    pub keep_last: Option<u32>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
    pub keep_within: Option<Span>,
    pub keep_tags: Vec<String>,
}

impl RetentionPolicy {
    /// True when no rule is set, i.e. applying the policy would delete every
    /// snapshot. The CLI must refuse such a policy; [`apply`] keeps everything.
    pub fn is_empty(&self) -> bool {
        let unset = |n: Option<u32>| n.unwrap_or(0) == 0;
        unset(self.keep_last)
            && unset(self.keep_hourly)
            && unset(self.keep_daily)
            && unset(self.keep_weekly)
            && unset(self.keep_monthly)
            && unset(self.keep_yearly)
            && self.keep_within.is_none_or(|s| s.is_zero())
            && self.keep_tags.is_empty()
    }
}

/// The verdict on one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub id: String,
    /// Always equal to `!reasons.is_empty()`.
    pub keep: bool,
    /// Every rule that keeps the snapshot, in this order: `"last 2"` (it is the
    /// 2nd newest of its group), `"hourly 2026-11-28 14:00+01:00"`,
    /// `"daily 2026-11-28"`, `"weekly 2026-W48"`, `"monthly 2026-11"`,
    /// `"yearly 2026"`, `"within 30d"`, `"tag important"`; or the single reason
    /// `"empty policy"` when the policy is empty.
    pub reasons: Vec<String>,
}

/// The verdicts for one (host, paths) group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDecision {
    pub host: String,
    /// Sorted.
    pub paths: Vec<String>,
    /// Newest first; snapshots with equal times are ordered by id.
    pub decisions: Vec<Decision>,
}

/// Errors from [`parse_within`]; their messages are meant for the user as is.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(
        "invalid --keep-within value {input:?}: {problem}; expected numbers each followed by a unit \
         y (years), m (months), w (weeks), d (days) or h (hours), e.g. \"30d\" or \"1y6m\""
    )]
    InvalidWithin { input: String, problem: String },
    #[error("--keep-within value {input:?} is too large")]
    WithinOutOfRange {
        input: String,
        #[source]
        source: jiff::Error,
    },
}

/// Groups snapshots by (host, sorted paths) and applies the policy to each
/// group independently. Groups come out sorted by host, then paths.
///
/// Calendar buckets (hour, day, ISO week, month, year) and `keep_within`'s
/// calendar arithmetic use `tz`. `_now` is deliberately unused: `keep_within`
/// counts back from each group's newest snapshot, as restic does.
///
/// An empty policy (see [`RetentionPolicy::is_empty`]) keeps everything.
pub fn apply(
    policy: &RetentionPolicy,
    snapshots: &[SnapshotInfo],
    _now: Timestamp,
    tz: &TimeZone,
) -> Vec<GroupDecision> {
    let mut groups: BTreeMap<(&str, Vec<&str>), Vec<&SnapshotInfo>> = BTreeMap::new();
    for snap in snapshots {
        let mut paths: Vec<&str> = snap.paths.iter().map(String::as_str).collect();
        paths.sort_unstable();
        groups
            .entry((snap.host.as_str(), paths))
            .or_default()
            .push(snap);
    }

    groups
        .into_iter()
        .map(|((host, paths), mut snaps)| {
            // Ties broken by id so the outcome doesn't depend on listing order.
            snaps.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.id.cmp(&b.id)));
            GroupDecision {
                host: host.to_owned(),
                paths: paths.into_iter().map(str::to_owned).collect(),
                decisions: decide_group(policy, &snaps, tz),
            }
        })
        .collect()
}

/// `snaps` must be sorted newest first.
fn decide_group(policy: &RetentionPolicy, snaps: &[&SnapshotInfo], tz: &TimeZone) -> Vec<Decision> {
    let mut reasons: Vec<Vec<String>> = vec![Vec::new(); snaps.len()];

    if policy.is_empty() {
        for r in &mut reasons {
            r.push("empty policy".to_owned());
        }
    } else {
        let zoned: Vec<ZonedDateTime> = snaps
            .iter()
            .map(|s| s.time.to_zoned_datetime(tz.clone()))
            .collect();

        if let Some(n) = policy.keep_last {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            for (i, r) in reasons.iter_mut().take(n).enumerate() {
                r.push(format!("last {}", i + 1));
            }
        }

        let bucket_rules = [
            (policy.keep_hourly, Bucket::Hour),
            (policy.keep_daily, Bucket::Day),
            (policy.keep_weekly, Bucket::Week),
            (policy.keep_monthly, Bucket::Month),
            (policy.keep_yearly, Bucket::Year),
        ];
        for (count, bucket) in bucket_rules {
            let Some(mut remaining) = count else { continue };
            let mut seen = HashSet::new();
            for (z, r) in zoned.iter().zip(&mut reasons) {
                if remaining == 0 {
                    break;
                }
                let label = bucket.label(z);
                // Walking newest first, the first snapshot met in a bucket is its newest.
                if !seen.contains(&label) {
                    r.push(format!("{} {label}", bucket.name()));
                    seen.insert(label);
                    remaining -= 1;
                }
            }
        }

        if let Some(span) = policy.keep_within.filter(|s| !s.is_zero()) {
            let span = span.abs();
            // From the newest snapshot, not `now`, as restic does: if backups stop, the last ones must not age out.
            let cutoff = zoned
                .first()
                .map(|newest| newest.checked_sub(span).map(|z| z.timestamp()));
            let label = format!("within {}", format_span(span));
            for (snap, r) in snaps.iter().zip(&mut reasons) {
                let within = match &cutoff {
                    Some(Ok(cutoff)) => snap.time > *cutoff,
                    // The cutoff lies before the earliest representable time.
                    Some(Err(_)) => true,
                    None => false,
                };
                if within {
                    r.push(label.clone());
                }
            }
        }

        let mut seen_tags = HashSet::new();
        let tags: Vec<&String> = policy
            .keep_tags
            .iter()
            .filter(|t| seen_tags.insert(*t))
            .collect();
        for (snap, r) in snaps.iter().zip(&mut reasons) {
            for tag in &tags {
                if snap.tags.contains(tag) {
                    r.push(format!("tag {tag}"));
                }
            }
        }
    }

    snaps
        .iter()
        .zip(reasons)
        .map(|(snap, reasons)| Decision {
            id: snap.id.clone(),
            keep: !reasons.is_empty(),
            reasons,
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Bucket {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Bucket {
    fn name(self) -> &'static str {
        match self {
            Bucket::Hour => "hourly",
            Bucket::Day => "daily",
            Bucket::Week => "weekly",
            Bucket::Month => "monthly",
            Bucket::Year => "yearly",
        }
    }

    /// The label doubles as the bucket's identity.
    fn label(self, z: &ZonedDateTime) -> String {
        let year = format_year(z.year());
        match self {
            // The offset is part of the hour so that the wall-clock hour repeated
            // when DST ends counts as the two real hours it is.
            Bucket::Hour => format!(
                "{year}-{:02}-{:02} {:02}:00{}",
                z.month(),
                z.day(),
                z.hour(),
                format_offset(z.offset().seconds())
            ),
            Bucket::Day => format!("{year}-{:02}-{:02}", z.month(), z.day()),
            Bucket::Week => {
                let week = z.iso_week_date();
                format!("{}-W{:02}", format_year(week.year()), week.week())
            }
            Bucket::Month => format!("{year}-{:02}", z.month()),
            Bucket::Year => year,
        }
    }
}

fn format_year(year: i16) -> String {
    let year = i32::from(year);
    if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    }
}

fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// Formats in `parse_within`'s syntax where possible, so the reason shown reads
/// like the flag the user gave.
fn format_span(span: Span) -> String {
    let has_smaller_units = span.get_minutes() != 0
        || span.get_seconds() != 0
        || span.get_milliseconds() != 0
        || span.get_microseconds() != 0
        || span.get_nanoseconds() != 0;
    if has_smaller_units {
        return format!("{span:#}");
    }
    let parts = [
        (i64::from(span.get_years()), 'y'),
        (i64::from(span.get_months()), 'm'),
        (i64::from(span.get_weeks()), 'w'),
        (i64::from(span.get_days()), 'd'),
        (i64::from(span.get_hours()), 'h'),
    ];
    let mut out = String::new();
    if span.is_negative() {
        out.push('-');
    }
    for (value, unit) in parts {
        if value != 0 {
            out.push_str(&value.unsigned_abs().to_string());
            out.push(unit);
        }
    }
    out
}

/// Parses a `--keep-within` value such as `"30d"`, `"2y5m"`, `"1w3d12h"` or
/// `"48h"`: one or more non-negative integers each followed by a unit, `y`
/// (years), `m` (months, as in restic, not minutes), `w` (weeks), `d` (days) or
/// `h` (hours), each unit at most once, in any order. The total must not be
/// zero.
pub fn parse_within(s: &str) -> Result<Span, RetentionError> {
    let invalid = |problem: String| RetentionError::InvalidWithin {
        input: s.to_owned(),
        problem,
    };
    if s.is_empty() {
        return Err(invalid("it is empty".to_owned()));
    }

    let mut span = Span::new();
    let mut used = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after) = rest.split_at(digits_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        rest = after;

        if digits.is_empty() {
            return Err(invalid(format!("{unit:?} is not preceded by a number")));
        }
        if unit.is_empty() {
            return Err(invalid(format!("number {digits} has no unit")));
        }
        let value: i64 = digits
            .parse()
            .map_err(|_| invalid(format!("number {digits} is too large")))?;
        let unit_char = match unit {
            "y" => 'y',
            "m" => 'm',
            "w" => 'w',
            "d" => 'd',
            "h" => 'h',
            _ => return Err(invalid(format!("unknown unit {unit:?}"))),
        };
        if used.contains(unit_char) {
            return Err(invalid(format!("unit {unit:?} is given more than once")));
        }
        used.push(unit_char);

        let out_of_range = |source| RetentionError::WithinOutOfRange {
            input: s.to_owned(),
            source,
        };
        span = match unit_char {
            'y' => span.try_years(value),
            'm' => span.try_months(value),
            'w' => span.try_weeks(value),
            'd' => span.try_days(value),
            _ => span.try_hours(value),
        }
        .map_err(out_of_range)?;
    }

    if span.is_zero() {
        return Err(invalid("it is zero, which would keep nothing".to_owned()));
    }
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    fn snap(id: &str, time: &str) -> SnapshotInfo {
        snap_on(id, time, "host", &["/data"], &[])
    }

    fn snap_on(id: &str, time: &str, host: &str, paths: &[&str], tags: &[&str]) -> SnapshotInfo {
        SnapshotInfo {
            id: id.to_owned(),
            time: ts(time),
            host: host.to_owned(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn berlin() -> TimeZone {
        // The POSIX rule is Berlin's current one; it stands in where the system
        // has no tzdata.
        TimeZone::get("Europe/Berlin").unwrap_or_else(|_| {
            TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("valid POSIX TZ")
        })
    }

    /// A far-future `now`, to show it plays no part.
    fn now() -> Timestamp {
        ts("2090-01-01T00:00:00Z")
    }

    fn only_group(groups: Vec<GroupDecision>) -> Vec<Decision> {
        assert_eq!(groups.len(), 1, "{groups:#?}");
        groups.into_iter().next().unwrap().decisions
    }

    /// (id, reasons)
    type Verdict<'a> = (&'a str, Vec<&'a str>);

    /// For every snapshot, newest first.
    fn verdicts(decisions: &[Decision]) -> Vec<Verdict<'_>> {
        decisions
            .iter()
            .map(|d| {
                assert_eq!(d.keep, !d.reasons.is_empty());
                (
                    d.id.as_str(),
                    d.reasons.iter().map(String::as_str).collect(),
                )
            })
            .collect()
    }

    /// Shuffled on purpose: `apply` must sort.
    fn series() -> Vec<SnapshotInfo> {
        vec![
            snap("h", "2025-12-31T23:00:00Z"),
            snap("a", "2026-11-28T14:40:00Z"),
            snap("c", "2026-11-28T13:10:00Z"),
            snap("b", "2026-11-28T14:05:00Z"),
            snap("e", "2026-11-23T08:00:00Z"), // Monday, same ISO week as 11-27/28
            snap("d", "2026-11-27T09:00:00Z"),
            snap("f", "2026-11-22T08:00:00Z"), // Sunday, week 47
            snap("g", "2026-10-01T00:00:00Z"),
            snap("i", "2024-06-01T00:00:00Z"),
        ]
    }

    #[test]
    fn single_rules_table() {
        let cases: Vec<(&str, RetentionPolicy, Vec<Verdict>)> = vec![
            (
                "keep-last",
                RetentionPolicy {
                    keep_last: Some(3),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["last 1"]),
                    ("b", vec!["last 2"]),
                    ("c", vec!["last 3"]),
                    ("d", vec![]),
                    ("e", vec![]),
                    ("f", vec![]),
                    ("g", vec![]),
                    ("h", vec![]),
                    ("i", vec![]),
                ],
            ),
            (
                "keep-last larger than the group",
                RetentionPolicy {
                    keep_last: Some(u32::MAX),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["last 1"]),
                    ("b", vec!["last 2"]),
                    ("c", vec!["last 3"]),
                    ("d", vec!["last 4"]),
                    ("e", vec!["last 5"]),
                    ("f", vec!["last 6"]),
                    ("g", vec!["last 7"]),
                    ("h", vec!["last 8"]),
                    ("i", vec!["last 9"]),
                ],
            ),
            (
                "keep-hourly",
                RetentionPolicy {
                    keep_hourly: Some(2),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["hourly 2026-11-28 14:00+00:00"]),
                    ("b", vec![]),
                    ("c", vec!["hourly 2026-11-28 13:00+00:00"]),
                    ("d", vec![]),
                    ("e", vec![]),
                    ("f", vec![]),
                    ("g", vec![]),
                    ("h", vec![]),
                    ("i", vec![]),
                ],
            ),
            (
                "keep-daily",
                RetentionPolicy {
                    keep_daily: Some(3),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["daily 2026-11-28"]),
                    ("b", vec![]),
                    ("c", vec![]),
                    ("d", vec!["daily 2026-11-27"]),
                    ("e", vec!["daily 2026-11-23"]),
                    ("f", vec![]),
                    ("g", vec![]),
                    ("h", vec![]),
                    ("i", vec![]),
                ],
            ),
            (
                "keep-weekly uses ISO weeks",
                RetentionPolicy {
                    keep_weekly: Some(3),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["weekly 2026-W48"]),
                    ("b", vec![]),
                    ("c", vec![]),
                    ("d", vec![]),
                    ("e", vec![]),
                    ("f", vec!["weekly 2026-W47"]),
                    ("g", vec!["weekly 2026-W40"]),
                    ("h", vec![]),
                    ("i", vec![]),
                ],
            ),
            (
                "keep-monthly",
                RetentionPolicy {
                    keep_monthly: Some(3),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["monthly 2026-11"]),
                    ("b", vec![]),
                    ("c", vec![]),
                    ("d", vec![]),
                    ("e", vec![]),
                    ("f", vec![]),
                    ("g", vec!["monthly 2026-10"]),
                    ("h", vec!["monthly 2025-12"]),
                    ("i", vec![]),
                ],
            ),
            (
                "keep-yearly",
                RetentionPolicy {
                    keep_yearly: Some(10),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["yearly 2026"]),
                    ("b", vec![]),
                    ("c", vec![]),
                    ("d", vec![]),
                    ("e", vec![]),
                    ("f", vec![]),
                    ("g", vec![]),
                    ("h", vec!["yearly 2025"]),
                    ("i", vec!["yearly 2024"]),
                ],
            ),
            (
                // 2026-11-28T14:40 minus 5 days is 11-23T14:40: "e" at 08:00 is just outside.
                "keep-within counts from the newest snapshot, not now",
                RetentionPolicy {
                    keep_within: Some(parse_within("5d").unwrap()),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["within 5d"]),
                    ("b", vec!["within 5d"]),
                    ("c", vec!["within 5d"]),
                    ("d", vec!["within 5d"]),
                    ("e", vec![]),
                    ("f", vec![]),
                    ("g", vec![]),
                    ("h", vec![]),
                    ("i", vec![]),
                ],
            ),
            (
                "keep-within with calendar units",
                RetentionPolicy {
                    keep_within: Some(parse_within("1y").unwrap()),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["within 1y"]),
                    ("b", vec!["within 1y"]),
                    ("c", vec!["within 1y"]),
                    ("d", vec!["within 1y"]),
                    ("e", vec!["within 1y"]),
                    ("f", vec!["within 1y"]),
                    ("g", vec!["within 1y"]),
                    ("h", vec!["within 1y"]),
                    ("i", vec![]),
                ],
            ),
            (
                "counts of zero are ignored next to a real rule",
                RetentionPolicy {
                    keep_last: Some(1),
                    keep_daily: Some(0),
                    keep_yearly: Some(0),
                    ..Default::default()
                },
                vec![
                    ("a", vec!["last 1"]),
                    ("b", vec![]),
                    ("c", vec![]),
                    ("d", vec![]),
                    ("e", vec![]),
                    ("f", vec![]),
                    ("g", vec![]),
                    ("h", vec![]),
                    ("i", vec![]),
                ],
            ),
        ];

        for (name, policy, expected) in cases {
            let decisions = only_group(apply(&policy, &series(), now(), &TimeZone::UTC));
            assert_eq!(verdicts(&decisions), expected, "case: {name}");
        }
    }

    #[test]
    fn keep_within_boundary_is_exclusive() {
        let snaps = [
            snap("new", "2026-11-28T12:00:00Z"),
            snap("exact", "2026-11-26T12:00:00Z"),
            snap("inside", "2026-11-26T12:00:01Z"),
        ];
        let policy = RetentionPolicy {
            keep_within: Some(parse_within("48h").unwrap()),
            ..Default::default()
        };
        let decisions = only_group(apply(&policy, &snaps, now(), &TimeZone::UTC));
        assert_eq!(
            verdicts(&decisions),
            vec![
                ("new", vec!["within 48h"]),
                ("inside", vec!["within 48h"]),
                ("exact", vec![]),
            ]
        );
    }

    #[test]
    fn keep_within_month_clamps_to_end_of_month() {
        // 03-31 minus one month is 02-28, not 03-03 as naive normalisation would give.
        let snaps = [
            snap("new", "2026-03-31T12:00:00Z"),
            snap("mar-01", "2026-03-01T12:00:00Z"),
            snap("feb-28-late", "2026-02-28T13:00:00Z"),
            snap("feb-28-early", "2026-02-28T11:00:00Z"),
        ];
        let policy = RetentionPolicy {
            keep_within: Some(parse_within("1m").unwrap()),
            ..Default::default()
        };
        let kept = kept_ids(&apply(&policy, &snaps, now(), &TimeZone::UTC));
        assert_eq!(
            kept,
            ["feb-28-late", "mar-01", "new"].map(str::to_owned).into()
        );
    }

    #[test]
    fn tags_and_combined_reasons() {
        let snaps = [
            snap_on(
                "n",
                "2026-11-28T10:00:00Z",
                "host",
                &["/data"],
                &["nightly"],
            ),
            snap_on("m", "2026-11-28T02:00:00Z", "host", &["/data"], &[]),
            snap_on(
                "o",
                "2026-11-20T02:00:00Z",
                "host",
                &["/data"],
                &["important", "pre-upgrade"],
            ),
            snap_on(
                "p",
                "2025-01-05T02:00:00Z",
                "host",
                &["/data"],
                &["important"],
            ),
            snap_on("q", "2025-01-04T02:00:00Z", "host", &["/data"], &["other"]),
        ];
        let policy = RetentionPolicy {
            keep_last: Some(1),
            keep_daily: Some(2),
            keep_monthly: Some(1),
            keep_within: Some(parse_within("1w3d12h").unwrap()),
            // The duplicate must not produce a duplicate reason.
            keep_tags: vec![
                "pre-upgrade".to_owned(),
                "important".to_owned(),
                "important".to_owned(),
            ],
            ..Default::default()
        };
        let decisions = only_group(apply(&policy, &snaps, now(), &TimeZone::UTC));
        assert_eq!(
            verdicts(&decisions),
            vec![
                (
                    "n",
                    vec![
                        "last 1",
                        "daily 2026-11-28",
                        "monthly 2026-11",
                        "within 1w3d12h",
                    ]
                ),
                ("m", vec!["within 1w3d12h"]),
                (
                    "o",
                    vec![
                        "daily 2026-11-20",
                        "within 1w3d12h",
                        "tag pre-upgrade",
                        "tag important",
                    ]
                ),
                ("p", vec!["tag important"]),
                ("q", vec![]),
            ]
        );
    }

    #[test]
    fn groups_by_host_and_sorted_paths() {
        let snaps = [
            snap_on(
                "a1",
                "2026-01-01T00:00:00Z",
                "alpha",
                &["/etc", "/home"],
                &[],
            ),
            snap_on(
                "a2",
                "2026-01-02T00:00:00Z",
                "alpha",
                &["/home", "/etc"],
                &[],
            ),
            snap_on("a3", "2026-01-03T00:00:00Z", "alpha", &["/home"], &[]),
            snap_on(
                "b1",
                "2026-01-01T00:00:00Z",
                "beta",
                &["/etc", "/home"],
                &[],
            ),
            snap_on(
                "b2",
                "2025-01-01T00:00:00Z",
                "beta",
                &["/etc", "/home"],
                &[],
            ),
        ];
        let policy = RetentionPolicy {
            keep_last: Some(1),
            ..Default::default()
        };
        let groups = apply(&policy, &snaps, now(), &TimeZone::UTC);
        let summary: Vec<(&str, Vec<&str>, Vec<Verdict>)> = groups
            .iter()
            .map(|g| {
                (
                    g.host.as_str(),
                    g.paths.iter().map(String::as_str).collect(),
                    verdicts(&g.decisions),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "alpha",
                    vec!["/etc", "/home"],
                    vec![("a2", vec!["last 1"]), ("a1", vec![])]
                ),
                ("alpha", vec!["/home"], vec![("a3", vec!["last 1"])]),
                (
                    "beta",
                    vec!["/etc", "/home"],
                    vec![("b1", vec!["last 1"]), ("b2", vec![])]
                ),
            ]
        );
    }

    #[test]
    fn empty_policy_keeps_everything() {
        let policies = [
            RetentionPolicy::default(),
            RetentionPolicy {
                keep_last: Some(0),
                keep_hourly: Some(0),
                keep_daily: Some(0),
                keep_weekly: Some(0),
                keep_monthly: Some(0),
                keep_yearly: Some(0),
                keep_within: Some(Span::new()),
                keep_tags: vec![],
            },
        ];
        for policy in policies {
            assert!(policy.is_empty());
            let decisions = only_group(apply(&policy, &series(), now(), &TimeZone::UTC));
            assert_eq!(decisions.len(), 9);
            for d in decisions {
                assert!(d.keep);
                assert_eq!(d.reasons, ["empty policy"]);
            }
        }
        assert!(apply(&RetentionPolicy::default(), &[], now(), &TimeZone::UTC).is_empty());
    }

    #[test]
    fn is_empty_sees_every_rule() {
        let within = parse_within("1h").unwrap();
        let policies = [
            RetentionPolicy {
                keep_last: Some(1),
                ..Default::default()
            },
            RetentionPolicy {
                keep_hourly: Some(1),
                ..Default::default()
            },
            RetentionPolicy {
                keep_daily: Some(1),
                ..Default::default()
            },
            RetentionPolicy {
                keep_weekly: Some(1),
                ..Default::default()
            },
            RetentionPolicy {
                keep_monthly: Some(1),
                ..Default::default()
            },
            RetentionPolicy {
                keep_yearly: Some(1),
                ..Default::default()
            },
            RetentionPolicy {
                keep_within: Some(within),
                ..Default::default()
            },
            RetentionPolicy {
                keep_tags: vec!["x".to_owned()],
                ..Default::default()
            },
        ];
        for policy in policies {
            assert!(!policy.is_empty(), "{policy:?}");
        }
    }

    #[test]
    fn duplicate_times_are_ordered_by_id() {
        let snaps = [
            snap("z", "2026-05-05T05:05:05Z"),
            snap("x", "2026-05-05T05:05:05Z"),
            snap("y", "2026-05-05T05:05:05Z"),
        ];
        let policy = RetentionPolicy {
            keep_last: Some(2),
            keep_daily: Some(5),
            ..Default::default()
        };
        let decisions = only_group(apply(&policy, &snaps, now(), &TimeZone::UTC));
        assert_eq!(
            verdicts(&decisions),
            vec![
                ("x", vec!["last 1", "daily 2026-05-05"]),
                ("y", vec!["last 2"]),
                ("z", vec![]),
            ]
        );
    }

    #[test]
    fn daily_buckets_across_berlin_dst_end() {
        // On 2026-10-25 Berlin goes from CEST (+02) back to CET (+01) at 01:00 UTC,
        // so that local day lasts 25 hours: 2026-10-24T22:00Z .. 2026-10-25T23:00Z.
        let snaps = [
            snap("oct26-0030", "2026-10-25T23:30:00Z"),
            snap("oct25-2359", "2026-10-25T22:59:00Z"),
            snap("oct25-0230-cet", "2026-10-25T01:30:00Z"),
            snap("oct25-0230-cest", "2026-10-25T00:30:00Z"),
            snap("oct25-0000", "2026-10-24T22:00:00Z"),
            snap("oct24-2359", "2026-10-24T21:59:00Z"),
        ];
        let daily = RetentionPolicy {
            keep_daily: Some(10),
            ..Default::default()
        };
        let decisions = only_group(apply(&daily, &snaps, now(), &berlin()));
        assert_eq!(
            verdicts(&decisions),
            vec![
                ("oct26-0030", vec!["daily 2026-10-26"]),
                ("oct25-2359", vec!["daily 2026-10-25"]),
                ("oct25-0230-cet", vec![]),
                ("oct25-0230-cest", vec![]),
                ("oct25-0000", vec![]),
                ("oct24-2359", vec!["daily 2026-10-24"]),
            ]
        );

        // In UTC the same snapshots fall on other days.
        let decisions = only_group(apply(&daily, &snaps, now(), &TimeZone::UTC));
        assert_eq!(
            verdicts(&decisions),
            vec![
                ("oct26-0030", vec!["daily 2026-10-25"]),
                ("oct25-2359", vec![]),
                ("oct25-0230-cet", vec![]),
                ("oct25-0230-cest", vec![]),
                ("oct25-0000", vec!["daily 2026-10-24"]),
                ("oct24-2359", vec![]),
            ]
        );

        // The wall-clock hour 02:00 happens twice; each is its own hour.
        let hourly = RetentionPolicy {
            keep_hourly: Some(10),
            ..Default::default()
        };
        let decisions = only_group(apply(&hourly, &snaps, now(), &berlin()));
        assert_eq!(
            verdicts(&decisions),
            vec![
                ("oct26-0030", vec!["hourly 2026-10-26 00:00+01:00"]),
                ("oct25-2359", vec!["hourly 2026-10-25 23:00+01:00"]),
                ("oct25-0230-cet", vec!["hourly 2026-10-25 02:00+01:00"]),
                ("oct25-0230-cest", vec!["hourly 2026-10-25 02:00+02:00"]),
                ("oct25-0000", vec!["hourly 2026-10-25 00:00+02:00"]),
                ("oct24-2359", vec!["hourly 2026-10-24 23:00+02:00"]),
            ]
        );
    }

    #[test]
    fn weekly_buckets_span_iso_year_boundary() {
        // 2026 has 53 ISO weeks; 2027-01-02 (Sat) and 2026-12-28 (Mon) share 2026-W53.
        let snaps = [
            snap("jan4", "2027-01-04T12:00:00Z"),
            snap("jan2", "2027-01-02T12:00:00Z"),
            snap("dec28", "2026-12-28T12:00:00Z"),
            snap("dec27", "2026-12-27T12:00:00Z"),
        ];
        let policy = RetentionPolicy {
            keep_weekly: Some(3),
            keep_yearly: Some(2),
            ..Default::default()
        };
        let decisions = only_group(apply(&policy, &snaps, now(), &TimeZone::UTC));
        assert_eq!(
            verdicts(&decisions),
            vec![
                ("jan4", vec!["weekly 2027-W01", "yearly 2027"]),
                ("jan2", vec!["weekly 2026-W53"]),
                ("dec28", vec!["yearly 2026"]),
                ("dec27", vec!["weekly 2026-W52"]),
            ]
        );
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let snaps = [
            SnapshotInfo {
                id: "max".to_owned(),
                time: Timestamp::MAX,
                host: "h".to_owned(),
                paths: vec![],
                tags: vec![],
            },
            SnapshotInfo {
                id: "min".to_owned(),
                time: Timestamp::MIN,
                host: "h".to_owned(),
                paths: vec![],
                tags: vec![],
            },
        ];
        let policy = RetentionPolicy {
            keep_last: Some(1),
            keep_hourly: Some(u32::MAX),
            keep_daily: Some(u32::MAX),
            keep_weekly: Some(u32::MAX),
            keep_monthly: Some(u32::MAX),
            keep_yearly: Some(u32::MAX),
            keep_within: Some(parse_within("19998y12m").unwrap()),
            keep_tags: vec![String::new()],
        };
        for tz in [TimeZone::UTC, berlin()] {
            let decisions = only_group(apply(&policy, &snaps, Timestamp::MIN, &tz));
            assert!(decisions.iter().all(|d| d.keep), "{decisions:#?}");
            assert!(
                decisions
                    .iter()
                    .all(|d| d.reasons.iter().any(|r| r == "within 19998y12m")),
                "the cutoff underflows, so everything is within: {decisions:#?}"
            );
        }
    }

    #[test]
    fn parse_within_accepts() {
        let cases: [(&str, Span); 7] = [
            ("30d", Span::new().days(30)),
            ("2y5m", Span::new().years(2).months(5)),
            ("1w3d12h", Span::new().weeks(1).days(3).hours(12)),
            ("48h", Span::new().hours(48)),
            ("12h1y", Span::new().years(1).hours(12)),
            ("0y7d", Span::new().days(7)),
            ("007d", Span::new().days(7)),
        ];
        for (input, expected) in cases {
            let got = parse_within(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got.fieldwise(), expected.fieldwise(), "{input}");
        }
    }

    #[test]
    fn parse_within_rejects() {
        let cases = [
            ("", "empty"),
            ("30", "no unit"),
            ("d", "not preceded by a number"),
            ("30x", "unknown unit \"x\""),
            ("30min", "unknown unit \"min\""),
            ("30D", "unknown unit \"D\""),
            ("30mo", "unknown unit \"mo\""),
            ("3.5d", "unknown unit \".\""),
            ("-3d", "\"-\" is not preceded"),
            ("+3d", "\"+\" is not preceded"),
            (" 30d", "\" \" is not preceded"),
            ("30d ", "unknown unit \"d \""),
            ("1d1d", "more than once"),
            ("0d", "zero"),
            ("0y0h", "zero"),
            ("99999999999999999999d", "too large"),
            ("30d٣h", "unknown unit"),
        ];
        for (input, needle) in cases {
            match parse_within(input) {
                Ok(span) => panic!("{input:?} parsed as {span}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(needle), "{input:?}: {msg}");
                    assert!(
                        matches!(e, RetentionError::InvalidWithin { .. }),
                        "{input:?}"
                    );
                }
            }
        }
        for input in ["20000y", "9999999999h", "300000m"] {
            assert!(
                matches!(
                    parse_within(input),
                    Err(RetentionError::WithinOutOfRange { .. })
                ),
                "{input}"
            );
        }
    }

    #[test]
    fn within_label_survives_unusual_spans() {
        assert_eq!(format_span(Span::new().years(2).months(5)), "2y5m");
        assert_eq!(format_span(Span::new().days(-3)), "-3d");
        assert_eq!(format_span(Span::new().minutes(90)), "90m");
        // A span the caller built with minutes is still honoured.
        let snaps = [
            snap("new", "2026-01-01T10:00:00Z"),
            snap("old", "2026-01-01T08:00:00Z"),
            snap("mid", "2026-01-01T08:40:00Z"),
        ];
        let policy = RetentionPolicy {
            keep_within: Some(Span::new().minutes(-90)),
            ..Default::default()
        };
        let kept = kept_ids(&apply(&policy, &snaps, now(), &TimeZone::UTC));
        assert_eq!(kept, ["mid", "new"].map(str::to_owned).into());
    }

    fn kept_ids(groups: &[GroupDecision]) -> std::collections::BTreeSet<String> {
        groups
            .iter()
            .flat_map(|g| &g.decisions)
            .filter(|d| d.keep)
            .map(|d| d.id.clone())
            .collect()
    }

    fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
        let (min, max) = (Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        let t2026 = 1_780_000_000_i64;
        prop_oneof![
            // Mostly clustered, so buckets collide and rules interact.
            3 => t2026 - 3 * 365 * 86_400..t2026,
            1 => Just(t2026),
            1 => min..=max,
            1 => prop_oneof![Just(min), Just(max)],
        ]
        .prop_map(|s| Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    fn arb_snapshot() -> impl Strategy<Value = SnapshotInfo> {
        (
            arb_timestamp(),
            prop::sample::select(vec!["a", "b"]),
            prop::collection::vec(prop::sample::select(vec!["/x", "/y", "/z"]), 0..3),
            prop::collection::vec(prop::sample::select(vec!["t1", "t2", "t3"]), 0..2),
        )
            .prop_map(|(time, host, paths, tags)| SnapshotInfo {
                id: String::new(),
                time,
                host: host.to_owned(),
                paths: paths.into_iter().map(str::to_owned).collect(),
                tags: tags.into_iter().map(str::to_owned).collect(),
            })
    }

    /// Ids are unique so a decision can be traced back to its snapshot.
    fn arb_snapshots() -> impl Strategy<Value = Vec<SnapshotInfo>> {
        prop::collection::vec(arb_snapshot(), 0..40).prop_map(|mut snaps| {
            for (i, s) in snaps.iter_mut().enumerate() {
                s.id = format!("s{i:02}");
            }
            snaps
        })
    }

    fn arb_count() -> impl Strategy<Value = Option<u32>> {
        prop_oneof![
            Just(None),
            Just(Some(0)),
            (1u32..6).prop_map(Some),
            Just(Some(u32::MAX)),
        ]
    }

    fn arb_span() -> impl Strategy<Value = Option<Span>> {
        prop_oneof![
            Just(None),
            (-19_998i64..=19_998, 0i64..24, 0i64..60, 0i64..48).prop_map(|(y, m, d, h)| Span::new(
            )
            .try_years(y)
            .ok()?
            .try_months(m * y.signum())
            .ok()?
            .try_days(d * y.signum())
            .ok()?
            .try_hours(h * y.signum())
            .ok()),
            (0i64..=175_307_616).prop_map(|h| Span::new().try_hours(h).ok()),
        ]
    }

    fn arb_policy() -> impl Strategy<Value = RetentionPolicy> {
        (
            prop::array::uniform6(arb_count()),
            arb_span(),
            prop::collection::vec(prop::sample::select(vec!["t1", "t2", "t9"]), 0..2),
        )
            .prop_map(|(counts, within, tags)| RetentionPolicy {
                keep_last: counts[0],
                keep_hourly: counts[1],
                keep_daily: counts[2],
                keep_weekly: counts[3],
                keep_monthly: counts[4],
                keep_yearly: counts[5],
                keep_within: within,
                keep_tags: tags.into_iter().map(str::to_owned).collect(),
            })
    }

    fn arb_tz() -> impl Strategy<Value = TimeZone> {
        prop_oneof![
            Just(TimeZone::UTC),
            Just(berlin()),
            Just(TimeZone::get("Australia/Lord_Howe").unwrap_or(TimeZone::UTC)),
            Just(TimeZone::fixed(jiff::tz::Offset::constant(-12))),
            Just(TimeZone::fixed(jiff::tz::Offset::constant(14))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn kept_set_contains_keep_last_and_apply_is_total(
            snaps in arb_snapshots(),
            policy in arb_policy(),
            tz in arb_tz(),
            now in arb_timestamp(),
        ) {
            let groups = apply(&policy, &snaps, now, &tz);

            // Every snapshot is judged exactly once, in a well-formed group.
            let total: usize = groups.iter().map(|g| g.decisions.len()).sum();
            prop_assert_eq!(total, snaps.len());
            for g in &groups {
                prop_assert!(!g.decisions.is_empty());
                prop_assert!(g.paths.windows(2).all(|w| w[0] <= w[1]));
                for d in &g.decisions {
                    prop_assert_eq!(d.keep, !d.reasons.is_empty());
                }
                let times: Vec<Timestamp> = g.decisions.iter().map(|d| {
                    snaps.iter().find(|s| s.id == d.id).map(|s| s.time)
                }).collect::<Option<_>>().unwrap_or_default();
                prop_assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first");
            }

            if policy.is_empty() {
                prop_assert!(groups.iter().flat_map(|g| &g.decisions).all(|d| d.keep));
            }

            let last_only = RetentionPolicy { keep_last: policy.keep_last, ..Default::default() };
            if !last_only.is_empty() {
                let n = policy.keep_last.unwrap_or(0) as usize;
                let with_last = apply(&last_only, &snaps, now, &tz);
                for (g, gl) in groups.iter().zip(&with_last) {
                    prop_assert_eq!((&g.host, &g.paths), (&gl.host, &gl.paths));
                    for (d, dl) in g.decisions.iter().zip(&gl.decisions) {
                        prop_assert_eq!(&d.id, &dl.id);
                        prop_assert!(!dl.keep || d.keep, "{} kept by keep-last only", d.id);
                    }
                    prop_assert!(g.decisions.iter().take(n).all(|d| d.keep));
                }
            }

            // Asking for more never keeps less.
            let mut more = policy.clone();
            more.keep_daily = Some(more.keep_daily.unwrap_or(0).saturating_add(1));
            let more_kept = kept_ids(&apply(&more, &snaps, now, &tz));
            if !policy.is_empty() {
                prop_assert!(kept_ids(&groups).is_subset(&more_kept));
            }
        }

        #[test]
        fn parse_within_never_panics(s in "\\PC{0,12}") {
            let _ = parse_within(&s);
        }

        #[test]
        fn parse_within_accepts_what_format_span_prints(
            y in 0i64..100, m in 0i64..100, w in 0i64..100, d in 0i64..1000, h in 0i64..1000,
        ) {
            let span = Span::new().years(y).months(m).weeks(w).days(d).hours(h);
            prop_assume!(!span.is_zero());
            let parsed = parse_within(&format_span(span)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parsed.fieldwise(), span.fieldwise());
        }
    }
}
