//! When a job fires: a cron expression evaluated on the wall clock of an IANA time zone,
//! turned into instants (`jiff::Timestamp`).
//!
//! Expressions:
//! - 5 fields, Vixie cron: `minute hour day-of-month month day-of-week`, e.g. `30 2 * * 1-5`.
//!   Day-of-week numbers are 0-7, 0 and 7 both Sunday (so `0 2 * * 1` is Monday 02:00);
//!   names (`Mon`, `mon-fri`) work too. As in Vixie cron, when both day-of-month and
//!   day-of-week are restricted (neither starts with `*`), a day matches if EITHER matches:
//!   `0 3 1 * 1` runs on the 1st and on every Monday. If either starts with `*` (`*/2`
//!   included), both must match.
//! - 6 or 7 fields, the `cron` crate's form: `second minute hour day-of-month month
//!   day-of-week [year]`, taken as that crate defines it: day-of-week numbers are 1-7 with
//!   1 = Sunday, and day-of-month and day-of-week must both match. Years run 1970-2100.
//! - `@yearly`/`@annually`, `@monthly`, `@weekly` (Sunday), `@daily`/`@midnight`, `@hourly`.
//!
//! Time zones and daylight saving: the expression is matched against local wall-clock
//! times, and each matching wall time fires at the first instant the zone's clock shows it.
//! A wall time skipped when clocks go forward (02:30 on the day 02:00 jumps to 03:00) fires
//! at the first instant after the jump (03:00 local), as Vixie cron does, rather than not at
//! all that day. A wall time that happens twice when clocks go back (02:30 on the day 03:00
//! falls back to 02:00) fires once, at its first occurrence. Fire times are strictly
//! increasing: several skipped wall times that land on the same instant fire once, and a
//! schedule firing every few minutes is quiet while the clocks repeat the hour.
//!
//! Cost: `next_after` looks at a handful of candidates; an expression that never fires
//! (`0 0 30 2 *`) gives `None` after scanning the years up to 2100. `slots_between` steps
//! through at most `limit` fire times and finds the newest by bisection (about 70 more
//! `next_after` calls at most), so an every-second schedule over a year stays cheap.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

/// A parsed schedule: the expression, its zone, and one or two `cron` schedules over
/// local wall-clock time (two when Vixie's day-of-month OR day-of-week applies).
#[derive(Clone, Debug)]
pub struct JobSchedule {
    expression: String,
    timezone: String,
    tz: Tz,
    /// Evaluated on naive local time written as UTC, so the crate never sees DST.
    crons: Vec<cron::Schedule>,
}

/// Fire times in an interval: how many (counting stopped at a limit), the oldest and newest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slots {
    pub count: u64,
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
}

/// More than any UTC offset (under 16 hours) or clock change (at most a day), so a wall
/// time, or the end of a jump over it, happens within this of the same reading taken as UTC.
const MAX_OFFSET: TimeDelta = TimeDelta::hours(26);

