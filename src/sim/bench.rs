//! Measurements of the simulated organisation at scale, for `easgate bench` and the criterion
//! bench `benches/sim_exchange.rs`: building a large organisation by bulk loading and reading all
//! of it with `Get-ActiveSyncDevice -ResultSize Unlimited` in process (typed, through the cmdlet
//! registry and the PowerShell object model, as easgate reads it). Durations are measured with
//! the monotonic `Instant`, never the wall clock, and reported as medians with a baseline taken
//! in the same run: a plain copy of the same input.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::VirtualClock;
use crate::domain::vocabulary::AccessLevel;
use crate::exchange::cmdlets::{ActiveSyncDevice, Cmdlet, GetActiveSyncDevice};
use crate::exchange::{ExchangeConnector, ExchangeError};
use crate::sim::error::SimError;
use crate::sim::exchange::{DEFAULT_SERVICE_ACCOUNT, DeviceSpec, MailboxSpec, OrganizationSpec, SimExchange};

/// The input of a large organisation: `mailboxes` users, `devices` spread evenly over them.
#[derive(Clone)]
pub struct LargeOrganization {
    pub mailboxes: Vec<MailboxSpec>,
    pub devices: Vec<(String, DeviceSpec)>,
}

impl LargeOrganization {
    pub fn new(mailboxes: usize, devices: usize) -> LargeOrganization {
        let mailboxes_count = mailboxes.max(1);
        let mailboxes = (0..mailboxes_count)
            .map(|index| {
                let upn = format!("user{index:06}@contoso.com");
                MailboxSpec { smtp: upn.clone(), upn }
            })
            .collect();
        let devices = (0..devices)
            .map(|index| {
                let user = format!("user{:06}@contoso.com", index % mailboxes_count);
                let device = if index % 3 == 0 {
                    DeviceSpec::new(&format!("androidc{index:012}"), "Android", "SM-S918B", "Android 14")
                } else {
                    DeviceSpec::new(&format!("Appl{index:012}"), "iPhone", "iPhone15,2", "iOS 17.1.1 21B91")
                };
                (user, device)
            })
            .collect();
        LargeOrganization { mailboxes, devices }
    }

    /// Bulk-loads a copy of the input into a new organisation (default access Quarantine, two CAS).
    pub fn build(&self) -> Result<SimExchange, SimError> {
        self.clone().into_organization()
    }

    /// Bulk-loads the input, moving it, into a new organisation.
    pub fn into_organization(self) -> Result<SimExchange, SimError> {
        let spec = OrganizationSpec {
            name: "contoso".to_string(),
            cas: vec!["CAS1".to_string(), "CAS2".to_string()],
            default_access: AccessLevel::Quarantine,
        };
        let exchange = SimExchange::new(spec, Arc::new(VirtualClock::scenario_start()))?;
        exchange.bulk_load(self.mailboxes, self.devices)?;
        Ok(exchange)
    }
}

/// Every partnership, typed, through a runspace: what a full sync reads first.
pub async fn read_all_devices(exchange: &SimExchange) -> Result<Vec<ActiveSyncDevice>, ExchangeError> {
    let mut session = exchange.connector(DEFAULT_SERVICE_ACCOUNT).open("CAS1").await?;
    let devices = GetActiveSyncDevice::all().run(session.as_mut()).await;
    session.close().await?;
    devices
}

/// Medians of one measurement run.
#[derive(Debug, Clone, PartialEq)]
pub struct LargeOrganizationMeasurement {
    pub mailboxes: usize,
    pub devices: usize,
    pub runs: usize,
    /// Copying the input (the baseline).
    pub baseline_copy_ms: f64,
    /// Bulk-loading the organisation.
    pub build_ms: f64,
    /// `Get-ActiveSyncDevice -ResultSize Unlimited`, typed.
    pub read_all_devices_ms: f64,
}

impl LargeOrganizationMeasurement {
    pub fn build_to_baseline(&self) -> f64 {
        self.build_ms / self.baseline_copy_ms.max(f64::EPSILON)
    }
    pub fn read_to_baseline(&self) -> f64 {
        self.read_all_devices_ms / self.baseline_copy_ms.max(f64::EPSILON)
    }
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).map(|median| median.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// Builds and reads a `mailboxes` x `devices` organisation `runs` times (at least once).
pub async fn measure_large_organization(
    mailboxes: usize,
    devices: usize,
    runs: usize,
) -> Result<LargeOrganizationMeasurement, String> {
    let input = LargeOrganization::new(mailboxes, devices);
    let runs = runs.max(1);
    let (mut copies, mut builds, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        let copy = input.clone();
        copies.push(started.elapsed());
        let started = Instant::now();
        let exchange = copy.into_organization().map_err(|error| error.to_string())?;
        builds.push(started.elapsed());
        let started = Instant::now();
        let read = read_all_devices(&exchange).await.map_err(|error| error.to_string())?;
        reads.push(started.elapsed());
        if read.len() != devices {
            return Err(format!("read {} partnerships of {devices}", read.len()));
        }
    }
    Ok(LargeOrganizationMeasurement {
        mailboxes: input.mailboxes.len(),
        devices,
        runs,
        baseline_copy_ms: median_ms(copies),
        build_ms: median_ms(builds),
        read_all_devices_ms: median_ms(reads),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_small_measurement_reads_back_every_device() {
        let measurement = measure_large_organization(50, 100, 1).await.expect("measures");
        assert_eq!((measurement.mailboxes, measurement.devices, measurement.runs), (50, 100, 1));
    }
}
