//! The client: a task that batches what senders hand it, per tenant, and pushes each batch
//! with retries, one request at a time, as Promtail's client does.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::batch::{entry_size, Batch, TENANT_LABEL};
use super::config::{BackoffConfig, ClientConfig};
use super::metrics::{ClientMetrics, REASON_GENERIC, REASON_RATE_LIMITED};
use super::ClientError;
use crate::Entry;

/// At most this many [`Client::send`] calls wait in the client's queue; more wait to enter it.
pub const MAX_QUEUED_REQUESTS: usize = 64;
/// How much of an error answer's body is kept for the log and the error (Promtail's).
const MAX_ERROR_BODY: usize = 1024;
const PROTOBUF: &str = "application/x-protobuf";
const TENANT_HEADER: &str = "X-Scope-OrgID";
const AGENT: &str = concat!("bongsu/", env!("CARGO_PKG_VERSION"));

/// Where a sender learns the fate of its entries.
type Ack = oneshot::Sender<Result<(), ClientError>>;

/// Entries of one tenant from one `send` call, and where to report their fate.
struct Request {
    tenant: String,
    entries: Vec<Entry>,
    ack: Ack,
}

/// A Loki-push client (one `clients:` entry). Must be created inside a Tokio runtime.
pub struct Client {
    tx: mpsc::Sender<Request>,
    task: JoinHandle<()>,
    tenant_id: String,
}

impl Client {
    /// Checks `config`, builds its HTTP client and starts the batching task.
    pub fn new(config: ClientConfig, metrics: Arc<ClientMetrics>) -> Result<Client, ClientError> {
        config.validate()?;
        let http = bongsu_httpclient::client(&config.http, false).map_err(ClientError::Config)?;
        let (tx, rx) = mpsc::channel(MAX_QUEUED_REQUESTS);
        let tenant_id = config.tenant_id.clone();
        let worker = Worker {
            host: config.host(),
            config,
            http,
            metrics,
        };
        Ok(Client {
            tx,
            task: tokio::spawn(worker.run(rx)),
            tenant_id,
        })
    }

    /// Queues `entries`; the future completes once every batch holding them was acknowledged
    /// by the receiver (`Ok`) or given up (`Err(Dropped)`). It does not borrow the client, so
    /// it can be spawned; its first poll queues the entries. A `__tenant_id__` label routes an
    /// entry to that tenant instead of `tenant_id`.
    pub fn send(
        &self,
        entries: Vec<Entry>,
    ) -> impl Future<Output = Result<(), ClientError>> + Send + 'static {
        let mut by_tenant: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
        for e in entries {
            let tenant = e.labels.get(TENANT_LABEL).unwrap_or(&self.tenant_id);
            by_tenant.entry(tenant.to_string()).or_default().push(e);
        }
        let tx = self.tx.clone();
        async move {
            let mut waits = Vec::with_capacity(by_tenant.len());
            for (tenant, entries) in by_tenant {
                let (ack, done) = oneshot::channel();
                tx.send(Request {
                    tenant,
                    entries,
                    ack,
                })
                .await
                .map_err(|_| ClientError::Stopped)?;
                waits.push(done);
            }
            drop(tx);
            let mut result = Ok(());
            for done in waits {
                let r = done.await.unwrap_or(Err(ClientError::Stopped));
                if result.is_ok() {
                    result = r;
                }
            }
            result
        }
    }

    /// Sends what is batched (with retries) and stops.
    pub async fn stop(self) {
        drop(self.tx);
        if let Err(e) = self.task.await {
            tracing::error!(err = %e, "Loki client task failed");
        }
    }
}

struct Worker {
    config: ClientConfig,
    host: String,
    http: reqwest::Client,
    metrics: Arc<ClientMetrics>,
}

/// A `send` call's request in the worker: how many batches still hold its entries (plus one
/// while they are being added) and the first failure among them.
struct Pending {
    ack: Ack,
    parts: usize,
    result: Result<(), ClientError>,
}

/// The worker's state: batches by tenant and the requests they hold, by id.
#[derive(Default)]
struct State {
    batches: BTreeMap<String, Batch>,
    pending: HashMap<u64, Pending>,
    next_id: u64,
}

