//! Structured logs with `tracing` on stderr: text for people, JSON lines for collectors
//! (`--log-format json`). The level comes from `EASGATE_LOG` (e.g. `debug`,
//! `easgate=debug,hyper=warn`), default `info`. Secrets never reach a log line: adapters log
//! sources (`/etc/easgate/graph.secret`), never values.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the process's subscriber (a second call changes nothing).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("EASGATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
