fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0 / 1e6
}
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    println!("start {:.0} MB", rss_mb());
    let store = easgate::data::open_for_reading(&dir).unwrap();
    println!("open {:.0} MB", rss_mb());
    let snapshot = store.latest_snapshot(easgate::data::projection_format_id()).unwrap();
    println!("snapshot bytes {:?} rss {:.0} MB", snapshot.as_ref().map(|s| s.bytes.len()), rss_mb());
    drop(snapshot);
    let mut projection = easgate::domain::projection::Projection::default();
    for event in store.events_from(1).unwrap() { easgate::domain::projection::evolve(&mut projection, &event.unwrap()); }
    println!("replayed {} events {} devices rss {:.0} MB", projection.event_count, projection.devices.len(), rss_mb());
    let bytes = postcard::to_allocvec(&projection).unwrap();
    println!("projection serialized {} bytes rss {:.0} MB", bytes.len(), rss_mb());
    drop(store);
    println!("store dropped rss {:.0} MB", rss_mb());
}
