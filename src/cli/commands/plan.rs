//! `plan check`: the answer an auditor asks for.

use super::super::Context;
use super::super::output;
use super::drills::{all_stores, plan_defaults, report_repo};
use firedrill::crypto::Id;
use firedrill::drill::definition::parse_duration;
use firedrill::error::exit;
use firedrill::plan::{PlanRules, PlanVerdict, weigh};
use firedrill::replicate::NamedStore;
use firedrill::replicate::status::status;
use firedrill::repo::Repository;
use firedrill::report::archive;
use firedrill::report::archive::StoredReport;
use firedrill::report::model::{DrillReport, PlanRule, PlanSummary};
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

/// Weighs the plan on the stores and the repository's reports, plus `pending`, a report
/// about to be stored (so a drill's own report carries the plan with itself counted).
async fn judge(
    ctx: &Context,
    stores: &[NamedStore],
    repo: &Repository,
    pending: Option<&DrillReport>,
) -> Result<PlanVerdict> {
    let rules = rules(ctx)?;
    let (primary, replicas) = stores
        .split_first()
        .ok_or_else(|| Error::Usage("no store declared".into()))?;
    let copies = status(primary, replicas, &ctx.placement(), repo).await;
    let (mut reports, damaged) = archive::load_all(repo).await?;
    if let Some(report) = pending {
        let mut report = report.clone();
        report.previous_report = reports.last().map(|r| r.id.to_hex());
        let bytes = serde_json::to_vec(&report).unwrap_or_default();
        reports.push(StoredReport {
            id: Id::of_stored(&bytes),
            report,
        });
    }
    let chain = archive::verify_chain(&reports, &damaged);
    Ok(weigh(
        &rules,
        &copies,
        &reports,
        &chain,
        jiff::Timestamp::now(),
    ))
}

pub(super) async fn judge_with(
    ctx: &Context,
    stores: &[NamedStore],
    repo: &Repository,
    report: &DrillReport,
) -> Result<PlanSummary> {
    let verdict = judge(ctx, stores, repo, Some(report)).await?;
    Ok(PlanSummary {
        met: verdict.met,
        rules: verdict
            .rules
            .into_iter()
            .map(|r| PlanRule {
                rule: r.rule,
                satisfied: r.satisfied,
                detail: r.detail,
            })
            .collect(),
    })
}

pub async fn check(ctx: &Context) -> Result<i32> {
    let stores = all_stores(ctx).await?;
    let repo = report_repo(&stores, ctx).await?;
    let verdict = judge(ctx, &stores, &repo, None).await?;
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
