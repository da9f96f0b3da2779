//! alertmanager.yml files.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = bongsu_alertmanager::config::Config::parse(text, None);
});
