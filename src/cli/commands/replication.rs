//! `replicate`, `replicas` and `verify --replica`.

use super::super::Context;
use super::super::args::ReplicateArgs;
use super::super::output::{self, bytes, local_time, rate};
use firedrill::error::exit;
use firedrill::replicate::heal::{self, HealReport, StoreAudit};
use firedrill::replicate::placement::PlacementReport;
use firedrill::replicate::status::StatusReport;
use firedrill::replicate::{self, NamedStore, OutcomeStatus, ReplicateOptions, ReplicationReport};
use firedrill::store::Location;
use firedrill::store::spec::{StoreSpec, Transport};
use firedrill::{Error, Result};

async fn named(spec: StoreSpec) -> Result<NamedStore> {
    let store = spec.open().await?;
    Ok(NamedStore { spec, store })
}

async fn primary(ctx: &Context) -> Result<NamedStore> {
    named(ctx.primary_spec()?).await
}

/// The replicas to work on: all declared ones, or those `--to` names (a declared name,
/// or a location).
async fn chosen_replicas(ctx: &Context, to: &[String]) -> Result<Vec<NamedStore>> {
    let declared = ctx.replica_specs()?;
    let specs = if to.is_empty() {
        if declared.is_empty() {
            return Err(Error::Usage(
                "no replicas: declare [[replica]] sections in the config file, or use --to LOCATION".into(),
            ));
        }
        declared
    } else {
        let mut chosen = Vec::new();
        for item in to {
            match declared.iter().find(|s| &s.name == item) {
                Some(spec) => chosen.push(spec.clone()),
                None if item.contains(':') || item.contains('/') => {
                    let spec = StoreSpec::new(item, Location::parse(item)?);
                    spec.transport()?;
                    chosen.push(spec);
                }
                None => {
                    let names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
                    return Err(Error::Usage(format!(
                        "no replica named {item:?} (declared: {}); give a name or a location",
                        if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        }
                    )));
                }
            }
        }
        chosen
    };
    let mut stores = Vec::new();
    for spec in specs {
        stores.push(named(spec).await?);
    }
    Ok(stores)
}

fn options(ctx: &Context, jobs: usize, label: &str) -> ReplicateOptions {
    ReplicateOptions {
        in_flight: jobs.max(1),
        progress: ctx.progress(label),
        ..ReplicateOptions::default()
    }
}

pub async fn replicate(ctx: &Context, args: &ReplicateArgs) -> Result<i32> {
    let primary = primary(ctx).await?;
    let replicas = chosen_replicas(ctx, &args.to).await?;
    let policy = ctx.placement();
    // A shared lock keeps prune from deleting what is being copied.
    let repo = ctx.open().await?;
    let lock = repo.lock(false, "replicate").await?;
    let result = if args.heal {
        heal::heal(
            &primary,
            &replicas,
            &policy,
            &options(ctx, args.jobs, "heal"),
        )
        .await
        .map(Done::Healed)
    } else {
        replicate::replicate(
            &primary,
            &replicas,
            &policy,
            &options(ctx, args.jobs, "replicate"),
        )
        .await
        .map(Done::Replicated)
    };
    let released = lock.release().await;
    let done = result?;
    released?;
    match done {
        Done::Replicated(mut report) => {
            if !args.to.is_empty() {
                report.placement = None;
            }
            Ok(print_replication(ctx, &report))
        }
        Done::Healed(report) => Ok(print_heal(ctx, &report)),
    }
}

enum Done {
    Replicated(ReplicationReport),
    Healed(HealReport),
}

fn print_replication(ctx: &Context, report: &ReplicationReport) -> i32 {
    let code = if !report
        .replicas
        .iter()
        .all(|r| r.status != OutcomeStatus::Failed)
    {
        exit::FAILURE
    } else if report.placement.as_ref().is_some_and(|p| !p.satisfied)
        || report
            .replicas
            .iter()
            .any(|r| r.status == OutcomeStatus::Refused)
    {
        exit::DAMAGE
    } else {
        exit::SUCCESS
    };
    if ctx.cli.json {
        output::json(report);
        return code;
    }
    println!(
        "replicated {} to {} replica(s) in {:.1} s",
        report.primary.location,
        report.replicas.len(),
        report.seconds
    );
    for r in &report.replicas {
        let state = match r.status {
            OutcomeStatus::Complete => "complete",
            OutcomeStatus::Failed => "FAILED",
            OutcomeStatus::Refused => "REFUSED",
        };
        println!(
            "  {:<16} {:<9} copied {} object(s), {} ({}), {} snapshot(s); {} already present",
            r.store.name,
            state,
            r.objects_copied,
            bytes(r.bytes_copied),
            rate(r.bytes_copied, report.seconds),
            r.snapshots_copied,
            r.objects_present
        );
        if r.objects_failed > 0 {
            println!("      {} object(s) failed", r.objects_failed);
        }
        for e in &r.errors {
            println!("      {e}");
        }
    }
    match &report.placement {
        Some(placement) => print_placement(placement),
        None => println!("placement: not judged on part of the replicas; see `firedrill replicas`"),
    }
    code
}

