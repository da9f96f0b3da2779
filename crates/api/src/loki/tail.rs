//! `GET /loki/api/v1/tail`: a log query followed live over a
//! WebSocket, as `logcli query --tail` and Grafana's live mode use it. Each message is Loki's
//! `{"streams":[{"stream":{…},"values":[["<ns>","<line>"]]}, …]}`, one stream object per line
//! as Loki's tailer sends them, at most [`MAX_ENTRIES_PER_MESSAGE`] lines a message.
//!
//! Parameters as Loki's `ParseTailQuery`: `query` (a log query), `limit` (100: lines of the
//! first batch), `start` (one hour ago), `delay_for` (0–5 s). The first batch is the newest
//! `limit` lines from `start` to now, oldest first, as Loki's. Then, where Loki's ingesters
//! push each line as it is appended, we poll the store every [`TAIL_POLL_INTERVAL`] for lines
//! up to `now - delay_for`, re-reading the last [`TAIL_LATE_GRACE`] each time so that lines
//! arriving a little after their timestamp (a shipper's batching) are still sent, each line
//! once. A line pushed more than that grace after its own timestamp is not sent (Loki sends
//! it, by arrival), and since nothing is dropped for a slow client, `dropped_entries` never
//! appears: a slow reader slows the polling down instead.
//!
//! Bounds, as Loki's defaults: [`MAX_TAILERS`] connections at once (one more is closed with
//! Loki's message), [`TAIL_MAX_DURATION`] per connection, [`MAX_TAIL_POLL_LINES`] per poll
//! (the rest follows at the next poll). A connection ends when the client closes or goes away
//! (a failed write, or no answer to pings), when the server shuts down, or at the limits.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use bongsu_logengine::{evaluate, LogqlValue, QueryRange};
use bongsu_logql::ast::LogExpr;
use bongsu_logql::Expr;
use bongsu_logstore::Direction;
use tokio::sync::{watch, Semaphore};

use super::params::{
    bounds, int_param, log_query, now_ns, params, DEFAULT_LIMIT, DEFAULT_QUERY_SINCE_NS, MAX_LIMIT,
};
use super::query::query_error;
use super::{blocking, LokiError};
use crate::json::write_str;
use crate::ApiState;

/// Tailing connections served at once (Loki's `max_concurrent_tail_requests`).
pub const MAX_TAILERS: usize = 10;
/// How long one connection may tail (Loki's `tail_max_duration`).
pub const TAIL_MAX_DURATION: Duration = Duration::from_secs(3600);
/// How often the store is asked for new lines.
pub const TAIL_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How far behind the last poll each poll reads again, for lines that arrive late.
pub const TAIL_LATE_GRACE: Duration = Duration::from_secs(5);
/// Lines one poll reads at most.
pub const MAX_TAIL_POLL_LINES: usize = 5000;
/// Lines per message (Loki's `maxEntriesPerTailResponse`).
pub const MAX_ENTRIES_PER_MESSAGE: usize = 100;
/// Largest `delay_for`, seconds (Loki's `maxDelayForInTailing`).
const MAX_DELAY_FOR: i64 = 5;

/// The tailing connections' shared state: their slots and the server's shutdown.
pub(crate) struct Tails {
    slots: Arc<Semaphore>,
    closing: watch::Sender<bool>,
}

impl Default for Tails {
    fn default() -> Tails {
        Tails {
            slots: Arc::new(Semaphore::new(MAX_TAILERS)),
            closing: watch::channel(false).0,
        }
    }
}

