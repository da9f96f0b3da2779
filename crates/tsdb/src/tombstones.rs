//! Tombstones: the time ranges a deletion hides, per series, and the versioned `tombstones`
//! file in which a block keeps them (layout in `docs/format/tombstones.md`).
//!
//! A deletion rewrites no samples. Reads leave out what [`Intervals`] cover, compaction leaves
//! it out of the blocks it writes, and `Db::clean_tombstones` rewrites the blocks that have
//! tombstones. The head keeps its intervals in memory and logs them to the WAL; a block keeps
//! them in its `tombstones` file, which a deletion replaces whole (written beside it, fsynced,
//! renamed over it) and never edits, so a hard link to the old file (a snapshot's) keeps the
//! old contents.
//!
//! Not here: which series and ranges a deletion covers (`Db::delete` and the head), and the
//! WAL record that makes the head's deletions durable (`wal`).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use bongsu_model::Sample;

use crate::block::{sync_dir, BlockError};
use crate::encoding::{put_uvarint, put_varint, DecodeError, Decoder};

/// Name of the file inside a block directory; absent when the block has no tombstones.
pub(crate) const TOMBSTONES_FILE: &str = "tombstones";
const TMP_FILE: &str = "tombstones.tmp";

const MAGIC: [u8; 4] = *b"BGTS";
/// Version of the file layout this code writes and reads.
pub(crate) const TOMBSTONES_VERSION: u8 = 1;
/// Magic (4), version (1), reserved zeros (3).
const HEADER_LEN: usize = 8;
/// The CRC32C at the end.
const CRC_LEN: usize = 4;
/// Smallest encoded series entry: one-byte id, one-byte count, one interval.
const MIN_SERIES_LEN: usize = 2 + MIN_INTERVAL_LEN;
/// Smallest encoded interval: two one-byte varints.
const MIN_INTERVAL_LEN: usize = 2;

/// Deleted samples of one series: those with `mint <= t <= maxt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
    pub mint: i64,
    pub maxt: i64,
}

impl Interval {
    pub fn new(mint: i64, maxt: i64) -> Interval {
        debug_assert!(mint <= maxt);
        Interval { mint, maxt }
    }

    /// The part of `self` inside `[lo, hi]`, if any: a deletion covers only the data present.
    pub fn clamp(self, lo: i64, hi: i64) -> Option<Interval> {
        let (mint, maxt) = (self.mint.max(lo), self.maxt.min(hi));
        (mint <= maxt).then_some(Interval { mint, maxt })
    }
}

/// The deleted ranges of one series: sorted, disjoint and never adjacent (timestamps are
/// integers, so `[1, 5]` and `[6, 9]` are kept as `[1, 9]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Intervals(Vec<Interval>);

impl Intervals {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `iv`, merging it with the intervals it overlaps or touches.
    pub fn add(&mut self, iv: Interval) {
        let touches = |a: &Interval| a.maxt.saturating_add(1) >= iv.mint;
        let start = self.0.partition_point(|a| !touches(a));
        let end = self
            .0
            .partition_point(|a| a.mint <= iv.maxt.saturating_add(1));
        let mut merged = iv;
        if start < end {
            merged.mint = merged.mint.min(self.0[start].mint);
            merged.maxt = merged.maxt.max(self.0[end - 1].maxt);
        }
        self.0.splice(start..end, [merged]);
    }

    /// Whether the sample at `t` is deleted.
    pub fn contains(&self, t: i64) -> bool {
        let i = self.0.partition_point(|a| a.maxt < t);
        self.0.get(i).is_some_and(|a| a.mint <= t)
    }

    /// Whether every time in `[mint, maxt]` is deleted (then a chunk within it need not be
    /// read at all).
    pub fn covers(&self, mint: i64, maxt: i64) -> bool {
        let i = self.0.partition_point(|a| a.maxt < mint);
        self.0
            .get(i)
            .is_some_and(|a| a.mint <= mint && maxt <= a.maxt)
    }

