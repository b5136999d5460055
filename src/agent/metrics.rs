//! The agent's state as Prometheus/OpenMetrics text, for GET /metrics.
//!
//! A fresh registry is built from the state on every scrape: the state file is the one
//! source of truth (it survives restarts and is written by `run-due` too), so there are
//! no long-lived metric objects to keep in sync with it.

use super::state::{AgentState, DrillState, JobState, Outcome, ReplicaState};
use jiff::Timestamp;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

/// The content type of what [`render`] returns (prometheus-client's text encoder writes
/// OpenMetrics 1.0).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A job of the current config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobMeta {
    pub name: String,
    /// backup, replicate, verify, drill, forget or prune.
    pub kind: String,
}

#[derive(Clone, Copy, Debug)]
pub struct MetricsInput<'a> {
    pub state: &'a AgentState,
    /// The jobs of the current config, in config order: only these are reported (a job
    /// removed from the config disappears).
    pub jobs: &'a [JobMeta],
    pub started: Timestamp,
    pub config_reload_ok: bool,
    pub config_loaded: Timestamp,
    pub now: Timestamp,
}

/// The exposition of `input`, ending with `# EOF`.
pub fn render(input: &MetricsInput) -> String {
    let mut m = Metrics::default();
    agent(&mut m, input);
    jobs(&mut m, input);
    replicas(&mut m, input);
    drills(&mut m, input);
    let mut out = String::new();
    // Writing to a String cannot fail and our label sets always encode; should it ever
    // fail, a truncated scrape beats a panic in the server.
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &m.registry) {
        tracing::error!("cannot encode the metrics: {e}");
    }
    out
}

type Labels = Vec<(&'static str, String)>;

/// Registers the families under their exact exposed names. Help texts have no final
/// period: the registry adds one.
#[derive(Default)]
struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// A gauge family; samples whose value is None are left out, not reported as 0.
    fn gauge(&mut self, name: &str, help: &str, samples: Vec<(Labels, Option<f64>)>) {
        let samples = samples
            .into_iter()
            .filter_map(|(labels, v)| Some((labels, ConstGauge::new(v?))))
            .collect();
        self.registry.register(name, help, Ordered { samples });
    }

    /// A gauge family with one sample per item, its value drawn from the item.
    fn gauge_each<T>(
        &mut self,
        name: &str,
        help: &str,
        items: &[(Labels, T)],
        value: impl Fn(&T) -> Option<f64>,
    ) {
        let samples = items.iter().map(|(l, t)| (l.clone(), value(t))).collect();
        self.gauge(name, help, samples);
    }

    /// A counter family, `name` as exposed: the encoder appends `_total` itself (and
    /// refuses a name already ending in it), so it is stripped here.
    fn counter(&mut self, name: &str, help: &str, samples: Vec<(Labels, u64)>) {
        let base = name.strip_suffix("_total").unwrap_or(name);
        let samples = samples
            .into_iter()
            .map(|(labels, v)| (labels, ConstCounter::new(v)))
            .collect();
        self.registry.register(base, help, Ordered { samples });
    }

    fn counter_each<T>(
        &mut self,
        name: &str,
        help: &str,
        items: &[(Labels, T)],
        value: impl Fn(&T) -> u64,
    ) {
        let samples = items.iter().map(|(l, t)| (l.clone(), value(t))).collect();
        self.counter(name, help, samples);
    }
}

/// A family whose samples keep the order they were added in (config order for jobs,
/// the state's order elsewhere). prometheus-client's own `Family` is a HashMap, which
/// would shuffle the lines from one scrape to the next.
#[derive(Debug)]
struct Ordered<M> {
    samples: Vec<(Labels, M)>,
}

impl<M: EncodeMetric + TypedMetric> EncodeMetric for Ordered<M> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, metric) in &self.samples {
            metric.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }

    /// No samples: the registry leaves out the family's HELP/TYPE lines too.
    fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

