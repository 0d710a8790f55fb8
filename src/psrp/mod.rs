//! MS-PSRP, the PowerShell Remoting Protocol, sans-IO: fragments, messages, the message types
//! a command needs, and client and server state machines. The WS-Management transport in
//! `crate::wsman` moves the bytes; nothing here touches a socket or a clock.

pub mod capability;
pub mod client;
pub mod error;
pub mod fragment;
pub mod message;
pub mod pipeline;
pub mod records;
pub mod server;
pub mod values;

pub use error::PsrpError;
