//! One sync run: due retries first, then the newest activities down to the
//! look-back floor, then the backfill into older history, all within the
//! run's download cap. See the README for the algorithm and `cursor` for
//! what is kept between runs.
//!
//! Each item ends in exactly one of: imported or duplicate (held by the
//! sink), rejected for good (kept in the cursor), or deferred (the sink's
//! retry state offers it again). The cursor only moves past items in one of
//! those states, so no activity is ever skipped; pages are handled one at a
//! time, so memory does not grow with the history.

use crate::api::{Api, ListedActivity};
use crate::cursor::{self, Cursor};
use crate::download::{fit_from_download, Unusable};
use crate::errors::{GarminError, Result};
use crate::paging::{Pager, Window};
use crate::settings::Settings;
use crate::shared::Shared;
use crate::tokens::Vault;
use abi_stable::std_types::{RResult, RStr};
use host_api::{
    ImportItem, ImportOutcome, PluginError, Rejection, SyncContext, SyncRequest, SyncSummary,
};
use std::collections::HashSet;
use std::sync::Arc;

pub async fn run(
    shared: &Shared,
    ctx: &SyncContext,
    request: &SyncRequest,
) -> Result<SyncSummary, PluginError> {
    let connection = &ctx.connection;
    let vault = Vault::new(connection.secrets.clone());
    let session = shared
        .open_session(&connection.connection_id, vault, &connection.cancel)
        .map_err(GarminError::into_plugin_error)?;
    let cap = request
        .max_downloads
        .into_option()
        .unwrap_or(shared.settings.max_downloads_per_run);
    let mut run = Run {
        api: Api::new(session).with_budget(shared.budget.clone()),
        ctx,
        settings: shared.settings.clone(),
        cursor: Cursor::parse(request.cursor.as_ref().map(|c| c.as_str()).into_option()),
        summary: SyncSummary::default(),
        cap,
        downloads: 0,
        attempted: HashSet::new(),
        now: shared.clock.now(),
        pager: Pager::new(shared.settings.list_request_budget(cap)),
    };
    ctx.progress.set_total(u64::from(cap));
    tracing::info!(target: "garmin::sync", cap, "sync starts");
    let outcome = run.walk().await;
    let committed = run.commit();
    let summary = run.summary;
    tracing::info!(
        target: "garmin::sync",
        listed = summary.listed,
        imported = summary.imported,
        already_there = summary.already_there,
        rejected = summary.rejected.len(),
        deferred = summary.deferred,
        has_more = summary.has_more,
        "sync ends: {}",
        match &outcome { Ok(()) => "ok".to_string(), Err(e) => e.to_string() }
    );
    outcome.map_err(GarminError::into_plugin_error)?;
    committed.map_err(GarminError::into_plugin_error)?;
    Ok(summary)
}

/// What became of one activity.
enum Handled {
    /// Durable now (or already): imported, duplicate, rejected, deferred.
    Done,
    /// Needs a download but the run's cap is spent.
    CapReached,
}

struct Run<'a> {
    api: Api,
    ctx: &'a SyncContext,
    settings: Arc<Settings>,
    cursor: Cursor,
    summary: SyncSummary,
    cap: u32,
    downloads: u32,
    /// Ids tried this run: a failing item is not downloaded twice in a run.
    attempted: HashSet<String>,
    now: i64,
    /// The run's list-request budget and the ids of the current walk.
    pager: Pager,
}

