//! `meta.json`: what a block holds (time range, counts) and where it came from (compaction).

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::BlockError;

/// Version of the block layout (meta.json, index, chunks) this code writes and reads.
pub const BLOCK_FORMAT_VERSION: u32 = 1;

/// Name of the meta file inside a block directory.
pub const META_FILE: &str = "meta.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockMeta {
    pub ulid: String,
    /// Inclusive lower bound of sample timestamps (ms).
    pub min_time: i64,
    /// Exclusive upper bound of sample timestamps (ms), as in Prometheus.
    pub max_time: i64,
    pub stats: BlockStats,
    pub compaction: Compaction,
    pub version: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlockStats {
    pub num_samples: u64,
    pub num_series: u64,
    pub num_chunks: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Compaction {
    /// 1 for a block cut from the head or imported; one more than its sources' for a merge.
    pub level: u32,
    /// ULIDs of the level-1 blocks whose data this block holds.
    pub sources: Vec<String>,
}

impl BlockMeta {
    pub fn new(min_time: i64, max_time: i64, level: u32, sources: Vec<String>) -> BlockMeta {
        let ulid = Ulid::new().to_string();
        let sources = if sources.is_empty() {
            vec![ulid.clone()]
        } else {
            sources
        };
        BlockMeta {
            ulid,
            min_time,
            max_time,
            stats: BlockStats::default(),
            compaction: Compaction { level, sources },
            version: BLOCK_FORMAT_VERSION,
        }
    }

    pub fn read(dir: &Path) -> Result<BlockMeta, BlockError> {
        let path = dir.join(META_FILE);
        let bytes = fs::read(&path).map_err(|e| BlockError::io(&path, e))?;
        let meta: BlockMeta = serde_json::from_slice(&bytes)
            .map_err(|e| BlockError::corrupt(&path, format!("bad meta.json: {e}")))?;
        if meta.version != BLOCK_FORMAT_VERSION {
            return Err(BlockError::corrupt(
                &path,
                format!("unsupported block version {}", meta.version),
            ));
        }
        if meta.min_time > meta.max_time {
            return Err(BlockError::corrupt(
                &path,
                "minTime is after maxTime".to_string(),
            ));
        }
        Ok(meta)
    }

    /// Writes and fsyncs `meta.json` in `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), BlockError> {
        let path = dir.join(META_FILE);
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| BlockError::corrupt(&path, format!("cannot encode meta.json: {e}")))?;
        let mut f = fs::File::create(&path).map_err(|e| BlockError::io(&path, e))?;
        f.write_all(&json).map_err(|e| BlockError::io(&path, e))?;
        f.sync_all().map_err(|e| BlockError::io(&path, e))
    }

    /// Whether the block's range overlaps `[mint, maxt]` (both inclusive).
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_time <= maxt && mint < self.max_time
    }
}
