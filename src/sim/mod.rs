//! The simulated twins of the outside world: an Exchange organisation (served in process, or
//! over WS-Management by a PSRP server in front of it), a device-management tenant and a mail
//! outbox. They are products, not test doubles: `easgate demo` and `easgate simulate` run on
//! them, and scenario files (DESIGN section 7) drive them through their scenario-facing methods.

pub mod bench;
pub mod error;
pub mod exchange;
pub mod fault;
pub mod outbox;
pub mod population;
pub mod random;
pub mod tenant;

pub use error::SimError;
pub use exchange::SimExchange;
pub use fault::FaultKind;
pub use outbox::SimOutbox;
pub use tenant::SimTenant;
