//! Where a replay's time goes, measured on one thread: sled's scan, the store's checks on top of
//! it, decoding each payload's view, and folding it. A replay (`for_each_view`) reads and checks
//! on one thread while the other folds, and either may decode: so two threads can at best go at
//! the pace of the slower of "read and check" and "fold", or of half the total when neither
//! dominates. That bound, against the raw scan, says how much of a replay's ratio is the
//! pipeline's to win and how much the fold's.

use std::time::Instant;

use crate::cli::CliError;
use crate::cli::bench::{failed, report};
use crate::domain::RecordedEvent;
use crate::domain::projection::{Projection, fold};
use crate::store::measure;
use crate::store::{Store, StoreError, StoredRecord};

/// Runs of the four passes; the best of each is kept (the least disturbed by the machine).
const BUDGET_RUNS: usize = 3;

/// Nanoseconds per event of each stage, one thread.
struct ReplayBudget {
    scan_ns: f64,
    checks_ns: f64,
    decode_ns: f64,
    fold_ns: f64,
}

impl ReplayBudget {
    /// The least time per event two threads could take, the stages split between them: the
    /// read stays on one, the fold on the other, decoding goes where there is room.
    fn two_thread_bound_ns(&self) -> f64 {
        let read_ns = self.scan_ns + self.checks_ns;
        let total_ns = read_ns + self.decode_ns + self.fold_ns;
        read_ns.max(self.fold_ns).max(total_ns / 2.0)
    }
}

/// Measures and prints the budget of replaying `store`'s whole log.
pub fn report_budget(store: &Store) -> Result<(), CliError> {
    let budget = measure_budget(store).map_err(|error| failed("replay")(error.to_string()))?;
    report("  one thread: sled scan", budget.scan_ns, "ns/event", "");
    report("  one thread: + checks", budget.checks_ns, "ns/event", "layout and seq (checksums and links at open)");
    report("  one thread: + decode", budget.decode_ns, "ns/event", "views, text borrowed");
    report("  one thread: + fold", budget.fold_ns, "ns/event", "");
    let bound_ns = budget.two_thread_bound_ns();
    let ratio = budget.scan_ns / bound_ns;
    report("  two threads at best", 1e9 / bound_ns, "events/s", &format!("{ratio:.2}x raw scan (one-thread scan)"));
    Ok(())
}

fn measure_budget(store: &Store) -> Result<ReplayBudget, StoreError> {
    // The best time of each cumulative pass, in ns per event.
    let mut best = [f64::MAX; 4];
    for _ in 0..BUDGET_RUNS {
        best[0] = best[0].min(measure::raw_sled_scan(store)?.nanoseconds_per_item());
        best[1] = best[1].min(measure::checked_scan(store)?.nanoseconds_per_item());
        let decoded = timed_pass(store, |record| {
            std::hint::black_box(record.decode_view()?);
            Ok(())
        })?;
        best[2] = best[2].min(decoded);
        let mut projection = Projection::default();
        let folded = timed_pass(store, |record| {
            let decoded = record.decode_view()?;
            decoded.into_view(|event: RecordedEvent<&str>| fold(&mut projection, event));
            Ok(())
        })?;
        best[3] = best[3].min(folded);
        // Freed outside the timing, as the replay's own projection is.
        drop(projection);
    }
    // Stages are differences of cumulative passes; noise can make one a little negative.
    let stage = |upper: usize| (best[upper] - best[upper - 1]).max(0.0);
    Ok(ReplayBudget { scan_ns: best[0], checks_ns: stage(1), decode_ns: stage(2), fold_ns: stage(3) })
}

/// Reads every checked record through `each`, on this thread; returns ns per record.
fn timed_pass(store: &Store, mut each: impl FnMut(&StoredRecord) -> Result<(), StoreError>) -> Result<f64, StoreError> {
    let started = Instant::now();
    let mut records = 0u64;
    for record in store.records_from(1)? {
        each(&record?)?;
        records += 1;
    }
    Ok(started.elapsed().as_nanos() as f64 / records.max(1) as f64)
}
