//! The sync engine (DESIGN section 3): quick and full syncs against Exchange and the tenant,
//! write-ahead intents with group commit, a bounded runspace pool with CAS failover,
//! notifications, drift repair and crash recovery. It drives the pure domain with observations
//! and turns the domain's plans into cmdlets.

pub mod ids;
pub mod pool;
pub mod schedule;
