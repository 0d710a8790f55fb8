//! Scenario files (DESIGN section 7): parsing, and running them against the simulated twins.

pub mod step;
