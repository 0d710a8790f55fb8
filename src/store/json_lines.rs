//! JSON lines (`easgate log`, `easgate log import`): one event per line,
//! `{"seq","at","type","v","event_id","correlation_id","causation_id","data":{...}}`, with `at`
//! in RFC 3339 UTC with microseconds and `data` the payload as serde_json writes it.
//!
//! `v` is the version of `data`'s shape: events are decoded through the upcasters before they are
//! printed, so it is the current version, and import accepts only the current version.
//! Import validates every line before appending anything (all or nothing), ignores unknown fields
//! (in `data` and beside it), and assigns seqs and hashes anew.

use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::RecordedEvent;
use crate::domain::event::Event;
use crate::store::catalog::{self, EventData, JsonDataError};
use crate::store::error::StoreError;
use crate::store::log::{NewEvent, Store};

/// The longest line import reads.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// The most lines one import takes.
pub const MAX_IMPORT_LINES: u64 = 1_000_000_000;
/// Events appended per batch during import (one flush at the end).
const IMPORT_BATCH_EVENTS: usize = 1_000;

/// A bad line: its number (from 1), the field path (`data.inputs.targeted`), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {detail}", field.as_ref().map(|field| format!(", field {field}")).unwrap_or_default())]
pub struct JsonLineError {
    pub line: u64,
    /// `None` when the line is not JSON at all.
    pub field: Option<String>,
    pub detail: String,
}

/// Why an import failed. **Handling:** `Line`: fix the input (nothing was imported); `Store`: as
/// the store error says.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Line(#[from] JsonLineError),
    #[error("cannot read the input: {0}")]
    Read(#[source] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Serialize)]
struct LineOut<'a> {
    seq: u64,
    at: String,
    #[serde(rename = "type")]
    event_type: &'static str,
    v: u16,
    event_id: Uuid,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    data: EventData<'a>,
}

#[derive(Deserialize)]
struct LineIn {
    #[serde(default)]
    #[allow(dead_code)] // read to validate its type; the store assigns seqs anew
    seq: Option<u64>,
    #[serde(default)]
    at: Option<String>,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    v: Option<u16>,
    #[serde(default)]
    event_id: Option<Uuid>,
    #[serde(default)]
    correlation_id: Option<Uuid>,
    #[serde(default)]
    causation_id: Option<Uuid>,
    data: serde_json::Value,
}

/// `recorded_at` as RFC 3339 UTC with microseconds, e.g. `2026-01-01T00:00:00.000000Z`.
pub fn format_recorded_at(recorded_at_us: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(recorded_at_us) {
        Some(at) => at.to_rfc3339_opts(SecondsFormat::Micros, true),
        // Beyond chrono's range (year ±262143): only a hand-made record can hold that.
        None => format!("{recorded_at_us}us"),
    }
}

/// Writes one event as a JSON line (with the trailing newline).
pub fn write_json_line(event: &RecordedEvent, out: &mut impl Write) -> io::Result<()> {
    let line = LineOut {
        seq: event.seq,
        at: format_recorded_at(event.recorded_at_us),
        event_type: event.event.name(),
        v: catalog::entry(catalog::event_type_of(&event.event)).map_or(1, |entry| entry.current_version),
        event_id: event.event_id,
        correlation_id: event.correlation_id,
        causation_id: event.causation_id,
        data: EventData(&event.event),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// One event as a JSON line (without the newline).
pub fn to_json_line(event: &RecordedEvent) -> String {
    let mut line = Vec::new();
    // Writing to a Vec cannot fail, and every payload serialises to JSON.
    let _ = write_json_line(event, &mut line);
    line.pop();
    String::from_utf8_lossy(&line).into_owned()
}

/// An event read from a JSON line; absent envelope fields are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedEvent {
    pub line: u64,
    pub recorded_at_us: Option<i64>,
    pub event_id: Option<Uuid>,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub event: Event,
}

/// Parses one JSON line; `line` (from 1) is for the error.
pub fn parse_json_line(line: u64, text: &str) -> Result<ImportedEvent, JsonLineError> {
    let error = |field: Option<String>, detail: String| JsonLineError { line, field, detail };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed: LineIn = serde_path_to_error::deserialize(&mut deserializer).map_err(|bad| {
        let field = bad.path().to_string();
        let inner = bad.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if field != "." => error(Some(field), inner.to_string()),
            serde_json::error::Category::Data => error(None, inner.to_string()),
            _ => error(None, format!("malformed JSON: {inner}")),
        }
    })?;
    deserializer.end().map_err(|bad| error(None, format!("malformed JSON: {bad}")))?;
    let entry = catalog::entry_by_name(&parsed.event_type)
        .ok_or_else(|| error(Some("type".into()), format!("unknown event type {:?}", parsed.event_type)))?;
    let version = parsed.v.unwrap_or(entry.current_version);
    if version != entry.current_version {
        let detail = format!(
            "{} version {version} is not supported (import takes version {})",
            entry.name, entry.current_version
        );
        return Err(error(Some("v".into()), detail));
    }
    let recorded_at_us =
        parsed.at.as_deref().map(parse_recorded_at).transpose().map_err(|detail| error(Some("at".into()), detail))?;
    let event = catalog::event_from_json_data(entry.name, parsed.data).map_err(|bad| match bad {
        JsonDataError::UnknownName => error(Some("type".into()), format!("unknown event type {:?}", entry.name)),
        JsonDataError::Field(bad) => {
            let path = bad.path().to_string();
            let field = if path == "." { "data".to_string() } else { format!("data.{path}") };
            error(Some(field), bad.into_inner().to_string())
        }
    })?;
    Ok(ImportedEvent {
        line,
        recorded_at_us,
        event_id: parsed.event_id,
        correlation_id: parsed.correlation_id,
        causation_id: parsed.causation_id,
        event,
    })
}

