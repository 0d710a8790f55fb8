//! Time as an input: the system clock for the daemon, a virtual clock for simulations. Nothing
//! outside this file reads the system time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

#[async_trait]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Waits `duration`. A virtual clock moves its time forward instead of waiting.
    async fn sleep(&self, duration: Duration);
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A clock that moves only when told to (or when something sleeps on it).
#[derive(Debug, Clone)]
pub struct VirtualClock {
    now_us: Arc<AtomicI64>,
}

impl VirtualClock {
    pub fn starting_at(start: DateTime<Utc>) -> VirtualClock {
        VirtualClock { now_us: Arc::new(AtomicI64::new(start.timestamp_micros())) }
    }

    /// 2026-01-01T00:00:00Z, where every scenario starts (DESIGN section 7).
    pub fn scenario_start() -> VirtualClock {
        VirtualClock::starting_at(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid date"))
    }

    pub fn advance(&self, duration: Duration) {
        let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        self.now_us.fetch_add(micros, Ordering::SeqCst);
    }
}

#[async_trait]
impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        let micros = self.now_us.load(Ordering::SeqCst);
        Utc.timestamp_micros(micros).single().expect("virtual time within chrono's range")
    }
    async fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }
}
