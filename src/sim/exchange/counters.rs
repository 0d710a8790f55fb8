//! Cmdlet counters of the simulated organisation: what reached a server, by cmdlet, split into
//! reads and state-changing calls (`CmdletCall::is_state_changing`), for tests and benchmarks.

use std::collections::BTreeMap;

/// Calls of one cmdlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CmdletCount {
    pub calls: u64,
    /// Calls that returned an error (injected faults included).
    pub failed: u64,
}

/// Every call that reached an up server through an open shell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CmdletCounters {
    pub reads: u64,
    pub state_changing: u64,
    pub failed: u64,
    /// By cmdlet name as Exchange spells it.
    pub by_cmdlet: BTreeMap<String, CmdletCount>,
}

impl CmdletCounters {
    pub(crate) fn record(&mut self, cmdlet: &str, state_changing: bool) {
        if state_changing {
            self.state_changing += 1;
        } else {
            self.reads += 1;
        }
        self.by_cmdlet.entry(cmdlet.to_string()).or_default().calls += 1;
    }

    pub(crate) fn record_failure(&mut self, cmdlet: &str) {
        self.failed += 1;
        self.by_cmdlet.entry(cmdlet.to_string()).or_default().failed += 1;
    }

    /// Calls of one cmdlet (0 when never called).
    pub fn calls(&self, cmdlet: &str) -> u64 {
        self.by_cmdlet.get(cmdlet).map(|count| count.calls).unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.reads + self.state_changing
    }
}
