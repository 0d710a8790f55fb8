//! Prints `store::measure::compare_all` (the store against raw sled, interleaved runs, medians):
//! `cargo bench --bench store_report`. Sizes: EASGATE_BENCH_APPEND_BATCHES (100),
//! EASGATE_BENCH_SCAN_EVENTS (200,000), EASGATE_BENCH_ROUNDS (5).

use easgate::store::measure::{ReportSize, compare_all};

fn from_env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|text| text.parse().ok()).unwrap_or(default)
}

fn main() {
    // `cargo test --all-targets` runs benches once with `--bench` absent: keep that quick.
    let testing = !std::env::args().any(|argument| argument == "--bench");
    let size = if testing {
        ReportSize { append_batches: 2, scan_events: 2_000, rounds: 1 }
    } else {
        ReportSize {
            append_batches: from_env("EASGATE_BENCH_APPEND_BATCHES", 100),
            scan_events: from_env("EASGATE_BENCH_SCAN_EVENTS", 200_000),
            rounds: from_env("EASGATE_BENCH_ROUNDS", 5) as usize,
        }
    };
    let directory = tempfile::tempdir().expect("a temporary directory");
    match compare_all(directory.path(), size) {
        Ok(comparisons) => comparisons.iter().for_each(|comparison| println!("{comparison}")),
        Err(error) => {
            eprintln!("store_report: {error}");
            std::process::exit(1);
        }
    }
}
