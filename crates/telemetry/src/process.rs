//! The `process_*` families every Prometheus client library exports, read from `/proc/self`
//! when `/metrics` is rendered. Linux only: elsewhere nothing is written, and a file that
//! cannot be read leaves out the families it feeds rather than failing the page.

use crate::encode::Encoder;

/// Writes the process families of this process.
#[cfg(target_os = "linux")]
pub fn encode(enc: &mut Encoder<'_>) {
    use crate::encode::Family;
    use procfs::process::{LimitValue, Process};

    static CPU: Family = Family::counter(
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        &[],
    );
    static OPEN_FDS: Family =
        Family::gauge("process_open_fds", "Number of open file descriptors.", &[]);
    static MAX_FDS: Family = Family::gauge(
        "process_max_fds",
        "Maximum number of open file descriptors.",
        &[],
    );
    static VIRTUAL: Family = Family::gauge(
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        &[],
    );
    static VIRTUAL_MAX: Family = Family::gauge(
        "process_virtual_memory_max_bytes",
        "Maximum amount of virtual memory available in bytes.",
        &[],
    );
    static RESIDENT: Family = Family::gauge(
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        &[],
    );
    static START: Family = Family::gauge(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        &[],
    );

    let Ok(me) = Process::myself() else {
        return;
    };
    // Unlimited is reported as the largest value, as Go's procfs reads it.
    let limit = |v: LimitValue| match v {
        LimitValue::Unlimited => u64::MAX as f64,
        LimitValue::Value(n) => n as f64,
    };
    if let Ok(stat) = me.stat() {
        let ticks = procfs::ticks_per_second().max(1) as f64;
        enc.single(&CPU, (stat.utime + stat.stime) as f64 / ticks);
        enc.single(&VIRTUAL, stat.vsize as f64);
        enc.single(
            &RESIDENT,
            stat.rss.saturating_mul(procfs::page_size()) as f64,
        );
        if let Ok(boot) = procfs::boot_time_secs() {
            enc.single(&START, boot as f64 + stat.starttime as f64 / ticks);
        }
    }
    if let Ok(n) = me.fd_count() {
        enc.single(&OPEN_FDS, n as f64);
    }
    if let Ok(limits) = me.limits() {
        enc.single(&MAX_FDS, limit(limits.max_open_files.soft_limit));
        enc.single(&VIRTUAL_MAX, limit(limits.max_address_space.soft_limit));
    }
}

/// Writes nothing: only Linux has `/proc/self` to read.
#[cfg(not(target_os = "linux"))]
pub fn encode(_enc: &mut Encoder<'_>) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let mut out = String::new();
        encode(&mut Encoder::new(&mut out));
        let value = |name: &str| -> f64 {
            out.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("{name} in {out}"))
        };
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_resident_memory_bytes") > 0.0);
        assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = value("process_start_time_seconds");
        assert!(
            start <= now + 1.0 && start > now - 3600.0,
            "{start} vs {now}"
        );
        assert!(value("process_cpu_seconds_total") >= 0.0);
    }
}
