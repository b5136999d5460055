use crate::cli::Context;
use crate::cli::output;
use firedrill::error::exit;
use firedrill::repo::tree::NodeKind;
use firedrill::restore::{RestoreOptions, restore as run_restore};
use firedrill::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

pub async fn list(ctx: &Context) -> Result<i32> {
    let repo = ctx.open().await?;
    let (snapshots, damaged) = repo.readable_snapshots().await?;
    for (id, e) in &damaged {
        eprintln!("DAMAGED snapshot {}: {e}", id.short());
    }
    let code = if damaged.is_empty() {
        exit::SUCCESS
    } else {
        exit::DAMAGE
    };
    if ctx.cli.json {
        let list: Vec<_> = snapshots
            .iter()
            .map(|(id, s)| json!({ "id": id, "short_id": id.short(), "time": s.time, "host": s.host, "user": s.user, "paths": s.paths, "tags": s.tags, "parent": s.parent, "tree": s.tree, "summary": s.summary }))
            .collect();
        output::json(&list);
        return Ok(code);
    }
    println!(
        "{:<9} {:<20} {:<16} {:<12} {:>10}  PATHS",
        "ID", "TIME", "HOST", "TAGS", "SIZE"
    );
    for (id, s) in &snapshots {
        println!(
            "{:<9} {:<20} {:<16} {:<12} {:>10}  {}",
            id.short(),
            output::local_time(s.time),
            s.host,
            s.tags.join(","),
            output::bytes(s.summary.total_bytes),
            s.paths.join(" ")
        );
    }
    println!("{} snapshot(s)", snapshots.len());
    Ok(code)
}

pub async fn ls(ctx: &Context, spec: &str, path: Option<&str>) -> Result<i32> {
    let repo = ctx.open().await?;
    let (id, snapshot) = repo.find_snapshot(spec).await?;
    let index = repo.load_index().await?;
    let start = PathBuf::from("/").join(path.unwrap_or("/").trim_start_matches('/'));
    // Descend to the requested directory.
    let mut tree_id = snapshot.tree;
    for component in start.components().skip(1) {
        let tree = repo.load_tree(&index, &tree_id).await?;
        let name = component.as_os_str().as_encoded_bytes();
        match tree.find(name).map(|n| &n.kind) {
            Some(NodeKind::Dir { subtree }) => tree_id = *subtree,
            _ => {
                return Err(Error::Usage(format!(
                    "{} is not a directory in snapshot {}",
                    start.display(),
                    id.short()
                )));
            }
        }
    }
    let mut entries = Vec::new();
    let mut stack = vec![(start.clone(), tree_id)];
    while let Some((dir, tree_id)) = stack.pop() {
        let tree = repo.load_tree(&index, &tree_id).await?;
        for node in tree.nodes.into_iter().rev() {
            let p = dir.join(node.name.to_os());
            if let NodeKind::Dir { subtree } = node.kind {
                stack.push((p.clone(), subtree));
            }
            entries.push((p, node));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if ctx.cli.json {
        let list: Vec<_> = entries
            .iter()
            .map(|(p, n)| json!({ "path": p.display().to_string(), "type": n.type_name(), "size": n.size, "mode": format!("{:o}", n.mode & 0o7777), "mtime": n.mtime }))
            .collect();
        output::json(&list);
    } else {
        for (p, n) in &entries {
            println!(
                "{:<7} {:>10}  {}",
                n.type_name(),
                if n.is_dir() {
                    String::new()
                } else {
                    n.size.to_string()
                },
                p.display()
            );
        }
    }
    Ok(exit::SUCCESS)
}

pub async fn restore(ctx: &Context, spec: &str, target: &Path, include: &[String]) -> Result<i32> {
    let repo = ctx.open().await?;
    let (id, snapshot) = repo.find_snapshot(spec).await?;
    let options = RestoreOptions {
        target: target.to_path_buf(),
        includes: include.iter().map(PathBuf::from).collect(),
    };
    let report = run_restore(&repo, (&id, &snapshot), &options, ctx.progress("restore")).await?;
    if ctx.cli.json {
        output::json(&report);
    } else {
        println!(
            "restored snapshot {} to {}: {} files ({}), {} dirs, {} symlinks in {:.2}s ({})",
            id.short(),
            target.display(),
            report.files_restored,
            output::bytes(report.bytes_restored),
            report.dirs,
            report.symlinks,
            report.timings.total_secs,
            output::rate(report.bytes_restored, report.timings.total_secs)
        );
        println!(
            "every restored file matches its recorded BLAKE3 checksum: {}",
            if report.is_clean() { "yes" } else { "NO" }
        );
        for p in &report.damaged {
            eprintln!("NOT RESTORED {}: {}", p.path, p.problem);
        }
    }
    Ok(if report.is_clean() {
        exit::SUCCESS
    } else {
        exit::DAMAGE
    })
}
