//! A damaged log block: a valid block (written once by the store) with fuzz-chosen bytes
//! flipped and its tail cut, opened by the store and read in full. Every damage must be an
//! error or a skipped chunk, never a panic.
#![no_main]

use std::sync::OnceLock;

use bongsu_logstore::{LogStore, LogStoreOptions, ScanOptions};
use bongsu_model::log::{LogEntry, LogStream};
use bongsu_model::Labels;
use libfuzzer_sys::fuzz_target;

/// Far in the past, so no retention default removes the block before it is read.
const T0: i64 = 1_700_000_000_000_000_000;

/// A block's file name and bytes: two streams, plain and JSON lines with metadata.
fn block() -> &'static (String, Vec<u8>) {
    static BLOCK: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    BLOCK.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let opts = LogStoreOptions {
            retention: std::time::Duration::from_secs(100 * 365 * 86_400),
            ..LogStoreOptions::default()
        };
        let store = LogStore::open(dir.path(), opts).expect("store");
        let stream = |app: &str| LogStream {
            labels: Labels::from_pairs(&[("job", "fuzz"), ("app", app)]).expect("labels"),
            entries: (0..300)
                .map(|i| LogEntry {
                    ts: T0 + i * 1_000_000_000,
                    line: format!(
                        r#"{{"level":"info","msg":"request {i}","trace":"{i:032x}"}} 2023-11-14T22:13:{:02}Z"#,
                        i % 60
                    ),
                    metadata: vec![("trace_id".into(), format!("{i:x}"))],
                })
                .collect(),
        };
        store.append(&[stream("a"), stream("b")]).expect("append");
        store.flush().expect("flush");
        drop(store);
        let blocks = dir.path().join("blocks");
        let entry = std::fs::read_dir(&blocks)
            .expect("blocks")
            .filter_map(Result::ok)
            .find(|e| !e.file_name().to_string_lossy().ends_with(".tmp"))
            .expect("one block");
        let name = entry.file_name().to_string_lossy().into_owned();
        (name, std::fs::read(entry.path()).expect("block bytes"))
    })
}

fuzz_target!(|data: &[u8]| {
    let (name, good) = block();
    let mut bytes = good.clone();
    // [cut: u16][pos: u32, xor: u8]…: keep `len - cut` bytes, flip the chosen ones.
    if let [a, b, rest @ ..] = data {
        let cut = usize::from(u16::from_le_bytes([*a, *b])) % 64;
        bytes.truncate(bytes.len() - cut.min(bytes.len()));
        for flip in rest.chunks_exact(5) {
            if bytes.is_empty() {
                break;
            }
            let pos = u32::from_le_bytes([flip[0], flip[1], flip[2], flip[3]]) as usize % bytes.len();
            bytes[pos] ^= flip[4];
        }
    }
    let Ok(dir) = tempfile::tempdir() else { return };
    let blocks = dir.path().join("blocks");
    if std::fs::create_dir(&blocks).is_err() || std::fs::write(blocks.join(name), &bytes).is_err() {
        return;
    }
    let opts = LogStoreOptions {
        retention: std::time::Duration::from_secs(100 * 365 * 86_400),
        ..LogStoreOptions::default()
    };
    let Ok(store) = LogStore::open(dir.path(), opts) else { return };
    // No matcher: every stream.
    if let Ok(sel) = store.select(&[], i64::MIN, i64::MAX) {
        let _ = sel.count();
        let _ = sel.scan(&ScanOptions::default(), |_, e| {
            let _ = e.metadata().count();
            std::ops::ControlFlow::Continue(())
        });
    }
});
