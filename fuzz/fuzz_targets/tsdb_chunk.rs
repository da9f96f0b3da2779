//! The metrics chunk decoders (XOR and packed), as a block's or the head's chunks are read.
#![no_main]

use bongsu_tsdb::chunk::{decode, Encoding};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    for encoding in [Encoding::Xor, Encoding::Packed] {
        out.clear();
        let _ = decode(encoding, data, &mut out);
    }
});
