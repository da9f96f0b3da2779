//! Writing a block: series in label order in, a complete block directory out.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use bongsu_model::{HistogramSample, Labels, Sample};

use super::chunks::{BlobRef, ChunkWriter};
use super::index::{write_index, ChunkMeta, HistChunkMeta};
use super::{BlockError, BlockMeta, TMP_CREATION_SUFFIX};
use crate::chunk::{encode_histogram_chunks, packed};

/// Chunks never cross a multiple of this, so the chunks of series scraped together line up and
/// share timestamp columns.
pub const CHUNK_WINDOW_MS: i64 = 2 * 3600 * 1000;

/// Most samples in one block chunk: enough for good compression, small enough that a query
/// decodes little it does not need.
pub const MAX_CHUNK_SAMPLES: usize = 1024;

/// Builds one block. Add series in label order, then [`BlockWriter::finish`].
pub struct BlockWriter {
    parent: PathBuf,
    tmp: PathBuf,
    meta: BlockMeta,
    chunks: ChunkWriter,
    series: Vec<(Labels, Vec<ChunkMeta>)>,
    /// Histogram chunks of each series in `series` (empty for most).
    hists: Vec<Vec<HistChunkMeta>>,
    /// Timestamp columns already written, so equal ones are stored once.
    ts_columns: HashMap<Vec<u8>, BlobRef>,
    ts_buf: Vec<i64>,
    vs_buf: Vec<f64>,
    enc_buf: Vec<u8>,
}

impl BlockWriter {
    /// Starts a block for samples in `[min_time, max_time)` under `parent`.
    pub fn new(
        parent: &Path,
        min_time: i64,
        max_time: i64,
        level: u32,
        sources: Vec<String>,
    ) -> Result<BlockWriter, BlockError> {
        let meta = BlockMeta::new(min_time, max_time, level, sources);
        let tmp = parent.join(format!("{}{TMP_CREATION_SUFFIX}", meta.ulid));
        fs::create_dir_all(&tmp).map_err(|e| BlockError::io(&tmp, e))?;
        let chunks = ChunkWriter::new(&tmp.join("chunks"))?;
        Ok(BlockWriter {
            parent: parent.to_path_buf(),
            tmp,
            meta,
            chunks,
            series: Vec::new(),
            hists: Vec::new(),
            ts_columns: HashMap::new(),
            ts_buf: Vec::new(),
            vs_buf: Vec::new(),
            enc_buf: Vec::new(),
        })
    }

    /// Adds a series. `samples` must be sorted by time without duplicates and lie in the
    /// block's range; a series with no samples is skipped.
    pub fn add_series(&mut self, labels: Labels, samples: &[Sample]) -> Result<(), BlockError> {
        self.add_series_with_histograms(labels, samples, &[])
    }

