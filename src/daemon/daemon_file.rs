//! `DATA/daemon.json`: written when `easgate run` opens a data directory, removed when it
//! closes it cleanly. The daemon holds sled's lock, so commands that read the directory fail
//! with "in use"; this file tells them where the running daemon's admin API is (and which file
//! holds its token — never the token itself), so `easgate status` can ask the daemon instead.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::SecretSource;

pub const DAEMON_FILE_NAME: &str = "daemon.json";
/// The largest daemon.json read.
const DAEMON_FILE_BYTES_MAX: u64 = 64 * 1024;
/// How long `status` waits for the daemon's answer.
const STATUS_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest /status reply read.
const STATUS_REPLY_BYTES_MAX: usize = 16 * 1024 * 1024;

/// The content of daemon.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonFile {
    pub pid: u32,
    pub organization: String,
    pub connector_id: String,
    /// The admin API's bound address, `None` without `<AdminApi>`.
    pub admin_listen: Option<String>,
    /// Where the admin token is (a path or `env:NAME`), never the token.
    pub token_file: Option<String>,
    pub started_at: String,
    pub version: String,
}

pub fn daemon_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DAEMON_FILE_NAME)
}

impl DaemonFile {
    /// Writes the file atomically (a temporary file renamed over it).
    pub fn write(&self, data_dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let temporary = data_dir.join(format!(".{DAEMON_FILE_NAME}.tmp"));
        std::fs::write(&temporary, format!("{text}\n"))?;
        std::fs::rename(&temporary, daemon_file_path(data_dir))
    }

    /// The file in `data_dir`, `None` when there is none.
    pub fn read(data_dir: &Path) -> Result<Option<DaemonFile>, String> {
        let path = daemon_file_path(data_dir);
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("{}: {error}", path.display())),
        };
        if metadata.len() > DAEMON_FILE_BYTES_MAX {
            return Err(format!("{}: larger than {DAEMON_FILE_BYTES_MAX} bytes", path.display()));
        }
        let text = std::fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        serde_json::from_str(&text).map(Some).map_err(|error| format!("{}: {error}", path.display()))
    }

    /// Removes the file (a clean exit). A file already gone is fine.
    pub fn remove(data_dir: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(daemon_file_path(data_dir)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// Asks the daemon running on `data_dir` for its `/status` (the JSON of `easgate status`).
pub async fn status_from_daemon(data_dir: &Path) -> Result<Value, String> {
    let in_use = format!("the data directory {} is in use by another easgate process", data_dir.display());
    let Some(file) = DaemonFile::read(data_dir)? else {
        return Err(format!("{in_use} (no {DAEMON_FILE_NAME}: not a daemon, or an older one)"));
    };
    let (Some(listen), Some(token_file)) = (&file.admin_listen, &file.token_file) else {
        return Err(format!(
            "{in_use}: the daemon (pid {}) has no admin API; add <AdminApi Listen=.. TokenFile=..> to see its status while it runs",
            file.pid
        ));
    };
    let token_source = SecretSource::parse(token_file)
        .map_err(|error| format!("{DAEMON_FILE_NAME}: token_file: {error}"))?
        .ok_or_else(|| format!("{DAEMON_FILE_NAME}: token_file is empty"))?;
    let token = token_source.read().map_err(|error| format!("the admin token: {error}"))?;
    let client = reqwest::Client::builder()
        .timeout(STATUS_REQUEST_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|error| format!("HTTP client: {error}"))?;
    let url = format!("http://{listen}/status");
    let response = client
        .get(&url)
        .query(&[("organization", file.organization.as_str())])
        .bearer_auth(token.expose())
        .send()
        .await
        .map_err(|error| {
            format!("{in_use}; its admin API {url} did not answer: {}", crate::ews::describe_reqwest_error(&error))
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{in_use}; its admin API {url} answered {status}"));
    }
    let body = crate::ews::read_text_limited(response, STATUS_REPLY_BYTES_MAX).await?;
    serde_json::from_str(&body).map_err(|error| format!("{url}: not JSON: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_round_trips_and_removal_is_idempotent() {
        let directory = tempfile::tempdir().unwrap();
        assert_eq!(DaemonFile::read(directory.path()).unwrap(), None);
        let file = DaemonFile {
            pid: 42,
            organization: "contoso".into(),
            connector_id: "id".into(),
            admin_listen: Some("127.0.0.1:8470".into()),
            token_file: Some("/etc/easgate/admin.token".into()),
            started_at: "2026-01-01T00:00:00Z".into(),
            version: "0.1.0".into(),
        };
        file.write(directory.path()).unwrap();
        assert_eq!(DaemonFile::read(directory.path()).unwrap(), Some(file));
        DaemonFile::remove(directory.path()).unwrap();
        DaemonFile::remove(directory.path()).unwrap();
        assert!(!daemon_file_path(directory.path()).exists());
    }
}
