//! Scenario files (DESIGN section 7): parsing, and running them against the simulated twins.

pub(crate) mod psrp;
pub mod step;
pub mod world;
