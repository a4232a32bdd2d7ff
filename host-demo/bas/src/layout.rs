//! How the summaries are laid out on disk, as the BAS spec advises: one `index.json` listing
//! every activity while the store is small; above [`SHARD_THRESHOLD`] activities, yearly shard
//! files `index_{year}.json` (each a complete BAS index of that year's activities) and an
//! `index.json` listing the shards plus the [`INLINE_RECENT`] newest activities. Only shards
//! whose year changed are rewritten, so a batch costs a year of summaries, not the whole past.

use bincio_atomic_file::FileGroup;
use std::path::Path;

use crate::activity::BAS_VERSION;
use crate::catalog::Catalog;
use crate::error::StoreError;
use crate::index::{shard_url, Owner, Shard};
use crate::timefmt::LocalTime;

/// Above this many activities the index is split into yearly shards (the BAS spec's ~5,000).
pub const SHARD_THRESHOLD: usize = 5_000;
/// Newest activities kept inline in a sharded `index.json`, for fast feed rendering.
pub const INLINE_RECENT: usize = 200;

/// The index files of `catalog` for `dir`, (path, bytes) in the order to rename them: the
/// shards whose count changed and `index.json` last, to be written as one durability group.
/// `shards` is what is on disk; the layout they make up once written is returned beside them.
///
/// Should a crash persist `index.json` but not a shard's rename, opening the store reads the
/// older shard (or none): the activities missing from it are orphans, adopted by recovery.
pub(crate) fn index_files(
    dir: &Path,
    owner: &Owner,
    catalog: &Catalog,
    shards: &[Shard],
) -> Result<(FileGroup, Vec<Shard>), StoreError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let generated_at = LocalTime::new(now, None).rfc3339();
    let index_path = dir.join("index.json");
    if catalog.len() <= SHARD_THRESHOLD && shards.is_empty() {
        let mut out = Vec::with_capacity(catalog.json_len() + 256);
        document(&mut out, owner, &generated_at, &[], |out| {
            catalog.write_json_array(out, None, usize::MAX)
        })?;
        return Ok((vec![(index_path, out)], Vec::new()));
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
    let mut files = Vec::new();
    for shard in wanted.iter().filter(|s| !shards.contains(s)) {
        let mut out = Vec::new();
        document(&mut out, owner, &generated_at, &[], |out| {
            catalog.write_json_array(out, Some(shard.year), usize::MAX)
        })?;
        files.push((dir.join(&shard.url), out));
    }
    let mut out = Vec::new();
    document(&mut out, owner, &generated_at, &wanted, |out| {
        catalog.write_json_array(out, None, INLINE_RECENT)
    })?;
    files.push((index_path, out));
    Ok((files, wanted))
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
