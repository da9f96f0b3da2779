//! Log pushes: Loki's protobuf and JSON (both versions) and OTLP's protobuf and JSON.
#![no_main]

use bongsu_ingest::logs::limits::LogLimits;
use bongsu_ingest::logs::{loki, otlp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = LogLimits::default();
    for format in [loki::Format::Protobuf, loki::Format::Json] {
        for version in [loki::Version::V1, loki::Version::Legacy] {
            let _ = loki::decode(format, version, data, &limits.discover_service_name);
        }
    }
    for format in [otlp::Format::Protobuf, otlp::Format::Json] {
        let _ = otlp::decode(format, data, &limits, 0);
    }
});
