//! `--logs.config.file`: a promtail.yml as the collector loads it, every pipeline stage,
//! syslog and client block built.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = bongsu_logcollect::LogConfig::parse(text, "promtail.yml", false);
    }
});