fn seconds(t: Timestamp) -> f64 {
    t.as_duration().as_secs_f64()
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn agent(m: &mut Metrics, input: &MetricsInput) {
    let one = |v: f64| vec![(Labels::new(), Some(v))];
    m.gauge(
        "firedrill_agent_start_time_seconds",
        "When the agent started, in unix seconds",
        one(seconds(input.started)),
    );
    m.gauge(
        "firedrill_agent_config_last_reload_success",
        "Whether the last config (re)load succeeded (1) or failed (0)",
        one(flag(input.config_reload_ok)),
    );
    m.gauge(
        "firedrill_agent_config_last_reload_timestamp_seconds",
        "When the config in use was loaded, in unix seconds",
        one(seconds(input.config_loaded)),
    );
}

fn jobs(m: &mut Metrics, input: &MetricsInput) {
    // A job of the config that never ran has no state yet: it still gets its zero
    // counters and running = 0, its other values are unknown and left out.
    let none = JobState::default();
    let jobs: Vec<(Labels, &JobState)> = input
        .jobs
        .iter()
        .map(|meta| {
            let labels = vec![("job", meta.name.clone()), ("kind", meta.kind.clone())];
            (labels, input.state.jobs.get(&meta.name).unwrap_or(&none))
        })
        .collect();
    m.gauge_each(
        "firedrill_job_last_start_timestamp_seconds",
        "When the job's last run started, in unix seconds",
        &jobs,
        |j| j.last_start.map(seconds),
    );
    m.gauge_each(
        "firedrill_job_last_success_timestamp_seconds",
        "When the job last succeeded, in unix seconds",
        &jobs,
        |j| j.last_success.map(seconds),
    );
    m.gauge_each(
        "firedrill_job_last_failure_timestamp_seconds",
        "When the job last failed, errored or was interrupted, in unix seconds",
        &jobs,
        |j| j.last_failure.map(seconds),
    );
    m.gauge_each(
        "firedrill_job_last_duration_seconds",
        "How long the job's last run took",
        &jobs,
        |j| j.last_duration_seconds,
    );
    m.gauge_each(
        "firedrill_job_last_processed_bytes",
        "Bytes the job's last run read or wrote, when it reports them",
        &jobs,
        |j| j.last_bytes.map(|b| b as f64),
    );
    m.gauge_each(
        "firedrill_job_last_exit_code",
        "Exit code of the job's last run",
        &jobs,
        |j| j.last_exit_code.map(f64::from),
    );
    m.gauge_each(
        "firedrill_job_running",
        "Whether the job is running now (1) or not (0)",
        &jobs,
        |j| Some(flag(j.running)),
    );
    m.gauge_each(
        "firedrill_job_next_run_timestamp_seconds",
        "When the job fires next (jitter included), in unix seconds",
        &jobs,
        |j| j.next_due.map(seconds),
    );

    let outcomes = [
        Outcome::Success,
        Outcome::Failure,
        Outcome::Error,
        Outcome::Interrupted,
    ];
    let runs = jobs
        .iter()
        .flat_map(|(labels, j)| {
            outcomes.iter().map(move |o| {
                let mut labels = labels.clone();
                labels.push(("outcome", o.as_str().to_string()));
                (labels, j.runs.get(o.as_str()).copied().unwrap_or(0))
            })
        })
        .collect();
    m.counter(
        "firedrill_job_runs_total",
        "Runs of the job by outcome, since the state file was created",
        runs,
    );
    m.counter_each(
        "firedrill_job_missed_runs_total",
        "Schedule slots not run on time because the scheduler was down",
        &jobs,
        |j| j.missed_total,
    );
    m.counter_each(
        "firedrill_job_overlap_skipped_runs_total",
        "Schedule slots dropped because the job's previous run was still going",
        &jobs,
        |j| j.overlap_skipped_total,
    );
}

fn replicas(m: &mut Metrics, input: &MetricsInput) {
    let now = input.now;
    let replicas: Vec<(Labels, &ReplicaState)> = input
        .state
        .replicas
        .iter()
        .map(|r| {
            let labels = vec![
                ("replica", r.name.clone()),
                ("role", r.role.clone()),
                ("provider", r.provider.clone()),
                // Prometheus treats an empty label value as an absent label.
                ("region", r.region.clone().unwrap_or_default()),
            ];
            (labels, r)
        })
        .collect();
    m.gauge_each(
        "firedrill_replica_up",
        "Whether the store was reachable (1) or not (0) when last checked",
        &replicas,
        |r| Some(flag(r.reachable)),
    );
    m.gauge_each(
        "firedrill_replica_objects",
        "Objects in the store when last checked",
        &replicas,
        |r| Some(r.objects as f64),
    );
    m.gauge_each(
        "firedrill_replica_bytes",
        "Bytes in the store when last checked",
        &replicas,
        |r| Some(r.bytes as f64),
    );
    m.gauge_each(
        "firedrill_replica_missing_objects",
        "Objects of the primary the store lacks",
        &replicas,
        |r| r.missing_objects.map(|n| n as f64),
    );
    m.gauge_each(
        "firedrill_replica_newest_snapshot_timestamp_seconds",
        "When the newest snapshot in the store was taken, in unix seconds",
        &replicas,
        |r| r.newest_snapshot.map(seconds),
    );
    m.gauge_each(
        "firedrill_replica_rpo_lag_seconds",
        "Age of the newest snapshot in the store at scrape time",
        &replicas,
        // A snapshot "from the future" (clock skew between hosts) is no lag, not a
        // negative one.
        |r| {
            r.newest_snapshot
                .map(|t| now.duration_since(t).as_secs_f64().max(0.0))
        },
    );
    m.gauge_each(
        "firedrill_replica_rpo_target_seconds",
        "The plan's recovery point objective for the store",
        &replicas,
        |r| r.rpo_target_seconds,
    );
}

fn drills(m: &mut Metrics, input: &MetricsInput) {
    let drills: Vec<(Labels, &DrillState)> = input
        .state
        .drills
        .iter()
        .map(|(name, d)| (vec![("drill", name.clone())], d))
        .collect();
    let is = |d: &DrillState, verdict: &str| d.verdict.eq_ignore_ascii_case(verdict);
    m.gauge_each(
        "firedrill_drill_last_run_timestamp_seconds",
        "When the drill's last run finished, in unix seconds",
        &drills,
        |d| Some(seconds(d.finished)),
    );
    m.gauge_each(
        "firedrill_drill_last_passed",
        "Whether the drill's last run passed (1) or failed or errored (0)",
        &drills,
        |d| Some(flag(is(d, "PASS"))),
    );
    // OpenMetrics' StateSet, which prometheus-client lacks, as a gauge: one sample per
    // possible verdict, 1 for the current one.
    let verdicts = drills
        .iter()
        .flat_map(|(labels, d)| {
            ["PASS", "FAIL", "ERROR"].into_iter().map(move |v| {
                let mut labels = labels.clone();
                labels.push(("verdict", v.to_string()));
                (labels, Some(flag(is(d, v))))
            })
        })
        .collect();
    m.gauge(
        "firedrill_drill_verdict",
        "The drill's last verdict: 1 for the current one of PASS, FAIL and ERROR",
        verdicts,
    );
    m.gauge_each(
        "firedrill_drill_rto_seconds",
        "How long the drill's last restore took",
        &drills,
        |d| d.rto_seconds,
    );
    m.gauge_each(
        "firedrill_drill_rto_target_seconds",
        "The drill's recovery time objective",
        &drills,
        |d| d.rto_target_seconds,
    );
    m.gauge_each(
        "firedrill_drill_rpo_seconds",
        "Age of the snapshot the drill's last run restored",
        &drills,
        |d| d.rpo_seconds,
    );
    m.gauge_each(
        "firedrill_drill_rpo_target_seconds",
        "The drill's recovery point objective",
        &drills,
        |d| d.rpo_target_seconds,
    );
    m.gauge_each(
        "firedrill_drill_restored_bytes",
        "Bytes the drill's last run restored",
        &drills,
        |d| d.restored_bytes.map(|b| b as f64),
    );
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
