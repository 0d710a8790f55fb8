//! Prints the measurement of a full Graph read of a generated tenant from the loopback fake:
//! `cargo run --release --example graph_read_measure -- [DEVICES] [PAGE_SIZE] [RUNS]`
//! (defaults 100000, 1000, 5). One JSON line per run, then the medians.

use easgate::testing::graph_bench::measure_graph_read;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let arguments: Vec<usize> = std::env::args().skip(1).filter_map(|argument| argument.parse().ok()).collect();
    let devices = arguments.first().copied().unwrap_or(100_000);
    let page_size = arguments.get(1).copied().unwrap_or(1_000);
    let runs = arguments.get(2).copied().unwrap_or(5).clamp(1, 50);
    let mut wall_ms = Vec::new();
    let mut peaks = Vec::new();
    for run in 0..runs {
        let measurement = measure_graph_read(devices, page_size).await?;
        println!(
            "{{\"run\":{run},\"devices\":{},\"page_size\":{},\"devices_read\":{},\"users_read\":{},\"wall_ms\":{:.1},\
\"graph_requests\":{},\"token_requests\":{},\"max_requests_in_20_s\":{},\"budget_waited_ms\":{},\"peak_rss_growth_bytes\":{}}}",
            measurement.devices_in_tenant,
            measurement.device_page_size,
            measurement.devices_read,
            measurement.users_read,
            measurement.wall_ms,
            measurement.graph_requests,
            measurement.token_requests,
            measurement.max_requests_in_20_s,
            measurement.budget_waited_ms,
            measurement.peak_rss_growth_bytes.map(|bytes| bytes.to_string()).unwrap_or("null".into()),
        );
        wall_ms.push(measurement.wall_ms);
        peaks.push(measurement.peak_rss_growth_bytes.unwrap_or(0));
    }
    wall_ms.sort_by(f64::total_cmp);
    peaks.sort();
    println!(
        "median wall_ms {:.1}, median peak_rss_growth {:.1} MiB",
        wall_ms[runs / 2],
        peaks[runs / 2] as f64 / 1_048_576.0
    );
    Ok(())
}
