//! How the summaries are laid out on disk, as the BAS spec advises: one `index.json` listing
//! every activity while the store is small; above [`SHARD_THRESHOLD`] activities, yearly shard
//! files `index_{year}.json` (each a complete BAS index of that year's activities) and an
//! `index.json` listing the shards plus the [`INLINE_RECENT`] newest activities. Only shards
//! whose year changed are rewritten, so a batch costs a year of summaries, not the whole past.

use std::path::Path;

use bincio_atomic_file::{commit_group, write_atomic, PendingFile};

use crate::activity::BAS_VERSION;
use crate::catalog::Catalog;
use crate::error::StoreError;
use crate::index::{shard_url, Owner, Shard};
use crate::timefmt::LocalTime;

/// Above this many activities the index is split into yearly shards (the BAS spec's ~5,000).
pub const SHARD_THRESHOLD: usize = 5_000;
/// Newest activities kept inline in a sharded `index.json`, for fast feed rendering.
pub const INLINE_RECENT: usize = 200;

/// Writes the index files of `catalog` into `dir`: the shards whose count changed and
/// `index.json`, as one durability group (all synced together, `index.json` renamed last).
/// `shards` is what is on disk; it is updated.
///
/// Should a crash persist `index.json` but not a shard's rename, opening the store reads the
/// older shard (or none): the activities missing from it are orphans, adopted by recovery.
pub(crate) fn write_index_files(
    dir: &Path,
    owner: &Owner,
    catalog: &Catalog,
    shards: &mut Vec<Shard>,
) -> Result<(), StoreError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let generated_at = LocalTime::new(now, None).rfc3339();
    let index_path = dir.join("index.json");
    if catalog.len() <= SHARD_THRESHOLD && shards.is_empty() {
        let mut out = Vec::with_capacity(catalog.json_len() + 256);
        document(&mut out, owner, &generated_at, &[], |out| {
            catalog.write_json_array(out, None, usize::MAX)
        })?;
        return Ok(write_atomic(&index_path, &out)?);
    }
    let wanted: Vec<Shard> = catalog
        .per_year()
        .iter()
        .map(|(&year, &count)| Shard {
            year,
            url: shard_url(year),
            count,
        })
        .collect();
    let mut group = Vec::new();
    let written = (|| {
        for shard in wanted.iter().filter(|s| !shards.contains(s)) {
            let mut out = Vec::new();
            document(&mut out, owner, &generated_at, &[], |out| {
                catalog.write_json_array(out, Some(shard.year), usize::MAX)
            })?;
            group.push(PendingFile::write(&dir.join(&shard.url), &out)?);
        }
        let mut out = Vec::new();
        document(&mut out, owner, &generated_at, &wanted, |out| {
            catalog.write_json_array(out, None, INLINE_RECENT)
        })?;
        group.push(PendingFile::write(&index_path, &out)?);
        Ok::<(), StoreError>(())
    })();
    if let Err(e) = written {
        group.into_iter().for_each(PendingFile::discard);
        return Err(e);
    }
    commit_group(group)?;
    *shards = wanted;
    Ok(())
}

/// A BAS index document; `activities` appends the JSON array of summaries.
fn document(
    out: &mut Vec<u8>,
    owner: &Owner,
    generated_at: &str,
    shards: &[Shard],
    activities: impl FnOnce(&mut Vec<u8>),
) -> Result<(), StoreError> {
    let fail = |e| StoreError::Serialize {
        what: "index".to_string(),
        source: e,
    };
    out.extend_from_slice(b"{\"bas_version\":");
    serde_json::to_writer(&mut *out, BAS_VERSION).map_err(fail)?;
    out.extend_from_slice(b",\"owner\":");
    serde_json::to_writer(&mut *out, owner).map_err(fail)?;
    out.extend_from_slice(b",\"generated_at\":");
    serde_json::to_writer(&mut *out, generated_at).map_err(fail)?;
    out.extend_from_slice(b",\"shards\":");
    serde_json::to_writer(&mut *out, shards).map_err(fail)?;
    out.extend_from_slice(b",\"activities\":");
    activities(out);
    out.push(b'}');
    Ok(())
}
