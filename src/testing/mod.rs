//! Loopback fakes (placeholder until written).
