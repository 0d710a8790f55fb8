//! Criterion bench of the simulated Exchange at scale: bulk-loading a 100,000-device /
//! 50,000-mailbox organisation and `Get-ActiveSyncDevice -ResultSize Unlimited` over it, with a
//! plain copy of the same input as the baseline measured in the same run.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use easgate::sim::bench::{LargeOrganization, read_all_devices};

const MAILBOXES: usize = 50_000;
const DEVICES: usize = 100_000;

fn large_organization(criterion: &mut Criterion) {
    let input = LargeOrganization::new(MAILBOXES, DEVICES);
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let mut group = criterion.benchmark_group("sim_exchange_100k");
    group.sample_size(10);
    group.bench_function("baseline_copy_input", |bench| bench.iter(|| input.clone()));
    group.bench_function("build_organization", |bench| {
        bench.iter_batched(|| input.clone(), |copy| copy.into_organization().expect("builds"), BatchSize::LargeInput)
    });
    let exchange = input.build().expect("builds");
    group.bench_function("get_activesync_device_unlimited", |bench| {
        bench.iter(|| runtime.block_on(read_all_devices(&exchange)).expect("reads"))
    });
    group.finish();
}

criterion_group!(benches, large_organization);
criterion_main!(benches);
