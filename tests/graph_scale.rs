//! A generated tenant read end to end through the measuring function: every device and user
//! arrives, in the expected number of requests, within the request budget.

use easgate::testing::graph_bench::measure_graph_read;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_tenant_of_5000_devices_is_read_whole_within_the_budget() {
    let measurement = measure_graph_read(5_000, 1_000).await.expect("the read succeeds");
    assert_eq!(measurement.devices_read, 5_000);
    assert_eq!(measurement.users_read, 2_500);
    // 2 policy + 5 device pages + 3 user pages (999 each) + 3 member pages.
    assert_eq!(measurement.graph_requests, 13);
    assert_eq!(measurement.token_requests, 1);
    assert!(measurement.max_requests_in_20_s <= 1_500);
}
