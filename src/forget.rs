//! Forget: applies a retention policy to the snapshots and deletes the snapshot objects
//! it does not keep. Only snapshot objects go: the data they alone referenced stays
//! until `prune`, so a forget interrupted at any point leaves a consistent repository.

use crate::crypto::Id;
use crate::error::{Error, Result};
use crate::repo::Repository;
use crate::repo::snapshot::{Snapshot, snapshot_key};
use crate::retention::{RetentionPolicy, SnapshotInfo};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct ForgetOptions {
    pub policy: RetentionPolicy,
    /// Decide and report, delete nothing.
    pub dry_run: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ForgetReport {
    pub dry_run: bool,
    /// One entry per (host, paths) group, sorted by host then paths.
    pub groups: Vec<ForgetGroup>,
    /// Snapshots deleted (or, in a dry run, that would be).
    pub removed: usize,
    pub kept: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ForgetGroup {
    pub host: String,
    pub paths: Vec<String>,
    /// Newest first.
    pub kept: Vec<KeptSnapshot>,
    /// Newest first.
    pub removed: Vec<RemovedSnapshot>,
}

#[derive(Clone, Debug, Serialize)]
pub struct KeptSnapshot {
    pub id: Id,
    pub short_id: String,
    pub time: jiff::Timestamp,
    /// Every rule that keeps it, e.g. `"last 1"`, `"daily 2026-11-28"`.
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RemovedSnapshot {
    pub id: Id,
    pub short_id: String,
    pub time: jiff::Timestamp,
}

pub async fn forget(repo: &Repository, options: &ForgetOptions) -> Result<ForgetReport> {
    // `retention::apply` keeps everything under an empty policy; refusing here instead
    // tells the user their command line did not say what to keep.
    if options.policy.is_empty() {
        return Err(Error::Usage(
            "no --keep-* option given: refusing to forget every snapshot".into(),
        ));
    }
    let lock = repo.lock(true, "forget").await?;
    let result = run(repo, options).await;
    let released = lock.release().await;
    let report = result?;
    released?;
    Ok(report)
}

async fn run(repo: &Repository, options: &ForgetOptions) -> Result<ForgetReport> {
    let snapshots = repo.snapshots().await.map_err(|e| match e {
        Error::Damaged { object, detail } => Error::Damaged {
            object,
            detail: format!("{detail}; forget needs every snapshot readable: run `firedrill verify` to see the damage"),
        },
        other => other,
    })?;
    let decisions = decide(
        &options.policy,
        &snapshots,
        jiff::Timestamp::now(),
        &jiff::tz::TimeZone::system(),
    );
    let mut report = ForgetReport {
        dry_run: options.dry_run,
        groups: Vec::new(),
        removed: 0,
        kept: 0,
    };
    let mut doomed = Vec::new();
    for group in decisions {
        report.kept += group.kept.len();
        report.removed += group.removed.len();
        doomed.extend(group.removed.iter().map(|s| s.id));
        report.groups.push(group);
    }
    if !options.dry_run {
        for id in doomed {
            match repo.store().delete(&snapshot_key(&id)).await {
                Ok(()) => {}
                // Already gone is what we wanted.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(report)
}

/// The pure part of forget: which snapshots the policy keeps, grouped for the report.
fn decide(
    policy: &RetentionPolicy,
    snapshots: &[(Id, Snapshot)],
    now: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
) -> Vec<ForgetGroup> {
    let infos: Vec<SnapshotInfo> = snapshots
        .iter()
        .map(|(id, s)| SnapshotInfo {
            id: id.to_hex(),
            time: s.time,
            host: s.host.clone(),
            paths: s.paths.clone(),
            tags: s.tags.clone(),
        })
        .collect();
    let by_hex: HashMap<String, (Id, jiff::Timestamp)> = snapshots
        .iter()
        .map(|(id, s)| (id.to_hex(), (*id, s.time)))
        .collect();
    crate::retention::apply(policy, &infos, now, tz)
        .into_iter()
        .map(|group| {
            let mut out = ForgetGroup {
                host: group.host,
                paths: group.paths,
                kept: Vec::new(),
                removed: Vec::new(),
            };
            for decision in group.decisions {
                // Every decision comes from `infos`, built from `snapshots`; one that did not
                // would be a bug, and deleting nothing for it is the safe side.
                let Some(&(id, time)) = by_hex.get(&decision.id) else {
                    continue;
                };
                if decision.keep {
                    out.kept.push(KeptSnapshot {
                        id,
                        short_id: id.short(),
                        time,
                        reasons: decision.reasons,
                    });
                } else {
                    out.removed.push(RemovedSnapshot {
                        id,
                        short_id: id.short(),
                        time,
                    });
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prune::tests::{backup_dir, new_repo, write_random};

    fn keep_last(n: u32) -> ForgetOptions {
        ForgetOptions {
            policy: RetentionPolicy {
                keep_last: Some(n),
                ..Default::default()
            },
            dry_run: false,
        }
    }

    #[tokio::test]
    async fn keeps_what_the_policy_says_and_dry_run_deletes_nothing() {
        let (_repo_dir, repo) = new_repo().await;
        let src = tempfile::tempdir().unwrap();
        let mut made = Vec::new();
        for i in 0..4u8 {
            write_random(&src.path().join("f"), 1000, i);
            made.push(backup_dir(&repo, src.path()).await);
        }
        let before = repo.snapshot_ids().await.unwrap();
        assert_eq!(before.len(), 4);

        let dry = forget(
            &repo,
            &ForgetOptions {
                dry_run: true,
                ..keep_last(2)
            },
        )
        .await
        .unwrap();
        assert!(dry.dry_run);
        assert_eq!((dry.kept, dry.removed), (2, 2));
        let mut after_dry = repo.snapshot_ids().await.unwrap();
        after_dry.sort();
        let mut sorted_before = before.clone();
        sorted_before.sort();
        assert_eq!(after_dry, sorted_before, "a dry run deletes nothing");

        let report = forget(&repo, &keep_last(2)).await.unwrap();
        assert_eq!((report.kept, report.removed), (2, 2));
        assert_eq!(report.groups.len(), 1);
        let group = &report.groups[0];
        let kept: Vec<Id> = group.kept.iter().map(|k| k.id).collect();
        assert_eq!(kept, vec![made[3], made[2]], "the two newest, newest first");
        assert_eq!(group.kept[0].reasons, vec!["last 1".to_string()]);
        assert_eq!(group.kept[0].short_id, made[3].short());
        let removed: Vec<Id> = group.removed.iter().map(|r| r.id).collect();
        assert_eq!(removed, vec![made[1], made[0]]);

        let mut left = repo.snapshot_ids().await.unwrap();
        left.sort();
        let mut expected = vec![made[2], made[3]];
        expected.sort();
        assert_eq!(left, expected);
        assert!(
            repo.locks().await.unwrap().is_empty(),
            "the lock is released"
        );

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["groups"][0]["kept"][0]["reasons"][0], "last 1");
        assert_eq!(json["removed"], 2);
    }

    #[tokio::test]
    async fn an_empty_policy_is_refused() {
        let (_repo_dir, repo) = new_repo().await;
        let src = tempfile::tempdir().unwrap();
        write_random(&src.path().join("f"), 100, 1);
        backup_dir(&repo, src.path()).await;
        // Zero counts are no rule at all.
        let policy = RetentionPolicy {
            keep_last: Some(0),
            ..Default::default()
        };
        let err = forget(
            &repo,
            &ForgetOptions {
                policy,
                dry_run: false,
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
        assert!(
            err.to_string()
                .contains("refusing to forget every snapshot"),
            "{err}"
        );
        assert_eq!(repo.snapshot_ids().await.unwrap().len(), 1);
        assert!(repo.locks().await.unwrap().is_empty());
    }
}
