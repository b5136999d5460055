//! The placement part of the business continuity plan: how many copies, at how many
//! providers and in how many regions, and under which jurisdictions data may live.

use crate::store::spec::StoreSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlacementPolicy {
    /// Replicas that must hold a complete copy (the primary not counted).
    #[serde(default)]
    pub min_replicas: usize,
    /// Distinct providers among the primary and the complete replicas.
    #[serde(default)]
    pub min_providers: usize,
    /// Distinct regions among the primary and the complete replicas.
    #[serde(default)]
    pub min_regions: usize,
    /// When not empty, every store must declare one of these jurisdictions.
    #[serde(default)]
    pub allowed_jurisdictions: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleCheck {
    pub rule: String,
    pub satisfied: bool,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlacementReport {
    pub satisfied: bool,
    pub rules: Vec<RuleCheck>,
}

impl PlacementReport {
    /// The rules that fail, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| !r.satisfied)
            .map(|r| format!("{}: {}", r.rule, r.detail))
            .collect()
    }
}

impl PlacementPolicy {
    /// Why data may not be sent to this store at all, if it may not.
    pub fn refusal(&self, spec: &StoreSpec) -> Option<String> {
        if self.allowed_jurisdictions.is_empty() {
            return None;
        }
        let allowed = self.allowed_jurisdictions.join(", ");
        match &spec.jurisdiction {
            Some(j) if self.allows(j) => None,
            Some(j) => Some(format!(
                "{:?} is in jurisdiction {j:?}, outside the plan's allowed jurisdictions ({allowed}): \
                 nothing is copied to it",
                spec.name
            )),
            None => Some(format!(
                "{:?} declares no jurisdiction and the plan allows only {allowed}: \
                 set `jurisdiction` for it in the config",
                spec.name
            )),
        }
    }

    fn allows(&self, jurisdiction: &str) -> bool {
        self.allowed_jurisdictions
            .iter()
            .any(|a| a.eq_ignore_ascii_case(jurisdiction))
    }

    /// Weighs the plan against the stores: `declared` replicas from the config, of which
    /// `complete` hold every object of the primary.
    pub fn evaluate(
        &self,
        primary: &StoreSpec,
        declared: &[&StoreSpec],
        complete: &[&StoreSpec],
    ) -> PlacementReport {
        let mut rules = Vec::new();
        let holding: Vec<&StoreSpec> = std::iter::once(primary)
            .chain(complete.iter().copied())
            .collect();
        let names = |specs: &[&StoreSpec]| {
            specs
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.min_replicas > 0 {
            rules.push(RuleCheck {
                rule: format!("at least {} complete replica(s)", self.min_replicas),
                satisfied: complete.len() >= self.min_replicas,
                detail: format!(
                    "{} of {} declared replica(s) complete{}",
                    complete.len(),
                    declared.len(),
                    if complete.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", names(complete))
                    }
                ),
            });
        }
        if self.min_providers > 0 {
            let providers: BTreeSet<&str> = holding.iter().map(|s| s.provider()).collect();
            rules.push(RuleCheck {
                rule: format!("at least {} distinct provider(s)", self.min_providers),
                satisfied: providers.len() >= self.min_providers,
                detail: format!(
                    "complete copies are at {}",
                    providers.into_iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        if self.min_regions > 0 {
            let regions: BTreeSet<String> = holding
                .iter()
                .filter_map(|s| s.region.as_ref().map(|r| r.to_ascii_lowercase()))
                .collect();
            let unnamed = holding.iter().filter(|s| s.region.is_none()).count();
            rules.push(RuleCheck {
                rule: format!("at least {} distinct region(s)", self.min_regions),
                satisfied: regions.len() >= self.min_regions,
                detail: format!(
                    "complete copies are in {}{}",
                    if regions.is_empty() {
                        "no declared region".to_string()
                    } else {
                        regions.into_iter().collect::<Vec<_>>().join(", ")
                    },
                    if unnamed > 0 {
                        format!(" ({unnamed} store(s) declare no region and are not counted)")
                    } else {
                        String::new()
                    }
                ),
            });
        }
        if !self.allowed_jurisdictions.is_empty() {
            let outside: Vec<String> = std::iter::once(primary)
                .chain(declared.iter().copied())
                .filter_map(|s| {
                    self.refusal(s).map(|_| {
                        format!(
                            "{} ({})",
                            s.name,
                            s.jurisdiction.as_deref().unwrap_or("undeclared")
                        )
                    })
                })
                .collect();
            rules.push(RuleCheck {
                rule: format!("data only in {}", self.allowed_jurisdictions.join(", ")),
                satisfied: outside.is_empty(),
                detail: if outside.is_empty() {
                    "every store declares an allowed jurisdiction".into()
                } else {
                    format!("outside: {}", outside.join(", "))
                },
            });
        }
        PlacementReport {
            satisfied: rules.iter().all(|r| r.satisfied),
            rules,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Location;

    fn spec(name: &str, location: &str, region: &str, jurisdiction: &str) -> StoreSpec {
        let mut s = StoreSpec::new(name, Location::parse(location).unwrap());
        s.region = Some(region.into());
        s.jurisdiction = Some(jurisdiction.into());
        s
    }

    #[test]
    fn eu_only_plan_refuses_a_us_replica() {
        let policy = PlacementPolicy {
            allowed_jurisdictions: vec!["EU".into()],
            ..Default::default()
        };
        let primary = spec("primary", "s3://bkt-a/r", "eu-west-1", "EU");
        let us = spec("us", "gs://bkt-b/r", "us-east1", "US");
        assert!(policy.refusal(&primary).is_none());
        assert!(policy.refusal(&us).unwrap().contains("\"US\""));
        let report = policy.evaluate(&primary, &[&us], &[]);
        assert!(!report.satisfied);
        assert!(
            report.failures()[0].contains("us (US)"),
            "{:?}",
            report.failures()
        );
    }

    #[test]
    fn counts_only_complete_copies() {
        let policy = PlacementPolicy {
            min_replicas: 2,
            min_providers: 2,
            min_regions: 3,
            allowed_jurisdictions: vec![],
        };
        let primary = spec("primary", "s3://bkt-a/r", "eu-west-1", "EU");
        let s3 = spec("s3b", "s3://bkt-b/r", "eu-central-1", "EU");
        let gcs = spec("gcs", "gs://bkt-c/r", "europe-west4", "EU");
        let all = policy.evaluate(&primary, &[&s3, &gcs], &[&s3, &gcs]);
        assert!(all.satisfied, "{:?}", all.failures());
        let one_down = policy.evaluate(&primary, &[&s3, &gcs], &[&s3]);
        let failures = one_down.failures();
        assert_eq!(failures.len(), 3, "{failures:?}");
        assert!(failures[0].contains("1 of 2"), "{failures:?}");
    }
}
