//! How many shards a queue wants, computed as Prometheus' queue manager does every 10 seconds:
//! exponentially weighted rates of samples in, samples out and time spent sending give the
//! time one sample takes to send; the shards needed are that times the rate of samples kept,
//! plus 5% of the backlog per interval. A change within 30% of the current number is ignored,
//! and the result is clamped to `[min_shards, max_shards]`.

use std::time::Duration;

/// How often the desired number of shards is computed.
pub(crate) const SHARD_UPDATE_INTERVAL: Duration = Duration::from_secs(10);
/// Weight of the newest interval in the moving rates.
const EWMA_WEIGHT: f64 = 0.2;
/// Changes smaller than this fraction of the current shards are not made.
const SHARD_TOLERANCE: f64 = 0.3;
/// Fraction of the backlog the shards should catch up per interval.
const BACKLOG_CATCHUP: f64 = 0.05;

/// A moving rate per second over fixed intervals.
#[derive(Debug, Default)]
struct Ewma {
    rate: Option<f64>,
    last_total: f64,
}

impl Ewma {
    fn tick(&mut self, total: f64, interval: Duration) -> f64 {
        let instant = (total - self.last_total).max(0.0) / interval.as_secs_f64();
        self.last_total = total;
        let rate = match self.rate {
            Some(r) => r + EWMA_WEIGHT * (instant - r),
            None => instant,
        };
        self.rate = Some(rate);
        rate
    }
}

/// Totals read at one interval's end.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Totals {
    pub samples_in: u64,
    pub samples_dropped: u64,
    pub samples_out: u64,
    /// Seconds spent in send calls, summed over shards.
    pub send_seconds: f64,
    /// Highest timestamp read minus highest sent, in seconds.
    pub delay_seconds: f64,
}

/// The moving rates of one queue.
#[derive(Debug, Default)]
pub(crate) struct ShardCalculator {
    data_in: Ewma,
    dropped: Ewma,
    data_out: Ewma,
    out_duration: Ewma,
}

impl ShardCalculator {
    /// The number of shards wanted, given the totals now and `current` shards.
    pub(crate) fn desired(&mut self, t: Totals, current: usize, min: usize, max: usize) -> usize {
        let i = SHARD_UPDATE_INTERVAL;
        let data_in = self.data_in.tick(t.samples_in as f64, i);
        let dropped = self.dropped.tick(t.samples_dropped as f64, i);
        let data_out = self.data_out.tick(t.samples_out as f64, i);
        let out_duration = self.out_duration.tick(t.send_seconds, i);
        if data_out <= 0.0 {
            return current;
        }
        let kept_ratio = if data_in > 0.0 {
            ((data_in - dropped) / data_in).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let pending = t.delay_seconds.max(0.0) * data_in * kept_ratio;
        let time_per_sample = out_duration / data_out;
        let wanted = time_per_sample * (data_in * kept_ratio + BACKLOG_CATCHUP * pending);
        let lower = current as f64 * (1.0 - SHARD_TOLERANCE);
        let upper = current as f64 * (1.0 + SHARD_TOLERANCE);
        let wanted = wanted.ceil();
        if lower <= wanted && wanted <= upper {
            return current;
        }
        (wanted as usize).clamp(min, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_follow_the_time_samples_take_to_send() {
        // 10,000 samples/s in and out, one second of sending per 1,000 samples: 10 shards.
        let t = Totals {
            samples_in: 100_000,
            samples_out: 100_000,
            send_seconds: 100.0,
            ..Totals::default()
        };
        let fresh = |current, max| ShardCalculator::default().desired(t, current, 1, max);
        assert_eq!(fresh(1, 50), 10);
        assert_eq!(fresh(30, 50), 10, "fewer when idle");
        assert_eq!(fresh(9, 50), 9, "within the tolerance");
        assert_eq!(fresh(1, 3), 3, "clamped to max_shards");
        let backlog = Totals {
            delay_seconds: 100.0,
            ..t
        };
        assert_eq!(
            ShardCalculator::default().desired(backlog, 1, 1, 100),
            60,
            "5% of a 100 s backlog on top"
        );
        assert_eq!(
            ShardCalculator::default().desired(Totals::default(), 5, 1, 50),
            5,
            "no data out yet"
        );
    }
}
