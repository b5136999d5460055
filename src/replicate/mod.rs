//! Replication: every replica a complete, independently restorable copy of the
//! repository. Object names are content hashes, so a copy is verified by its name and is
//! safe to retry or resume; snapshots are copied last, so a replica never lists a
//! snapshot whose data it lacks.

mod engine;
pub mod heal;
mod inventory;
pub mod placement;
pub mod status;

pub use engine::{Tally, Transfer};
pub use inventory::{Inventory, is_replicated};

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::store::spec::{StoreSpec, Transport};
use crate::store::{PutMode, Store};
use engine::Engine;
use placement::{PlacementPolicy, PlacementReport};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// A store with what the config says about it.
#[derive(Clone, Debug)]
pub struct NamedStore {
    pub spec: StoreSpec,
    pub store: Arc<dyn Store>,
}

impl NamedStore {
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

#[derive(Clone)]
pub struct ReplicateOptions {
    /// Objects in flight at once.
    pub in_flight: usize,
    /// Bytes of object bodies held in memory at once, across all replicas.
    pub memory_budget: u64,
    pub progress: Progress,
}

impl Default for ReplicateOptions {
    fn default() -> Self {
        ReplicateOptions {
            in_flight: 16,
            memory_budget: 128 << 20,
            progress: Progress::hidden(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The replica now holds every object the primary had when the run started.
    Complete,
    /// Some objects could not be copied; its snapshots were not advanced.
    Failed,
    /// The placement policy forbids this replica; nothing was copied to it.
    Refused,
}

/// Where a store is and under which law: the facts a data-location register needs.
#[derive(Clone, Debug, Serialize)]
pub struct StoreFacts {
    pub name: String,
    pub provider: &'static str,
    pub location: String,
    pub region: Option<String>,
    pub jurisdiction: Option<String>,
    pub endpoint: String,
    pub transport: Option<Transport>,
}

impl StoreFacts {
    pub fn of(spec: &StoreSpec) -> StoreFacts {
        StoreFacts {
            name: spec.name.clone(),
            provider: spec.provider(),
            location: spec.location.to_string(),
            region: spec.region.clone(),
            jurisdiction: spec.jurisdiction.clone(),
            endpoint: spec.endpoint(),
            transport: spec.transport().ok(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ReplicaOutcome {
    #[serde(flatten)]
    pub store: StoreFacts,
    pub status: OutcomeStatus,
    pub objects_copied: u64,
    pub bytes_copied: u64,
    /// Objects the replica already held.
    pub objects_present: u64,
    pub snapshots_copied: u64,
    pub objects_failed: u64,
    /// The first errors, each naming the object and the store.
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReplicationReport {
    pub primary: StoreFacts,
    pub replicas: Vec<ReplicaOutcome>,
    /// `None` when only some of the declared replicas were worked on: the plan cannot
    /// be judged from part of it.
    pub placement: Option<PlacementReport>,
    pub seconds: f64,
}

impl ReplicationReport {
    pub fn all_complete(&self) -> bool {
        self.replicas
            .iter()
            .all(|r| r.status == OutcomeStatus::Complete)
    }
}

/// Copies to each replica every object it lacks. A replica that fails does not stop the
/// others; the report says how each ended.
pub async fn replicate(
    primary: &NamedStore,
    replicas: &[NamedStore],
    policy: &PlacementPolicy,
    options: &ReplicateOptions,
) -> Result<ReplicationReport> {
    let started = Instant::now();
    let source = Inventory::take(primary.store.as_ref()).await.map_err(|e| {
        Error::Other(format!(
            "cannot list the primary {}: {e}",
            primary.store.describe()
        ))
    })?;
    if !source.objects.contains_key(crate::repo::config::CONFIG_KEY) {
        return Err(Error::Usage(format!(
            "{} holds no repository (no config object): nothing to replicate",
            primary.store.describe()
        )));
    }
    let primary_config = primary.store.get(crate::repo::config::CONFIG_KEY).await?;

    // Index 0 is the primary; replicas follow. Refused or unreachable replicas get a
    // tally with their error and no work.
    let mut stores = vec![primary.clone()];
    stores.extend(replicas.iter().cloned());
    let engine = Engine::new(&stores, options);
    let mut inventories: Vec<Option<Inventory>> = vec![Some(source.clone())];
    let mut refused = vec![false; stores.len()];
    for (i, replica) in replicas.iter().enumerate() {
        let index = i + 1;
        if let Some(reason) = policy.refusal(&replica.spec) {
            refused[index] = true;
            engine.abandon(index, reason);
            inventories.push(None);
            continue;
        }
        match prepare(replica, &primary_config).await {
            Ok(inventory) => inventories.push(Some(inventory)),
            Err(e) => {
                engine.abandon(index, e.to_string());
                inventories.push(None);
            }
        }
    }

    for snapshots_phase in [false, true] {
        let mut transfers = Vec::new();
        for (key, &size) in &source.objects {
            if !is_replicated(key) || key.starts_with("snapshots/") != snapshots_phase {
                continue;
            }
            let mut targets = Vec::new();
            let mut sources = vec![0];
            for (index, inventory) in inventories.iter().enumerate().skip(1) {
                let Some(inventory) = inventory else { continue };
                match inventory.objects.get(key) {
                    Some(&held) if held == size => {
                        sources.push(index);
                        engine.note_present(index);
                    }
                    // A short or long copy is damage: replace it.
                    Some(_) => targets.push((index, PutMode::Overwrite)),
                    None => targets.push((index, PutMode::CreateOnly)),
                }
            }
            if snapshots_phase {
                // Only replicas that received everything else may list new snapshots.
                targets.retain(|(index, _)| engine.clean(*index));
            }
            if !targets.is_empty() {
                transfers.push(Transfer {
                    key: key.clone(),
                    size,
                    sources,
                    targets,
                });
            }
        }
        engine.run(transfers).await;
    }
    options.progress.finish();

    let tallies = engine.into_tallies();
    let outcomes: Vec<ReplicaOutcome> = replicas
        .iter()
        .enumerate()
        .map(|(i, replica)| {
            let tally = &tallies[i + 1];
            let status = if refused[i + 1] {
                OutcomeStatus::Refused
            } else if tally.clean() {
                OutcomeStatus::Complete
            } else {
                OutcomeStatus::Failed
            };
            ReplicaOutcome {
                store: StoreFacts::of(&replica.spec),
                status,
                objects_copied: tally.objects,
                bytes_copied: tally.bytes,
                objects_present: tally.present,
                snapshots_copied: tally.snapshots,
                objects_failed: tally.failed,
                errors: tally.errors.clone(),
            }
        })
        .collect();
    let in_sync: Vec<&StoreSpec> = replicas
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| o.status == OutcomeStatus::Complete)
        .map(|(r, _)| &r.spec)
        .collect();
    let placement = policy.evaluate(
        &primary.spec,
        &replicas.iter().map(|r| &r.spec).collect::<Vec<_>>(),
        &in_sync,
    );
    Ok(ReplicationReport {
        primary: StoreFacts::of(&primary.spec),
        replicas: outcomes,
        placement: Some(placement),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Lists a replica and makes sure it is empty or a copy of the same repository.
async fn prepare(replica: &NamedStore, primary_config: &[u8]) -> Result<Inventory> {
    let inventory = Inventory::take(replica.store.as_ref())
        .await
        .map_err(|e| Error::Other(format!("replica {:?}: {e}", replica.name())))?;
    if inventory
        .objects
        .contains_key(crate::repo::config::CONFIG_KEY)
    {
        let held = replica.store.get(crate::repo::config::CONFIG_KEY).await?;
        if held != primary_config {
            let other =
                crate::repo::config::RepoConfig::from_bytes(&held, &replica.store.describe());
            return Err(Error::Usage(match other {
                Ok(config) => format!(
                    "replica {:?} ({}) holds a different repository (id {}); point it at an empty location",
                    replica.name(),
                    replica.store.describe(),
                    config.id
                ),
                // A damaged config is replaced like any other damaged object.
                Err(_) => return Ok(inventory.mark_damaged(crate::repo::config::CONFIG_KEY)),
            }));
        }
    }
    Ok(inventory)
}
