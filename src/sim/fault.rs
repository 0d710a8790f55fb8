//! Injected faults: the next N calls to a twin fail one way (scenario step `fault`).

use std::collections::VecDeque;

/// How the next calls fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// The service refuses for now (Exchange's budget, Graph's 429, EWS's ErrorServerBusy).
    Throttle,
    /// No answer in time. For a state-changing Exchange cmdlet the change is applied and only
    /// the reply is lost, which is what makes a timeout "in doubt".
    Timeout,
    /// A server error; nothing is applied.
    Error,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Throttle => "throttle",
            FaultKind::Timeout => "timeout",
            FaultKind::Error => "error",
        }
    }

    /// The scenario spelling: `throttle`, `timeout`, `error`.
    pub fn parse(text: &str) -> Option<FaultKind> {
        [FaultKind::Throttle, FaultKind::Timeout, FaultKind::Error].into_iter().find(|kind| kind.as_str() == text)
    }
}

/// Faults waiting for the next calls, in the order they were injected.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultQueue {
    pending: VecDeque<(FaultKind, u32)>,
}

/// More injections than this at once is a scenario bug, not a test of anything.
const MAX_PENDING_INJECTIONS: usize = 1024;

impl FaultQueue {
    /// Queues `count` failures of `kind` after those already queued. Returns false when the
    /// queue is full.
    pub(crate) fn inject(&mut self, kind: FaultKind, count: u32) -> bool {
        if count == 0 {
            return true;
        }
        if self.pending.len() >= MAX_PENDING_INJECTIONS {
            return false;
        }
        self.pending.push_back((kind, count));
        true
    }

    /// The fault for the next call, if any.
    pub(crate) fn take(&mut self) -> Option<FaultKind> {
        let (kind, remaining) = self.pending.front_mut()?;
        let kind = *kind;
        *remaining -= 1;
        if *remaining == 0 {
            self.pending.pop_front();
        }
        Some(kind)
    }

    pub(crate) fn pending(&self) -> u64 {
        self.pending.iter().map(|(_, count)| u64::from(*count)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_in_order_to_exactly_the_next_n_calls() {
        let mut queue = FaultQueue::default();
        assert!(queue.inject(FaultKind::Throttle, 2));
        assert!(queue.inject(FaultKind::Error, 1));
        assert_eq!(queue.take(), Some(FaultKind::Throttle));
        assert_eq!(queue.take(), Some(FaultKind::Throttle));
        assert_eq!(queue.take(), Some(FaultKind::Error));
        assert_eq!(queue.take(), None);
    }
}
