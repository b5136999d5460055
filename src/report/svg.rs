//! The charts of the HTML report, written as small inline SVG (every text escaped), and
//! the number, size, time and duration formatting that both renderings share.

use std::fmt::Write;

use html_escape::encode_quoted_attribute as esc;

use super::model::Phase;

// ---------------------------------------------------------------------------------------
// Formatting shared by the Markdown and HTML renderings.

/// A duration for people: "0.42 s", "4.2 s", "5 min 12 s", "7 h 5 min", "2 d 3 h".
pub(super) fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "n/a".to_string();
    }
    if seconds < 0.0 {
        return format!("−{}", duration(-seconds));
    }
    if seconds < 1.0 {
        return format!("{seconds:.2} s");
    }
    if seconds < 59.95 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    let (d, h, m, s) = (
        whole / 86_400,
        whole % 86_400 / 3600,
        whole % 3600 / 60,
        whole % 60,
    );
    let (big, big_unit, small, small_unit) = if d > 0 {
        (d, "d", h, "h")
    } else if h > 0 {
        (h, "h", m, "min")
    } else {
        (m, "min", s, "s")
    };
    if small == 0 {
        format!("{big} {big_unit}")
    } else {
        format!("{big} {big_unit} {small} {small_unit}")
    }
}

/// Seconds as measured, for the record: "0.84 s", "252.0 s", "86,400 s".
pub(super) fn seconds_exact(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "n/a".to_string();
    }
    if seconds.abs() < 10.0 {
        format!("{seconds:.2} s")
    } else if seconds.abs() < 10_000.0 {
        format!("{seconds:.1} s")
    } else {
        format!("{} s", count(seconds.round() as u64))
    }
}

/// Seconds for a chart label: "0.84 s", "12.3 s", "312 s".
pub(super) fn seconds_short(seconds: f64) -> String {
    if !seconds.is_finite() {
        "n/a".to_string()
    } else if seconds.abs() < 10.0 {
        format!("{seconds:.2} s")
    } else if seconds.abs() < 100.0 {
        format!("{seconds:.1} s")
    } else {
        format!("{} s", count(seconds.round() as u64))
    }
}

/// A tick label on a seconds axis with ticks `step` apart: "0 s", "50 s", "0.5 s".
fn axis_seconds(tick: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{} s", count(tick.round() as u64))
    } else {
        let decimals = (-step.log10().floor()).max(1.0) as usize;
        format!("{tick:.decimals$} s")
    }
}

/// A count with thousands separators: "14,233".
pub(super) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size in binary units, with the exact byte count: "1.2 GiB (1,288,490,189 bytes)".
pub(super) fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{} bytes", count(n));
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {} ({} bytes)", UNITS[unit], count(n))
}

/// A size in binary units only: "1.2 GiB".
pub(super) fn size(n: u64) -> String {
    match bytes(n).split_once(" (") {
        Some((short, _)) => short.to_string(),
        None => bytes(n),
    }
}

/// A point in time, always in UTC: "2026-11-29 02:00:05 UTC".
pub(super) fn timestamp(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A measured rate or other non-time value with its unit: "85.2 MiB/s".
pub(super) fn quantity(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    if unit == "seconds" {
        duration(value)
    } else {
        format!("{value:.1} {unit}")
    }
}

// ---------------------------------------------------------------------------------------
// Chart geometry helpers.

/// A coordinate, rounded so that the SVG stays small and readable.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// A tick step from the 1-2-5 series giving about `ticks` steps up to `max`.
fn decimal_step(max: f64, ticks: f64) -> f64 {
    let raw = (max / ticks).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * magnitude >= raw {
            return m * magnitude;
        }
    }
    10.0 * magnitude
}

/// A tick step in seconds that reads well as a duration (15 s, 5 min, 1 h, 1 d …).
fn time_step(max: f64, ticks: f64) -> f64 {
    const STEPS: [f64; 22] = [
        1.0,
        2.0,
        5.0,
        10.0,
        15.0,
        30.0,
        60.0,
        120.0,
        300.0,
        600.0,
        900.0,
        1800.0,
        3600.0,
        7200.0,
        10_800.0,
        21_600.0,
        43_200.0,
        86_400.0,
        172_800.0,
        432_000.0,
        864_000.0,
        2_592_000.0,
    ];
    let raw = max / ticks;
    if raw < 1.0 {
        return decimal_step(max, ticks);
    }
    STEPS
        .iter()
        .copied()
        .find(|&s| s >= raw)
        .unwrap_or_else(|| decimal_step(max, ticks))
}

