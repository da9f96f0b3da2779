//! PromQL queries: parsed, and what parses printed and parsed again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(expr) = bongsu_promql::parse(text) {
        let printed = bongsu_promql::to_string(&expr);
        let _ = bongsu_promql::parse(&printed);
    }
});
