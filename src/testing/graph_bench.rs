//! Measures a full Graph read of a generated tenant from the fake Graph over loopback HTTP, with
//! the real client, the real clock and the default request budget: wall time, requests, the
//! busiest 20 s window, and (on Linux) the process's peak resident memory during the read. The
//! lead can wire `measure_graph_read` into `easgate bench`; `examples/graph_read_measure.rs`
//! prints it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::SystemClock;
use crate::config::SecretSource;
use crate::config::model::GraphCredential;
use crate::graph::{GraphTenant, PolicyOrigin};
use crate::testing::fake_graph::{FAKE_CLIENT_SECRET, FakeGraph, FakeGraphOptions};
use crate::testing::fake_graph_data::FakeTenantData;

/// What one measured read did.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphReadMeasurement {
    pub devices_in_tenant: usize,
    pub device_page_size: usize,
    pub devices_read: usize,
    pub users_read: usize,
    pub wall_ms: f64,
    pub graph_requests: u64,
    pub token_requests: u64,
    /// The most requests the fake saw in any 20 s window (Intune's limit: 2,000 per app).
    pub max_requests_in_20_s: usize,
    pub budget_waited_ms: u64,
    /// Peak resident memory during the read minus the resident memory before it (Linux only).
    pub peak_rss_growth_bytes: Option<u64>,
}

/// Reads a generated tenant of `devices` managed devices served in pages of `page_size`.
pub async fn measure_graph_read(devices: usize, page_size: usize) -> Result<GraphReadMeasurement, String> {
    let mut options = FakeGraphOptions::new(FakeTenantData::generated(devices));
    options.device_page_size = page_size;
    let fake = FakeGraph::start(options).await.map_err(|error| format!("fake Graph: {error}"))?;
    let secret_path = std::env::temp_dir().join(format!("easgate-bench-{}-{}.secret", std::process::id(), fake.port()));
    std::fs::write(&secret_path, FAKE_CLIENT_SECRET).map_err(|error| format!("secret file: {error}"))?;
    let credential = GraphCredential::ClientSecret(SecretSource::File(secret_path.clone()));
    let settings = fake.graph_settings(credential, PolicyOrigin::Graph);
    let tenant = GraphTenant::new(settings, Arc::new(SystemClock)).map_err(|error| error.to_string())?;

    let rss_before = resident_bytes("VmRSS");
    reset_peak_rss();
    let started = Instant::now();
    let result = tenant.read_with_stats().await;
    let wall = started.elapsed();
    let peak = resident_bytes("VmHWM");
    let _ = std::fs::remove_file(&secret_path);
    let (snapshot, _) = result.map_err(|error| error.to_string())?;
    let stats = tenant.request_stats();
    Ok(GraphReadMeasurement {
        devices_in_tenant: devices,
        device_page_size: page_size,
        devices_read: snapshot.managed_devices.len(),
        users_read: snapshot.users.len(),
        wall_ms: wall.as_secs_f64() * 1_000.0,
        graph_requests: stats.graph_requests,
        token_requests: stats.token_requests,
        max_requests_in_20_s: fake.max_requests_in_window(Duration::from_secs(20)),
        budget_waited_ms: stats.budget_waited_ms,
        peak_rss_growth_bytes: match (rss_before, peak) {
            (Some(before), Some(peak)) => Some(peak.saturating_sub(before)),
            _ => None,
        },
    })
}

/// Resets the kernel's peak-RSS mark of this process (Linux `clear_refs` value 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A `/proc/self/status` memory line (`VmRSS`, `VmHWM`) in bytes.
fn resident_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}
