//! The dispatcher: routes each alert from the store to the aggregation groups of the routes
//! it matches, and runs each group's timers as Alertmanager does: the first flush
//! `group_wait` after the group was created (at once if its first alert is older than
//! that), then a flush every `group_interval`; the dedup stage of the pipeline decides
//! whether a flush sends anything, and resends after `repeat_interval`.
//!
//! Owns the groups and their limit; not alert storage (`provider`) nor delivery (`notify`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use bongsu_telemetry::{Encoder, Family};

use crate::matcher::LabelSet;
use crate::notify::{FlushInfo, Pipeline};
use crate::provider::AlertStore;
use crate::route::Route;
use crate::types::{add, compare_alerts, fingerprint, Alert, Clock, Fingerprint};

static AGGREGATION_GROUPS: Family = Family::gauge(
    "alertmanager_dispatcher_aggregation_groups",
    "Number of active aggregation groups",
    &[],
);
static GROUP_LIMIT_REACHED: Family = Family::counter(
    "alertmanager_dispatcher_aggregation_group_limit_reached_total",
    "Number of times when dispatcher failed to create new aggregation group due to limit.",
    &[],
);

/// How often empty groups are dropped (Alertmanager's maintenance interval).
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(30);

/// bongsu's `--alertmanager.max-aggregation-groups` default: each group is a task with
/// timers, so this bounds tasks as `--alertmanager.max-alerts` bounds alerts.
pub const DEFAULT_MAX_AGGREGATION_GROUPS: usize = 100_000;

/// The limit on aggregation groups and how often it refused one, shared by the dispatchers
/// of successive configurations so the count survives reloads. Alertmanager has the limit
/// (and the metric) for embedders but no flag; bongsu sets it with
/// `--alertmanager.max-aggregation-groups`.
pub struct GroupLimit {
    max: Option<usize>,
    reached: AtomicU64,
}

impl GroupLimit {
    /// At most `max` groups over all routes; `None` sets no limit.
    pub fn new(max: Option<usize>) -> GroupLimit {
        GroupLimit {
            max,
            reached: AtomicU64::new(0),
        }
    }

    /// How many times an alert found no room for its group.
    pub fn reached(&self) -> u64 {
        self.reached.load(Ordering::Relaxed)
    }
}

/// One aggregation group.
pub struct AggrGroup {
    pub key: String,
    pub labels: LabelSet,
    pub receiver: String,
    /// The route's post-order index.
    pub route_idx: usize,
    info: Arc<FlushInfo>,
    group_wait: Duration,
    state: Mutex<GroupState>,
    flush_now: Notify,
    task: Mutex<Option<JoinHandle<()>>>,
}

struct GroupState {
    alerts: HashMap<Fingerprint, Arc<Alert>>,
    has_flushed: bool,
}

impl AggrGroup {
    /// The group's alerts.
    pub fn alerts(&self) -> Vec<Arc<Alert>> {
        self.state.lock().alerts.values().cloned().collect()
    }

    fn insert(&self, alert: Arc<Alert>, now: jiff::Timestamp) {
        let mut st = self.state.lock();
        let due = add(alert.starts_at, self.group_wait) < now;
        st.alerts.insert(alert.fingerprint(), alert);
        if !st.has_flushed && due {
            self.flush_now.notify_one();
        }
    }

    fn is_empty(&self) -> bool {
        self.state.lock().alerts.is_empty()
    }

    fn stop(&self) {
        if let Some(t) = self.task.lock().take() {
            t.abort();
        }
    }

    async fn run(self: Arc<Self>, pipeline: Arc<Pipeline>, clock: Clock) {
        let interval = self.info.group_interval;
        let mut next = tokio::time::Instant::now() + self.group_wait;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = self.flush_now.notified() => {}
            }
            next = tokio::time::Instant::now() + interval;
            self.state.lock().has_flushed = true;
            self.flush(&pipeline, clock.now()).await;
        }
    }

    async fn flush(&self, pipeline: &Arc<Pipeline>, now: jiff::Timestamp) {
        let snapshot = self.alerts();
        if snapshot.is_empty() {
            return;
        }
        let mut resolved = Vec::new();
        let mut alerts: Vec<Alert> = snapshot
            .iter()
            .map(|a| {
                if a.resolved_at(now) {
                    resolved.push(a.clone());
                }
                Alert::clone(a)
            })
            .collect();
        alerts.sort_by(compare_alerts);
        if pipeline.exec(self.info.clone(), alerts, now).await {
            // Forget resolved alerts just notified, unless they changed meanwhile (fired
            // again).
            let mut st = self.state.lock();
            for a in resolved {
                let fp = a.fingerprint();
                if st.alerts.get(&fp).is_some_and(|cur| Arc::ptr_eq(cur, &a)) {
                    st.alerts.remove(&fp);
                }
            }
        }
    }
}

