//! How the summaries are laid out on disk, as the BAS spec advises: one `index.json` listing
//! every activity while the store is small; above [`SHARD_THRESHOLD`] activities, yearly shard
//! files `index_{year}.json` (each a complete BAS index of that year's activities) and an
//! `index.json` listing the shards plus the [`INLINE_RECENT`] newest activities. Only shards
//! whose year changed are rewritten, so a batch costs a year of summaries, not the whole past.

use bincio_atomic_file::{Contents, FileGroup};
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::activity::BAS_VERSION;
use crate::arena::Gathered;
use crate::catalog::Catalog;
use crate::error::StoreError;
use crate::index::{shard_url, Owner, Shard};
use crate::timefmt::LocalTime;

/// Above this many activities the index is split into yearly shards (the BAS spec's ~5,000).
pub const SHARD_THRESHOLD: usize = 5_000;
/// Newest activities kept inline in a sharded `index.json`, for fast feed rendering.
pub const INLINE_RECENT: usize = 200;

/// Files to write: activity documents and tracks as bytes, index files gathered.
pub(crate) type Files = FileGroup<Box<dyn Contents>>;

/// The index files of `catalog` for `dir`, (path, contents) in the order to rename them: the
/// shards whose count changed and `index.json` last, to be written as one durability group.
/// `shards` is what is on disk; the layout they make up once written is returned beside them.
/// The files share the catalog's summaries (no copy of them is made).
///
/// Should a crash persist `index.json` but not a shard's rename, opening the store reads the
/// older shard (or none): the activities missing from it are orphans, adopted by recovery.
pub(crate) fn index_files(
    dir: &Path,
    owner: &Owner,
    catalog: &mut Catalog,
    shards: &[Shard],
) -> Result<(Files, Vec<Shard>), StoreError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let generated_at = LocalTime::new(now, None).rfc3339();
    let index_path = dir.join("index.json");
    if catalog.len() <= SHARD_THRESHOLD && shards.is_empty() {
        let all = catalog.gather(None, usize::MAX);
        let index = document(owner, &generated_at, &[], all)?;
        return Ok((vec![(index_path, index)], Vec::new()));
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
        let year = catalog.gather(Some(shard.year), usize::MAX);
        files.push((
            dir.join(&shard.url),
            document(owner, &generated_at, &[], year)?,
        ));
    }
    let recent = catalog.gather(None, INLINE_RECENT);
    files.push((index_path, document(owner, &generated_at, &wanted, recent)?));
    Ok((files, wanted))
}

/// A BAS index document: its head serialized, its summaries gathered.
struct Document {
    head: Vec<u8>,
    activities: Gathered,
}

impl Contents for Document {
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        // Summaries are small: buffered, a few writes of 64 KiB rather than two per summary.
        let mut out = BufWriter::with_capacity(64 << 10, out);
        out.write_all(&self.head)?;
        self.activities.write_to(&mut out)?;
        out.write_all(b"}")?;
        out.flush()
    }
}

fn document(
    owner: &Owner,
    generated_at: &str,
    shards: &[Shard],
    activities: Gathered,
) -> Result<Box<dyn Contents>, StoreError> {
    let fail = |e| StoreError::Serialize {
        what: "index".to_string(),
        source: e,
    };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"bas_version\":");
    serde_json::to_writer(&mut out, BAS_VERSION).map_err(fail)?;
    out.extend_from_slice(b",\"owner\":");
    serde_json::to_writer(&mut out, owner).map_err(fail)?;
    out.extend_from_slice(b",\"generated_at\":");
    serde_json::to_writer(&mut out, generated_at).map_err(fail)?;
    out.extend_from_slice(b",\"shards\":");
    serde_json::to_writer(&mut out, shards).map_err(fail)?;
    out.extend_from_slice(b",\"activities\":");
    Ok(Box::new(Document {
        head: out,
        activities,
    }))
}
