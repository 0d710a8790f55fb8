//! When quick and full syncs fall due. Pure: it is told the time.

use crate::domain::vocabulary::SyncKind;

/// Default intervals (DESIGN section 3).
pub const QUICK_SYNC_INTERVAL_S_DEFAULT: u64 = 900;
pub const FULL_SYNC_INTERVAL_S_DEFAULT: u64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub quick_interval_s: u64,
    pub full_interval_s: u64,
    next_quick_at_us: i64,
    next_full_at_us: i64,
}

impl Schedule {
    /// Both kinds fall due one interval after `start_us`.
    pub fn starting(start_us: i64, quick_interval_s: u64, full_interval_s: u64) -> Schedule {
        let quick_interval_s = quick_interval_s.max(1);
        let full_interval_s = full_interval_s.max(1);
        Schedule {
            quick_interval_s,
            full_interval_s,
            next_quick_at_us: start_us + seconds_us(quick_interval_s),
            next_full_at_us: start_us + seconds_us(full_interval_s),
        }
    }

    /// The earliest sync due at or before `now_us`, a full one first when both are.
    pub fn due(&self, now_us: i64) -> Option<(SyncKind, i64)> {
        if self.next_full_at_us <= now_us && self.next_full_at_us <= self.next_quick_at_us {
            return Some((SyncKind::Full, self.next_full_at_us));
        }
        if self.next_quick_at_us <= now_us {
            return Some((SyncKind::Quick, self.next_quick_at_us));
        }
        (self.next_full_at_us <= now_us).then_some((SyncKind::Full, self.next_full_at_us))
    }

    /// When the next sync falls due.
    pub fn next_due_us(&self) -> i64 {
        self.next_quick_at_us.min(self.next_full_at_us)
    }

    /// A sync of `kind` ran at `at_us`: its timer restarts (a full sync also covers a quick one).
    pub fn ran(&mut self, kind: SyncKind, at_us: i64) {
        self.next_quick_at_us = at_us + seconds_us(self.quick_interval_s);
        if kind == SyncKind::Full {
            self.next_full_at_us = at_us + seconds_us(self.full_interval_s);
        }
    }
}

fn seconds_us(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX / 2_000_000).saturating_mul(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_syncs_fall_due_every_interval_and_full_ones_win_ties() {
        let mut schedule = Schedule::starting(0, 900, 1_800);
        assert_eq!(schedule.due(899_999_999), None);
        assert_eq!(schedule.due(900_000_000), Some((SyncKind::Quick, 900_000_000)));
        schedule.ran(SyncKind::Quick, 900_000_000);
        assert_eq!(schedule.due(1_800_000_000), Some((SyncKind::Full, 1_800_000_000)));
        schedule.ran(SyncKind::Full, 1_800_000_000);
        assert_eq!(schedule.next_due_us(), 2_700_000_000);
    }
}
