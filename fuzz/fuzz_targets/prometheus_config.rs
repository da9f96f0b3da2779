//! prometheus.yml files.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = bongsu_config::Config::parse(text, "fuzz.yml");
});
