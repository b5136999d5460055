//! The checks of a drill, each a pass or a fail with its evidence (counts, hashes, exit
//! codes and paths; never file contents).

use super::definition::{Canary, CanaryExpect, Checks, PostCommand};
use crate::report::model::Check;
use crate::restore::RestoreReport;
use std::path::Path;
use std::time::Duration;

/// Where a snapshot path lands inside the restore directory.
pub fn restored_path(restore_dir: &Path, snapshot_path: &str) -> std::path::PathBuf {
    restore_dir.join(snapshot_path.trim_start_matches('/'))
}

/// The restore's own verification and the counts against what was selected.
pub fn restored(report: &RestoreReport, wanted: (u64, u64), checks: &Checks) -> Vec<Check> {
    let mut out = vec![Check {
        name: "BLAKE3 of every restored file matches the snapshot".into(),
        passed: report.damaged.is_empty() && report.files_verified == report.files_restored,
        evidence: format!(
            "{} of {} restored file(s) verified; {} damaged{}",
            report.files_verified,
            report.files_restored,
            report.damaged.len(),
            report
                .damaged
                .first()
                .map(|p| format!(", first: {}: {}", p.path, p.problem))
                .unwrap_or_default()
        ),
    }];
    let (wanted_files, wanted_bytes) = wanted;
    out.push(Check {
        name: "every selected file restored".into(),
        passed: report.files_restored == wanted_files && report.bytes_restored == wanted_bytes,
        evidence: format!(
            "{} of {wanted_files} file(s), {} of {wanted_bytes} bytes",
            report.files_restored, report.bytes_restored
        ),
    });
    if let Some(min) = checks.min_files {
        out.push(Check {
            name: format!("at least {min} file(s)"),
            passed: report.files_restored >= min,
            evidence: format!("{} file(s) restored", report.files_restored),
        });
    }
    if let Some(min) = checks.min_bytes {
        out.push(Check {
            name: format!("at least {min} bytes"),
            passed: report.bytes_restored >= min,
            evidence: format!("{} bytes restored", report.bytes_restored),
        });
    }
    out
}

pub fn canaries(restore_dir: &Path, canaries: &[Canary]) -> Vec<Check> {
    canaries
        .iter()
        .map(|canary| {
            let path = restored_path(restore_dir, &canary.path);
            let name = format!("canary {}", canary.path);
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    return Check {
                        name,
                        passed: false,
                        evidence: format!("not readable in the restore: {e}"),
                    };
                }
            };
            let actual = blake3::hash(&bytes).to_hex().to_string();
            let expected = match &canary.expect {
                CanaryExpect::Content(text) => blake3::hash(text.as_bytes()).to_hex().to_string(),
                CanaryExpect::Blake3(hex) => hex.to_ascii_lowercase(),
            };
            Check {
                name,
                passed: actual == expected,
                evidence: format!(
                    "{} bytes, BLAKE3 {actual}{}",
                    bytes.len(),
                    if actual == expected {
                        String::new()
                    } else {
                        format!(", expected {expected}")
                    }
                ),
            }
        })
        .collect()
}

/// Runs the application smoke test with `{restore}` replaced; its exit code counts.
pub async fn post_command(restore_dir: &Path, command: &PostCommand) -> Check {
    let dir = restore_dir.display().to_string();
    let argv: Vec<String> = command
        .argv
        .iter()
        .map(|a| a.replace("{restore}", &dir))
        .collect();
    let name = format!("post-restore command {}", command.argv.join(" "));
    let Some((program, args)) = argv.split_first() else {
        return Check {
            name,
            passed: false,
            evidence: "empty command".into(),
        };
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(restore_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) => {
            return Check {
                name,
                passed: false,
                evidence: format!("could not start {program}: {e}"),
            };
        }
    };
    let timeout = Duration::from_secs_f64(command.timeout_seconds);
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => Check {
            name,
            passed: false,
            evidence: format!(
                "did not finish within {:.0} s; killed",
                command.timeout_seconds
            ),
        },
        Ok(Err(e)) => Check {
            name,
            passed: false,
            evidence: format!("failed to run: {e}"),
        },
        // Its output is not recorded: it may quote restored data, which reports never hold.
        Ok(Ok(output)) => Check {
            name,
            passed: output.status.success(),
            evidence: match output.status.code() {
                Some(code) => format!("exit code {code}"),
                None => "killed by a signal".into(),
            },
        },
    }
}
