//! One importer's card on Settings → Importers: the connection's status, what needs the user,
//! Sync now, the run's progress (server-rendered, then followed live by the page's script over
//! its stream), and Disconnect.

use super::{csrf_input, slug};
use crate::host::format_time;
use crate::web::auth::SignedIn;
use crate::web::importers::{self, Card};
use crate::web::live::RunEvent;
use crate::web::state::AppState;
use maud::{html, Markup};

pub(super) fn card_markup(state: &AppState, signed: &SignedIn, card: &Card) -> Markup {
    let d = &card.descriptor;
    let s = slug(&d.id);
    let report = card.report.as_ref();
    let live = report.and_then(|r| state.live.get(&r.connection.id));
    let events = live
        .as_ref()
        .map(|run| run.events_from(0).0)
        .unwrap_or_default();
    html! {
        section class="card" id={ "card-" (s) } aria-labelledby={ "card-title-" (s) }
            data-stream={ "/settings/importers/" (d.id) "/stream" }
            data-running=(if card.running { "true" } else { "false" }) {
            h2 id={ "card-title-" (s) } { (d.name) }
            @match report {
                None => {
                    p id={ "status-" (s) } { "Not connected." }
                    p { a class="button" id={ "connect-" (s) } href={ "/settings/importers/" (d.id) "/connect" } { "Connect an account" } }
                }
                Some(r) => {
                    dl class="status" id={ "status-" (s) } {
                        dt { "Account" } dd id={ "account-" (s) } { (r.connection.display_name.as_deref().unwrap_or("-")) }
                        dt { "Last run" }
                        dd id={ "last-run-" (s) } {
                            @match &r.last_run {
                                Some(run) => {
                                    (format_time(run.started_at)) ", "
                                    // The script sets it when the live run ends.
                                    span id={ "last-outcome-" (s) } { (run.outcome.map(|o| o.to_string()).unwrap_or_else(|| "running".into())) }
                                    @if let Some(e) = &run.error { ": " (e.message) }
                                }
                                None => "never",
                            }
                        }
                        dt { "Next run" } dd id={ "next-run-" (s) } { (r.next_run_text()) }
                    }
                    @if let Some(a) = importers::attention(state, r) {
                        p class="attention" role="alert" id={ "attention-" (s) } {
                            (a) " "
                            a href={ "/settings/importers/" (d.id) "/connect" } { "Fix it" }
                        }
                    }
                    form method="post" action={ "/settings/importers/" (d.id) "/sync" } class="inline" {
                        (csrf_input(signed))
                        button id={ "sync-now-" (s) } type="submit" { "Sync now" }
                    }
                    (progress_markup(&s, &events, card.running))
                    form id={ "disconnect-form-" (s) } method="post" action={ "/settings/importers/" (d.id) "/disconnect" } class="inline danger" {
                        (csrf_input(signed))
                        p class="hint" { "Disconnecting deletes the stored credentials and tokens; your activities stay." }
                        button id={ "disconnect-" (s) } type="submit" { "Disconnect" }
                    }
                }
            }
            p class="alternative" { "Rather not hand over a password? " a href="/upload" { "Upload FIT files or a Garmin data export" } " instead." }
        }
    }
}

/// The progress region: the run's events so far (server-rendered, so it
/// shows without JavaScript), which the script then follows live.
fn progress_markup(s: &str, events: &[RunEvent], running: bool) -> Markup {
    let (mut imported, mut skipped, mut errors) = (0u64, 0u64, 0u64);
    let mut state_text = if running {
        "Sync running…".to_string()
    } else {
        String::new()
    };
    for e in events {
        match e {
            RunEvent::Progress { status, .. } => match *status {
                "imported" => imported += 1,
                "skipped" => skipped += 1,
                _ => errors += 1,
            },
            RunEvent::Done {
                imported: i,
                skipped: k,
                error_count,
                left_for_next_run,
                has_more,
                ..
            } => {
                (imported, skipped, errors) = (*i, *k, *error_count);
                state_text = format!(
                    "Sync finished{}{}.",
                    if *left_for_next_run > 0 {
                        format!("; {left_for_next_run} left for the next run")
                    } else {
                        String::new()
                    },
                    if *has_more {
                        "; more history comes with the next runs"
                    } else {
                        ""
                    }
                );
            }
            RunEvent::Error { message } => state_text = format!("Sync failed: {message}"),
            RunEvent::Fetching => {}
        }
    }
    html! {
        div class="progress" id={ "progress-" (s) } aria-live="polite" {
            p id={ "run-state-" (s) } { (state_text) }
            dl class="counts" id={ "counts-" (s) } {
                dt { "Imported" } dd id={ "count-imported-" (s) } { (imported) }
                dt { "Already there" } dd id={ "count-skipped-" (s) } { (skipped) }
                dt { "Rejected or left for later" } dd id={ "count-errors-" (s) } { (errors) }
            }
            ul class="items" id={ "progress-items-" (s) } {
                @for e in events.iter().rev().take(200) {
                    @if let RunEvent::Progress { name, status, reason, .. } = e {
                        li class={ "item " (status) } { (name) " — " (status) @if let Some(r) = reason { ": " (r) } }
                    }
                }
            }
            @if running { noscript { p { a href="/settings/importers" { "Reload to see the progress" } } } }
        }
    }
}
