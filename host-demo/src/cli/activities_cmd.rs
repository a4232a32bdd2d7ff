//! `activities`: what the BAS store holds, newest first.

use host_demo::import::open_local;
use std::path::Path;

pub fn run(data_dir: &Path, handle: &str) -> anyhow::Result<()> {
    let pipeline = open_local(data_dir, handle)?;
    let store = pipeline.store();
    let entries = store.list()?;
    println!(
        "{:<16}  {:<8}  {:<28}  {:>8}  {:>8}  id",
        "date", "sport", "title", "km", "duration"
    );
    for entry in &entries {
        println!(
            "{:<16}  {:<8}  {:<28}  {:>8}  {:>8}  {}",
            local_date_time(&entry.started_at),
            serde_plain(&entry.sport),
            clip(&host_demo::host::printable(&entry.title), 28),
            entry
                .distance_m
                .map(|m| format!("{:.2}", m / 1000.0))
                .unwrap_or_else(|| "-".into()),
            entry.duration_s.map(hms).unwrap_or_else(|| "-".into()),
            entry.id
        );
    }
    println!(
        "\n{} activit{} in {}",
        entries.len(),
        if entries.len() == 1 { "y" } else { "ies" },
        store.dir().display()
    );
    Ok(())
}

/// `2018-02-18T17:12:56+01:00` as `2018-02-18 17:12` (the activity's own
/// local time, as the device recorded it).
fn local_date_time(started_at: &str) -> String {
    started_at
        .get(..16)
        .unwrap_or(started_at)
        .replacen('T', " ", 1)
}

fn hms(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(width - 1).collect();
    clipped.push('…');
    clipped
}

/// A serde enum's wire name (`cycling`), as the BAS files spell it.
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "?".into(),
    }
}
