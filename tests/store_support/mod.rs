//! Shared by the store tests: reaching under the store to change sled's trees directly.

use std::path::Path;

/// Opens sled itself on the data directory's log, runs `change` on `tree`, and flushes.
pub fn with_raw_tree(data_dir: &Path, tree: &str, change: impl FnOnce(&sled::Tree)) {
    // sled's thread pool may hold the file lock for a moment after the store is dropped.
    let mut db = sled::open(data_dir.join("log"));
    for _ in 0..200 {
        if db.is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        db = sled::open(data_dir.join("log"));
    }
    let db = db.unwrap();
    change(&db.open_tree(tree).unwrap());
    db.flush().unwrap();
}