type GroupId = (usize, Fingerprint);

/// Routes alerts into groups, for one configuration.
pub struct Dispatcher {
    route: Arc<Route>,
    pipeline: Arc<Pipeline>,
    clock: Clock,
    limit: Arc<GroupLimit>,
    groups: Mutex<HashMap<GroupId, Arc<AggrGroup>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Dispatcher {
    /// Starts dispatching the store's alerts, those already there first, in at most
    /// `limit` groups.
    pub fn start(
        route: Arc<Route>,
        pipeline: Arc<Pipeline>,
        store: &AlertStore,
        limit: Arc<GroupLimit>,
    ) -> Arc<Dispatcher> {
        let d = Arc::new(Dispatcher {
            route,
            pipeline,
            clock: store.clock(),
            limit,
            groups: Mutex::new(HashMap::new()),
            task: Mutex::new(None),
        });
        let (initial, mut rx) = store.subscribe();
        for a in initial {
            d.process(a);
        }
        let me = d.clone();
        let task = tokio::spawn(async move {
            let mut maintenance = tokio::time::interval(MAINTENANCE_INTERVAL);
            maintenance.tick().await;
            loop {
                tokio::select! {
                    a = rx.recv() => match a {
                        Some(a) => me.process(a),
                        None => return,
                    },
                    _ = maintenance.tick() => me.drop_empty_groups(),
                }
            }
        });
        *d.task.lock() = Some(task);
        d
    }

    /// Puts the alert into the group of every route it matches. Without room for a new
    /// group, the alert is left out of that route, counted and logged, as Alertmanager does;
    /// it gets in when the sender re-sends it after empty groups were dropped.
    fn process(&self, alert: Arc<Alert>) {
        let now = self.clock.now();
        for route in self.route.match_labels(&alert.labels) {
            let labels = route.group_labels(&alert.labels);
            let id = (route.idx, fingerprint(&labels));
            let mut groups = self.groups.lock();
            if let Some(g) = groups.get(&id) {
                g.insert(alert.clone(), now);
                continue;
            }
            if let Some(max) = self.limit.max.filter(|&max| groups.len() >= max) {
                self.limit.reached.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    err = "too many aggregation groups, cannot create new group for alert",
                    groups = groups.len(),
                    limit = max,
                    alert = alert.labels.get("alertname").map_or("", String::as_str),
                    "Failed to create aggregation group"
                );
                continue;
            }
            let key = route.group_key(&labels);
            let g = Arc::new(AggrGroup {
                info: Arc::new(FlushInfo {
                    group_key: key.clone(),
                    group_labels: labels.clone(),
                    receiver: route.opts.receiver.clone(),
                    group_interval: route.opts.group_interval,
                    repeat_interval: route.opts.repeat_interval,
                    mute_time_intervals: route.opts.mute_time_intervals.clone(),
                    active_time_intervals: route.opts.active_time_intervals.clone(),
                }),
                key,
                labels,
                receiver: route.opts.receiver.clone(),
                route_idx: route.idx,
                group_wait: route.opts.group_wait,
                state: Mutex::new(GroupState {
                    alerts: HashMap::new(),
                    has_flushed: false,
                }),
                flush_now: Notify::new(),
                task: Mutex::new(None),
            });
            g.insert(alert.clone(), now);
            let task = tokio::spawn(g.clone().run(self.pipeline.clone(), self.clock));
            *g.task.lock() = Some(task);
            groups.insert(id, g);
        }
    }

    fn drop_empty_groups(&self) {
        self.groups.lock().retain(|_, g| {
            let empty = g.is_empty();
            if empty {
                g.stop();
            }
            !empty
        });
    }

    /// The current groups.
    pub fn groups(&self) -> Vec<Arc<AggrGroup>> {
        self.groups.lock().values().cloned().collect()
    }

    /// Writes Alertmanager's dispatcher metric families.
    pub fn write_metrics(&self, enc: &mut Encoder<'_>) {
        enc.single(&AGGREGATION_GROUPS, self.groups.lock().len() as f64);
        enc.single(&GROUP_LIMIT_REACHED, self.limit.reached() as f64);
    }

    /// Stops dispatching and every group's timers.
    pub fn stop(&self) {
        if let Some(t) = self.task.lock().take() {
            t.abort();
        }
        for g in self.groups.lock().drain().map(|(_, g)| g) {
            g.stop();
        }
    }
}

#[cfg(test)]
mod tests;
