//! A syslog message as the syslog target parses it: RFC 5424 and RFC 3164 on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

use bongsu_logcollect::syslog::{rfc3164, rfc5424};

fuzz_target!(|data: &[u8]| {
    let _ = rfc5424::parse(data);
    let _ = rfc3164::parse(data, 1_700_000_000_000_000_000);
});
