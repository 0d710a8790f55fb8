//! Every scenario under replay/scenarios again, with the simulated organisation served over
//! WS-Management/PSRP on loopback (HTTPS, Basic) and driven by the real client: the same
//! expectations must hold as in process.

#[path = "common/scenarios.rs"]
mod scenarios;

use easgate::scenario::world::Transport;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_over_psrp_as_in_process() {
    let files = scenarios::scenario_files();
    let mut failures = Vec::new();
    for file in &files {
        failures.extend(scenarios::check(file, Transport::Psrp).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
