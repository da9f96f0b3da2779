//! Subscriptions to the alert store: a bounded channel per subscriber (the dispatcher, the
//! inhibitor) that never blocks the store and never loses an alert. When a channel is full
//! the store stops filling it and marks the subscriber lagged; the subscriber then skips what
//! its channel still holds and re-reads every stored alert, which carries the newest state of
//! each one it missed. Re-reading is harmless because subscribers treat an alert they have
//! already seen as an update; for the dispatcher it is what every configuration reload does.
//!
//! Owns the channel and the resync; what subscribers do with alerts is theirs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::mpsc;

use bongsu_telemetry::{Encoder, Family};

use super::Inner;
use crate::types::Alert;

/// Alerts a subscriber may fall behind before it re-reads the store instead (Alertmanager
/// blocks the sender at 200; a store lock must not wait on a subscriber).
pub const SUBSCRIBER_CAPACITY: usize = 8192;

/// The store's end of a subscription.
pub(super) struct Subscriber {
    tx: mpsc::Sender<Arc<Alert>>,
    lagged: Arc<AtomicBool>,
}

impl Subscriber {
    /// Hands `alert` over; false once the subscription is gone. Called under the store lock.
    pub(super) fn offer(&self, alert: &Arc<Alert>, metrics: &SubscriberMetrics) -> bool {
        if self.lagged.load(Ordering::Acquire) {
            // The resync will read this alert from the store.
            return !self.tx.is_closed();
        }
        match self.tx.try_send(alert.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lagged.store(true, Ordering::Release);
                metrics.overflows.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    capacity = SUBSCRIBER_CAPACITY,
                    "an alert store subscriber fell behind; it re-reads every stored alert"
                );
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// Counts of the store's subscriptions.
#[derive(Default)]
pub(super) struct SubscriberMetrics {
    overflows: AtomicU64,
}

static OVERFLOWS: Family = Family::counter(
    "bongsu_alertmanager_subscriber_overflows_total",
    "Times a subscriber of the alert store (dispatcher, inhibitor) fell a full channel of alerts behind and re-read the store.",
    &[],
);

impl SubscriberMetrics {
    pub(super) fn encode(&self, enc: &mut Encoder<'_>) {
        enc.single(&OVERFLOWS, self.overflows.load(Ordering::Relaxed) as f64);
    }
}

/// Every alert put into the store after the subscription was taken, in order, or after an
/// overflow the newest state of every stored alert.
pub struct Subscription {
    rx: mpsc::Receiver<Arc<Alert>>,
    lagged: Arc<AtomicBool>,
    store: Weak<Mutex<Inner>>,
    resync: std::vec::IntoIter<Arc<Alert>>,
}

impl Subscription {
    pub(super) fn new(store: Weak<Mutex<Inner>>) -> (Subscriber, Subscription) {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_CAPACITY);
        let lagged = Arc::new(AtomicBool::new(false));
        let subscriber = Subscriber {
            tx,
            lagged: lagged.clone(),
        };
        let subscription = Subscription {
            rx,
            lagged,
            store,
            resync: Vec::new().into_iter(),
        };
        (subscriber, subscription)
    }

    /// The next alert; `None` once the store is gone. Cancel-safe, so it can sit in a
    /// `select!`: only the channel is awaited, and the resync position lives in `self`.
    pub async fn recv(&mut self) -> Option<Arc<Alert>> {
        loop {
            if let Some(a) = self.resync.next() {
                return Some(a);
            }
            if !self.lagged.load(Ordering::Acquire) {
                return self.rx.recv().await;
            }
            let store = self.store.upgrade()?;
            // Under the store lock no alert is put meanwhile: everything put before is in the
            // store's state read here, everything put after goes to the emptied channel.
            let inner = store.lock();
            while self.rx.try_recv().is_ok() {}
            self.lagged.store(false, Ordering::Release);
            self.resync = inner
                .alerts
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .into_iter();
        }
    }
}
