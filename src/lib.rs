//! easgate: conditional access for Exchange ActiveSync devices on on-premises Exchange, as an
//! event-sourced state machine over an append-only log. See README.md for the code map and the
//! architecture invariants.

#![forbid(unsafe_code)]

pub mod adapters;
pub mod cli;
pub mod clixml;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod data;
pub mod domain;
pub mod ews;
pub mod exchange;
pub mod graph;
pub mod mail;
pub mod psrp;
pub mod scenario;
pub mod sim;
pub mod store;
pub mod sync;
pub mod tenant;
pub mod testing;
pub mod wsman;
