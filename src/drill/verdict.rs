//! Turning what a drill saw into its report: which injected faults were detected,
//! which targets were met, and the verdict.

use super::definition::{DrillDefinition, SourceSpec};
use super::runner::{Clock, DrillEnv, Findings};
use crate::replicate::StoreFacts;
use crate::repo::Repository;
use crate::report::model::*;

/// Marks each injected fault detected or not, from what the drill saw.
pub(super) fn judge_faults(def: &DrillDefinition, f: &mut Findings) {
    let damaged: Vec<String> = f
        .restore
        .as_ref()
        .map(|r| r.damaged.clone())
        .unwrap_or_default();
    let errors = f.errors.join("; ");
    for fault in &mut f.faults {
        if fault.fault.starts_with("corrupted object ")
            || fault.fault.starts_with("deleted object ")
        {
            let key = fault.fault.rsplit(' ').next().unwrap_or_default();
            let short = key.rsplit('/').next().unwrap_or(key);
            let audited = f.source_damage.iter().find(|d| d.contains(short)).cloned();
            let named = damaged.iter().find(|d| d.contains(short)).cloned();
            let in_error = errors.contains(short);
            fault.detected = audited.is_some() || named.is_some() || in_error;
            fault.evidence = match (audited, named, in_error) {
                (Some(d), _, _) => format!("reading back the source found: {d}"),
                (None, Some(d), _) => format!("restore reported: {d}"),
                (None, None, true) => format!("the drill stopped on it: {errors}"),
                (None, None, false) => "not noticed".into(),
            };
        } else if fault.fault.starts_with("latency") {
            fault.detected = true;
            fault.evidence =
                "applied to every request to the source; its cost shows in the RTO".into();
        }
    }
    for name in &def.faults.outage {
        let seen = errors.contains(name)
            || f.source.as_ref().is_some_and(|(s, reason)| {
                s.name() != name && reason.contains(&format!("{name}: unreachable"))
            });
        f.faults.push(FaultRecord {
            fault: format!("outage of {name}"),
            detected: seen,
            evidence: if seen {
                if errors.contains(name) {
                    format!("reported: {errors}")
                } else {
                    format!(
                        "found unreachable and passed over: {}",
                        f.source.as_ref().map(|(_, r)| r.as_str()).unwrap_or("")
                    )
                }
            } else {
                "not noticed".into()
            },
        });
    }
}

fn target(target: Option<f64>, measured: Option<f64>, unit: &str, at_most: bool) -> TargetRecord {
    let met = match (target, measured) {
        (Some(t), Some(m)) => Some(if at_most { m <= t } else { m >= t }),
        (Some(_), None) => Some(false),
        _ => None,
    };
    TargetRecord {
        target,
        measured,
        unit: unit.into(),
        met,
    }
}

