//! Scenario files (DESIGN section 7): parsing, and running them against the simulated twins.

pub mod expect;
pub(crate) mod psrp;
pub mod run;
pub mod step;
pub mod world;