/// At most `max_chars` characters, with an ellipsis when cut.
fn shorten(s: &str, max_chars: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max_chars {
        flat
    } else {
        let mut cut: String = flat.chars().take(max_chars.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

// ---------------------------------------------------------------------------------------
// The phase timeline.

const BAR: &str = "#3b6fb6";
const GRID: &str = "#d8dee4";
const AXIS: &str = "#59636e";
const INK: &str = "#1f2328";
const MET: &str = "#2da44e";
const MISSED: &str = "#cf222e";
const NO_TARGET: &str = "#8c959f";

/// A horizontal bar per phase, placed by its offset from the drill's start and as long
/// as it took, each labelled with its seconds; an axis of seconds below. Empty when
/// there are no phases.
pub(super) fn timeline(phases: &[Phase]) -> String {
    if phases.is_empty() {
        return String::new();
    }
    const W: f64 = 1000.0;
    const LABEL_W: f64 = 200.0;
    const X0: f64 = 212.0;
    const X1: f64 = 920.0;
    const TOP: f64 = 8.0;
    const ROW: f64 = 30.0;

    let start = |p: &Phase| finite(p.offset_seconds).unwrap_or(0.0).max(0.0);
    let len = |p: &Phase| finite(p.seconds).unwrap_or(0.0).max(0.0);
    let end = phases
        .iter()
        .map(|p| start(p) + len(p))
        .fold(0.0f64, f64::max);
    let step = decimal_step(if end > 0.0 { end } else { 1.0 }, 6.0);
    let axis_max = ((end / step).ceil() * step).max(step);
    let x = |s: f64| X0 + s / axis_max * (X1 - X0);
    let rows_bottom = TOP + phases.len() as f64 * ROW;
    let height = rows_bottom + 36.0;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart timeline" viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="timeline-title"><title id="timeline-title">Phase timeline: {count} phases over {total}</title>"#,
        w = n(W),
        h = n(height),
        count = phases.len(),
        total = seconds_short(end),
    );
    // Alternate row shading, so a label can be followed to its bar.
    for i in (1..phases.len()).step_by(2) {
        let _ = write!(
            svg,
            r##"<rect x="0" y="{}" width="{}" height="{}" fill="#f6f8fa"/>"##,
            n(TOP + i as f64 * ROW),
            n(W),
            n(ROW)
        );
    }
    // Grid and axis.
    let mut tick = 0.0;
    while tick <= axis_max + step / 2.0 {
        let tx = x(tick);
        let _ = write!(
            svg,
            r#"<line x1="{tx}" y1="{y0}" x2="{tx}" y2="{y1}" stroke="{GRID}" stroke-width="1"/><text x="{tx}" y="{ty}" font-size="12" fill="{AXIS}" text-anchor="middle">{label}</text>"#,
            tx = n(tx),
            y0 = n(TOP),
            y1 = n(rows_bottom + 4.0),
            ty = n(rows_bottom + 19.0),
            label = esc(&axis_seconds(tick, step)),
        );
        tick += step;
    }
    let _ = write!(
        svg,
        r#"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="{AXIS}" stroke-width="1"/><text x="{x1}" y="{ty}" font-size="12" fill="{AXIS}" text-anchor="end">seconds from the drill's start</text>"#,
        x0 = n(X0),
        x1 = n(X1),
        y = n(rows_bottom),
        ty = n(rows_bottom + 34.0),
    );
    // One row per phase.
    for (i, p) in phases.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        let bx = x(start(p));
        let bw = (x(start(p) + len(p)) - bx).max(2.0);
        let _ = write!(
            svg,
            r#"<text x="{lx}" y="{ly}" font-size="13" fill="{INK}" text-anchor="end">{name}</text><rect x="{bx}" y="{by}" width="{bw}" height="{bh}" rx="3" fill="{BAR}"><title>{full}: starts at {off}, takes {secs}</title></rect><text x="{vx}" y="{ly}" font-size="12" fill="{INK}">{secs}</text>"#,
            lx = n(LABEL_W),
            ly = n(y + ROW / 2.0 + 4.5),
            name = esc(&shorten(&p.name, 28)),
            bx = n(bx),
            by = n(y + 6.0),
            bw = n(bw),
            bh = n(ROW - 12.0),
            full = esc(&p.name),
            off = esc(&seconds_short(p.offset_seconds)),
            secs = esc(&seconds_short(p.seconds)),
            vx = n(bx + bw + 6.0),
        );
    }
    svg.push_str("</svg>");
    svg
}

// ---------------------------------------------------------------------------------------
// The trend of a measure over the runs of a drill.

/// One run in a trend chart.
pub(super) struct TrendPoint {
    /// When the run started.
    pub started: jiff::Timestamp,
    /// The measured value in seconds, if the run measured it.
    pub value: Option<f64>,
    /// The run's target in seconds, if it had one.
    pub target: Option<f64>,
    pub met: Option<bool>,
    /// The run this report is about (the last point).
    pub current: bool,
}

/// A bar per run (green met, red missed, grey without a target), the target as a dashed
/// line, the values in seconds shown as durations. `id` makes the SVG's ids unique.
pub(super) fn trend(id: &str, what: &str, points: &[TrendPoint]) -> String {
    const W: f64 = 540.0;
    const H: f64 = 250.0;
    const LEFT: f64 = 72.0;
    const RIGHT: f64 = 14.0;
    const TOP: f64 = 26.0;
    const BOTTOM: f64 = 46.0;
    let plot_w = W - LEFT - RIGHT;
    let base = H - BOTTOM;
    let plot_h = base - TOP;

    let values = points.iter().filter_map(|p| p.value.and_then(finite));
    let targets = points.iter().filter_map(|p| p.target.and_then(finite));
    let max = values.chain(targets).fold(0.0f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let step = time_step(max, 4.0);
    let mut y_max = (max / step).ceil() * step;
    if y_max < max * 1.12 {
        y_max += step;
    }
    let y = |v: f64| base - v.clamp(0.0, y_max) / y_max * plot_h;

    let count = points.len().max(1);
    let slot = plot_w / count as f64;
    let bar_w = (slot * 0.6).min(46.0);
    let label_every = count.div_ceil(12);
    let show_values = count <= 12;
    let two_line_dates = count <= 8;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart trend" viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="{id}-title"><title id="{id}-title">{what} of the last {count} runs of this drill</title>"#,
        w = n(W),
        h = n(H),
        id = esc(id),
        what = esc(what),
        count = points.len(),
    );
    // Grid with duration labels.
    let mut tick = 0.0;
    while tick <= y_max + step / 2.0 {
        let ty = y(tick);
        let _ = write!(
            svg,
            r#"<line x1="{x0}" y1="{ty}" x2="{x1}" y2="{ty}" stroke="{GRID}" stroke-width="1"/><text x="{lx}" y="{tly}" font-size="12" fill="{AXIS}" text-anchor="end">{label}</text>"#,
            x0 = n(LEFT),
            x1 = n(W - RIGHT),
            ty = n(ty),
            lx = n(LEFT - 6.0),
            tly = n(ty + 4.0),
            label = if tick == 0.0 {
                "0".into()
            } else {
                esc(&duration(tick)).into_owned()
            },
        );
        tick += step;
    }
    let _ = write!(
        svg,
        r#"<line x1="{x0}" y1="{b}" x2="{x1}" y2="{b}" stroke="{AXIS}" stroke-width="1"/>"#,
        x0 = n(LEFT),
        x1 = n(W - RIGHT),
        b = n(base),
    );
    // Bars.
    for (i, p) in points.iter().enumerate() {
        let cx = LEFT + slot * (i as f64 + 0.5);
        let date = p.started.strftime("%Y-%m-%d %H:%M UTC").to_string();
        match p.value.and_then(finite) {
            Some(v) => {
                let fill = match p.met {
                    Some(true) => MET,
                    Some(false) => MISSED,
                    None => NO_TARGET,
                };
                let top = y(v);
                let outline = if p.current {
                    format!(r#" stroke="{INK}" stroke-width="2""#)
                } else {
                    String::new()
                };
                let result = match p.met {
                    Some(true) => "met",
                    Some(false) => "missed",
                    None => "no target",
                };
                let _ = write!(
                    svg,
                    r#"<rect x="{bx}" y="{top}" width="{bw}" height="{bh}" fill="{fill}"{outline}><title>{date}: {value} ({result})</title></rect>"#,
                    bx = n(cx - bar_w / 2.0),
                    top = n(top),
                    bw = n(bar_w),
                    bh = n((base - top).max(1.0)),
                    date = esc(&date),
                    value = esc(&duration(v)),
                );
                if show_values {
                    let _ = write!(
                        svg,
                        r#"<text x="{cx}" y="{ty}" font-size="11" fill="{INK}" text-anchor="middle"{weight}>{value}</text>"#,
                        cx = n(cx),
                        ty = n(top - 5.0),
                        weight = if p.current {
                            r#" font-weight="700""#
                        } else {
                            ""
                        },
                        value = esc(&duration(v)),
                    );
                }
            }
            None => {
                let _ = write!(
                    svg,
                    r#"<text x="{cx}" y="{ty}" font-size="11" fill="{AXIS}" text-anchor="middle"><title>{date}: not measured</title>n/a</text>"#,
                    cx = n(cx),
                    ty = n(base - 5.0),
                    date = esc(&date),
                );
            }
        }
        // Dates under the axis; the current run is named.
        if p.current || i % label_every == 0 {
            let (line1, line2) = if p.current {
                (
                    "this run".to_string(),
                    p.started.strftime("%m-%d").to_string(),
                )
            } else if two_line_dates {
                (
                    p.started.strftime("%m-%d").to_string(),
                    p.started.strftime("%H:%M").to_string(),
                )
            } else {
                (p.started.strftime("%m-%d").to_string(), String::new())
            };
            let weight = if p.current {
                r#" font-weight="700""#
            } else {
                ""
            };
            let _ = write!(
                svg,
                r#"<text x="{cx}" y="{y1}" font-size="11" fill="{INK}" text-anchor="middle"{weight}>{line1}</text>"#,
                cx = n(cx),
                y1 = n(base + 15.0),
                line1 = esc(&line1),
            );
            if !line2.is_empty() {
                let _ = write!(
                    svg,
                    r#"<text x="{cx}" y="{y2}" font-size="11" fill="{AXIS}" text-anchor="middle">{line2}</text>"#,
                    cx = n(cx),
                    y2 = n(base + 29.0),
                    line2 = esc(&line2),
                );
            }
        }
    }
    // The target, as each run had it: a dashed step line.
    let mut path = String::new();
    let mut previous: Option<f64> = None;
    for (i, p) in points.iter().enumerate() {
        let x0 = LEFT + slot * i as f64;
        match p.target.and_then(finite) {
            Some(t) => {
                if previous.is_some() {
                    let _ = write!(path, " V{} H{}", n(y(t)), n(x0 + slot));
                } else {
                    let _ = write!(path, " M{} {} H{}", n(x0), n(y(t)), n(x0 + slot));
                }
                previous = Some(t);
            }
            None => previous = None,
        }
    }
    if !path.is_empty() {
        let _ = write!(
            svg,
            r#"<path d="{d}" fill="none" stroke="{INK}" stroke-width="1.5" stroke-dasharray="6 4"/>"#,
            d = path.trim_start(),
        );
    }
    // The current target, named above the plot where no bar can reach.
    if let Some(t) = points.last().and_then(|p| p.target).and_then(finite) {
        let _ = write!(
            svg,
            r#"<line x1="{l0}" y1="10" x2="{l1}" y2="10" stroke="{INK}" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{tx}" y="14" font-size="12" fill="{INK}" text-anchor="end">target ≤ {label}</text>"#,
            l0 = n(W - RIGHT - 26.0),
            l1 = n(W - RIGHT),
            tx = n(W - RIGHT - 32.0),
            label = esc(&duration(t)),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(0.42), "0.42 s");
        assert_eq!(duration(4.2), "4.2 s");
        assert_eq!(duration(300.0), "5 min");
        assert_eq!(duration(312.4), "5 min 12 s");
        assert_eq!(duration(7.0 * 3600.0 + 300.0), "7 h 5 min");
        assert_eq!(duration(2.0 * 86_400.0 + 3.0 * 3600.0), "2 d 3 h");
        assert_eq!(duration(f64::NAN), "n/a");
    }

    #[test]
    fn counts_and_sizes() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(14_233), "14,233");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(1536), "1.5 KiB (1,536 bytes)");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3), "3 bytes");
        assert_eq!(axis_seconds(150.0, 50.0), "150 s");
        assert_eq!(axis_seconds(1.5, 0.5), "1.5 s");
        assert_eq!(axis_seconds(0.05, 0.05), "0.05 s");
    }

    #[test]
    fn steps() {
        assert_eq!(decimal_step(100.0, 5.0), 20.0);
        assert_eq!(decimal_step(7.0, 6.0), 2.0);
        assert_eq!(time_step(900.0, 4.0), 300.0);
        assert_eq!(time_step(40.0, 4.0), 10.0);
    }
}
