//! A syslog target feeding a counting sink, for `benches/syslog_compare.sh`: listens on
//! `127.0.0.1:PORT` (RFC 5424 over TCP, Promtail's defaults), counts the entries that come out
//! of the target, and exits printing the count and its CPU ticks once `EXPECT` entries arrived or nothing arrived
//! for `IDLE_SECS` seconds.
//!
//! Usage: `syslog_sink PORT EXPECT [IDLE_SECS]`.

use std::sync::Arc;
use std::time::Duration;

use bongsu_logcollect::syslog::{SyslogConfig, SyslogMetrics, SyslogTarget};

/// Entries in flight between the target and the sink, as a pipeline's channel would hold.
const CHANNEL: usize = 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: syslog_sink PORT EXPECT [IDLE_SECS]";
    let port: u16 = args.get(1).ok_or(usage)?.parse()?;
    let expect: u64 = args.get(2).ok_or(usage)?.parse()?;
    let idle = Duration::from_secs(args.get(3).map_or(Ok(10), |s| s.parse())?);
    let config: SyslogConfig = serde_yaml_ng::from_str(&format!(
        "listen_address: 127.0.0.1:{port}\nlabel_structured_data: true\nidle_timeout: 10m\n"
    ))?;
    let metrics = Arc::new(SyslogMetrics::default());
    let target = SyslogTarget::bind(config, "bench", Vec::new(), metrics.clone()).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(CHANNEL);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(target.run(tx, async {
        let _ = stopped.await;
    }));
    println!("listening");
    let mut count = 0u64;
    let mut bytes = 0usize;
    while count < expect {
        match tokio::time::timeout(idle, rx.recv()).await {
            Ok(Some(e)) => {
                count += 1;
                bytes += e.line.len();
            }
            _ => break,
        }
    }
    let _ = stop.send(());
    server.await?;
    println!(
        "received {count} entries ({bytes} line bytes), parsing errors {}, cpu_ticks {}",
        metrics.parsing_errors(),
        cpu_ticks()
    );
    Ok(())
}

/// User plus system CPU time of this process in clock ticks (Linux `/proc/self/stat`), so the
/// script can read it after the process is gone; 0 where there is no `/proc`.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state, field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}
