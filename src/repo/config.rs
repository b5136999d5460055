//! The public repository config: the only object stored unencrypted, so that a
//! repository can be recognised and its format checked before any key is tried.

use crate::crypto::Id;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

pub const FORMAT_VERSION: u32 = 1;
pub const CONFIG_KEY: &str = "config";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    pub min_size: u32,
    pub avg_size: u32,
    pub max_size: u32,
}

impl Default for ChunkerParams {
    /// 512 KiB on average: on the benchmark dataset it stored 3% less than 1 MiB chunks
    /// (it finds more duplicate regions), backed up as fast, and needed about 30 MiB less
    /// memory (see README, Benchmarks).
    fn default() -> Self {
        ChunkerParams {
            min_size: 128 * 1024,
            avg_size: 512 * 1024,
            max_size: 2 * 1024 * 1024,
        }
    }
}

impl ChunkerParams {
    pub fn validate(&self) -> Result<()> {
        use fastcdc::v2020::{
            AVERAGE_MAX, AVERAGE_MIN, MAXIMUM_MAX, MAXIMUM_MIN, MINIMUM_MAX, MINIMUM_MIN,
        };
        let (min, avg, max) = (
            self.min_size as usize,
            self.avg_size as usize,
            self.max_size as usize,
        );
        let in_range = (MINIMUM_MIN..=MINIMUM_MAX).contains(&min)
            && (AVERAGE_MIN..=AVERAGE_MAX).contains(&avg)
            && (MAXIMUM_MIN..=MAXIMUM_MAX).contains(&max);
        if !(in_range && min <= avg && avg <= max) || [min, avg, max].iter().any(|v| v % 2 != 0) {
            return Err(Error::Usage(format!(
                "chunk sizes min {min} / avg {avg} / max {max} are invalid: need even sizes with \
                 {MINIMUM_MIN}..{MINIMUM_MAX} <= min <= avg <= max, avg in {AVERAGE_MIN}..{AVERAGE_MAX}, max <= {MAXIMUM_MAX}"
            )));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoConfig {
    pub format_version: u32,
    pub id: Id,
    pub created: jiff::Timestamp,
    pub chunker: ChunkerParams,
    pub pack_size: u64,
    pub compression_level: i32,
}

#[derive(Deserialize)]
struct VersionOnly {
    format_version: u32,
}

impl RepoConfig {
    pub fn validate(&self) -> Result<()> {
        self.chunker.validate()?;
        if !(1024 * 1024..=1024 * 1024 * 1024).contains(&self.pack_size) {
            return Err(Error::Usage(format!(
                "pack size {} must be between 1 MiB and 1 GiB",
                self.pack_size
            )));
        }
        if !(-7..=22).contains(&self.compression_level) {
            return Err(Error::Usage(format!(
                "zstd level {} must be between -7 and 22",
                self.compression_level
            )));
        }
        Ok(())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Reads the config, refusing a format this build does not know before anything else.
    pub fn from_bytes(bytes: &[u8], where_: &str) -> Result<Self> {
        let version: VersionOnly = serde_json::from_slice(bytes).map_err(|e| {
            Error::damaged(
                format!("{where_}/config"),
                format!("not a firedrill repository config: {e}"),
            )
        })?;
        if version.format_version > FORMAT_VERSION {
            return Err(Error::Usage(format!(
                "{where_} uses repository format {} but this firedrill reads format {FORMAT_VERSION} or older: \
                 upgrade firedrill to use this repository",
                version.format_version
            )));
        }
        let config: RepoConfig = serde_json::from_slice(bytes)
            .map_err(|e| Error::damaged(format!("{where_}/config"), format!("malformed: {e}")))?;
        config
            .validate()
            .map_err(|e| Error::damaged(format!("{where_}/config"), e.to_string()))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RepoConfig {
        RepoConfig {
            format_version: FORMAT_VERSION,
            id: Id::from([9; 32]),
            created: jiff::Timestamp::UNIX_EPOCH,
            chunker: ChunkerParams::default(),
            pack_size: 16 << 20,
            compression_level: 3,
        }
    }

    #[test]
    fn round_trip() {
        let c = sample();
        assert_eq!(RepoConfig::from_bytes(&c.to_bytes(), "r").unwrap(), c);
    }

    #[test]
    fn newer_format_is_refused_by_name() {
        let mut c = sample();
        c.format_version = 99;
        let err = RepoConfig::from_bytes(&c.to_bytes(), "r")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("format 99") && err.contains("upgrade"),
            "{err}"
        );
    }

    #[test]
    fn invalid_chunker_is_refused() {
        let mut c = sample();
        c.chunker.min_size = c.chunker.max_size * 2;
        assert!(RepoConfig::from_bytes(&c.to_bytes(), "r").is_err());
    }
}
