//! Remote-write bodies: snappy framing, then Remote-Write 1.0 and 2.0 messages.
#![no_main]

use bongsu_ingest::request::{decode_v1, decode_v2, decompress};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = Bytes::copy_from_slice(data);
    let _ = decode_v1(raw.clone());
    let _ = decode_v2(raw);
    if let Ok(body) = decompress(data) {
        let _ = decode_v1(body.clone());
        let _ = decode_v2(body);
    }
});