fn print_placement(placement: &PlacementReport) {
    if placement.rules.is_empty() {
        println!("placement: no policy declared");
        return;
    }
    println!(
        "placement: {}",
        if placement.satisfied {
            "the plan is met"
        } else {
            "the plan is NOT met"
        }
    );
    for rule in &placement.rules {
        println!(
            "  [{}] {}: {}",
            if rule.satisfied { "ok" } else { "FAIL" },
            rule.rule,
            rule.detail
        );
    }
}

fn print_audit(audit: &StoreAudit) {
    let state = if audit.healthy() {
        "healthy"
    } else {
        "DAMAGED"
    };
    println!(
        "  {:<16} {:<8} {} object(s) read ({}); {} missing, {} damaged, {} repaired",
        audit.store.name,
        if audit.reachable {
            state
        } else {
            "UNREACHABLE"
        },
        audit.objects_checked,
        bytes(audit.bytes_read),
        audit.missing.len(),
        audit.damaged.len(),
        audit.repaired
    );
    if let Some(e) = &audit.error {
        println!("      {e}");
    }
    for line in audit.missing.iter().take(10) {
        println!("      missing: {line}");
    }
    for line in audit.damaged.iter().take(10) {
        println!("      damaged: {line}");
    }
    for line in audit.unrepaired.iter().take(10) {
        println!("      not repaired: {line}");
    }
}

fn print_heal(ctx: &Context, report: &HealReport) -> i32 {
    let code = if report.healthy() {
        exit::SUCCESS
    } else {
        exit::DAMAGE
    };
    if ctx.cli.json {
        output::json(report);
        return code;
    }
    println!(
        "checked {} store(s) in {:.1} s",
        report.stores.len(),
        report.seconds
    );
    for audit in &report.stores {
        print_audit(audit);
    }
    code
}

pub async fn verify_replica(ctx: &Context, name: &str) -> Result<i32> {
    let primary = primary(ctx).await?;
    let replica = chosen_replicas(ctx, &[name.to_string()]).await?.remove(0);
    let audit = heal::audit_replica(&primary, &replica, &options(ctx, 8, "verify")).await?;
    let code = if audit.unrepaired.is_empty() && audit.error.is_none() {
        exit::SUCCESS
    } else {
        exit::DAMAGE
    };
    if ctx.cli.json {
        output::json(&audit);
    } else {
        print_audit(&audit);
        if code != exit::SUCCESS {
            println!("repair with: firedrill replicate --heal --to {name}");
        }
    }
    Ok(code)
}

pub async fn status(ctx: &Context) -> Result<i32> {
    let primary = primary(ctx).await?;
    let declared = ctx.replica_specs()?;
    let mut stores = Vec::new();
    for spec in declared {
        stores.push(named(spec).await?);
    }
    let repo = ctx.open().await?;
    let report =
        firedrill::replicate::status::status(&primary, &stores, &ctx.placement(), &repo).await;
    let code = if report.placement.satisfied {
        exit::SUCCESS
    } else {
        exit::DAMAGE
    };
    if ctx.cli.json {
        output::json(&report);
        return Ok(code);
    }
    print_status(&report);
    Ok(code)
}

pub(super) fn print_status(report: &StatusReport) {
    for s in &report.stores {
        println!(
            "{} ({}): {} {}",
            s.store.name, s.role, s.store.provider, s.store.location
        );
        let transport = match s.store.transport {
            Some(Transport::Https) => "https",
            Some(Transport::LoopbackHttp) => "http on this machine",
            Some(Transport::InsecureHttp) => "PLAIN HTTP across the network (allow_insecure_http)",
            Some(Transport::LocalDisk) | None => "local disk",
        };
        println!(
            "    region {}, jurisdiction {}, endpoint {} ({transport}); encrypted client-side (AES-256-GCM)",
            s.store.region.as_deref().unwrap_or("-"),
            s.store.jurisdiction.as_deref().unwrap_or("-"),
            s.store.endpoint
        );
        if let Some(reason) = &s.refused {
            println!("    REFUSED by the placement policy: {reason}");
        }
        if !s.reachable {
            println!(
                "    UNREACHABLE: {}",
                s.error.as_deref().unwrap_or("unknown error")
            );
            continue;
        }
        let missing = match (s.missing_objects, s.missing_bytes) {
            (Some(0), _) => "nothing missing".to_string(),
            (Some(n), Some(b)) => format!("{n} object(s) ({}) missing", bytes(b)),
            _ => "missing: unknown (the primary could not be listed)".to_string(),
        };
        println!("    {} object(s), {}; {missing}", s.objects, bytes(s.bytes));
        match (s.newest_snapshot, s.rpo_lag_seconds) {
            (Some(t), Some(lag)) => println!(
                "    {} snapshot(s), newest {} (RPO lag {})",
                s.snapshots,
                local_time(t),
                human_duration(lag)
            ),
            _ => println!("    {} snapshot(s)", s.snapshots),
        }
    }
    print_placement(&report.placement);
}

fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{:.1} h", s as f64 / 3600.0),
        _ => format!("{:.1} days", s as f64 / 86400.0),
    }
}
