//! One function per verb.

mod agent;
mod backup;
mod drills;
mod keys;
mod maintenance;
mod plan;
mod quickstart;
mod replication;
mod snapshots;

use super::Context;
use super::args::Command;
use firedrill::Result;

/// Runs the command and returns its exit code (errors are turned into codes by the caller).
pub async fn run(ctx: &Context) -> Result<i32> {
    match &ctx.cli.command {
        Command::Init(args) => keys::init(ctx, args).await,
        Command::Key(cmd) => keys::key(ctx, cmd).await,
        Command::Unlock { all } => keys::unlock(ctx, *all).await,
        Command::Backup(args) => backup::backup(ctx, args).await,
        Command::Snapshots => snapshots::list(ctx).await,
        Command::Ls { snapshot, path } => snapshots::ls(ctx, snapshot, path.as_deref()).await,
        Command::Restore {
            snapshot,
            target,
            include,
        } => snapshots::restore(ctx, snapshot, target, include).await,
        Command::Verify {
            replica: Some(name),
            ..
        } => replication::verify_replica(ctx, name).await,
        Command::Verify {
            replica: None,
            read_data,
            read_data_subset,
        } => maintenance::verify(ctx, *read_data, read_data_subset.as_deref()).await,
        Command::Replicate(args) => replication::replicate(ctx, args).await,
        Command::Replicas => replication::status(ctx).await,
        Command::Drill(cmd) => drills::drill(ctx, cmd).await,
        Command::Report(cmd) => drills::report(ctx, cmd).await,
        Command::Plan(_) => plan::check(ctx).await,
        Command::Forget(args) => maintenance::forget(ctx, args).await,
        Command::Prune(args) => maintenance::prune(ctx, args).await,
        Command::Quickstart(args) => quickstart::run(ctx, args).await,
        Command::Agent => agent::agent(ctx).await,
        Command::RunDue { metrics_file } => agent::run_due(ctx, metrics_file.as_deref()).await,
        Command::Status => agent::status(ctx).await,
    }
}
