//! The client-side request budget (a sliding window: at most N requests in any window) and the
//! backoff with jitter used when Graph gives no Retry-After. Time comes from the injected clock,
//! randomness from a seeded generator, so both are reproducible in tests.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;

/// Waits before a request so that no window holds more than `max_requests`.
#[derive(Debug)]
pub struct RequestBudget {
    max_requests: u32,
    window: Duration,
    /// When each request of the current window was sent; never longer than `max_requests`.
    sent_at: Mutex<VecDeque<DateTime<Utc>>>,
    requests_total: AtomicU64,
    waited_ms_total: AtomicU64,
}

impl RequestBudget {
    pub fn new(max_requests: u32, window: Duration) -> RequestBudget {
        RequestBudget {
            max_requests: max_requests.max(1),
            window,
            sent_at: Mutex::new(VecDeque::with_capacity(max_requests.max(1) as usize)),
            requests_total: AtomicU64::new(0),
            waited_ms_total: AtomicU64::new(0),
        }
    }

    /// Takes one request from the budget, waiting on `clock` while the window is full.
    pub async fn acquire(&self, clock: &dyn Clock) {
        // Each pass either takes a slot or waits for the oldest slot to leave the window, so a
        // few passes suffice; the bound only guards against a clock that never moves.
        for _ in 0..1_000 {
            let wait = self.try_acquire(clock.now());
            match wait {
                None => {
                    self.requests_total.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Some(wait) => {
                    self.waited_ms_total
                        .fetch_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
                    clock.sleep(wait).await;
                }
            }
        }
        self.requests_total.fetch_add(1, Ordering::Relaxed);
    }

    /// `None` when a slot was taken, else how long until one frees.
    fn try_acquire(&self, now: DateTime<Utc>) -> Option<Duration> {
        let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::seconds(20));
        let mut sent_at = self.sent_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while sent_at.front().is_some_and(|oldest| *oldest + window <= now) {
            sent_at.pop_front();
        }
        if sent_at.len() < self.max_requests as usize {
            sent_at.push_back(now);
            return None;
        }
        let oldest = sent_at.front().copied().unwrap_or(now);
        let wait = (oldest + window - now).to_std().unwrap_or(Duration::from_millis(1));
        Some(wait.max(Duration::from_millis(1)))
    }

    /// Requests sent through this budget since it was made.
    pub fn requests_total(&self) -> u64 {
        self.requests_total.load(Ordering::Relaxed)
    }

    /// Time spent waiting for the budget since it was made.
    pub fn waited_ms_total(&self) -> u64 {
        self.waited_ms_total.load(Ordering::Relaxed)
    }
}

/// Exponential backoff with "equal jitter": half the step fixed, half random, capped.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    random: Mutex<fastrand::Rng>,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration, seed: u64) -> Backoff {
        Backoff { base, cap, random: Mutex::new(fastrand::Rng::with_seed(seed)) }
    }

    /// The wait before retry number `attempt` (0 = the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let step = self.base.saturating_mul(1u32 << attempt.min(16)).min(self.cap);
        let step_ms = u64::try_from(step.as_millis()).unwrap_or(u64::MAX).max(2);
        let half_ms = step_ms / 2;
        let jitter_ms = self.random.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).u64(0..=half_ms);
        Duration::from_millis(half_ms + jitter_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::VirtualClock;

    #[tokio::test]
    async fn a_full_window_waits_for_the_oldest_request_to_leave_it() {
        let clock = VirtualClock::scenario_start();
        let start = clock.now();
        let budget = RequestBudget::new(3, Duration::from_secs(20));
        for _ in 0..7 {
            budget.acquire(&clock).await;
        }
        // 3 at t=0, 3 at t=20 s, 1 at t=40 s.
        assert_eq!((clock.now() - start).num_seconds(), 40);
        assert_eq!(budget.requests_total(), 7);
    }

    #[test]
    fn backoff_grows_stays_under_the_cap_and_repeats_with_the_seed() {
        let first = Backoff::new(Duration::from_millis(500), Duration::from_secs(8), 7);
        let second = Backoff::new(Duration::from_millis(500), Duration::from_secs(8), 7);
        let delays: Vec<Duration> = (0..8).map(|attempt| first.delay(attempt)).collect();
        let again: Vec<Duration> = (0..8).map(|attempt| second.delay(attempt)).collect();
        assert_eq!(delays, again);
        assert!(delays[0] >= Duration::from_millis(250) && delays[0] <= Duration::from_millis(500));
        assert!(delays[4] >= Duration::from_secs(4) && delays[7] <= Duration::from_secs(8));
    }
}
