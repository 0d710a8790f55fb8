//! Every call into sled goes through `sled_call`: sled 0.34 panics on damaged files (reference
//! eventsourcing.md section 1.5), so its calls run behind `catch_unwind`, and a panic or a
//! corruption report becomes a `StoreError` instead of reaching the user.
//!
//! A panic inside a guarded call is not printed: a process-wide panic hook, installed once and
//! chained to the previous hook, records the message for the error instead while the current
//! thread is inside a guarded call. Panics elsewhere reach the previous hook unchanged.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind};
use std::path::Path;
use std::sync::Once;

use crate::store::error::StoreError;

thread_local! {
    static GUARD_DEPTH: Cell<u32> = const { Cell::new(0) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static QUIET_HOOK: Once = Once::new();

/// How a sled call failed.
#[derive(Debug)]
pub(crate) enum SledFailure {
    /// sled panicked (damaged file, internal invariant).
    Panicked(String),
    /// sled reported `Error::Corruption` (its own checksum failed).
    Corrupt(String),
    Io(std::io::Error),
    /// `Unsupported`, `ReportableBug`, `CollectionNotFound`.
    Other(String),
}

/// Runs a sled operation with panics caught.
pub(crate) fn sled_call<T>(operation: impl FnOnce() -> sled::Result<T>) -> Result<T, SledFailure> {
    match catch_quietly(operation) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(SledFailure::from_error(error)),
        Err(message) => Err(SledFailure::Panicked(message)),
    }
}

/// Runs an operation that does not return a sled result (a drop, an iterator step) with panics caught.
pub(crate) fn catch_quietly<T>(operation: impl FnOnce() -> T) -> Result<T, String> {
    QUIET_HOOK.call_once(install_quiet_hook);
    GUARD_DEPTH.with(|depth| depth.set(depth.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(operation));
    GUARD_DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
    result.map_err(|payload| {
        LAST_PANIC.with(|last| last.borrow_mut().take()).unwrap_or_else(|| panic_payload_text(payload.as_ref()))
    })
}

fn install_quiet_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
        if GUARD_DEPTH.with(|depth| depth.get()) > 0 {
            let location = info.location().map(|location| format!(" at {location}")).unwrap_or_default();
            let text = format!("sled panicked: {}{location}", panic_payload_text(info.payload()));
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(text));
            return;
        }
        previous(info);
    }));
}

fn panic_payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        return (*text).to_string();
    }
    if let Some(text) = payload.downcast_ref::<String>() {
        return text.clone();
    }
    "a panic without a message".to_string()
}

impl SledFailure {
    pub(crate) fn from_error(error: sled::Error) -> SledFailure {
        match error {
            sled::Error::Io(error) => SledFailure::Io(error),
            sled::Error::Corruption { at: Some(pointer), .. } => {
                SledFailure::Corrupt(format!("its own checksum failed reading {pointer:?} of its file"))
            }
            sled::Error::Corruption { at: None, .. } => {
                SledFailure::Corrupt("its own checksum failed reading its file".to_string())
            }
            error => SledFailure::Other(error.to_string()),
        }
    }

    /// sled could not take the exclusive lock on its file: another process has it open, or this
    /// process closed it a moment ago and sled's background threads still hold it.
    pub(crate) fn is_lock_failure(&self) -> bool {
        matches!(self, SledFailure::Io(error) if error.to_string().contains("could not acquire lock"))
    }

    /// The store error for this failure. `seq` is the record being read when it happened, if any:
    /// damage then names it; without one the whole database is reported unreadable.
    pub(crate) fn into_store_error(self, log_path: &Path, seq: Option<u64>) -> StoreError {
        let damage = |detail: String| match seq {
            Some(seq) => StoreError::Damaged { seq, detail },
            None => StoreError::Unreadable { path: log_path.to_path_buf(), detail },
        };
        match self {
            SledFailure::Panicked(message) => damage(message),
            SledFailure::Corrupt(message) => damage(format!("sled reports corruption: {message}")),
            failure @ SledFailure::Io(_) if failure.is_lock_failure() => {
                StoreError::InUse { path: log_path.parent().unwrap_or(log_path).to_path_buf() }
            }
            SledFailure::Io(error) => StoreError::io("sled I/O failed on", log_path, error),
            SledFailure::Other(message) => damage(format!("sled error: {message}")),
        }
    }
}
