//! `plan check`: the answer an auditor asks for.

use super::super::Context;
use super::super::output;
use super::drills::{all_stores, plan_defaults, report_repo};
use firedrill::drill::definition::parse_duration;
use firedrill::error::exit;
use firedrill::plan::{PlanRules, weigh};
use firedrill::replicate::status::status;
use firedrill::report::archive;
use firedrill::{Error, Result};

fn rules(ctx: &Context) -> Result<PlanRules> {
    let defaults = plan_defaults(ctx)?;
    let mut rules = PlanRules {
        rpo_seconds: defaults.rpo_seconds,
        ..Default::default()
    };
    let Some(config) = ctx.config() else {
        return Ok(rules);
    };
    let seconds = |v: &toml::Spanned<String>, field: &str| {
        parse_duration(v.get_ref())
            .map_err(|e| Error::Usage(format!("{}: {field}: {e}", config.place(v.span().start))))
    };
    if let Some(every) = &config.plan.replica_drill_every {
        rules.replica_drill_every_seconds = Some(seconds(every, "plan.replica_drill_every")?);
    }
    for required in &config.plan.require {
        rules.required_drills.push((
            required.drill.clone(),
            seconds(&required.every, "plan.require.every")?,
        ));
    }
    Ok(rules)
}

pub async fn check(ctx: &Context) -> Result<i32> {
    let rules = rules(ctx)?;
    let stores = all_stores(ctx).await?;
    let repo = report_repo(&stores, ctx).await?;
    let (primary, replicas) = stores
        .split_first()
        .ok_or_else(|| Error::Usage("no store declared".into()))?;
    let copies = status(primary, replicas, &ctx.placement(), &repo).await;
    let (reports, damaged) = archive::load_all(&repo).await?;
    let chain = archive::verify_chain(&reports, &damaged);
    let verdict = weigh(&rules, &copies, &reports, &chain, jiff::Timestamp::now());
    if ctx.cli.json {
        output::json(&verdict);
    } else {
        println!("plan: {}", if verdict.met { "MET" } else { "NOT MET" });
        for rule in &verdict.rules {
            println!(
                "  [{}] {}: {}",
                if rule.satisfied { "ok" } else { "FAIL" },
                rule.rule,
                rule.detail
            );
        }
    }
    Ok(if verdict.met {
        exit::SUCCESS
    } else {
        exit::DAMAGE
    })
}