impl JobSchedule {
    /// Parses `expr` (5-field Vixie cron, the cron crate's 6/7-field form, or an
    /// `@shorthand`) in the IANA zone `tz`.
    pub fn parse(expr: &str, tz: &str) -> Result<JobSchedule, String> {
        let zone = Tz::from_str(tz).map_err(|_| {
            format!("unknown time zone \"{tz}\" (expected an IANA name such as \"Europe/Berlin\" or \"UTC\")")
        })?;
        let trimmed = expr.trim();
        if trimmed.is_empty() {
            return Err("empty schedule expression: expected 5 cron fields (minute hour day-of-month month day-of-week), 6 or 7 fields (seconds first, optional year), or @daily etc.".to_string());
        }
        let text = if trimmed.starts_with('@') {
            shorthand(trimmed).ok_or_else(|| {
                format!("unknown schedule \"{trimmed}\": expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly")
            })?
        } else {
            trimmed
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let crons = match fields.len() {
            5 => vixie(expr, &fields)?,
            6 | 7 => vec![cron_schedule(expr, &fields, &fields, &CRATE_FIELDS)?],
            n => {
                return Err(format!(
                    "schedule \"{trimmed}\" has {n} field{}: 5, 6 or 7 fields expected",
                    if n == 1 { "" } else { "s" }
                ));
            }
        };
        Ok(JobSchedule {
            expression: expr.to_string(),
            timezone: tz.to_string(),
            tz: zone,
            crons,
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn timezone(&self) -> &str {
        &self.timezone
    }

    /// The first fire time strictly after `t`; `None` if the schedule never fires again.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let t = to_chrono(t)?;
        let mut wall = self.wall_reached(t);
        // Wall times after `wall_reached` first happen after `t`, so one step is enough;
        // the loop only guards the reasoning, bounded so it cannot spin.
        for _ in 0..16 {
            wall = self.next_wall(wall)?;
            let at = self.instant_of(wall);
            if at > t {
                return from_chrono(at);
            }
        }
        None
    }

    /// Fire times in (`after`, `up_to`]: their number, counting no further than `limit`,
    /// and the oldest and newest of them (found even when counting stopped).
    pub fn slots_between(&self, after: Timestamp, up_to: Timestamp, limit: u64) -> Slots {
        let within = |t: Option<Timestamp>| t.filter(|&t| t <= up_to);
        let Some(oldest) = within(self.next_after(after)) else {
            return Slots::default();
        };
        let mut slots = Slots {
            count: 0,
            oldest: Some(oldest),
            newest: Some(oldest),
        };
        let mut next = Some(oldest);
        while slots.count < limit {
            match within(next) {
                Some(t) => {
                    slots.count += 1;
                    slots.newest = Some(t);
                    next = self.next_after(t);
                }
                None => return slots,
            }
        }
        if let Some(last) = slots.newest
            && within(self.next_after(last)).is_some()
        {
            slots.newest = Some(self.newest_until(last, up_to));
        }
        slots
    }

    /// The last fire time <= `up_to`, given that one exists after `lo`: bisects for the
    /// latest instant whose next fire time is still <= `up_to`.
    fn newest_until(&self, lo: Timestamp, up_to: Timestamp) -> Timestamp {
        let (mut lo, mut hi) = (lo.as_nanosecond(), up_to.as_nanosecond());
        let next = |ns: i128| {
            Timestamp::from_nanosecond(ns)
                .ok()
                .and_then(|t| self.next_after(t))
        };
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if next(mid).is_some_and(|t| t <= up_to) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        next(lo).unwrap_or(up_to)
    }

    /// The next wall time after `wall` matched by any of the schedules.
    fn next_wall(&self, wall: NaiveDateTime) -> Option<NaiveDateTime> {
        // The crate's years start at 1970 and it finds nothing from an earlier start.
        let wall = wall.max(DateTime::UNIX_EPOCH.naive_utc() - TimeDelta::seconds(1));
        self.crons
            .iter()
            .filter_map(|c| c.after(&wall.and_utc()).next())
            .map(|t| t.naive_utc())
            .min()
    }

    /// The first instant the zone's clock shows `wall` or later: the wall time itself, its
    /// first occurrence if the clocks went back over it, or the end of a forward jump.
    fn instant_of(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => t.to_utc(),
            LocalResult::Ambiguous(first, _) => first.to_utc(),
            LocalResult::None => {
                // Skipped: bisect (whole seconds, as transitions are) for the jump.
                let shows = |s: i64| {
                    let utc = wall - MAX_OFFSET + TimeDelta::seconds(s);
                    self.tz.from_utc_datetime(&utc).naive_local() >= wall
                };
                let (mut lo, mut hi) = (0, 2 * MAX_OFFSET.num_seconds());
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if shows(mid) { hi = mid } else { lo = mid }
                }
                (wall - MAX_OFFSET + TimeDelta::seconds(hi)).and_utc()
            }
        }
    }

    /// The latest wall time that has happened by `t`: the local time at `t`, except while
    /// the clocks repeat wall times after going back, when the wall times up to the moment
    /// they went back have already happened (and fired) once.
    fn wall_reached(&self, t: DateTime<Utc>) -> NaiveDateTime {
        let local = t.with_timezone(&self.tz).naive_local();
        let LocalResult::Ambiguous(first, _) = self.tz.from_local_datetime(&local) else {
            return local;
        };
        if first.to_utc() >= t {
            return local;
        }
        // Second pass: bisect for the last whole-second wall time already reached.
        let base = local.with_nanosecond(0).unwrap_or(local);
        let reached = |s: i64| self.instant_of(base + TimeDelta::seconds(s)) <= t;
        let (mut lo, mut hi) = (0, MAX_OFFSET.num_seconds());
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if reached(mid) { lo = mid } else { hi = mid }
        }
        base + TimeDelta::seconds(lo)
    }
}

/// A delay in [0, `max`) for the slot `slot` of job `job`, the same in every process: the
/// first 8 bytes of BLAKE3("job\nslot as RFC 3339") scale `max`. Whole seconds when `max`
/// is a second or more, so the times `status` shows stay readable.
pub fn jitter(job: &str, slot: Timestamp, max: Duration) -> Duration {
    let hash = blake3::hash(format!("{job}\n{slot}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    let max_ns = max.as_nanos().min(u128::from(u64::MAX));
    // (hash / 2^64) * max, in integers: always below max.
    let ns = (u128::from(u64::from_le_bytes(first)) * max_ns) >> 64;
    let delay = Duration::from_nanos(u64::try_from(ns).unwrap_or(0));
    if max >= Duration::from_secs(1) {
        Duration::from_secs(delay.as_secs())
    } else {
        delay
    }
}

/// Each field's name and the values it takes, for error messages: the crate's 7 fields,
/// and the same as seen from a 5-field expression (seconds fixed at 0, Vixie weekdays).
type FieldInfo = (&'static str, &'static str);

const CRATE_FIELDS: [FieldInfo; 7] = [
    ("second", "0-59"),
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "1-7 with 1 = Sunday, or SUN-SAT"),
    ("year", "1970-2100"),
];

const VIXIE_FIELDS: [FieldInfo; 6] = [
    ("second", "0"),
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 with 0 and 7 = Sunday, or SUN-SAT"),
];

fn shorthand(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ => return None,
    })
}

