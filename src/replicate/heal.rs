//! Finding damage on any copy and repairing it from a healthy one. No key is needed:
//! every object but the config is named by the BLAKE3 of its stored bytes, so reading
//! it back tells whether it is intact.

use super::engine::{Engine, STREAM_THRESHOLD, Transfer};
use super::inventory::{Inventory, expected_hash, intact_off_thread};
use super::placement::PlacementPolicy;
use super::{NamedStore, ReplicateOptions, StoreFacts};
use crate::concurrency::map_unordered;
use crate::error::{Error, Result};
use crate::repo::config::CONFIG_KEY;
use crate::store::{PutMode, Store, StoreResult};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

const READ_PART: u64 = 8 << 20;

/// What reading every object of one store found.
#[derive(Clone, Debug, Serialize)]
pub struct StoreAudit {
    #[serde(flatten)]
    pub store: StoreFacts,
    pub reachable: bool,
    pub error: Option<String>,
    pub objects_checked: u64,
    pub bytes_read: u64,
    /// Objects the primary holds that this store lacks (not counted for the primary).
    pub missing: Vec<String>,
    /// Objects present but truncated or corrupted, each with what is wrong.
    pub damaged: Vec<String>,
    /// Objects repaired by this run (heal only).
    pub repaired: u64,
    /// Objects still missing or damaged after this run, each with why.
    pub unrepaired: Vec<String>,
}

impl StoreAudit {
    pub fn healthy(&self) -> bool {
        self.reachable && self.unrepaired.is_empty() && self.error.is_none()
    }
}

