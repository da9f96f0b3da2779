//! Scrape bodies: the Prometheus text format and OpenMetrics (the first byte picks which).
#![no_main]

use bongsu_exposition::{Format, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let format = if first & 1 == 0 {
        Format::PrometheusText
    } else {
        Format::OpenMetrics
    };
    let mut parser = Parser::new(body, format);
    // Each entry consumes input, so this ends; the bound guards against a parser that does not.
    for _ in 0..=body.len() {
        match parser.next_entry() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return,
        }
    }
    panic!("the parser returned more entries than the body has bytes");
});
