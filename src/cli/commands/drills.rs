//! `drill run|list` and `report list|show|verify`.

use super::super::Context;
use super::super::args::{DrillCommand, ReportCommand, ReportFormat};
use super::super::output::{self, local_time};
use firedrill::drill::definition::{DrillDefinition, Targets, parse_duration};
use firedrill::drill::runner::{self, DrillEnv, RunOptions};
use firedrill::error::exit;
use firedrill::replicate::NamedStore;
use firedrill::repo::Repository;
use firedrill::report::archive::{self, StoredReport};
use firedrill::report::model::{DrillReport, Verdict};
use firedrill::report::{html, markdown, notify, publish};
use firedrill::{Error, Result};
use std::path::{Path, PathBuf};

pub async fn drill(ctx: &Context, cmd: &DrillCommand) -> Result<i32> {
    match cmd {
        DrillCommand::Run { drill, keep, seed } => run(ctx, drill, *keep, *seed).await,
        DrillCommand::List => list(ctx),
    }
}

fn drills_dir(ctx: &Context) -> PathBuf {
    ctx.config()
        .and_then(|c| c.drills.dir.clone())
        .or_else(|| ctx.config().map(|c| c.base_dir().join("drills")))
        .unwrap_or_else(|| PathBuf::from("drills"))
}

/// A drill named in the drills directory, or a drill file.
fn resolve(ctx: &Context, drill: &str) -> Result<DrillDefinition> {
    let as_path = Path::new(drill);
    if as_path.is_file() || drill.ends_with(".toml") || drill.contains('/') {
        return DrillDefinition::load(as_path);
    }
    let dir = drills_dir(ctx);
    let file = dir.join(format!("{drill}.toml"));
    if !file.is_file() {
        return Err(Error::Usage(format!(
            "no drill {drill:?}: {} does not exist (see `firedrill drill list`)",
            file.display()
        )));
    }
    DrillDefinition::load(&file)
}

