//! CLIXML (MS-PSRP 2.2.5): the PowerShell value model and its XML form.

pub mod escape;
mod primitive;
pub mod read;
pub mod value;
pub mod write;
