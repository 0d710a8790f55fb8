//! The simulated organisation's shared, lock-protected state: the organisation itself plus the
//! server-side runtime (shells and their quota, injected faults, latency, counters, RBAC).

use std::collections::BTreeMap;
use std::time::Duration;

use rustc_hash::FxHashSet;

use crate::sim::exchange::counters::CmdletCounters;
use crate::sim::exchange::organization::Organization;
use crate::sim::fault::FaultQueue;
use crate::sim::random::SplitMix64;

/// Exchange's default PowerShellMaxConcurrency.
pub const DEFAULT_SHELL_QUOTA: u32 = 18;

/// An open shell (runspace) on a server.
#[derive(Debug, Clone)]
pub(crate) struct Shell {
    pub(crate) user: String,
    pub(crate) server: usize,
    /// The server's epoch when the shell opened; a server that went down since lost it.
    pub(crate) epoch: u64,
}

pub(crate) struct SimState {
    pub(crate) organization: Organization,
    pub(crate) shells: BTreeMap<u64, Shell>,
    pub(crate) next_shell_id: u64,
    pub(crate) shell_quota: u32,
    pub(crate) faults: FaultQueue,
    pub(crate) latency: Duration,
    pub(crate) counters: CmdletCounters,
    /// Canonical names of cmdlets the account's roles do not grant.
    pub(crate) withheld: FxHashSet<String>,
    pub(crate) request_ids: SplitMix64,
}

impl SimState {
    pub(crate) fn new(organization: Organization) -> SimState {
        SimState {
            organization,
            shells: BTreeMap::new(),
            next_shell_id: 1,
            shell_quota: DEFAULT_SHELL_QUOTA,
            faults: FaultQueue::default(),
            latency: Duration::ZERO,
            counters: CmdletCounters::default(),
            withheld: FxHashSet::default(),
            request_ids: SplitMix64::new(0x5E55_1011),
        }
    }
}
