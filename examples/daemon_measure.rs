//! Measures the real path on a generated tenant: a full Graph read from the loopback fake, a
//! full and then quick syncs as `easgate sync` runs them (Graph + remote PowerShell over
//! loopback), and the memory of `easgate run` after it opened the data directory and after its
//! first sync.
//! `EASGATE_BIN=target/release/easgate cargo run --release --example daemon_measure -- [DEVICES] [PAGE_SIZE] [RUNSPACES] [QUICK_RUNS]`
//! (defaults 100000, 1000, 4, 5). JSON lines, then medians.

use std::time::{Duration, Instant};

use easgate::daemon::daemon_file::DaemonFile;
use easgate::daemon::measure::{ADMIN_TOKEN, GeneratedOrganization, SyncMeasurement, process_memory_bytes};
use easgate::domain::vocabulary::SyncKind;
use easgate::testing::graph_bench::measure_graph_read;

fn print_sync(label: &str, sync: &SyncMeasurement) {
    println!(
        "{{\"measure\":\"{label}\",\"kind\":\"{}\",\"ok\":{},\"wall_ms\":{:.1},\"sync_wall_ms\":{},\"graph_requests\":{},\"token_requests\":{},\"winrm_requests\":{},\"counts\":{},\"error\":{:?}}}",
        sync.kind.as_str(),
        sync.ok,
        sync.wall_ms,
        sync.sync_wall_ms,
        sync.graph_requests,
        sync.token_requests,
        sync.winrm_requests,
        serde_json::to_string(&sync.counts).unwrap_or_default(),
        sync.error.as_deref().unwrap_or(""),
    );
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map(|bytes| format!("{:.1}", bytes as f64 / 1_048_576.0)).unwrap_or_else(|| "null".into())
}

async fn measure_daemon(organization: &GeneratedOrganization, binary: &str) -> Result<(), String> {
    let log = std::fs::File::create(organization.path("daemon.log")).map_err(|error| error.to_string())?;
    let mut child = tokio::process::Command::new(binary)
        .args(["run", "--config"])
        .arg(organization.config_path())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("{binary}: {error}"))?;
    let pid = child.id().ok_or("no pid")?;
    let started = Instant::now();
    let mut file = None;
    for _ in 0..6_000 {
        if let Ok(Some(found)) = DaemonFile::read(&organization.data_dir()) {
            file = Some(found);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let file = file.ok_or("the daemon did not start")?;
    let opened_ms = started.elapsed().as_millis();
    let rss_opened = process_memory_bytes(pid, "VmRSS");
    let client = reqwest::Client::builder().no_proxy().build().map_err(|error| error.to_string())?;
    let url = format!("http://{}/status", file.admin_listen.as_deref().unwrap_or(""));
    let before = file.started_at.clone();
    for _ in 0..36_000 {
        let status: serde_json::Value = client
            .get(&url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .map_err(|error| error.to_string())?
            .json()
            .await
            .map_err(|error| error.to_string())?;
        if status["last_sync"]["at"].as_str().is_some_and(|at| at > before.as_str()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let synced_ms = started.elapsed().as_millis();
    println!(
        "{{\"measure\":\"daemon\",\"devices\":{},\"opened_ms\":{opened_ms},\"rss_after_open_mib\":{},\"first_sync_done_ms\":{synced_ms},\"rss_after_first_sync_mib\":{},\"peak_rss_mib\":{}}}",
        organization.devices,
        mib(rss_opened),
        mib(process_memory_bytes(pid, "VmRSS")),
        mib(process_memory_bytes(pid, "VmHWM")),
    );
    let _ = tokio::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
    let status = child.wait().await.map_err(|error| error.to_string())?;
    println!("{{\"measure\":\"daemon_stop\",\"exit\":{:?}}}", status.code());
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let arguments: Vec<usize> = std::env::args().skip(1).filter_map(|argument| argument.parse().ok()).collect();
    let devices = arguments.first().copied().unwrap_or(100_000);
    let page_size = arguments.get(1).copied().unwrap_or(1_000);
    let runspaces = arguments.get(2).copied().unwrap_or(4).clamp(1, 18) as u8;
    let quick_runs = arguments.get(3).copied().unwrap_or(5).clamp(1, 50);
    let read = measure_graph_read(devices, page_size).await?;
    println!(
        "{{\"measure\":\"graph_read\",\"devices\":{},\"wall_ms\":{:.1},\"graph_requests\":{},\"token_requests\":{},\"max_requests_in_20_s\":{},\"budget_waited_ms\":{}}}",
        read.devices_read,
        read.wall_ms,
        read.graph_requests,
        read.token_requests,
        read.max_requests_in_20_s,
        read.budget_waited_ms
    );
    let organization = GeneratedOrganization::start(devices, page_size, runspaces).await?;
    print_sync("sync", &organization.measure_sync(SyncKind::Full).await?);
    let mut quick_ms = Vec::new();
    for _ in 0..quick_runs {
        let quick = organization.measure_sync(SyncKind::Quick).await?;
        print_sync("sync", &quick);
        quick_ms.push(quick.wall_ms);
    }
    quick_ms.sort_by(f64::total_cmp);
    println!("median quick sync wall_ms {:.1} over {quick_runs} runs", quick_ms[quick_runs / 2]);
    let binary = std::env::var("EASGATE_BIN").unwrap_or_else(|_| "target/release/easgate".into());
    measure_daemon(&organization, &binary).await
}