    /// Adds a series with float samples and native histograms, each sorted by time without
    /// duplicates and in the block's range; a series with neither is skipped.
    pub fn add_series_with_histograms(
        &mut self,
        labels: Labels,
        samples: &[Sample],
        histograms: &[HistogramSample],
    ) -> Result<(), BlockError> {
        if samples.is_empty() && histograms.is_empty() {
            return Ok(());
        }
        let ends = [
            samples.first().map(|s| s.t),
            histograms.first().map(|h| h.t),
        ];
        let first = ends
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.meta.min_time);
        let lasts = [samples.last().map(|s| s.t), histograms.last().map(|h| h.t)];
        let last = lasts
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(self.meta.min_time);
        if first < self.meta.min_time || last >= self.meta.max_time {
            return Err(BlockError::corrupt(
                &self.tmp,
                format!("series {labels} has samples outside the block range"),
            ));
        }
        let hmetas = self.write_histograms(histograms)?;
        let mut metas = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let window_end =
                (rest[0].t.div_euclid(CHUNK_WINDOW_MS) + 1).saturating_mul(CHUNK_WINDOW_MS);
            let in_window = rest.partition_point(|s| s.t < window_end);
            let n = in_window.min(MAX_CHUNK_SAMPLES);
            let (chunk, tail) = rest.split_at(n);
            metas.push(self.write_chunk(chunk)?);
            rest = tail;
        }
        self.meta.stats.num_samples += (samples.len() + histograms.len()) as u64;
        self.meta.stats.num_chunks += (metas.len() + hmetas.len()) as u64;
        self.meta.stats.num_series += 1;
        self.series.push((labels, metas));
        self.hists.push(hmetas);
        Ok(())
    }

    /// Encodes histograms into chunks the way the head does (a new chunk on a kind change, a
    /// counter reset or a layout that cannot be widened), also cut at chunk windows and every
    /// [`MAX_CHUNK_SAMPLES`], and writes each chunk as one blob.
    fn write_histograms(
        &mut self,
        hs: &[HistogramSample],
    ) -> Result<Vec<HistChunkMeta>, BlockError> {
        let chunks =
            encode_histogram_chunks(hs, MAX_CHUNK_SAMPLES, CHUNK_WINDOW_MS).map_err(|t| {
                BlockError::corrupt(&self.tmp, format!("histograms not in time order at {t}"))
            })?;
        let mut out = Vec::with_capacity(chunks.len());
        for c in chunks {
            out.push(HistChunkMeta {
                min_time: c.min_time,
                max_time: c.max_time,
                encoding: c.encoding,
                blob: self.chunks.write(&c.bytes)?,
            });
        }
        Ok(out)
    }

    fn write_chunk(&mut self, samples: &[Sample]) -> Result<ChunkMeta, BlockError> {
        self.ts_buf.clear();
        self.vs_buf.clear();
        for s in samples {
            if let Some(&prev) = self.ts_buf.last() {
                if s.t <= prev {
                    return Err(BlockError::corrupt(
                        &self.tmp,
                        "samples not in time order".into(),
                    ));
                }
            }
            self.ts_buf.push(s.t);
            self.vs_buf.push(s.v);
        }
        self.enc_buf.clear();
        packed::encode_timestamps(&self.ts_buf, &mut self.enc_buf);
        let timestamps = match self.ts_columns.get(&self.enc_buf) {
            Some(r) => *r,
            None => {
                let r = self.chunks.write(&self.enc_buf)?;
                self.ts_columns.insert(self.enc_buf.clone(), r);
                r
            }
        };
        self.enc_buf.clear();
        packed::encode_values(&self.vs_buf, &mut self.enc_buf);
        let values = self.chunks.write(&self.enc_buf)?;
        Ok(ChunkMeta {
            min_time: samples[0].t,
            max_time: samples[samples.len() - 1].t,
            timestamps,
            values,
        })
    }

    /// Number of series added so far.
    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Writes the index and meta, fsyncs, and renames the block into place. Returns `None` (and
    /// leaves nothing behind) when no series had samples.
    pub fn finish(self) -> Result<Option<BlockMeta>, BlockError> {
        let BlockWriter {
            parent,
            tmp,
            meta,
            chunks,
            series,
            hists,
            ..
        } = self;
        if series.is_empty() {
            drop(chunks);
            let _ = fs::remove_dir_all(&tmp);
            return Ok(None);
        }
        let result = (|| {
            chunks.finish()?;
            write_index(&tmp.join("index"), &series, &hists, meta.min_time)?;
            meta.write(&tmp)?;
            sync_dir(&tmp.join("chunks"))?;
            sync_dir(&tmp)?;
            let dest = parent.join(&meta.ulid);
            fs::rename(&tmp, &dest).map_err(|e| BlockError::io(&dest, e))?;
            sync_dir(&parent)
        })();
        if result.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        result.map(|()| Some(meta))
    }

    /// Discards everything written.
    pub fn abort(self) {
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

/// Fsyncs a directory so renames and new entries in it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), BlockError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| BlockError::io(dir, e))
}
