//! The Graph read of a generated tenant over loopback HTTP (client, paging, budget, mapping),
//! against a baseline measured in the same run: deserialising and mapping the same pages from
//! memory (devices, users, group members), without HTTP. The ratio is the cost of the wire and the paging machinery.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use easgate::clock::SystemClock;
use easgate::config::SecretSource;
use easgate::config::model::GraphCredential;
use easgate::graph::model::{GraphManagedDevice, GraphMember, GraphUser};
use easgate::graph::{GraphTenant, PolicyOrigin};
use easgate::tenant::Tenant;
use easgate::testing::fake_graph::{FAKE_CLIENT_SECRET, FakeGraph, FakeGraphOptions};
use easgate::testing::fake_graph_data::FakeTenantData;
use easgate::testing::fake_graph_data::GENERATED_GROUP;

const DEVICES: usize = 10_000;
const PAGE_SIZE: usize = 1_000;

#[derive(serde::Deserialize)]
struct Page<T> {
    value: Vec<T>,
}

/// The tenant's collections as the pages Graph would send, in memory.
fn pages_in_memory() -> (Vec<String>, Vec<String>, Vec<String>) {
    let data = FakeTenantData::generated(DEVICES);
    let chunk = |records: &easgate::testing::fake_graph_data::FakeRecords, size: usize| -> Vec<String> {
        (0..records.len().div_ceil(size))
            .map(|page| format!("{{\"value\":[{}]}}", records.page_json(page * size, size)))
            .collect()
    };
    let members = data.group_members.get(GENERATED_GROUP).expect("generated group");
    (chunk(&data.managed_devices, PAGE_SIZE), chunk(&data.users, 999), chunk(members, 999))
}

fn graph_read(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let secrets = tempfile::tempdir().expect("temp dir");
    let (fake, tenant) = runtime.block_on(async {
        let mut options = FakeGraphOptions::new(FakeTenantData::generated(DEVICES));
        options.device_page_size = PAGE_SIZE;
        let fake = FakeGraph::start(options).await.expect("fake");
        let path = secrets.path().join("secret");
        std::fs::write(&path, FAKE_CLIENT_SECRET).expect("secret");
        let settings =
            fake.graph_settings(GraphCredential::ClientSecret(SecretSource::File(path)), PolicyOrigin::Graph);
        let tenant = GraphTenant::new(settings, Arc::new(SystemClock)).expect("tenant");
        (fake, tenant)
    });
    let (device_pages, user_pages, member_pages) = pages_in_memory();

    let mut group = criterion.benchmark_group("graph_read_10k_devices");
    group.sample_size(20);
    group.bench_function("baseline_parse_and_map_in_memory", |bencher| {
        bencher.iter(|| {
            let mut devices = 0;
            for page in &device_pages {
                let page: Page<GraphManagedDevice> = serde_json::from_str(page).expect("page");
                devices += page.value.into_iter().filter_map(GraphManagedDevice::into_managed_device).count();
            }
            let mut licensed = 0;
            for page in &user_pages {
                let page: Page<GraphUser> = serde_json::from_str(page).expect("page");
                licensed += page.value.iter().filter(|user| user.has_intune_plan()).count();
            }
            let mut members = std::collections::HashSet::new();
            for page in &member_pages {
                let page: Page<GraphMember> = serde_json::from_str(page).expect("page");
                members.extend(page.value.into_iter().map(|member| member.id));
            }
            assert_eq!((devices, licensed, members.len()), (DEVICES, DEVICES / 2, DEVICES / 2));
        })
    });
    group.bench_function("full_read_over_loopback_http", |bencher| {
        bencher.iter(|| {
            let snapshot = runtime.block_on(tenant.read(None)).expect("read");
            assert_eq!(snapshot.managed_devices.len(), DEVICES);
        })
    });
    group.finish();
    drop(fake);
}

criterion_group!(benches, graph_read);
criterion_main!(benches);
