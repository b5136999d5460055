//! What a finished job tells the metrics: bytes it processed, a drill's verdict and
//! measurements, and each store's holdings as `replicas --json` reports them. Read from
//! the children's JSON summaries, leniently: a field that is absent is simply not shown.

use firedrill::agent::state::{DrillState, PlanState, ReplicaState};
use serde_json::Value;

fn u64_at(value: &Value, path: &[&str]) -> Option<u64> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_u64()
}

fn f64_at(value: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_f64()
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_str()
}

fn time_at(value: &Value, path: &[&str]) -> Option<jiff::Timestamp> {
    str_at(value, path)?.parse().ok()
}

/// The bytes a job read or wrote, by its kind.
pub fn processed_bytes(kind: &str, summary: &Value) -> Option<u64> {
    match kind {
        "backup" => u64_at(summary, &["summary", "bytes_read"]),
        "replicate" => summary.get("replicas")?.as_array().map(|replicas| {
            replicas
                .iter()
                .filter_map(|r| u64_at(r, &["bytes_copied"]))
                .sum()
        }),
        "verify" => u64_at(summary, &["bytes_read"]),
        "drill" => u64_at(summary, &["restore", "bytes_restored"]),
        "prune" => u64_at(summary, &["bytes_deleted"]),
        "forget" => u64_at(summary, &["prune", "bytes_deleted"]),
        _ => None,
    }
}

/// A drill's name and outcome, from its report.
pub fn drill_state(report: &Value) -> Option<(String, DrillState)> {
    let name = str_at(report, &["drill"])?.to_string();
    let state = DrillState {
        verdict: str_at(report, &["verdict"])?.to_string(),
        finished: time_at(report, &["finished"])?,
        source: str_at(report, &["source", "store"]).map(str::to_string),
        rto_seconds: f64_at(report, &["rto", "measured"]),
        rto_target_seconds: f64_at(report, &["rto", "target"]),
        rpo_seconds: f64_at(report, &["rpo", "measured"]),
        rpo_target_seconds: f64_at(report, &["rpo", "target"]),
        restored_bytes: u64_at(report, &["restore", "bytes_restored"]),
        report_id: str_at(report, &["report_id"]).map(str::to_string),
    };
    Some((name, state))
}

/// The plan's verdict: the summary of `plan check`, or the verdict a drill report carries.
pub fn plan_state(kind: &str, summary: &Value) -> Option<PlanState> {
    let (verdict, checked) = match kind {
        "plan" => (summary, time_at(summary, &["checked_at"])?),
        "drill" => (summary.get("plan")?, time_at(summary, &["finished"])?),
        _ => return None,
    };
    let unmet = verdict
        .get("rules")
        .and_then(Value::as_array)
        .map(|rules| {
            rules
                .iter()
                .filter(|r| r.get("satisfied").and_then(Value::as_bool) == Some(false))
                .map(|r| {
                    format!(
                        "{}: {}",
                        str_at(r, &["rule"]).unwrap_or("?"),
                        str_at(r, &["detail"]).unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Some(PlanState {
        met: verdict.get("met")?.as_bool()?,
        checked,
        unmet,
    })
}

/// Every store from a `replicas --json` report, primary first.
pub fn replicas(report: &Value, rpo_target_seconds: Option<f64>) -> Option<Vec<ReplicaState>> {
    let stores = report.get("stores")?.as_array()?;
    Some(
        stores
            .iter()
            .filter_map(|s| {
                Some(ReplicaState {
                    name: str_at(s, &["name"])?.to_string(),
                    role: str_at(s, &["role"]).unwrap_or("replica").to_string(),
                    provider: str_at(s, &["provider"]).unwrap_or("").to_string(),
                    region: str_at(s, &["region"]).map(str::to_string),
                    reachable: s.get("reachable").and_then(Value::as_bool).unwrap_or(false),
                    objects: u64_at(s, &["objects"]).unwrap_or(0),
                    bytes: u64_at(s, &["bytes"]).unwrap_or(0),
                    missing_objects: u64_at(s, &["missing_objects"]),
                    newest_snapshot: time_at(s, &["newest_snapshot"]),
                    rpo_target_seconds,
                })
            })
            .collect(),
    )
}
