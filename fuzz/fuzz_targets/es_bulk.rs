//! Elasticsearch `_bulk` bodies: action lines, documents and their mapping to log lines.
#![no_main]

use bongsu_ingest::logs::elasticsearch::{self, BulkOptions};
use bongsu_ingest::logs::limits::LogLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = LogLimits::default();
    let opts = BulkOptions::new(&limits.elasticsearch_label_fields);
    let _ = elasticsearch::decode(data, &opts, &limits.discover_service_name, 0);
    // With the path's index and every field a label candidate, as `_stream_fields` allows.
    let opts = BulkOptions {
        index: Some("logs".into()),
        ..opts.with_query([("_stream_fields", "a,a.b,message,@timestamp")])
    };
    let _ = elasticsearch::decode(data, &opts, &limits.discover_service_name, 0);
});