impl Run<'_> {
    async fn walk(&mut self) -> Result<()> {
        let retries_done = self.retry_due().await?;
        if let Some(top) = self.cursor.top.clone() {
            if !self.walk_newest(&top).await? {
                self.summary.has_more = true;
                return Ok(());
            }
        }
        if !self.cursor.backfill_done && !self.walk_backfill().await? {
            self.summary.has_more = true;
        }
        if !retries_done {
            self.summary.has_more = true;
        }
        Ok(())
    }

    /// Items whose earlier download failed and whose backoff has passed.
    /// Returns false when the cap stopped it.
    async fn retry_due(&mut self) -> Result<bool> {
        let due = host(self.ctx.sink.due_retries())?;
        if !due.is_empty() {
            tracing::info!(target: "garmin::sync", due = due.len(), "retrying earlier failed downloads");
        }
        for retry in due.iter() {
            if let Handled::CapReached = self.handle(retry.external_id.as_str()).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// From the newest activity down to the look-back floor, or to an empty
    /// page. Returns whether it got there (false: the cap or the list budget
    /// stopped it).
    async fn walk_newest(&mut self, top: &str) -> Result<bool> {
        let floor = cursor::lookback_floor(top, self.now, self.settings.lookback_days);
        let mut start = 0u64;
        let mut newest: Option<String> = None;
        self.pager.new_walk();
        loop {
            let Some(page) = self.list(start, None).await? else {
                return Ok(false);
            };
            if self.page_ends_walk(&page) {
                self.raise_top(newest);
                return Ok(true);
            }
            for entry in &page {
                if newest.is_none() {
                    newest.clone_from(&entry.start_gmt);
                }
                let at = entry.start_gmt.as_deref().and_then(cursor::parse_time);
                if let (Some(floor), Some(at)) = (floor, at) {
                    if at < floor {
                        self.raise_top(newest);
                        return Ok(true);
                    }
                }
                if let Handled::CapReached = self.handle(&entry.id).await? {
                    return Ok(false);
                }
            }
            self.commit()?;
            start += page.len() as u64;
        }
    }

    /// Older history, below `backfill_before`, one date window at a time
    /// down to the oldest activity. Returns false when the cap or the list
    /// budget stopped it.
    async fn walk_backfill(&mut self) -> Result<bool> {
        let covered_down_to = self
            .cursor
            .backfill_before
            .as_deref()
            .and_then(cursor::parse_time);
        if !self.pager_take()? {
            return Ok(false);
        }
        let Some(oldest) = self.api.oldest().await? else {
            self.cursor.backfill_done = true;
            return Ok(true);
        };
        // The oldest local day can be one before its GMT day.
        let oldest_day = oldest
            .start_gmt
            .as_deref()
            .and_then(cursor::parse_time)
            .map(|t| t.date().previous_day().unwrap_or(t.date()));
        let last = match covered_down_to {
            Some(covered) => covered.date(),
            // The first run: from the day after today (zones ahead of GMT).
            None => cursor::from_unix(self.now)
                .date()
                .next_day()
                .unwrap_or(time::Date::MAX),
        };
        let mut window = Window::ending(last);
        loop {
            if oldest_day.is_none_or(|oldest| window.last < oldest) {
                self.cursor.backfill_done = true;
                tracing::info!(target: "garmin::sync", "the whole history has been walked");
                return Ok(true);
            }
            if !self.walk_window(window, covered_down_to).await? {
                return Ok(false);
            }
            let floor = window.covered_down_to();
            let parsed = self
                .cursor
                .backfill_before
                .as_deref()
                .and_then(cursor::parse_time);
            if parsed.is_none_or(|at| floor < at) {
                self.cursor.backfill_before = Some(cursor::format_time(floor));
            }
            self.commit()?;
            window = window.before();
        }
    }

    /// Every page of one backfill window. Returns false when the cap or the
    /// list budget stopped it.
    async fn walk_window(
        &mut self,
        window: Window,
        covered_down_to: Option<time::PrimitiveDateTime>,
    ) -> Result<bool> {
        let mut start = 0u64;
        self.pager.new_walk();
        loop {
            let Some(page) = self.list(start, Some(window)).await? else {
                return Ok(false);
            };
            if self.page_ends_walk(&page) {
                return Ok(true);
            }
            for entry in &page {
                if self.cursor.top.is_none() {
                    // The first run: the list's head is the top of the history.
                    self.cursor.top.clone_from(&entry.start_gmt);
                }
                let at = entry.start_gmt.as_deref().and_then(cursor::parse_time);
                if let (Some(covered), Some(at)) = (covered_down_to, at) {
                    if at > covered {
                        continue;
                    }
                }
                if let Handled::CapReached = self.handle(&entry.id).await? {
                    return Ok(false);
                }
                let before = self
                    .cursor
                    .backfill_before
                    .as_deref()
                    .and_then(cursor::parse_time);
                if let Some(at) = at.filter(|at| before.is_none_or(|b| *at < b)) {
                    self.cursor.backfill_before = Some(cursor::format_time(at));
                }
            }
            self.commit()?;
            start += page.len() as u64;
        }
    }

    /// An empty page ends a walk; so does a page of ids this walk has listed
    /// already (a list that repeats itself would never end).
    fn page_ends_walk(&mut self, page: &[ListedActivity]) -> bool {
        if page.is_empty() {
            return true;
        }
        if !self.pager.brings_news(page.iter().map(|e| e.id.as_str())) {
            tracing::warn!(target: "garmin::sync", "a list page brought no new activity; the list repeats itself, stopping this walk");
            return true;
        }
        false
    }

    /// One request from the run's list budget; false when it is spent.
    fn pager_take(&mut self) -> Result<bool> {
        self.check_cancel()?;
        if self.pager.take().is_err() {
            tracing::info!(target: "garmin::sync", "this run's list requests are spent; the rest waits for the next run");
            return Ok(false);
        }
        Ok(true)
    }

    async fn list(
        &mut self,
        start: u64,
        window: Option<Window>,
    ) -> Result<Option<Vec<ListedActivity>>> {
        if !self.pager_take()? {
            return Ok(None);
        }
        let query = window.map(Window::query);
        let page = self
            .api
            .list(
                start,
                self.settings.page_size,
                query.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
            )
            .await?;
        tracing::debug!(target: "garmin::sync", start, window = ?query, listed = page.len(), "listed a page");
        self.summary.listed += page.len() as u32;
        Ok(Some(page))
    }

    fn raise_top(&mut self, newest: Option<String>) {
        let parsed = |t: &Option<String>| t.as_deref().and_then(cursor::parse_time);
        if newest.is_some()
            && (self.cursor.top.is_none() || parsed(&newest) > parsed(&self.cursor.top))
        {
            self.cursor.top = newest;
        }
    }

    async fn handle(&mut self, id: &str) -> Result<Handled> {
        if self.cursor.rejected.contains_key(id) || self.attempted.contains(id) {
            return Ok(Handled::Done);
        }
        if host(self.ctx.sink.contains(RStr::from(id)))? {
            self.summary.already_there += 1;
            return Ok(Handled::Done);
        }
        if self.downloads >= self.cap {
            return Ok(Handled::CapReached);
        }
        self.check_cancel()?;
        self.downloads += 1;
        self.attempted.insert(id.to_string());
        let downloaded = self.api.download_original(id).await;
        let max_entry = self.settings.max_download_bytes() as u64 * 8;
        match downloaded.map(|bytes| fit_from_download(id, bytes, max_entry)) {
            Ok(Ok((file_name, bytes))) => self.import(id, file_name, bytes)?,
            Ok(Err(Unusable::NoFit(what))) => self.reject(id, Unusable::NoFit(what).to_string()),
            Ok(Err(broken @ Unusable::Broken(_))) => self.defer(id, &broken.to_string())?,
            Err(GarminError::NotFound { .. }) => self.reject(
                id,
                "Garmin has no original file for this activity (a manual entry?)".into(),
            ),
            Err(e @ (GarminError::Transient { .. } | GarminError::Permanent { .. })) => {
                self.defer(id, &e.to_string())?
            }
            Err(run_ending) => return Err(run_ending),
        }
        self.ctx.progress.advance(
            u64::from(self.downloads),
            RStr::from(format!("activity {id}").as_str()),
        );
        Ok(Handled::Done)
    }

    fn import(&mut self, id: &str, file_name: String, bytes: Vec<u8>) -> Result<()> {
        let item = ImportItem {
            external_id: id.into(),
            file_name: file_name.into(),
            bytes: bytes.into(),
        };
        let outcome = ImportOutcome::from_abi(host(self.ctx.sink.import(item))?);
        match outcome {
            Ok(ImportOutcome::Imported { .. }) => self.summary.imported += 1,
            Ok(ImportOutcome::Rejected { reason }) => {
                tracing::info!(target: "garmin::sync", id, "the pipeline rejected the activity: {reason}");
                self.summary.rejected.push(Rejection {
                    external_id: id.into(),
                    reason,
                });
            }
            // Duplicate, or an outcome only a newer host knows: either way
            // the host took the item, so it is held.
            Ok(_) | Err(_) => self.summary.already_there += 1,
        }
        Ok(())
    }

    fn reject(&mut self, id: &str, reason: String) {
        tracing::info!(target: "garmin::sync", id, "rejected for good: {reason}");
        self.summary.rejected.push(Rejection {
            external_id: id.into(),
            reason: reason.as_str().into(),
        });
        self.cursor.rejected.insert(id.to_string(), reason);
    }

    fn defer(&mut self, id: &str, why: &str) -> Result<()> {
        tracing::warn!(target: "garmin::sync", id, "download failed, deferred to a later run: {why}");
        host(self.ctx.sink.defer(RStr::from(id), RStr::from(why)))?;
        self.summary.deferred += 1;
        Ok(())
    }

    fn check_cancel(&self) -> Result<()> {
        if self.ctx.connection.cancel.is_cancelled() {
            return Err(GarminError::Cancelled);
        }
        Ok(())
    }

    fn commit(&self) -> Result<()> {
        host(
            self.ctx
                .sink
                .commit(RStr::from(self.cursor.to_json().as_str())),
        )
    }
}

fn host<T>(result: RResult<T, PluginError>) -> Result<T> {
    result.into_result().map_err(GarminError::Host)
}
