//! A bongsu server process for integration tests: started on a free 127.0.0.1 port, awaited
//! until ready, killed and reaped when dropped (so a failing test leaves no process).

use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::StatusCode;

pub const BIN: &str = env!("CARGO_BIN_EXE_bongsu");

/// Longest wait for start-up or one request.
pub const WAIT: Duration = Duration::from_secs(30);

/// Writes the OpenMetrics `text` to `tmp/m.om`, imports it with `bongsu import openmetrics`
/// into `tmp/data` (failing the test with the importer's stderr) and returns that directory.
pub fn import_openmetrics(tmp: &Path, text: &str) -> PathBuf {
    let file = tmp.join("m.om");
    fs::write(&file, text).unwrap();
    let dir = tmp.join("data");
    let out = Command::new(BIN)
        .args(["import", "openmetrics"])
        .arg(&file)
        .arg("--storage.tsdb.path")
        .arg(&dir)
        .output()
        .expect("run bongsu import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Writes a configuration that scrapes nothing to `dir/quiet.yml` and returns its path. Without
/// a configuration file bongsu scrapes itself, and its own series would race into answers a test
/// compares exactly (label names, limits).
pub fn quiet_config(dir: &Path) -> PathBuf {
    let path = dir.join("quiet.yml");
    fs::write(&path, "scrape_configs: []\n").unwrap();
    path
}

/// A port of 127.0.0.1 free at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
    pub http: Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Runs bongsu with `args` plus a free `--web.listen-address`, stderr to `log`, and waits
    /// (bounded) until `/-/ready` answers 200.
    pub fn spawn(args: Vec<OsString>, log: PathBuf) -> Server {
        Server::spawn_on(free_port(), args, log)
    }

    /// [`Server::spawn`] on `port` (from [`free_port`]), for a configuration that must name
    /// the server's own address.
    pub fn spawn_on(port: u16, args: Vec<OsString>, log: PathBuf) -> Server {
        Server::launch(port, args, log, |s| {
            s.http
                .get(s.url("/-/ready"))
                .send()
                .is_ok_and(|r| r.status() == StatusCode::OK)
        })
    }

    /// [`Server::spawn`] that waits until `ready` says so instead (a server behind TLS or
    /// authentication answers the plain probe with errors).
    pub fn spawn_until(
        args: Vec<OsString>,
        log: PathBuf,
        ready: impl FnMut(&Server) -> bool,
    ) -> Server {
        Server::launch(free_port(), args, log, ready)
    }

    fn launch(
        port: u16,
        args: Vec<OsString>,
        log: PathBuf,
        ready: impl FnMut(&Server) -> bool,
    ) -> Server {
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(BIN)
            .args(args)
            .args(["--web.listen-address", &addr])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("start bongsu");
        let server = Server {
            child,
            base: format!("http://{addr}"),
            log,
            http: Client::builder().timeout(WAIT).build().unwrap(),
        };
        server.wait_ready(ready)
    }

    fn wait_ready(mut self, mut ready: impl FnMut(&Server) -> bool) -> Server {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("bongsu exited early ({status}): {}", self.log());
            }
            if ready(&self) {
                return self;
            }
            assert!(
                started.elapsed() < WAIT,
                "not ready within {WAIT:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Polls `check` every 100 ms until it returns `Some`, failing after `WAIT` with the log.
    pub fn wait_for<T>(&self, what: &str, check: impl FnMut() -> Option<T>) -> T {
        self.wait_up_to(WAIT, what, check)
    }

    /// [`Server::wait_for`] with a longer bound, for what takes a while in a debug build.
    pub fn wait_up_to<T>(
        &self,
        bound: Duration,
        what: &str,
        mut check: impl FnMut() -> Option<T>,
    ) -> T {
        let started = Instant::now();
        loop {
            if let Some(v) = check() {
                return v;
            }
            assert!(
                started.elapsed() < bound,
                "waited {bound:?} for {what}; server log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