    /// Removes the deleted samples of `samples[from..]`.
    pub fn remove_deleted(&self, samples: &mut Vec<Sample>, from: usize) {
        if self.0.is_empty() {
            return;
        }
        let mut keep = from;
        for i in from..samples.len() {
            if !self.contains(samples[i].t) {
                samples[keep] = samples[i];
                keep += 1;
            }
        }
        samples.truncate(keep);
    }

    /// Drops the intervals that end before `t` (their samples are gone anyway).
    pub fn drop_before(&mut self, t: i64) {
        self.0.retain(|a| a.maxt >= t);
    }
}

/// The tombstones of one block or of the head: series id → deleted intervals. Series without
/// deletions have no entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tombstones(BTreeMap<u32, Intervals>);

impl Tombstones {
    pub fn get(&self, id: u32) -> Option<&Intervals> {
        self.0.get(&id)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, id: u32, iv: Interval) {
        self.0.entry(id).or_default().add(iv);
    }

    /// Keeps only the series for which `keep` is true, with their intervals that end at or
    /// after `t`.
    pub fn retain(&mut self, t: i64, mut keep: impl FnMut(u32) -> bool) {
        self.0.retain(|&id, ivs| {
            ivs.drop_before(t);
            !ivs.is_empty() && keep(id)
        });
    }

