//! Reports kept in the repository itself, on every reachable store, so the record of
//! the last drill survives the loss of the machine that ran it. Each report names its
//! predecessor by id (the BLAKE3 of the stored object), which makes the reports a chain:
//! a report removed or altered later shows as a break.

use super::model::DrillReport;
use crate::crypto::{Id, PieceKind};
use crate::error::{Error, Result};
use crate::replicate::NamedStore;
use crate::repo::{Repository, id_from_key, sealed};
use crate::store::{PutMode, StoreError, list_all};
use serde::Serialize;

pub const PREFIX: &str = "reports";

pub fn report_key(id: &Id) -> String {
    format!("{PREFIX}/{id}")
}

#[derive(Clone, Debug)]
pub struct StoredReport {
    pub id: Id,
    pub report: DrillReport,
}

/// Where one report was written.
#[derive(Clone, Debug, Serialize)]
pub struct Placement {
    pub store: String,
    pub saved: bool,
    pub error: Option<String>,
}

/// Seals the report once and writes the same bytes to every store, so its id is the
/// same everywhere.
pub async fn save(
    repo: &Repository,
    stores: &[&NamedStore],
    report: &DrillReport,
) -> Result<(Id, Vec<Placement>)> {
    let bytes = bytes::Bytes::from(sealed::seal(repo.keys(), PieceKind::Report, report)?);
    let id = Id::of_stored(&bytes);
    let key = report_key(&id);
    let mut placements = Vec::new();
    for store in stores {
        let result = match store
            .store
            .put(&key, bytes.clone(), PutMode::CreateOnly)
            .await
        {
            Err(StoreError::AlreadyExists { .. }) => Ok(()),
            other => other,
        };
        placements.push(Placement {
            store: store.name().to_string(),
            saved: result.is_ok(),
            error: result.err().map(|e| e.to_string()),
        });
    }
    Ok((id, placements))
}

/// Every readable report of the repository's store, oldest first, and the unreadable
/// ones with why.
pub async fn load_all(repo: &Repository) -> Result<(Vec<StoredReport>, Vec<(String, Error)>)> {
    let mut reports = Vec::new();
    let mut damaged = Vec::new();
    for meta in list_all(repo.store().as_ref(), &format!("{PREFIX}/")).await? {
        let Some(id) = id_from_key(&meta.key) else {
            continue;
        };
        match repo
            .load_sealed::<DrillReport>(PieceKind::Report, &meta.key)
            .await
        {
            Ok(report) => reports.push(StoredReport { id, report }),
            Err(e) => damaged.push((meta.key, e)),
        }
    }
    reports.sort_by_key(|r| (r.report.started, r.report.finished));
    Ok((reports, damaged))
}

/// Finds a report by a unique prefix of its id (at least 4 hex digits) or `latest`.
pub fn find<'a>(reports: &'a [StoredReport], spec: &str) -> Result<&'a StoredReport> {
    if spec == "latest" {
        return reports
            .last()
            .ok_or_else(|| Error::Usage("the repository holds no drill report yet".into()));
    }
    if spec.len() < 4 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!(
            "{spec:?}: name a report by `latest` or at least 4 hex digits of its id"
        )));
    }
    let matches: Vec<&StoredReport> = reports
        .iter()
        .filter(|r| r.id.to_hex().starts_with(&spec.to_ascii_lowercase()))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Usage(format!("no report with id {spec}"))),
        _ => Err(Error::Usage(format!(
            "{spec} is ambiguous: {} reports match",
            matches.len()
        ))),
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ChainCheck {
    pub reports: usize,
    pub intact: bool,
    /// Where the chain breaks, each naming the report and what is wrong.
    pub breaks: Vec<String>,
}

/// Checks that each report names the one before it. `reports` are oldest first.
pub fn verify_chain(reports: &[StoredReport], damaged: &[(String, Error)]) -> ChainCheck {
    let mut breaks: Vec<String> = damaged
        .iter()
        .map(|(key, e)| format!("{key}: unreadable ({e})"))
        .collect();
    let name = |r: &StoredReport| {
        format!(
            "report {} ({} at {})",
            r.id.short(),
            r.report.drill,
            r.report.started
        )
    };
    for (i, r) in reports.iter().enumerate() {
        let expected = i.checked_sub(1).map(|p| reports[p].id.to_hex());
        let named = r.report.previous_report.clone();
        if named == expected {
            continue;
        }
        breaks.push(match (&named, &expected) {
            (Some(n), None) => format!(
                "{} names a previous report {} that is not in the repository (removed?)",
                name(r),
                n.chars().take(8).collect::<String>()
            ),
            (None, Some(_)) => format!(
                "{} names no previous report, but one came before it",
                name(r)
            ),
            (Some(n), Some(_)) if !reports.iter().any(|o| &o.id.to_hex() == n) => format!(
                "{} names a previous report {} that is not in the repository (removed?)",
                name(r),
                n.chars().take(8).collect::<String>()
            ),
            _ => format!(
                "{} does not name the report just before it (reports out of order or inserted)",
                name(r)
            ),
        });
    }
    ChainCheck {
        reports: reports.len(),
        intact: breaks.is_empty(),
        breaks,
    }
}
