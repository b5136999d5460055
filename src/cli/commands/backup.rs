use crate::cli::Context;
use crate::cli::args::BackupArgs;
use crate::cli::output;
use firedrill::Result;
use firedrill::backup::{BackupOptions, backup as run_backup};
use firedrill::error::exit;
use serde_json::json;

pub async fn backup(ctx: &Context, args: &BackupArgs) -> Result<i32> {
    let repo = ctx.open().await?;
    let options = BackupOptions {
        paths: args.paths.clone(),
        tags: args.tag.clone(),
        excludes: args.exclude.clone(),
        exclude_files: args.exclude_file.clone(),
        force_read: args.force,
    };
    let outcome = run_backup(&repo, &options, ctx.progress("backup")).await?;
    let s = &outcome.snapshot.summary;
    // A snapshot that skipped unreadable files is saved, but the run is not a success.
    let code = if outcome.is_complete() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    };
    if ctx.cli.json {
        output::json(&json!({
            "snapshot": outcome.snapshot_id,
            "parent": outcome.snapshot.parent,
            "complete": outcome.is_complete(),
            "summary": s,
            "changed_while_reading": outcome.changed_while_reading,
        }));
    } else {
        println!(
            "snapshot {} saved: {} files ({} new, {} changed, {} unmodified), {} dirs, {} in total",
            outcome.snapshot_id.short(),
            s.files,
            s.files_new,
            s.files_changed,
            s.files_unmodified,
            s.dirs,
            output::bytes(s.total_bytes)
        );
        println!(
            "read {} in {:.2}s ({}), added {} stored in {} new blobs",
            output::bytes(s.bytes_read),
            s.duration_secs,
            output::rate(s.bytes_read, s.duration_secs),
            output::bytes(s.stored_bytes_added),
            s.blobs_added
        );
        for path in &outcome.changed_while_reading {
            eprintln!(
                "warning: {path} changed while it was read; the snapshot holds what was read"
            );
        }
        for skipped in &s.skipped {
            eprintln!("skipped {}: {}", skipped.path, skipped.error);
        }
        if !outcome.is_complete() {
            eprintln!(
                "firedrill: the snapshot is incomplete: {} path(s) could not be read",
                s.skipped.len()
            );
        }
    }
    Ok(code)
}
