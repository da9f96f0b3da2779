//! Scrape bodies: the Prometheus text format, OpenMetrics and the protobuf format, the text
//! formats also through the NHCB conversion (the first byte picks which).
#![no_main]

use bongsu_exposition::nhcb::NhcbParser;
use bongsu_exposition::proto::{ProtoOptions, ProtoParser};
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
    // Each entry consumes input, so these end; the bounds guard against a parser that does
    // not. A protobuf message of a few bytes can stand for a few series (an empty histogram
    // is its `_count`, `_sum` and `+Inf` bucket), and the NHCB conversion adds at most one
    // entry per series.
    let bound = 4 * body.len() + 8;
    let mut n = 0;
    macro_rules! drain {
        ($p:expr) => {{
            // Bound once: `$p` makes a new parser each time it is written out.
            let mut p = $p;
            loop {
                match p.next_entry() {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
                n += 1;
                assert!(n <= bound, "the parser returned too many entries for the body");
            }
        }};
    }
    match first >> 1 & 3 {
        0 => drain!(Parser::new(body, format)),
        1 => drain!(NhcbParser::new(Parser::new(body, format), first & 8 != 0)),
        _ => {
            let opts = ProtoOptions {
                native_histograms: first & 8 != 0,
                keep_classic: first & 16 != 0,
                convert_nhcb: first & 32 != 0,
            };
            drain!(ProtoParser::new(body, opts))
        }
    }
});