/// The audit of one store, with what the repair step needs.
struct Findings {
    audit: StoreAudit,
    inventory: Option<Inventory>,
    intact: BTreeSet<String>,
    /// Key → whether an object is present (damaged) or absent (missing).
    bad: BTreeMap<String, bool>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HealReport {
    pub stores: Vec<StoreAudit>,
    pub seconds: f64,
}

impl HealReport {
    pub fn healthy(&self) -> bool {
        self.stores.iter().all(StoreAudit::healthy)
    }
}

/// Reads every object of `store` and checks it against its name; `reference` is the
/// primary's listing and config, against which missing objects are counted.
async fn inspect(
    store: &NamedStore,
    reference: Option<(&Inventory, &[u8])>,
    options: &ReplicateOptions,
) -> Findings {
    let mut audit = StoreAudit {
        store: StoreFacts::of(&store.spec),
        reachable: false,
        error: None,
        objects_checked: 0,
        bytes_read: 0,
        missing: Vec::new(),
        damaged: Vec::new(),
        repaired: 0,
        unrepaired: Vec::new(),
    };
    let inventory = match Inventory::take(store.store.as_ref()).await {
        Ok(inventory) => inventory,
        Err(e) => {
            audit.error = Some(format!("{}: {e}", store.name()));
            return Findings {
                audit,
                inventory: None,
                intact: BTreeSet::new(),
                bad: BTreeMap::new(),
            };
        }
    };
    audit.reachable = true;
    let mut bad = BTreeMap::new();
    if let Some((primary, _)) = reference {
        for key in primary.objects.keys() {
            if !inventory.objects.contains_key(key) {
                audit.missing.push(key.clone());
                bad.insert(key.clone(), false);
            }
        }
    }
    let total: u64 = inventory.bytes();
    options
        .progress
        .set_totals(total, inventory.objects.len() as u64);
    let config = reference.map(|(_, config)| config);
    let checks = map_unordered(
        inventory.objects.iter(),
        options.in_flight.min(8),
        |(key, &size)| async move {
            let verdict = check_object(store.store.as_ref(), key, size, config).await;
            options.progress.add_bytes(size);
            (key.clone(), size, verdict)
        },
    )
    .await;
    let mut intact_keys = BTreeSet::new();
    for (key, size, verdict) in checks {
        audit.objects_checked += 1;
        audit.bytes_read += size;
        match verdict {
            Ok(None) => {
                intact_keys.insert(key);
            }
            Ok(Some(problem)) => {
                audit.damaged.push(format!("{key}: {problem}"));
                bad.insert(key, true);
            }
            Err(e) => {
                // Unreadable now is not proven damaged; it stays unrepaired and reported.
                audit
                    .unrepaired
                    .push(format!("{key}: could not be read: {e}"));
            }
        }
    }
    options.progress.finish();
    Findings {
        audit,
        inventory: Some(inventory),
        intact: intact_keys,
        bad,
    }
}

/// `Ok(None)` when intact, `Ok(Some(what is wrong))` when damaged.
async fn check_object(
    store: &dyn Store,
    key: &str,
    size: u64,
    config: Option<&[u8]>,
) -> StoreResult<Option<String>> {
    if key == CONFIG_KEY {
        let bytes = store.get(key).await?;
        return Ok(match config {
            Some(expected) if bytes != expected => {
                Some("differs from the primary's config".to_string())
            }
            _ => None,
        });
    }
    let Some(expected) = expected_hash(key) else {
        return Ok(None);
    };
    if size < STREAM_THRESHOLD {
        let bytes = store.get(key).await?;
        if bytes.len() as u64 != size {
            return Ok(Some(format!(
                "read {} bytes where the listing says {size}",
                bytes.len()
            )));
        }
        let (_, ok) = intact_off_thread(key, bytes).await;
        return Ok((!ok).then(|| "stored bytes do not match the object's name".into()));
    }
    let mut hasher = blake3::Hasher::new();
    let mut offset = 0;
    while offset < size {
        let len = READ_PART.min(size - offset);
        let part = store.get_range(key, offset, len).await?;
        if part.len() as u64 != len {
            return Ok(Some(format!("short read at byte {offset}")));
        }
        hasher.update(&part);
        offset += len;
    }
    Ok((*hasher.finalize().as_bytes() != *expected.as_bytes())
        .then(|| "stored bytes do not match the object's name".into()))
}

/// Reads every object of one replica and reports what is missing or damaged.
pub async fn audit_replica(
    primary: &NamedStore,
    replica: &NamedStore,
    options: &ReplicateOptions,
) -> Result<StoreAudit> {
    let reference = Inventory::take(primary.store.as_ref())
        .await
        .map_err(|e| Error::Other(format!("cannot list the primary: {e}")))?;
    let config = primary.store.get(CONFIG_KEY).await?;
    let mut findings = inspect(replica, Some((&reference, &config)), options).await;
    let audit = &mut findings.audit;
    audit
        .unrepaired
        .extend(audit.missing.iter().map(|k| format!("{k}: missing")));
    audit.unrepaired.extend(audit.damaged.iter().cloned());
    Ok(findings.audit)
}

/// Audits the primary and every replica, then repairs each damaged or missing object
/// from a copy that read back intact. Missing objects are restored only to replicas:
/// an object absent from the primary may have been pruned on purpose.
pub async fn heal(
    primary: &NamedStore,
    replicas: &[NamedStore],
    policy: &PlacementPolicy,
    options: &ReplicateOptions,
) -> Result<HealReport> {
    let started = Instant::now();
    let mut stores = vec![primary.clone()];
    stores.extend(
        replicas
            .iter()
            .filter(|r| policy.refusal(&r.spec).is_none())
            .cloned(),
    );
    let mut findings = vec![inspect(primary, None, options).await];
    let Some(reference) = findings[0].inventory.clone() else {
        return Err(Error::Other(
            findings[0].audit.error.clone().unwrap_or_default(),
        ));
    };
    let config = primary.store.get(CONFIG_KEY).await?;
    for replica in &stores[1..] {
        findings.push(inspect(replica, Some((&reference, &config)), options).await);
    }

    // One transfer per key, to every store that needs it, from every store that holds
    // it intact; snapshots after everything else.
    let mut wanted: BTreeMap<String, Transfer> = BTreeMap::new();
    for (index, f) in findings.iter().enumerate() {
        for (key, &present) in &f.bad {
            let size = match reference.objects.get(key) {
                Some(&size) => size,
                None => continue,
            };
            let sources: Vec<usize> = findings
                .iter()
                .enumerate()
                .filter(|(_, other)| other.intact.contains(key))
                .map(|(i, _)| i)
                .collect();
            let mode = if present {
                PutMode::Overwrite
            } else {
                PutMode::CreateOnly
            };
            wanted
                .entry(key.clone())
                .or_insert_with(|| Transfer {
                    key: key.clone(),
                    size,
                    sources,
                    targets: Vec::new(),
                })
                .targets
                .push((index, mode));
        }
    }
    let engine = Engine::new(&stores, options);
    for (i, f) in findings.iter().enumerate() {
        if !f.audit.reachable {
            engine.abandon(i, f.audit.error.clone().unwrap_or_default());
        }
    }
    let (snapshots, others): (Vec<Transfer>, Vec<Transfer>) = wanted
        .into_values()
        .partition(|t| t.key.starts_with("snapshots/"));
    engine.run(others).await;
    let snapshots = snapshots
        .into_iter()
        .map(|mut t| {
            t.targets.retain(|(i, _)| engine.clean(*i));
            t
        })
        .collect();
    engine.run(snapshots).await;
    options.progress.finish();

    let tallies = engine.into_tallies();
    let mut audits = Vec::new();
    for (f, tally) in findings.into_iter().zip(tallies) {
        let mut audit = f.audit;
        audit.repaired = tally.objects;
        audit.unrepaired.extend(tally.errors);
        if tally.objects < f.bad.len() as u64 && audit.unrepaired.is_empty() {
            audit.unrepaired.push(format!(
                "{} object(s) could not be repaired",
                f.bad.len() as u64 - tally.objects
            ));
        }
        audits.push(audit);
    }
    Ok(HealReport {
        stores: audits,
        seconds: started.elapsed().as_secs_f64(),
    })
}