impl Tails {
    /// Ends every tailing connection (the server is shutting down) and refuses new ones.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// A tail request.
struct TailRequest {
    expr: LogExpr,
    limit: usize,
    start: i64,
    delay_ns: i64,
}

fn parse(q: Option<String>) -> Result<TailRequest, LokiError> {
    let p = params(q, &axum::body::Bytes::new())?;
    let expr = log_query(p.get("query").unwrap_or(""))?;
    let limit = int_param(&p, "limit", DEFAULT_LIMIT as i64)?;
    if limit <= 0 {
        return Err(LokiError::bad("limit must be a positive value"));
    }
    if limit > MAX_LIMIT as i64 {
        return Err(LokiError::bad(format!(
            "max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {MAX_LIMIT})"
        )));
    }
    let (start, _) = bounds(&p, DEFAULT_QUERY_SINCE_NS)?;
    let delay = int_param(&p, "delay_for", 0)?;
    if !(0..=i64::from(u32::MAX)).contains(&delay) {
        return Err(LokiError::bad(format!(
            "delay_for value {delay} is out of range [0, {}]",
            u32::MAX
        )));
    }
    if delay > MAX_DELAY_FOR {
        return Err(LokiError::bad(format!(
            "delay_for can't be greater than {MAX_DELAY_FOR}"
        )));
    }
    Ok(TailRequest {
        expr,
        limit: usize::try_from(limit).unwrap_or(MAX_LIMIT),
        start,
        delay_ns: delay * 1_000_000_000,
    })
}

/// `GET /loki/api/v1/tail`: parameters are checked before the upgrade (400 with Loki's
/// text); what fails after it closes the socket with code 1011 and the reason, as Loki.
pub(super) async fn tail(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let req = match parse(q) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match ws {
        Ok(ws) => ws.on_upgrade(move |socket| session(s, socket, req)),
        Err(rejection) => rejection.into_response(),
    }
}

/// A line to send: its labels (stream, metadata and parsed, as Loki's tail), time and text.
struct TailEntry {
    labels: Vec<(String, String)>,
    ts: i64,
    line: String,
}

impl TailEntry {
    /// What tells a line from another of the same time, for sending each once.
    fn key(&self) -> (i64, u64) {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.labels.hash(&mut h);
        self.line.hash(&mut h);
        (self.ts, h.finish())
    }
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn session(s: ApiState, socket: WebSocket, req: TailRequest) {
    let tails = &s.0.tails;
    let Ok(_slot) = tails.slots.clone().try_acquire_owned() else {
        let reason = format!(
            "max concurrent tail requests limit exceeded, count > limit ({} > {MAX_TAILERS})",
            MAX_TAILERS + 1
        );
        return close(socket, close_code::ERROR, &reason).await;
    };
    let mut closing = tails.closing.subscribe();
    if *closing.borrow() {
        return close(socket, close_code::AWAY, "the server is shutting down").await;
    }
    // An error here is a failed write: the client has gone, nothing is left to tell it.
    let _ = follow(&s, socket, req, &mut closing).await;
}

/// Sends the first batch, then polls until the client leaves or a limit is reached.
async fn follow(
    s: &ApiState,
    mut socket: WebSocket,
    req: TailRequest,
    closing: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + TAIL_MAX_DURATION;
    let expr = Arc::new(Expr::Log(req.expr));
    let grace = i64::try_from(TAIL_LATE_GRACE.as_nanos()).unwrap_or(i64::MAX);
    let to = now_ns() - req.delay_ns;
    let mut first = match read(s, &expr, req.start, to, Direction::Backward, req.limit).await {
        Ok(entries) => entries,
        Err(e) => {
            close(socket, close_code::ERROR, &e).await;
            return Err(e);
        }
    };
    first.sort_by_key(|e| e.ts);
    let mut sent: HashSet<(i64, u64)> = first.iter().map(TailEntry::key).collect();
    send(&mut socket, &first).await?;
    // The first poll reads the grace window again for lines pushed late, but not before the
    // oldest line of a full first batch: the lines the limit cut off stay unsent, as Loki's.
    let mut from = to.saturating_sub(grace).max(req.start);
    if first.len() >= req.limit {
        if let Some(oldest) = first.first() {
            from = from.max(oldest.ts);
        }
    }
    let mut ticker = tokio::time::interval(TAIL_POLL_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            msg = socket.recv() => match msg {
                // Pings are answered by the WebSocket layer; other messages are ignored.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(_)) => continue,
            },
            // The value only ever turns true; a dropped sender means shutdown too.
            _ = closing.changed() => {
                close(socket, close_code::AWAY, "the server is shutting down").await;
                return Ok(());
            }
            _ = tokio::time::sleep_until(deadline) => {
                close(socket, close_code::ERROR, "reached tail max duration limit").await;
                return Ok(());
            }
        }
        let to = now_ns() - req.delay_ns;
        if to <= from {
            continue;
        }
        let entries = match read(s, &expr, from, to, Direction::Forward, MAX_TAIL_POLL_LINES).await
        {
            Ok(entries) => entries,
            Err(e) => {
                close(socket, close_code::ERROR, &e).await;
                return Err(e);
            }
        };
        let full = entries.len() >= MAX_TAIL_POLL_LINES;
        let last = entries.last().map(|e| e.ts);
        let fresh: Vec<TailEntry> = entries
            .into_iter()
            .filter(|e| sent.insert(e.key()))
            .collect();
        // Next time, read again from a little before this window's end, or — when the poll
        // was cut short — from the last line read.
        from = match (full, last) {
            (true, Some(ts)) if fresh.is_empty() => ts + 1,
            (true, Some(ts)) => ts,
            _ => from.max(to.saturating_sub(grace)),
        };
        sent.retain(|k| k.0 >= from);
        if fresh.is_empty() {
            // Loki pings every second, so a vanished client is noticed without lines.
            socket
                .send(Message::Ping(Default::default()))
                .await
                .map_err(|e| e.to_string())?;
        } else {
            send(&mut socket, &fresh).await?;
        }
    }
}

/// The lines of the query in `[from, to)`, at most `limit` (newest first when backward).
async fn read(
    s: &ApiState,
    expr: &Arc<Expr>,
    from: i64,
    to: i64,
    direction: Direction,
    limit: usize,
) -> Result<Vec<TailEntry>, String> {
    let store = s.logs().map_err(|e| e.1)?;
    let expr = Arc::clone(expr);
    let r = QueryRange {
        start: from,
        end: to,
        step: 1,
        interval: 0,
        direction,
        limit,
    };
    let value = blocking(s, move || evaluate(&store, &expr, &r).map_err(query_error))
        .await
        .map_err(|e| e.1)?;
    let LogqlValue::Streams(streams) = value else {
        return Ok(Vec::new());
    };
    let mut out: Vec<TailEntry> = streams
        .into_iter()
        .flat_map(|s| {
            let labels = s.labels;
            s.entries.into_iter().map(move |(ts, line)| TailEntry {
                labels: labels.clone(),
                ts,
                line,
            })
        })
        .collect();
    out.sort_by_key(|e| e.ts);
    Ok(out)
}

/// Sends `entries` in messages of at most [`MAX_ENTRIES_PER_MESSAGE`].
async fn send(socket: &mut WebSocket, entries: &[TailEntry]) -> Result<(), String> {
    for chunk in entries.chunks(MAX_ENTRIES_PER_MESSAGE) {
        socket
            .send(Message::text(message(chunk)))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Loki's tail message: one stream object per line.
fn message(entries: &[TailEntry]) -> String {
    let mut out = String::from("{\"streams\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"stream\":{");
        for (j, (n, v)) in e.labels.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_str(&mut out, n);
            out.push(':');
            write_str(&mut out, v);
        }
        out.push_str("},\"values\":[[\"");
        out.push_str(&e.ts.to_string());
        out.push_str("\",");
        write_str(&mut out, &e.line);
        out.push_str("]]}");
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_in_lokis_shape() {
        let e = TailEntry {
            labels: vec![("job".into(), "a".into())],
            ts: 5,
            line: "x \"y\"".into(),
        };
        assert_eq!(
            message(&[e]),
            r#"{"streams":[{"stream":{"job":"a"},"values":[["5","x \"y\""]]}]}"#
        );
    }

    #[test]
    fn parameters_as_lokis() {
        let err = |q: &str| parse(Some(q.into())).err().map(|e| e.1);
        assert_eq!(
            err("query=%7Bjob%3D%22a%22%7D&delay_for=6").as_deref(),
            Some("delay_for can't be greater than 5")
        );
        assert_eq!(
            err("query=%7Bjob%3D%22a%22%7D&limit=0").as_deref(),
            Some("limit must be a positive value")
        );
        let ok = parse(Some("query=%7Bjob%3D%22a%22%7D&delay_for=2".into())).unwrap();
        assert_eq!((ok.limit, ok.delay_ns), (100, 2_000_000_000));
    }
}
