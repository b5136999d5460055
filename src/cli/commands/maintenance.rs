use crate::cli::Context;
use crate::cli::args::{ForgetArgs, PruneArgs};
use crate::cli::output;
use firedrill::error::exit;
use firedrill::forget::{ForgetOptions, forget as run_forget};
use firedrill::prune::{PruneOptions, prune as run_prune};
use firedrill::retention::{RetentionPolicy, parse_within};
use firedrill::verify::{ReadData, verify as run_verify};
use firedrill::{Error, Result};

fn parse_percent(text: &str) -> Result<f64> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 100.0 => Ok(p),
        _ => Err(Error::Usage(format!(
            "--read-data-subset {text:?}: give a percentage above 0 and at most 100, e.g. 10 or 2.5%"
        ))),
    }
}

pub async fn verify(ctx: &Context, read_data: bool, subset: Option<&str>) -> Result<i32> {
    let read = match (read_data, subset) {
        (true, _) => ReadData::All,
        (false, Some(p)) => ReadData::Subset(parse_percent(p)?),
        (false, None) => ReadData::None,
    };
    let repo = ctx.open().await?;
    let report = run_verify(&repo, read, ctx.progress("verify")).await?;
    if ctx.cli.json {
        output::json(&report);
    } else {
        println!(
            "checked {} snapshot(s), {} tree(s), {} index object(s), {} pack(s); read {} pack(s) ({}), {} blob(s)",
            report.snapshots,
            report.trees,
            report.index_objects,
            report.packs,
            report.packs_read,
            output::bytes(report.bytes_read),
            report.blobs_read
        );
        for w in &report.warnings {
            println!("note: {w}");
        }
        for d in &report.damage {
            println!("DAMAGED {}: {}", d.object, d.problem);
            for a in &d.affects {
                println!("    affects {a}");
            }
        }
        println!(
            "{}",
            if report.is_clean() {
                "no damage found"
            } else {
                "damage found"
            }
        );
    }
    Ok(if report.is_clean() {
        exit::SUCCESS
    } else {
        exit::DAMAGE
    })
}

pub async fn forget(ctx: &Context, args: &ForgetArgs) -> Result<i32> {
    let policy = RetentionPolicy {
        keep_last: args.keep_last,
        keep_hourly: args.keep_hourly,
        keep_daily: args.keep_daily,
        keep_weekly: args.keep_weekly,
        keep_monthly: args.keep_monthly,
        keep_yearly: args.keep_yearly,
        keep_within: args
            .keep_within
            .as_deref()
            .map(parse_within)
            .transpose()
            .map_err(|e| Error::Usage(format!("--keep-within: {e}")))?,
        keep_tags: args.keep_tag.clone(),
    };
    let repo = ctx.open().await?;
    let report = run_forget(
        &repo,
        &ForgetOptions {
            policy,
            dry_run: args.dry_run,
        },
    )
    .await?;
    let will_prune = args.prune && !args.dry_run;
    if ctx.cli.json && !will_prune {
        output::json(&report);
    } else if !ctx.cli.json {
        print_value(&serde_json::to_value(&report).unwrap_or_default(), 0);
        if args.dry_run {
            println!("dry run: nothing was removed");
        }
    }
    if will_prune {
        let pruned = run_prune(
            &repo,
            &PruneOptions {
                max_unused_percent: 20.0,
                dry_run: false,
            },
            ctx.progress("prune"),
        )
        .await?;
        if ctx.cli.json {
            output::json(&serde_json::json!({ "forget": report, "prune": pruned }));
        } else {
            print_value(&serde_json::to_value(&pruned).unwrap_or_default(), 0);
        }
    }
    Ok(exit::SUCCESS)
}

pub async fn prune(ctx: &Context, args: &PruneArgs) -> Result<i32> {
    if !(0.0..=100.0).contains(&args.max_unused) {
        return Err(Error::Usage(
            "--max-unused must be a percentage from 0 to 100".into(),
        ));
    }
    let repo = ctx.open().await?;
    let options = PruneOptions {
        max_unused_percent: args.max_unused,
        dry_run: args.dry_run,
    };
    let report = run_prune(&repo, &options, ctx.progress("prune")).await?;
    if ctx.cli.json {
        output::json(&report);
    } else {
        print_value(&serde_json::to_value(&report).unwrap_or_default(), 0);
        if args.dry_run {
            println!("dry run: nothing was changed");
        }
    }
    Ok(exit::SUCCESS)
}

/// Prints a report as indented `key: value` lines: readable without a renderer per report.
fn print_value(value: &serde_json::Value, depth: usize) {
    let pad = "  ".repeat(depth);
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                        println!("{pad}{}:", k.replace('_', " "));
                        print_value(v, depth + 1);
                    }
                    other => println!("{pad}{}: {}", k.replace('_', " "), scalar(other)),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                match item {
                    serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                        println!("{pad}-");
                        print_value(item, depth + 1);
                    }
                    other => println!("{pad}- {}", scalar(other)),
                }
            }
        }
        other => println!("{pad}{}", scalar(other)),
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