pub(super) fn build_report(
    def: &DrillDefinition,
    env: &DrillEnv,
    started: jiff::Timestamp,
    clock: Clock,
    f: Findings,
    rto_seconds: f64,
) -> (DrillReport, Option<Repository>) {
    let t = &def.targets;
    let d = &env.defaults;
    let ran = f.restore.is_some();
    let rto = target(
        t.rto_seconds.or(d.rto_seconds),
        ran.then_some(rto_seconds),
        "seconds",
        true,
    );
    let rpo = target(
        t.rpo_seconds.or(d.rpo_seconds),
        f.rpo_seconds,
        "seconds",
        true,
    );
    let throughput_measured = match (&f.restore, f.restore_seconds) {
        (Some(r), Some(secs)) if secs > 0.0 => {
            Some(r.bytes_restored as f64 / (1 << 20) as f64 / secs)
        }
        _ => None,
    };
    let throughput = target(
        t.min_throughput_mib_s.or(d.min_throughput_mib_s),
        throughput_measured,
        "MiB/s",
        false,
    );
    let lost: Vec<String> = match &def.source {
        SourceSpec::Lost { stores } => stores.clone(),
        SourceSpec::Store { .. } => Vec::new(),
    };

    let faults_injected = !f.faults.is_empty();
    let undetected: Vec<&FaultRecord> = f.faults.iter().filter(|x| !x.detected).collect();
    let failed_checks: Vec<&Check> = f.checks.iter().filter(|c| !c.passed).collect();
    let missed: Vec<String> = [("RTO", &rto), ("RPO", &rpo), ("throughput", &throughput)]
        .iter()
        .filter(|(_, r)| r.met == Some(false))
        .map(|(n, r)| {
            format!(
                "{n} {} {} against a target of {} {}",
                r.measured
                    .map_or("not measured".into(), |m| format!("{m:.1}")),
                r.unit,
                r.target.map_or("-".into(), |t| format!("{t:.1}")),
                r.unit
            )
        })
        .collect();
    let (verdict, summary) = if faults_injected {
        if undetected.is_empty() {
            (
                Verdict::Pass,
                format!(
                    "all {} injected fault(s) were detected and reported",
                    f.faults.len()
                ),
            )
        } else {
            (
                Verdict::Fail,
                format!(
                    "{} of {} injected fault(s) went unnoticed: {}",
                    undetected.len(),
                    f.faults.len(),
                    undetected
                        .iter()
                        .map(|x| x.fault.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }
    } else if !f.errors.is_empty() && !ran {
        (
            Verdict::Error,
            format!("the drill could not run: {}", f.errors[0]),
        )
    } else if !failed_checks.is_empty() || !missed.is_empty() || !f.errors.is_empty() {
        let mut reasons: Vec<String> = missed;
        reasons.extend(failed_checks.iter().map(|c| format!("{} failed", c.name)));
        reasons.extend(f.errors.iter().cloned());
        (Verdict::Fail, reasons.join("; "))
    } else {
        let r = f.restore.as_ref();
        (
            Verdict::Pass,
            format!(
                "restored {} file(s), {}, from {} in {:.1} s; every byte verified",
                r.map_or(0, |r| r.files_restored),
                indicatif::HumanBytes(r.map_or(0, |r| r.bytes_restored)),
                f.source.as_ref().map_or("-", |(s, _)| s.name()),
                rto_seconds
            ),
        )
    };
    let stores = env
        .stores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let facts = StoreFacts::of(&s.spec);
            StoreRecord {
                name: facts.name,
                role: if i == 0 { "primary" } else { "replica" }.into(),
                provider: facts.provider.into(),
                location: facts.location,
                region: facts.region,
                jurisdiction: facts.jurisdiction,
                endpoint: facts.endpoint,
                transport: facts
                    .transport
                    .and_then(|t| serde_json::to_value(t).ok())
                    .and_then(|v| v.as_str().map(str::to_string)),
                encryption: "AES-256-GCM, client-side".into(),
                lost_in_drill: lost.contains(&s.spec.name),
            }
        })
        .collect();
    let report = DrillReport {
        schema_version: SCHEMA_VERSION,
        drill: def.name.clone(),
        description: def.description.clone(),
        drill_file: def.file.as_ref().map(|p| p.display().to_string()),
        verdict,
        summary,
        started,
        finished: jiff::Timestamp::now(),
        host: crate::host::hostname(),
        firedrill_version: env!("CARGO_PKG_VERSION").into(),
        repository: f
            .repo
            .as_ref()
            .map(|r| r.config().id.to_hex())
            .unwrap_or_default(),
        source: SourceRecord {
            store: f
                .source
                .as_ref()
                .map_or(String::new(), |(s, _)| s.name().to_string()),
            lost,
            reason: f.source.as_ref().map_or(String::new(), |(_, r)| r.clone()),
        },
        snapshot: f.snapshot,
        scope: f.scope,
        rto,
        rpo,
        throughput,
        phases: clock.phases,
        checks: f.checks,
        faults: f.faults,
        restore: f.restore,
        stores,
        errors: f.errors,
        previous_report: None,
        kept_restore: f.kept,
        plan: None,
    };
    (report, f.repo)
}
