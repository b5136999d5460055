use crate::cli::Context;
use crate::cli::args::QuickstartArgs;
use crate::cli::output;
use firedrill::Result;
use firedrill::error::exit;
use firedrill::quickstart::{QuickstartOptions, run as run_quickstart};

pub async fn run(ctx: &Context, args: &QuickstartArgs) -> Result<i32> {
    let options = QuickstartOptions {
        dir: args.dir.clone(),
        source: args.source.clone(),
        sample_bytes: args.sample_mib.saturating_mul(1 << 20),
        show_progress: !ctx.cli.quiet && firedrill::progress::interactive(),
    };
    let report = run_quickstart(&options).await?;
    if ctx.cli.json {
        output::json(&report);
    } else {
        println!("firedrill quickstart in {}", report.dir.display());
        for step in &report.steps {
            println!(
                "  {:<22} {:>7.2}s  {}",
                step.name, step.seconds, step.detail
            );
        }
        println!("replicas:");
        super::replication::print_status(&report.replicas);
        for m in &report.mismatches {
            println!("  MISMATCH {m}");
        }
        for p in &report.restore.damaged {
            println!("  NOT RESTORED {}: {}", p.path, p.problem);
        }
        for r in &report.replication.replicas {
            for e in &r.errors {
                println!("  REPLICATION {}: {e}", r.store.name);
            }
        }
        for rule in report
            .replicas
            .placement
            .rules
            .iter()
            .filter(|r| !r.satisfied)
        {
            println!("  PLACEMENT {}: {}", rule.rule, rule.detail);
        }
        println!(
            "result: {} — replicated to {} replicas, {} files restored from replica {} and compared with the source, all stored data verified",
            if report.passed() { "PASS" } else { "FAIL" },
            report.replication.replicas.len(),
            report.files_compared,
            report.restored_from
        );
        println!(
            "drill \"{}\": {} — {}",
            report.drill.drill,
            format!("{:?}", report.drill.verdict).to_uppercase(),
            report.drill.summary
        );
        if let Some(html) = &report.drill_html {
            println!("drill report: {}", html.display());
        }
        let program = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "firedrill".into());
        println!(
            "try: {program} --config {} snapshots",
            report.config_file.display()
        );
        println!(
            "     {program} --config {} replicas",
            report.config_file.display()
        );
        println!(
            "     {program} --config {} drill run primary-region-lost",
            report.config_file.display()
        );
        println!(
            "     {program} --config {} agent    # its [[job]] schedule; metrics on http://127.0.0.1:9477/metrics",
            report.config_file.display()
        );
    }
    Ok(if report.passed() {
        exit::SUCCESS
    } else {
        exit::DAMAGE
    })
}
