//! `easgate bench [WHAT] [--scale N]`: measurements for the closing notes and for anyone who
//! wants to see the numbers on their machine. Each prints medians over repeated runs and the
//! ratio against a baseline measured in the same run; none is part of the test suite.
//!
//! WHAT: `append`, `replay`, `restart`, `memory`, `sync`, `psrp`, `graph`, or `all` (the quick
//! ones at scale 1). `--scale` multiplies the sizes (`sync --scale 10` = 100,000 devices).

mod history;
mod log;
mod replay_budget;
mod sync;

use std::time::Duration;

use crate::cli::output::print;
use crate::cli::{BenchArgs, Cli, CliError};

/// Runs of each measurement; the median is reported.
pub const RUNS: usize = 3;

pub fn run(cli: &Cli, args: &BenchArgs) -> Result<(), CliError> {
    let scale = args.scale.clamp(1, 1_000);
    match args.what.as_str() {
        "append" => log::append(scale),
        "replay" => log::replay(scale),
        "restart" => log::restart(scale),
        "memory" => log::memory(scale),
        "memory-probe" => log::memory_probe(&cli.data_dir()),
        "sync" => sync::sync(scale),
        "psrp" => sync::psrp(scale),
        "graph" => sync::graph(scale),
        "all" => {
            log::append(scale)?;
            log::replay(scale)?;
            log::restart(scale)?;
            log::memory(scale)?;
            sync::sync(scale)?;
            sync::psrp(scale)
        }
        other => Err(CliError::Input(format!(
            "bench: `{other}` is not one of append, replay, restart, memory, sync, psrp, graph, all"
        ))),
    }
}

/// The median of `values` (sorted copy).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|left, right| left.total_cmp(right));
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

pub fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64().max(1e-9)
}

/// One result line: `name: median value unit [ratio]`.
pub fn report(name: &str, value: f64, unit: &str, detail: &str) {
    print(&format!("{name:<44} {value:>14.1} {unit:<10} {detail}\n"));
}

/// This process's resident and peak resident memory in MB (Linux), for memory measurements.
pub fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kilobytes| kilobytes.parse::<f64>().ok())
            .map(|kilobytes| kilobytes / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub fn failed(what: &str) -> impl Fn(String) -> CliError + '_ {
    move |error| CliError::Failed(format!("bench {what}: {error}"))
}
