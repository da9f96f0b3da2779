//! The log store's WAL replay at open: frames with valid checksums around fuzzed stream and
//! entry records, then a scan of whatever the replay kept.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use bongsu_logstore::{LogStore, LogStoreOptions, ScanOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let wal = dir.path().join("wal");
    if std::fs::create_dir(&wal).is_err()
        || std::fs::write(wal.join("00000000"), common::segment(b"BSLW", 1, data)).is_err()
    {
        return;
    }
    let Ok(store) = LogStore::open(dir.path(), LogStoreOptions::default()) else {
        return;
    };
    // No matcher: every stream.
    if let Ok(sel) = store.select(&[], i64::MIN, i64::MAX) {
        let _ = sel.scan(&ScanOptions::default(), |_, _| std::ops::ControlFlow::Continue(()));
    }
});