fn parse_recorded_at(text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc).timestamp_micros())
        .map_err(|error| format!("{text:?} is not an RFC 3339 timestamp: {error}"))
}

/// What to use where a line has no `at` or `event_id`.
pub struct ImportDefaults<'a> {
    pub recorded_at_us: i64,
    /// Makes a UUID v7 for lines without `event_id`.
    pub new_event_id: &'a mut dyn FnMut() -> Uuid,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub events: u64,
    pub last_seq: u64,
}

impl Store {
    /// `easgate log import`: validates every line of `input`, then appends them all (in batches,
    /// one flush at the end). Refused unless the log is empty. Blank lines are skipped.
    pub fn import_json_lines<R: BufRead + Seek>(
        &mut self,
        mut input: R,
        defaults: ImportDefaults<'_>,
    ) -> Result<ImportSummary, ImportError> {
        if !self.is_empty() {
            let detail = format!(
                "log import needs an empty data directory; {} already holds {} events",
                self.data_dir().display(),
                self.len()
            );
            return Err(StoreError::Refused(detail).into());
        }
        let mut lines = 0u64;
        for_each_line(&mut input, |line, text| {
            parse_json_line(line, text)?;
            lines += 1;
            Ok(())
        })?;
        input.seek(SeekFrom::Start(0)).map_err(ImportError::Read)?;
        let mut batch = Vec::with_capacity(IMPORT_BATCH_EVENTS);
        let mut appended = 0u64;
        for_each_line(&mut input, |line, text| {
            let imported = parse_json_line(line, text)?;
            batch.push(NewEvent {
                recorded_at_us: imported.recorded_at_us.unwrap_or(defaults.recorded_at_us),
                event_id: imported.event_id.unwrap_or_else(|| (defaults.new_event_id)()),
                correlation_id: imported.correlation_id,
                causation_id: imported.causation_id,
                event: imported.event,
            });
            if batch.len() == IMPORT_BATCH_EVENTS {
                appended += self.append(std::mem::take(&mut batch))?.len() as u64;
            }
            Ok(())
        })?;
        appended += self.append(batch)?.len() as u64;
        self.flush()?;
        debug_assert_eq!(appended, lines);
        Ok(ImportSummary { events: appended, last_seq: self.last_seq() })
    }
}

/// Calls `visit(line_number, text)` for every non-blank line, with the line and count limits.
fn for_each_line<R: BufRead>(
    input: &mut R,
    mut visit: impl FnMut(u64, &str) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut buffer = String::new();
    for line in 1..=MAX_IMPORT_LINES {
        buffer.clear();
        let read = Read::take(&mut *input, MAX_LINE_BYTES as u64 + 1).read_line(&mut buffer).map_err(|error| {
            if error.kind() == io::ErrorKind::InvalidData {
                ImportError::Line(JsonLineError { line, field: None, detail: "not UTF-8".into() })
            } else {
                ImportError::Read(error)
            }
        })?;
        if read == 0 {
            return Ok(());
        }
        if buffer.len() > MAX_LINE_BYTES {
            let detail = format!("longer than {MAX_LINE_BYTES} bytes");
            return Err(JsonLineError { line, field: None, detail }.into());
        }
        if !buffer.trim().is_empty() {
            visit(line, buffer.trim_end_matches(['\n', '\r']))?;
        }
    }
    Err(JsonLineError { line: MAX_IMPORT_LINES, field: None, detail: "too many lines".into() }.into())
}
