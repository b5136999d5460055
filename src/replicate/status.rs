//! Where each copy stands: what it holds, what it lacks against the primary, and how old
//! its newest snapshot is, which is its current RPO lag.

use super::inventory::Inventory;
use super::placement::{PlacementPolicy, PlacementReport};
use super::{NamedStore, StoreFacts};
use crate::crypto::Id;
use crate::repo::Repository;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize)]
pub struct CopyStatus {
    #[serde(flatten)]
    pub store: StoreFacts,
    pub role: &'static str,
    pub reachable: bool,
    pub error: Option<String>,
    /// Why the placement policy forbids this store, if it does.
    pub refused: Option<String>,
    pub objects: u64,
    pub bytes: u64,
    /// Against the primary; unknown when the primary cannot be listed.
    pub missing_objects: Option<u64>,
    pub missing_bytes: Option<u64>,
    pub snapshots: u64,
    pub newest_snapshot: Option<Timestamp>,
    /// Now minus the newest snapshot's time: the data this copy would lose today.
    pub rpo_lag_seconds: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusReport {
    pub stores: Vec<CopyStatus>,
    pub placement: PlacementReport,
}

/// Lists every store; snapshot times are read with `repo`'s keys through each store,
/// so a replica's lag is known even when the primary is lost.
pub async fn status(
    primary: &NamedStore,
    replicas: &[NamedStore],
    policy: &PlacementPolicy,
    repo: &Repository,
) -> StatusReport {
    let now = Timestamp::now();
    let mut times: BTreeMap<Id, Option<Timestamp>> = BTreeMap::new();
    let mut stores = Vec::new();
    let mut reference: Option<Inventory> = None;
    for (index, named) in std::iter::once(primary).chain(replicas).enumerate() {
        let mut status = CopyStatus {
            store: StoreFacts::of(&named.spec),
            role: if index == 0 { "primary" } else { "replica" },
            reachable: false,
            error: None,
            refused: policy.refusal(&named.spec),
            objects: 0,
            bytes: 0,
            missing_objects: None,
            missing_bytes: None,
            snapshots: 0,
            newest_snapshot: None,
            rpo_lag_seconds: None,
        };
        match Inventory::take(named.store.as_ref()).await {
            Err(e) => status.error = Some(e.to_string()),
            Ok(inventory) => {
                status.reachable = true;
                status.objects = inventory.objects.len() as u64;
                status.bytes = inventory.bytes();
                if let Some(primary) = &reference {
                    let missing: Vec<u64> = primary
                        .objects
                        .iter()
                        .filter(|(k, size)| inventory.objects.get(*k) != Some(size))
                        .map(|(_, size)| *size)
                        .collect();
                    status.missing_objects = Some(missing.len() as u64);
                    status.missing_bytes = Some(missing.iter().sum());
                } else if index == 0 {
                    status.missing_objects = Some(0);
                    status.missing_bytes = Some(0);
                }
                let through = repo.with_store(named.store.clone());
                for key in inventory.objects.keys() {
                    let Some(id) = key
                        .strip_prefix("snapshots/")
                        .and_then(|_| crate::repo::id_from_key(key))
                    else {
                        continue;
                    };
                    status.snapshots += 1;
                    if let std::collections::btree_map::Entry::Vacant(slot) = times.entry(id) {
                        slot.insert(through.load_snapshot(&id).await.ok().map(|s| s.time));
                    }
                    if let Some(Some(time)) = times.get(&id) {
                        status.newest_snapshot = status.newest_snapshot.max(Some(*time));
                    }
                }
                status.rpo_lag_seconds = status
                    .newest_snapshot
                    .map(|t| now.duration_since(t).as_secs());
                if index == 0 {
                    reference = Some(inventory);
                }
            }
        }
        stores.push(status);
    }
    let declared: Vec<_> = replicas.iter().map(|r| &r.spec).collect();
    let complete: Vec<_> = replicas
        .iter()
        .zip(&stores[1..])
        .filter(|(_, s)| s.reachable && s.refused.is_none() && s.missing_objects == Some(0))
        .map(|(r, _)| &r.spec)
        .collect();
    StatusReport {
        placement: policy.evaluate(&primary.spec, &declared, &complete),
        stores,
    }
}
