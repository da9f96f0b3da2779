//! The metrics WAL's replay: frames with valid checksums around fuzzed record payloads, so the
//! series, samples and tombstones decoders see arbitrary bytes.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let version = if data.first().is_some_and(|b| b & 1 == 0) { 1 } else { 2 };
    if std::fs::write(dir.path().join("00000000"), common::segment(b"BSWL", version, data)).is_err() {
        return;
    }
    let _ = bongsu_tsdb::wal::replay(dir.path(), |_| Ok(()));
});