/// A 5-field expression as one or two crate schedules (seconds fixed at 0).
fn vixie(expr: &str, fields: &[&str]) -> Result<Vec<cron::Schedule>, String> {
    let &[minute, hour, dom, month, dow] = fields else {
        return Err(format!("schedule \"{expr}\": 5 fields expected"));
    };
    let dow_crate = vixie_dow(dow).map_err(|e| {
        format!(
            "schedule \"{}\": day-of-week field \"{dow}\" is not valid: {e}",
            expr.trim()
        )
    })?;
    let shown = ["0", minute, hour, dom, month, dow];
    let star = |f: &str| f.starts_with('*') || f.starts_with('?');
    if star(dom) || star(dow) {
        let crate_fields = ["0", minute, hour, dom, month, dow_crate.as_str()];
        return Ok(vec![cron_schedule(
            expr,
            &crate_fields,
            &shown,
            &VIXIE_FIELDS,
        )?]);
    }
    // Both restricted: Vixie fires on days matching either, the crate on days matching
    // both, so evaluate one schedule per day field and take the earlier fire time.
    let by_dom = ["0", minute, hour, dom, month, "*"];
    let by_dow = ["0", minute, hour, "*", month, dow_crate.as_str()];
    Ok(vec![
        cron_schedule(expr, &by_dom, &shown, &VIXIE_FIELDS)?,
        cron_schedule(expr, &by_dow, &shown, &VIXIE_FIELDS)?,
    ])
}

/// Rewrites Vixie day-of-week numbers (0-7, 0 and 7 = Sunday) to the crate's (1-7,
/// 1 = Sunday), expanding ranges and steps so a range may end at 7 (`5-7`: Fri-Sun).
/// List items with names mean the same to the crate and pass through.
fn vixie_dow(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok(field.to_string());
    }
    let mut named = Vec::new();
    let mut days = BTreeSet::new();
    for item in field.split(',') {
        if item.chars().any(|c| c.is_ascii_alphabetic()) {
            named.push(item.to_string());
            continue;
        }
        let number = |s: &str| -> Result<u32, String> {
            s.parse::<u32>()
                .map_err(|_| format!("\"{s}\" is not a number"))
        };
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, number(step)?),
            None => (item, 1),
        };
        let (lo, hi) = match range.split_once('-') {
            _ if range == "*" || range == "?" => (0, 7),
            Some((lo, hi)) => (number(lo)?, number(hi)?),
            // "N/step" runs from N to the end of the week, as the crate reads it.
            None if item.contains('/') => (number(range)?, 7),
            None => (number(range)?, number(range)?),
        };
        if lo > 7 || hi > 7 {
            return Err(format!("{} is out of range 0-7", lo.max(hi)));
        }
        if lo > hi {
            return Err(format!("range {lo}-{hi} runs backwards"));
        }
        if step == 0 {
            return Err("the step cannot be 0".to_string());
        }
        days.extend((lo..=hi).step_by(step as usize).map(|d| d % 7 + 1));
    }
    let numbers = days.iter().map(|d| d.to_string());
    Ok(numbers.chain(named).collect::<Vec<_>>().join(","))
}

/// Parses `fields` with the cron crate; on failure, names the first field the crate rejects
/// (as the user wrote it, `shown`) by trying each in an otherwise all-`*` expression.
fn cron_schedule(
    expr: &str,
    fields: &[&str],
    shown: &[&str],
    info: &[FieldInfo],
) -> Result<cron::Schedule, String> {
    let whole = cron::Schedule::from_str(&fields.join(" "));
    whole.map_err(|whole_err| {
        for (i, field) in fields.iter().enumerate() {
            let mut probe = vec!["*"; fields.len()];
            probe[i] = field;
            if let Err(e) = cron::Schedule::from_str(&probe.join(" ")) {
                let (name, values) = info.get(i).copied().unwrap_or(("?", "?"));
                let shown = shown.get(i).unwrap_or(field);
                // The crate's own reason is its last line; a bare parse error ends with a
                // caret under the input instead, which says nothing here.
                let detail = e.to_string();
                let detail = detail.lines().last().unwrap_or("").trim();
                let reason = if detail.contains(char::is_alphanumeric) {
                    format!(": {detail}")
                } else {
                    String::new()
                };
                return format!(
                    "schedule \"{}\": {name} field \"{shown}\" is not valid (expected {values}){reason}",
                    expr.trim(),
                );
            }
        }
        format!("schedule \"{}\" is not valid: {whole_err}", expr.trim())
    })
}

fn to_chrono(t: Timestamp) -> Option<DateTime<Utc>> {
    let ns = t.as_nanosecond();
    let secs = i64::try_from(ns.div_euclid(1_000_000_000)).ok()?;
    let nanos = u32::try_from(ns.rem_euclid(1_000_000_000)).ok()?;
    DateTime::from_timestamp(secs, nanos)
}

fn from_chrono(t: DateTime<Utc>) -> Option<Timestamp> {
    Timestamp::new(
        t.timestamp(),
        i32::try_from(t.timestamp_subsec_nanos()).ok()?,
    )
    .ok()
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
