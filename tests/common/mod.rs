//! Helpers shared by the integration tests: a crash harness that runs this test binary again
//! as a writer process and kills it, and a bongsu server process. `smtp.rs` (an SMTP server)
//! and `alertmanager.rs` (an in-process Alertmanager with its API) are included with `#[path]`
//! by the tests that need them, so other test crates do not build them.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code)]

pub mod server;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the test `test_name` of the running test binary as a child with `writer_env` set to
/// `dir`. The child prints `ACK <n>` after each durable write. Once `kill_after` is acked or
/// `deadline` passes, the child gets SIGKILL. Returns the last acknowledged `n`, counting acks
/// that were already in the pipe at the kill (they were printed after a durable write).
pub fn run_writer_and_kill(
    test_name: &str,
    writer_env: &str,
    dir: &Path,
    kill_after: u64,
    deadline: Duration,
) -> u64 {
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(writer_env, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut last_ack: Option<u64> = None;
    let parse = |line: &str| line.strip_prefix("ACK ").map(|n| n.parse::<u64>().unwrap());
    for line in lines.by_ref() {
        let Some(n) = parse(&line.unwrap()) else {
            continue;
        };
        last_ack = Some(n);
        if n >= kill_after || started.elapsed() > deadline {
            break;
        }
    }
    child.kill().expect("SIGKILL the writer");
    let status = child.wait().unwrap();
    assert!(!status.success(), "writer exited on its own: {status}");
    for line in lines {
        if let Some(n) = parse(&line.unwrap()) {
            last_ack = Some(n);
        }
    }
    last_ack.expect("the writer acknowledged nothing")
}

/// `../shared/bench/gen_logs.py` beside the checkout (as in CI), or where this machine keeps
/// it; `None` when neither is there (the tests that need it then skip, saying so).
pub fn gen_logs_script() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_logs.py");
    [local, PathBuf::from("/work/shared/bench/gen_logs.py")]
        .into_iter()
        .find(|p| p.exists())
}
