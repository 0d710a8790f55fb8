//! `easgate devices [--access A]`: the projection, one object per current partnership.

use crate::cli::open::open_with_projection;
use crate::cli::output::{Format, print, print_json_line};
use crate::cli::views::{device_json, devices_table};
use crate::cli::{Cli, CliError, DevicesArgs};
use crate::domain::vocabulary::Access;

pub fn run(cli: &Cli, args: &DevicesArgs) -> Result<(), CliError> {
    let access = match &args.access {
        None => None,
        Some(text) => Some(Access::parse(text).ok_or_else(|| {
            CliError::Input(format!("--access: `{text}` is not one of allowed, blocked, quarantined, exempt"))
        })?),
    };
    let (_store, projection) = open_with_projection(&cli.data_dir())?;
    let devices: Vec<_> =
        projection.current_devices().into_iter().filter(|device| access.is_none() || device.access == access).collect();
    match cli.format {
        Format::Json => devices.iter().for_each(|device| print_json_line(&device_json(&projection, device))),
        Format::Table => print(&devices_table(&projection, &devices)),
    }
    Ok(())
}
