//! Many fake scrape targets on one port, for `benches/scrape_load.sh`.
//!
//! `GET /metrics/{n}` (n in 0..targets) answers the node_exporter page of
//! `../shared/bench/node_exporter_page.txt` (about 500 series) in the Prometheus text format.
//! Values move a little on every request, as a real exporter's do: every sample whose page value
//! is neither 0 nor 1 (flags and info metrics stay constant) gets the target's request count
//! times a small step added, so counters grow and compressed chunks see realistic changes.
//!
//! ```sh
//! cargo run --release --example fake_targets -- --listen 127.0.0.1:9900 --targets 1000
//! ```
//!
//! It binds loopback addresses only and stops on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One line of the page: text before the value, the value if the line is a sample, and the
/// text after it (an optional timestamp).
struct Line {
    head: String,
    value: Option<f64>,
    tail: String,
}

impl Line {
    fn parse(l: &str) -> Line {
        let verbatim = || Line {
            head: l.to_string(),
            value: None,
            tail: String::new(),
        };
        if l.starts_with('#') || l.trim().is_empty() {
            return verbatim();
        }
        // The value follows the label set's `}` (or the bare name) and white space.
        let name_end = l
            .rfind('}')
            .map_or_else(|| l.find(char::is_whitespace).unwrap_or(l.len()), |i| i + 1);
        let rest = &l[name_end..];
        let value_start = name_end + (rest.len() - rest.trim_start().len());
        let mut parts = l[value_start..].splitn(2, char::is_whitespace);
        let Some(value) = parts.next().and_then(|v| v.parse::<f64>().ok()) else {
            return verbatim();
        };
        Line {
            head: l[..value_start].to_string(),
            value: Some(value),
            tail: parts
                .next()
                .map(|t| format!(" {}", t.trim()))
                .unwrap_or_default(),
        }
    }
}

struct Page {
    lines: Vec<Line>,
    /// Requests answered so far, per target.
    requests: Vec<AtomicU64>,
    bytes: usize,
}

impl Page {
    fn parse(text: &str, targets: usize) -> Page {
        let lines = text.lines().map(Line::parse).collect();
        Page {
            lines,
            requests: (0..targets).map(|_| AtomicU64::new(0)).collect(),
            bytes: text.len(),
        }
    }

    /// The page for target `n`'s `k`-th request.
    fn render(&self, n: usize, k: u64) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(self.bytes + self.bytes / 8);
        for l in &self.lines {
            out.push_str(&l.head);
            match l.value {
                Some(v) if v.is_finite() && v != 0.0 && v != 1.0 => {
                    // Targets differ a little too, so no two series are identical.
                    let step = (v.abs() * 1e-4).max(1.0);
                    let _ = write!(out, "{}", v + (k as f64 + n as f64 * 0.001) * step);
                }
                Some(v) if v.is_nan() => out.push_str("NaN"),
                Some(v) if v.is_infinite() => out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" }),
                Some(v) => {
                    let _ = write!(out, "{v}");
                }
                None => {}
            }
            out.push_str(&l.tail);
            out.push('\n');
        }
        out
    }
}

async fn metrics(State(page): State<Arc<Page>>, UrlPath(n): UrlPath<usize>) -> Response {
    let Some(counter) = page.requests.get(n) else {
        return (StatusCode::NOT_FOUND, "no such target\n").into_response();
    };
    let k = counter.fetch_add(1, Ordering::Relaxed);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        page.render(n, k),
    )
        .into_response()
}

fn usage() -> ! {
    eprintln!("usage: fake_targets [--listen 127.0.0.1:PORT] [--targets N] [--page FILE]");
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut listen: SocketAddr = "127.0.0.1:9900".parse().unwrap();
    let mut targets = 1000usize;
    let mut page_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/node_exporter_page.txt");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--listen" => listen = value().parse().unwrap_or_else(|_| usage()),
            "--targets" => targets = value().parse().unwrap_or_else(|_| usage()),
            "--page" => page_file = PathBuf::from(value()),
            _ => usage(),
        }
    }
    if !listen.ip().is_loopback() {
        eprintln!("fake_targets: refusing to listen on {listen}: loopback addresses only");
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&page_file).unwrap_or_else(|e| {
        eprintln!("fake_targets: cannot read {}: {e}", page_file.display());
        std::process::exit(1)
    });
    let page = Arc::new(Page::parse(&text, targets));
    let samples = page.lines.iter().filter(|l| l.value.is_some()).count();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .unwrap_or_else(|e| {
            eprintln!("fake_targets: cannot listen on {listen}: {e}");
            std::process::exit(1)
        });
    eprintln!(
        "fake_targets: {targets} targets of {samples} samples on http://{listen}/metrics/{{0..{}}}",
        targets.saturating_sub(1)
    );
    let app = Router::new()
        .route("/metrics/{n}", get(metrics))
        .with_state(page);
    let stop = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        eprintln!("fake_targets: {e}");
        std::process::exit(1);
    }
}