fn list(ctx: &Context) -> Result<i32> {
    let dir = drills_dir(ctx);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        Error::Usage(format!(
            "cannot list drills in {}: {e} (set [drills] dir in the config)",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut rows = Vec::new();
    let mut broken = 0;
    for file in files {
        match DrillDefinition::load(&file) {
            Ok(def) => rows.push(serde_json::json!({
                "name": def.name,
                "file": file.display().to_string(),
                "description": def.description,
                "source": def.source,
            })),
            Err(e) => {
                broken += 1;
                rows.push(serde_json::json!({ "file": file.display().to_string(), "error": e.to_string() }));
            }
        }
    }
    if ctx.cli.json {
        output::json(&rows);
    } else {
        for row in &rows {
            match row.get("error") {
                Some(e) => println!("INVALID  {}", e.as_str().unwrap_or_default()),
                None => println!(
                    "{:<24} {}",
                    row["name"].as_str().unwrap_or_default(),
                    row["description"].as_str().unwrap_or_default()
                ),
            }
        }
    }
    Ok(if broken > 0 {
        exit::USAGE
    } else {
        exit::SUCCESS
    })
}

pub(super) fn plan_defaults(ctx: &Context) -> Result<Targets> {
    let Some(config) = ctx.config() else {
        return Ok(Targets::default());
    };
    let seconds = |field: &Option<toml::Spanned<String>>, name: &str| -> Result<Option<f64>> {
        field
            .as_ref()
            .map(|v| {
                parse_duration(v.get_ref()).map_err(|e| {
                    Error::Usage(format!(
                        "{}: plan.{name}: {e}",
                        config.place(v.span().start)
                    ))
                })
            })
            .transpose()
    };
    Ok(Targets {
        rto_seconds: seconds(&config.plan.rto, "rto")?,
        rpo_seconds: seconds(&config.plan.rpo, "rpo")?,
        min_throughput_mib_s: config.plan.min_throughput_mib_s,
    })
}

pub(super) async fn all_stores(ctx: &Context) -> Result<Vec<NamedStore>> {
    let mut specs = vec![ctx.primary_spec()?];
    specs.extend(ctx.replica_specs()?);
    let mut stores = Vec::new();
    for spec in specs {
        let store = spec.open().await?;
        stores.push(NamedStore { spec, store });
    }
    Ok(stores)
}

/// A handle on the repository for reading and writing reports: the first store, in
/// config order, that opens with the key.
pub(super) async fn report_repo(stores: &[NamedStore], ctx: &Context) -> Result<Repository> {
    let secret = ctx.secret()?;
    let mut last = None;
    for s in stores {
        match Repository::open(s.store.clone(), &secret).await {
            Ok(repo) => return Ok(repo),
            Err(e @ Error::WrongKey(_)) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Other("no store declared".into())))
}

async fn run(ctx: &Context, drill: &str, keep: bool, seed: Option<u64>) -> Result<i32> {
    let def = resolve(ctx, drill)?;
    let defaults = plan_defaults(ctx)?;
    let stores = all_stores(ctx).await?;
    runner::check_store_names(&def, &stores)?;
    let env = DrillEnv {
        stores: stores.clone(),
        secret: ctx.secret()?,
        defaults,
        show_progress: !ctx.cli.quiet && firedrill::progress::interactive(),
    };
    let (mut report, _) = runner::run(&def, &env, &RunOptions { keep, seed }).await;

    // The record: in the repository on every store not cut off by the drill, chained to
    // the previous report, and as files in the local reports directory.
    let reachable: Vec<&NamedStore> = stores
        .iter()
        .filter(|s| !def.faults.outage.contains(&s.spec.name))
        .collect();
    let mut saved_at = Vec::new();
    let mut history = Vec::new();
    let mut report_id = None;
    let local_dir = ctx
        .config()
        .and_then(|c| c.reports.dir.clone())
        .unwrap_or_else(publish::default_dir);
    match report_repo(&stores, ctx).await {
        Ok(repo) => {
            report.plan = Some(super::plan::judge_with(ctx, &stores, &repo, &report).await?);
            let recorded = publish::record(&repo, &reachable, &mut report, &local_dir).await?;
            saved_at.push(format!("report {}", recorded.id.short()));
            report_id = Some(recorded.id.to_hex());
            for p in &recorded.placements {
                saved_at.push(match &p.error {
                    None => format!("stored on {}", p.store),
                    Some(e) => format!("NOT stored on {}: {e}", p.store),
                });
            }
            saved_at.extend(recorded.files.iter().map(|f| f.display().to_string()));
            history = recorded.history;
        }
        Err(e) => saved_at.push(format!("report not stored in the repository: {e}")),
    }
    if let Some(line) = notify(ctx, &report, report_id.as_deref()).await? {
        saved_at.push(line);
    }
    let code = match report.verdict {
        Verdict::Pass => exit::SUCCESS,
        Verdict::Fail => exit::DAMAGE,
        Verdict::Error => exit::FAILURE,
    };
    if ctx.cli.json {
        // The report as stored, plus the id `report show` knows it by.
        let mut value = serde_json::to_value(&report).map_err(|e| Error::Other(e.to_string()))?;
        value["report_id"] = serde_json::json!(report_id);
        output::json(&value);
    } else {
        print_summary(&report, &history);
        for line in saved_at {
            println!("  {line}");
        }
    }
    Ok(code)
}

/// Posts the report to the config's webhook when its rule says so; the outcome is a
/// line for the operator (a failed notification does not change the drill's verdict).
async fn notify(ctx: &Context, report: &DrillReport, id: Option<&str>) -> Result<Option<String>> {
    let Some(section) = ctx.config().map(|c| &c.notify) else {
        return Ok(None);
    };
    let Some(var) = &section.webhook_url_env else {
        return Ok(None);
    };
    let on = notify::NotifyOn::parse(section.on.as_deref().unwrap_or("failure"))?;
    if !on.wants(report.verdict) {
        return Ok(None);
    }
    let url = std::env::var(var).map_err(|_| {
        Error::Usage(format!(
            "notify.webhook_url_env names {var}, which is not set"
        ))
    })?;
    Ok(Some(
        match notify::post(&url, id.unwrap_or_default(), report, 5).await {
            Ok(done) => format!("webhook: {done}"),
            Err(e) => format!("webhook: NOT delivered: {e}"),
        },
    ))
}

fn print_summary(report: &DrillReport, history: &[DrillReport]) {
    println!("drill {}: {:?}", report.drill, report.verdict);
    println!("  {}", report.summary);
    if !report.source.store.is_empty() {
        println!(
            "  source: {} ({})",
            report.source.store, report.source.reason
        );
    }
    for (name, t) in [
        ("RTO", &report.rto),
        ("RPO", &report.rpo),
        ("throughput", &report.throughput),
    ] {
        let measured = t
            .measured
            .map_or("-".to_string(), |m| format!("{m:.1} {}", t.unit));
        let target = t.target.map_or("no target".to_string(), |x| {
            format!("target {x:.1} {}", t.unit)
        });
        let met = match t.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        println!("  {name:<10} {measured:<20} {target:<24} {met}");
    }
    for phase in &report.phases {
        println!("  phase {:<48} {:>8.2} s", phase.name, phase.seconds);
    }
    for check in &report.checks {
        println!(
            "  [{}] {}: {}",
            if check.passed { "ok" } else { "FAIL" },
            check.name,
            check.evidence
        );
    }
    for fault in &report.faults {
        println!(
            "  fault {}: {} — {}",
            fault.fault,
            if fault.detected {
                "detected"
            } else {
                "NOT DETECTED"
            },
            fault.evidence
        );
    }
    for e in &report.errors {
        println!("  error: {e}");
    }
    if !history.is_empty() {
        println!("  earlier runs of this drill: {}", history.len());
    }
}

pub async fn report(ctx: &Context, cmd: &ReportCommand) -> Result<i32> {
    let stores = all_stores(ctx).await?;
    let repo = report_repo(&stores, ctx).await?;
    let (reports, damaged) = archive::load_all(&repo).await?;
    match cmd {
        ReportCommand::List => {
            if ctx.cli.json {
                let rows: Vec<_> = reports
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "id": r.id.to_hex(),
                            "drill": r.report.drill,
                            "verdict": r.report.verdict,
                            "started": r.report.started,
                            "finished": r.report.finished,
                            "summary": r.report.summary,
                        })
                    })
                    .collect();
                output::json(&rows);
            } else {
                for r in &reports {
                    println!(
                        "{}  {}  {:<6} {:<24} {}",
                        r.id.short(),
                        local_time(r.report.started),
                        format!("{:?}", r.report.verdict).to_uppercase(),
                        r.report.drill,
                        r.report.summary
                    );
                }
                for (key, e) in &damaged {
                    println!("DAMAGED {key}: {e}");
                }
            }
            Ok(if damaged.is_empty() {
                exit::SUCCESS
            } else {
                exit::DAMAGE
            })
        }
        ReportCommand::Show { id, format, out } => {
            let chosen: &StoredReport = archive::find(&reports, id)?;
            let history: Vec<DrillReport> = reports
                .iter()
                .filter(|r| {
                    r.report.drill == chosen.report.drill
                        && r.report.started < chosen.report.started
                })
                .map(|r| r.report.clone())
                .collect();
            let text = render(*format, &chosen.report, &history)?;
            match out {
                Some(path) => std::fs::write(path, text).map_err(|e| Error::io(path, e))?,
                None => println!("{text}"),
            }
            Ok(exit::SUCCESS)
        }
        ReportCommand::Verify => {
            let check = archive::verify_chain(&reports, &damaged);
            if ctx.cli.json {
                output::json(&check);
            } else if check.intact {
                println!("the chain of {} report(s) is intact", check.reports);
            } else {
                println!("the chain of {} report(s) is BROKEN:", check.reports);
                for b in &check.breaks {
                    println!("  {b}");
                }
            }
            Ok(if check.intact {
                exit::SUCCESS
            } else {
                exit::DAMAGE
            })
        }
    }
}

fn render(format: ReportFormat, report: &DrillReport, history: &[DrillReport]) -> Result<String> {
    Ok(match format {
        ReportFormat::Md => markdown::render(report, history),
        ReportFormat::Html => html::render(report, history),
        ReportFormat::Json => {
            serde_json::to_string_pretty(report).map_err(|e| Error::Other(e.to_string()))?
        }
    })
}