impl State {
    /// One batch holding part of request `id` is done with `result`.
    fn part_done(&mut self, id: u64, result: &Result<(), ClientError>) {
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        if p.result.is_ok() {
            p.result = result.clone();
        }
        p.parts -= 1;
        if p.parts == 0 {
            if let Some(p) = self.pending.remove(&id) {
                let _ = p.ack.send(p.result);
            }
        }
    }
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<Request>) {
        let wait = self.config.batch_wait;
        let mut st = State::default();
        loop {
            let deadline = st.batches.values().map(|b| b.created + wait).min();
            tokio::select! {
                req = rx.recv() => match req {
                    Some(req) => self.add(&mut st, req).await,
                    None => {
                        for (tenant, batch) in std::mem::take(&mut st.batches) {
                            self.flush(&mut st, &tenant, batch).await;
                        }
                        return;
                    }
                },
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    let now = Instant::now();
                    let due: Vec<String> = st
                        .batches
                        .iter()
                        .filter(|(_, b)| b.created + wait <= now)
                        .map(|(t, _)| t.clone())
                        .collect();
                    for tenant in due {
                        if let Some(batch) = st.batches.remove(&tenant) {
                            self.flush(&mut st, &tenant, batch).await;
                        }
                    }
                }
            }
        }
    }

    /// Adds a request's entries one by one to its tenant's batch, as Promtail adds entries:
    /// a batch that an entry would take over `batchsize` is sent first (an entry larger than
    /// `batchsize` goes alone), and a batch that reached `batchsize` is sent at once.
    async fn add(&self, st: &mut State, req: Request) {
        let id = st.next_id;
        st.next_id += 1;
        st.pending.insert(
            id,
            Pending {
                ack: req.ack,
                parts: 1,
                result: Ok(()),
            },
        );
        let limit = self.config.batch_size;
        for e in req.entries {
            let size = entry_size(&e);
            let over = st
                .batches
                .get(&req.tenant)
                .is_some_and(|b| !b.is_empty() && b.bytes() + size > limit);
            if over {
                if let Some(full) = st.batches.remove(&req.tenant) {
                    self.flush(st, &req.tenant, full).await;
                }
            }
            let batch = st
                .batches
                .entry(req.tenant.clone())
                .or_insert_with(Batch::new);
            batch.add(e, &self.config.external_labels);
            if batch.requests.last() != Some(&id) {
                batch.requests.push(id);
                if let Some(p) = st.pending.get_mut(&id) {
                    p.parts += 1;
                }
            }
        }
        if st
            .batches
            .get(&req.tenant)
            .is_some_and(|b| b.bytes() >= limit)
        {
            if let Some(full) = st.batches.remove(&req.tenant) {
                self.flush(st, &req.tenant, full).await;
            }
        }
        st.part_done(id, &Ok(()));
    }

    /// Sends a batch and tells its requests how it went.
    async fn flush(&self, st: &mut State, tenant: &str, mut batch: Batch) {
        let result = if batch.is_empty() {
            Ok(())
        } else {
            match batch.encode() {
                Ok(body) => self.deliver(tenant, body.into(), batch.entries()).await,
                Err(e) => {
                    tracing::error!(err = %e, "error encoding batch");
                    Err(e)
                }
            }
        };
        for id in batch.requests {
            st.part_done(id, &result);
        }
    }

    /// Pushes one encoded batch, retrying 5xx, 429 and failed connections with backoff.
    async fn deliver(
        &self,
        tenant: &str,
        body: bytes::Bytes,
        entries: usize,
    ) -> Result<(), ClientError> {
        let (host, len) = (self.host.as_str(), body.len());
        self.metrics.encoded(host, len);
        let mut backoff = Backoff::new(self.config.backoff);
        let (status, message) = loop {
            let start = std::time::Instant::now();
            let (status, err) = self.post(tenant, body.clone()).await;
            self.metrics.request(host, status, start.elapsed());
            let rate_limited = status == Some(429);
            if rate_limited && self.config.drop_rate_limited_batches {
                tracing::warn!(
                    tenant,
                    "dropping batch due to rate limiting applied at ingester"
                );
                self.metrics
                    .dropped(host, tenant, REASON_RATE_LIMITED, entries, len);
                return Err(ClientError::Dropped {
                    reason: REASON_RATE_LIMITED,
                    message: err.unwrap_or_default(),
                });
            }
            let Some(err) = err else {
                self.metrics.sent(host, entries, len);
                return Ok(());
            };
            let retryable = status.is_none_or(|s| rate_limited || s / 100 == 5);
            if !retryable {
                break (status, err);
            }
            tracing::warn!(?status, tenant, error = %err, "error sending batch, will retry");
            self.metrics.retry(host, tenant);
            if !backoff.wait().await {
                break (status, err);
            }
        };
        tracing::error!(?status, tenant, error = %message, "final error sending batch");
        let reason = if status == Some(429) {
            REASON_RATE_LIMITED
        } else {
            REASON_GENERIC
        };
        self.metrics.dropped(host, tenant, reason, entries, len);
        Err(ClientError::Dropped { reason, message })
    }

    /// One push request: the answer's status (none when no answer came) and, unless it was a
    /// 2xx, the error as Promtail words it.
    async fn post(&self, tenant: &str, body: bytes::Bytes) -> (Option<u16>, Option<String>) {
        let mut req = self
            .http
            .post(&self.config.url)
            .timeout(self.config.timeout)
            .header(CONTENT_TYPE, PROTOBUF)
            .header(USER_AGENT, AGENT)
            .body(body);
        let own = [CONTENT_TYPE.as_str(), USER_AGENT.as_str()];
        for (k, v) in &self.config.headers {
            let taken = own.iter().any(|o| o.eq_ignore_ascii_case(k))
                || (!tenant.is_empty() && k.eq_ignore_ascii_case(TENANT_HEADER));
            if taken {
                tracing::warn!(key = %k, "custom header key already exists, skipping");
                continue;
            }
            req = req.header(k.as_str(), v.as_str());
        }
        if !tenant.is_empty() {
            req = req.header(TENANT_HEADER, tenant);
        }
        let req = match bongsu_httpclient::with_auth(&self.config.http, req) {
            Ok(r) => r,
            Err(e) => return (None, Some(e.to_string())),
        };
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return (None, Some(e.to_string())),
        };
        let status = resp.status();
        if status.is_success() {
            return (Some(status.as_u16()), None);
        }
        let mut text = Vec::new();
        while text.len() < MAX_ERROR_BODY {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    text.extend_from_slice(&c[..c.len().min(MAX_ERROR_BODY - text.len())])
                }
                _ => break,
            }
        }
        let text = String::from_utf8_lossy(&text);
        let line = text.lines().next().unwrap_or("");
        (
            Some(status.as_u16()),
            Some(format!(
                "server returned HTTP status {status} ({}): {line}",
                status.as_u16()
            )),
        )
    }
}

/// dskit's backoff, as Promtail uses it: each wait is drawn between the current step and twice
/// it, the step doubling up to `max_period`; `max_retries` attempts in all (0: no limit).
struct Backoff {
    config: BackoffConfig,
    retries: u32,
    low: Duration,
    high: Duration,
}

impl Backoff {
    fn new(config: BackoffConfig) -> Backoff {
        Backoff {
            config,
            retries: 0,
            low: config.min_period,
            high: (config.min_period * 2).min(config.max_period),
        }
    }

    /// Waits before the next attempt; false (without waiting) when no attempt is left.
    async fn wait(&mut self) -> bool {
        self.retries += 1;
        if self.config.max_retries != 0 && self.retries >= self.config.max_retries {
            return false;
        }
        let delay = if self.high > self.low {
            rand::rng().random_range(self.low..self.high)
        } else {
            self.low
        };
        if self.high < self.config.max_period {
            self.low = (self.low * 2).min(self.config.max_period);
            self.high = (self.high * 2).min(self.config.max_period);
        }
        tokio::time::sleep(delay).await;
        true
    }
}
