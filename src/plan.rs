//! The business continuity plan as one verdict: placement, the lag of every replica,
//! and the evidence of drills (how recent, which passed), weighed rule by rule.

use crate::replicate::placement::RuleCheck;
use crate::replicate::status::StatusReport;
use crate::report::archive::{ChainCheck, StoredReport};
use crate::report::model::Verdict;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanRules {
    /// Every replica's newest snapshot must be at most this old.
    pub rpo_seconds: Option<f64>,
    /// Every replica must have been the source of a passed drill within this time.
    pub replica_drill_every_seconds: Option<f64>,
    /// Drills (by name) that must have passed within the given time.
    pub required_drills: Vec<(String, f64)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanVerdict {
    pub met: bool,
    pub checked_at: Timestamp,
    pub rules: Vec<RuleCheck>,
}

fn age(now: Timestamp, then: Timestamp) -> f64 {
    now.duration_since(then).as_secs_f64()
}

fn human(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 2.0 * 86400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86400.0)
    }
}

/// Weighs the evidence. `reports` are the repository's reports, oldest first.
pub fn weigh(
    rules: &PlanRules,
    status: &StatusReport,
    reports: &[StoredReport],
    chain: &ChainCheck,
    now: Timestamp,
) -> PlanVerdict {
    let mut out: Vec<RuleCheck> = status.placement.rules.clone();
    for copy in status.stores.iter().filter(|s| s.role == "replica") {
        if let Some(target) = rules.rpo_seconds {
            let (satisfied, detail) = match copy.rpo_lag_seconds {
                Some(lag) => (
                    (lag as f64) <= target,
                    format!(
                        "newest snapshot is {} old (target {})",
                        human(lag as f64),
                        human(target)
                    ),
                ),
                None if !copy.reachable => (
                    false,
                    format!("unreachable: {}", copy.error.clone().unwrap_or_default()),
                ),
                None => (false, "holds no snapshot".into()),
            };
            out.push(RuleCheck {
                rule: format!("RPO of replica {}", copy.store.name),
                satisfied,
                detail,
            });
        }
        if let Some(every) = rules.replica_drill_every_seconds {
            let last = reports.iter().rev().find(|r| {
                r.report.verdict == Verdict::Pass && r.report.source.store == copy.store.name
            });
            let (satisfied, detail) = match last {
                Some(r) => {
                    let a = age(now, r.report.started);
                    (
                        a <= every,
                        format!(
                            "last passed drill from it: {} ({} ago, report {})",
                            r.report.drill,
                            human(a),
                            r.id.short()
                        ),
                    )
                }
                None => (false, "no passed drill has restored from it".into()),
            };
            out.push(RuleCheck {
                rule: format!(
                    "replica {} drilled at least every {}",
                    copy.store.name,
                    human(every)
                ),
                satisfied,
                detail,
            });
        }
    }
    for (drill, every) in &rules.required_drills {
        let last = reports
            .iter()
            .rev()
            .find(|r| &r.report.drill == drill && r.report.verdict == Verdict::Pass);
        let (satisfied, detail) = match last {
            Some(r) => {
                let a = age(now, r.report.started);
                (
                    a <= *every,
                    format!("last passed {} ago (report {})", human(a), r.id.short()),
                )
            }
            None => (false, "has never passed".into()),
        };
        out.push(RuleCheck {
            rule: format!("drill {drill} passed at least every {}", human(*every)),
            satisfied,
            detail,
        });
    }
    let mut latest: BTreeMap<&str, &StoredReport> = BTreeMap::new();
    for r in reports {
        latest.insert(&r.report.drill, r);
    }
    let failing: Vec<String> = latest
        .values()
        .filter(|r| r.report.verdict != Verdict::Pass)
        .map(|r| {
            format!(
                "{} ({:?}: {})",
                r.report.drill, r.report.verdict, r.report.summary
            )
        })
        .collect();
    out.push(RuleCheck {
        rule: "the latest run of every drill passed".into(),
        satisfied: failing.is_empty(),
        detail: if latest.is_empty() {
            "no drill has run yet".into()
        } else if failing.is_empty() {
            format!("{} drill(s), all passing", latest.len())
        } else {
            format!("failing: {}", failing.join("; "))
        },
    });
    out.push(RuleCheck {
        rule: "the record of drills is intact".into(),
        satisfied: chain.intact,
        detail: if chain.intact {
            format!("{} report(s), each naming the one before", chain.reports)
        } else {
            chain.breaks.join("; ")
        },
    });
    PlanVerdict {
        met: out.iter().all(|r| r.satisfied),
        checked_at: now,
        rules: out,
    }
}
