//! The sync engine (DESIGN section 3): quick and full syncs against Exchange and the tenant,
//! write-ahead intents with group commit, a bounded runspace pool with CAS failover,
//! notifications, drift repair and crash recovery. It drives the pure domain with observations
//! and turns the domain's plans into cmdlets.

pub mod act;
pub mod affected;
pub mod engine;
pub mod exchange_reads;
pub mod ids;
pub mod journal;
pub mod notify;
pub mod pool;
pub mod read;
pub mod recover;
pub mod schedule;
pub mod wipe;
