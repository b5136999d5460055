//! The agent's state as Prometheus text: OpenMetrics for the agent's GET /metrics
//! ([`render`]), and the classic text format 0.0.4 for node_exporter's textfile
//! collector ([`render_classic`], written by `run-due --metrics-file`, which has no HTTP
//! server to be scraped).
//!
//! A fresh registry is built from the state on every scrape: the state file is the one
//! source of truth (it survives restarts and is written by `run-due` too), so there are
//! no long-lived metric objects to keep in sync with it.
//!
//! The per-job metrics name the job with the label `job_name`, not `job`: Prometheus
//! attaches its own target label `job` (the scrape job) to every sample, and would
//! rename ours to `exported_job`.

use super::state::{AgentState, DrillState, JobState, Outcome, PlanState, ReplicaState};
use jiff::Timestamp;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use std::collections::HashSet;

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
    /// Whether this is the agent's own exposition. The `firedrill_agent_*` families
    /// (from `started`, `config_reload_ok` and `config_loaded`) describe the running
    /// agent and are left out when false, as for `run-due --metrics-file`: a run-due
    /// pass is no agent, and its file must not pose as one.
    pub agent: bool,
    /// When the agent started (used only when `agent`).
    pub started: Timestamp,
    /// Whether the agent's last config (re)load succeeded (used only when `agent`).
    pub config_reload_ok: bool,
    /// When the agent's config in use was loaded (used only when `agent`).
    pub config_loaded: Timestamp,
    pub now: Timestamp,
}

/// The OpenMetrics exposition of `input` ([`CONTENT_TYPE`]), ending with `# EOF`: the
/// agent's /metrics.
pub fn render(input: &MetricsInput) -> String {
    let mut m = Metrics::default();
    if input.agent {
        agent(&mut m, input);
    }
    jobs(&mut m, input);
    replicas(&mut m, input);
    drills(&mut m, input);
    plan(&mut m, input);
    let mut out = String::new();
    // Writing to a String cannot fail and our label sets always encode; should it ever
    // fail, a truncated scrape beats a panic in the server.
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &m.registry) {
        eprintln!("firedrill: cannot encode the metrics: {e}");
    }
    out
}

/// The same samples as [`render`], in the Prometheus text format 0.0.4 that
/// node_exporter's textfile collector parses: for `run-due --metrics-file`, whose file
/// node_exporter serves in its own scrape.
///
/// It is derived from `render`'s output by a small line transformation rather than
/// encoded separately: prometheus-client only writes OpenMetrics, and for the families
/// we emit (gauges and counters, no units, no timestamps, no exemplars) the two formats
/// differ in only two places, so sharing one encoder keeps names, label escaping and
/// sample order the same in both:
/// - OpenMetrics names a counter family without `_total` in its `# HELP`/`# TYPE` lines
///   while its samples carry the suffix. Format 0.0.4 has no such rule: its parser would
///   take the `foo_total` samples for a separate, untyped metric. Here the counter
///   families' HELP/TYPE lines are renamed to the sample name, `_total` included.
/// - `# EOF` (and `# UNIT`, which we never register) do not exist in 0.0.4 and are
///   dropped.
///
/// Everything else carries over as is: label values are escaped alike in both formats
/// (`\\`, `\"`, `\n`, so a value can never start a line of its own and every line
/// starting with `#` is the encoder's), values such as `1.0` parse in both, and our help
/// texts hold no character the two formats escape differently.
///
/// The caller (run-due) passes `agent: false`, so the file holds no `firedrill_agent_*`
/// family; it should replace the file atomically (a temporary file in the same
/// directory, renamed over it), as node_exporter may read it at any moment.
pub fn render_classic(input: &MetricsInput) -> String {
    let open = render(input);
    let counters: HashSet<&str> = open
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open.len() + 16 * counters.len());
    for line in open.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].into_iter().find_map(|prefix| {
            let (name, rest) = line.strip_prefix(prefix)?.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {rest}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
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
    // counters and running = 0, its other values are unknown and left out. The job's
    // name goes in `job_name`: `job` is the label Prometheus gives the scrape job.
    let none = JobState::default();
    let jobs: Vec<(Labels, &JobState)> = input
        .jobs
        .iter()
        .map(|meta| {
            let labels = vec![("job_name", meta.name.clone()), ("kind", meta.kind.clone())];
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
        "Age of the newest snapshot in the store when these metrics were rendered",
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
    // The values above are as of this moment (the lag excepted, computed when
    // rendering): alerting on its age catches holdings that are no longer read.
    m.gauge(
        "firedrill_replica_checked_timestamp_seconds",
        "When the stores' holdings were last read, in unix seconds",
        vec![(Labels::new(), input.state.replicas_checked.map(seconds))],
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

fn plan(m: &mut Metrics, input: &MetricsInput) {
    // No verdict yet: both families are left out.
    let plan: Vec<(Labels, &PlanState)> = input
        .state
        .plan
        .iter()
        .map(|p| (Labels::new(), p))
        .collect();
    m.gauge_each(
        "firedrill_plan_met",
        "Whether the plan was met (1) or not (0) at its last verdict, from `firedrill plan check` or the one each drill report carries",
        &plan,
        |p| Some(flag(p.met)),
    );
    m.gauge_each(
        "firedrill_plan_checked_timestamp_seconds",
        "When the plan's last verdict was reached (`firedrill plan check` or a drill), in unix seconds",
        &plan,
        |p| Some(seconds(p.checked)),
    );
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