    /// The file's bytes: header, payload, CRC32C.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 16 * self.0.len() + CRC_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[TOMBSTONES_VERSION, 0, 0, 0]);
        put_uvarint(&mut out, self.0.len() as u64);
        for (&id, ivs) in &self.0 {
            put_uvarint(&mut out, u64::from(id));
            put_uvarint(&mut out, ivs.0.len() as u64);
            for iv in &ivs.0 {
                put_varint(&mut out, iv.mint);
                put_uvarint(&mut out, iv.maxt.abs_diff(iv.mint));
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes a file written by [`Tombstones::encode`] for a block of `num_series` series.
    /// Anything else (wrong magic or version, checksum mismatch, truncation, unsorted or
    /// overlapping entries, ids past the block's series) is an error saying what is wrong.
    pub fn decode(bytes: &[u8], num_series: u32) -> Result<Tombstones, String> {
        if bytes.len() < HEADER_LEN + CRC_LEN {
            return Err(format!(
                "file is truncated ({} bytes, at least {} expected)",
                bytes.len(),
                HEADER_LEN + CRC_LEN
            ));
        }
        if bytes[..4] != MAGIC {
            return Err("bad magic".into());
        }
        if bytes[4] != TOMBSTONES_VERSION {
            return Err(format!(
                "unsupported tombstones version {} (this build reads version {TOMBSTONES_VERSION})",
                bytes[4]
            ));
        }
        let (body, crc) = bytes.split_at(bytes.len() - CRC_LEN);
        let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32c::crc32c(body) != want {
            return Err("checksum mismatch".into());
        }
        let mut d = Decoder::at(body, HEADER_LEN);
        let e = |e: DecodeError| e.to_string();
        let n = count(&mut d, "series", MIN_SERIES_LEN)?;
        if n == 0 {
            return Err("no series (an empty file is never written)".into());
        }
        let mut out = BTreeMap::new();
        let mut prev_id: Option<u32> = None;
        for _ in 0..n {
            let id = d
                .uvarint_max("series id", u64::from(num_series.saturating_sub(1)))
                .map_err(e)?;
            let id = u32::try_from(id).map_err(|_| format!("series id {id} out of range"))?;
            if num_series == 0 || prev_id.is_some_and(|p| id <= p) {
                return Err(format!("series id {id} out of order or out of range"));
            }
            prev_id = Some(id);
            let k = count(&mut d, "interval", MIN_INTERVAL_LEN)?;
            if k == 0 {
                return Err(format!("series {id} has no intervals"));
            }
            let mut ivs: Vec<Interval> = Vec::with_capacity(k);
            for _ in 0..k {
                let mint = d.varint().map_err(e)?;
                let len = d.uvarint().map_err(e)?;
                let maxt = i64::try_from(i128::from(mint) + i128::from(len))
                    .map_err(|_| format!("series {id}: interval end overflows"))?;
                if let Some(last) = ivs.last() {
                    if last.maxt.saturating_add(1) >= mint {
                        return Err(format!(
                            "series {id}: intervals overlap or are out of order"
                        ));
                    }
                }
                ivs.push(Interval { mint, maxt });
            }
            out.insert(id, Intervals(ivs));
        }
        if d.remaining() != 0 {
            return Err(format!("{} trailing bytes", d.remaining()));
        }
        Ok(Tombstones(out))
    }

    /// Reads `dir/tombstones` of a block of `num_series` series; no file means no tombstones.
    pub fn read(dir: &Path, num_series: u32) -> Result<Tombstones, BlockError> {
        let path = dir.join(TOMBSTONES_FILE);
        match fs::read(&path) {
            Ok(bytes) => Tombstones::decode(&bytes, num_series)
                .map_err(|m| BlockError::corrupt(&path, format!("bad tombstones file: {m}"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Tombstones::default()),
            Err(e) => Err(BlockError::io(&path, e)),
        }
    }

    /// Replaces `dir/tombstones` with these (removes it when empty): written to a temporary
    /// file, fsynced and renamed, so a crash leaves the old file or the new one.
    pub fn write(&self, dir: &Path) -> Result<(), BlockError> {
        let path = dir.join(TOMBSTONES_FILE);
        if self.is_empty() {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(BlockError::io(&path, e)),
                _ => sync_dir(dir),
            };
        }
        let tmp = dir.join(TMP_FILE);
        let written = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&self.encode())?;
            f.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(BlockError::io(&tmp, e));
        }
        fs::rename(&tmp, &path).map_err(|e| BlockError::io(&path, e))?;
        sync_dir(dir)
    }
}

/// A count of items each at least `min_len` bytes long, bounded by the bytes left.
fn count(d: &mut Decoder<'_>, what: &str, min_len: usize) -> Result<usize, String> {
    let n = d.uvarint().map_err(|e| e.to_string())?;
    if n > (d.remaining() / min_len) as u64 {
        return Err(format!(
            "{what} count {n} exceeds what the remaining {} bytes can hold",
            d.remaining()
        ));
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ivs(pairs: &[(i64, i64)]) -> Intervals {
        let mut out = Intervals::default();
        for &(a, b) in pairs {
            out.add(Interval::new(a, b));
        }
        out
    }

    #[test]
    fn intervals_merge_overlapping_and_adjacent() {
        let got = ivs(&[(10, 20), (30, 40), (21, 25), (50, 60), (35, 55)]);
        assert_eq!(got.0, vec![Interval::new(10, 25), Interval::new(30, 60)]);
        let got = ivs(&[(5, 5), (1, 2), (i64::MIN, 0), (3, 4), (i64::MAX, i64::MAX)]);
        assert_eq!(
            got.0,
            vec![
                Interval::new(i64::MIN, 5),
                Interval::new(i64::MAX, i64::MAX)
            ]
        );
        assert!(got.contains(i64::MIN) && got.contains(5) && !got.contains(6));
        assert!(got.covers(-10, 5) && !got.covers(-10, 6));
        let mut all = ivs(&[(0, 0)]);
        all.add(Interval::new(i64::MIN, i64::MAX));
        assert_eq!(all.0, vec![Interval::new(i64::MIN, i64::MAX)]);
    }

    #[test]
    fn remove_deleted_keeps_the_rest_in_order() {
        let mut s: Vec<Sample> = (0..10).map(|t| Sample::new(t, t as f64)).collect();
        ivs(&[(2, 3), (7, 100)]).remove_deleted(&mut s, 1);
        let ts: Vec<i64> = s.iter().map(|s| s.t).collect();
        assert_eq!(ts, vec![0, 1, 4, 5, 6]);
        // Samples before `from` are not looked at.
        let mut s: Vec<Sample> = (0..4).map(|t| Sample::new(t, 0.0)).collect();
        ivs(&[(0, 10)]).remove_deleted(&mut s, 2);
        assert_eq!(s.len(), 2);
    }

    fn sample_stones() -> Tombstones {
        let mut t = Tombstones::default();
        t.add(0, Interval::new(-5, 10));
        t.add(7, Interval::new(100, 200));
        t.add(7, Interval::new(300, 300));
        t.add(41, Interval::new(i64::MIN, i64::MAX));
        t
    }

    #[test]
    fn file_roundtrip() {
        let t = sample_stones();
        let bytes = t.encode();
        assert_eq!(&bytes[..8], b"BGTS\x01\0\0\0");
        assert_eq!(Tombstones::decode(&bytes, 42).unwrap(), t);
        let dir = tempfile::tempdir().unwrap();
        t.write(dir.path()).unwrap();
        assert_eq!(Tombstones::read(dir.path(), 42).unwrap(), t);
        Tombstones::default().write(dir.path()).unwrap();
        assert!(!dir.path().join(TOMBSTONES_FILE).exists());
        assert!(Tombstones::read(dir.path(), 42).unwrap().is_empty());
    }

    #[test]
    fn corrupt_or_truncated_files_are_clear_errors() {
        let good = sample_stones().encode();
        for cut in 0..good.len() {
            let err = Tombstones::decode(&good[..cut], 42).unwrap_err();
            assert!(
                err.contains("truncated") || err.contains("checksum"),
                "cut at {cut}: {err}"
            );
        }
        let mut flipped = good.clone();
        flipped[10] ^= 0x04;
        assert_eq!(
            Tombstones::decode(&flipped, 42).unwrap_err(),
            "checksum mismatch"
        );
        let mut magic = good.clone();
        magic[0] = b'X';
        assert_eq!(Tombstones::decode(&magic, 42).unwrap_err(), "bad magic");
        let mut version = good.clone();
        version[4] = 9;
        assert!(Tombstones::decode(&version, 42)
            .unwrap_err()
            .contains("unsupported tombstones version 9"));
        // A series id past the block's series: written for another block.
        assert!(Tombstones::decode(&good, 41)
            .unwrap_err()
            .contains("series id"));

        // Well-framed payloads that break the rules.
        let framed = |payload: &[u8]| {
            let mut b = b"BGTS\x01\0\0\0".to_vec();
            b.extend_from_slice(payload);
            let crc = crc32c::crc32c(&b);
            b.extend_from_slice(&crc.to_le_bytes());
            b
        };
        for (payload, want) in [
            (&[0u8][..], "no series"),
            (&[0xff, 0xff, 0xff, 0xff, 0x0f][..], "exceeds"),
            (&[2, 1, 1, 0, 0, 1, 1, 0, 0][..], "out of order"),
            (&[1, 1, 0][..], "exceeds"),
            (&[1, 1, 2, 0, 4, 2, 0][..], "overlap"),
            (
                &[
                    1, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 2,
                ][..],
                "overflows",
            ),
            (&[1, 1, 1, 0, 0, 9][..], "trailing"),
        ] {
            let err = Tombstones::decode(&framed(payload), 42).unwrap_err();
            assert!(err.contains(want), "{payload:?}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(TOMBSTONES_FILE), &good[..good.len() - 1]).unwrap();
        let err = Tombstones::read(dir.path(), 42).unwrap_err().to_string();
        assert!(err.contains("bad tombstones file"), "{err}");
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = Tombstones::decode(&bytes, 100);
            let mut framed = b"BGTS\x01\0\0\0".to_vec();
            framed.extend_from_slice(&bytes);
            let crc = crc32c::crc32c(&framed);
            framed.extend_from_slice(&crc.to_le_bytes());
            let _ = Tombstones::decode(&framed, 100);
        }

        #[test]
        fn added_intervals_roundtrip(raw in proptest::collection::vec((0u32..50, any::<i64>(), 0u64..1000), 1..40)) {
            let mut t = Tombstones::default();
            for (id, mint, len) in raw {
                let maxt = mint.saturating_add(len as i64);
                t.add(id, Interval::new(mint, maxt));
            }
            prop_assert_eq!(Tombstones::decode(&t.encode(), 50).unwrap(), t);
        }
    }
}
