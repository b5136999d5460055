//! Dates.

use std::io::Write;

use super::layout::DAY;

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(super) const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = (if m > 2 { m - 3 } else { m + 9 }) as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

pub(super) fn push_date(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

pub(super) fn push_date_de(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{d:02}.{m:02}.{y:04}");
}

pub(super) fn date_string(days: i64) -> String {
    let mut out = Vec::with_capacity(10);
    push_date(&mut out, days);
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn push_timestamp(out: &mut Vec<u8>, secs: u64, sep: u8) {
    push_date(out, (secs / DAY) as i64);
    let s = secs % DAY;
    out.push(sep);
    let _ = write!(out, "{:02}:{:02}:{:02}", s / 3_600, s / 60 % 60, s % 60);
}

#[cfg(test)]
mod tests {
    use super::super::layout::NOW;
    use super::*;

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(NOW, 1_774_976_400);
        for day in [-1, 0, 59, 60, 11_016, 20_543, 40_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(date_string(days_from_civil(2024, 2, 29)), "2024-02-29");
    }
}
