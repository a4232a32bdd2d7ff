//! The in-memory index of a store: every summary by id, by content hash, by start time (sorted)
//! and counted by year, each kept as its JSON already serialised (packed into shared chunks), so
//! lookups are logarithmic and an index file is written from the chunks without a copy.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::Arc;

use crate::index::IndexEntry;
use crate::timefmt::parse_unix;

/// Two activities starting this close (seconds) may be the same one...
pub const NEAR_START_S: i64 = 5 * 60;
/// ...when their distances differ by at most this fraction of the longer one.
pub const NEAR_DISTANCE_FRACTION: f64 = 0.05;
/// Distances below this (metres) are "no distance": two of them are equal.
const NO_DISTANCE_M: f64 = 1.0;

/// What the store keeps of one activity: the summary as the index files hold it (compact JSON,
/// the bytes written) and the few fields lookups need. The structured [`IndexEntry`] is parsed
/// back from the bytes on demand, so memory per activity is about the size of its summary.
struct Slot {
    facts: Facts,
    json: Loc,
}

/// What lookups need of a summary (its content hash is only in `by_hash` and in its JSON).
#[derive(Debug, Clone)]
struct Facts {
    started_at: i64,
    /// Metres, 0 when the summary has none (the near-duplicate rule treats both alike).
    distance_m: f64,
    year: i32,
}

/// A summary's place in the [`Arena`].
#[derive(Debug, Clone, Copy)]
struct Loc {
    chunk: u32,
    start: u32,
    len: u32,
}

/// Bytes of summaries gathered in the open chunk before it is sealed.
const CHUNK_BYTES: usize = 64 << 10;

/// The summaries' JSON packed back to back in chunks: one allocation per chunk rather than per
/// activity, and a sealed chunk is shared (not copied) with the index files being written. A
/// summary removed leaves its bytes behind (removal is rare: a replaced id, a failed commit).
#[derive(Default)]
struct Arena {
    sealed: Vec<Arc<[u8]>>,
    open: Vec<u8>,
}

impl Arena {
    fn push(&mut self, json: &[u8]) -> Loc {
        if !self.open.is_empty() && self.open.len() + json.len() > CHUNK_BYTES {
            self.seal();
        }
        if self.open.capacity() == 0 {
            self.open.reserve_exact(CHUNK_BYTES.max(json.len()));
        }
        let start = self.open.len();
        self.open.extend_from_slice(json);
        Loc {
            chunk: self.sealed.len() as u32,
            start: start as u32,
            len: json.len() as u32,
        }
    }

    /// Makes the open chunk shareable (its bytes move to a sealed chunk of their size).
    fn seal(&mut self) {
        if !self.open.is_empty() {
            self.sealed.push(Arc::from(std::mem::take(&mut self.open)));
        }
    }

    fn bytes(&self, loc: Loc) -> &[u8] {
        let chunk = self
            .sealed
            .get(loc.chunk as usize)
            .map_or(&self.open[..], |c| &c[..]);
        &chunk[loc.start as usize..][..loc.len as usize]
    }
}

/// A JSON array of summaries, newest first, gathered from sealed chunks it shares with the
/// catalog: what an index file lists, without a copy of its bytes.
pub(crate) struct Gathered {
    chunks: Vec<Arc<[u8]>>,
    pieces: Vec<Loc>,
}

impl Gathered {
    /// Writes `[summary,summary,...]`.
    pub(crate) fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(b"[")?;
        for (i, loc) in self.pieces.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            let chunk = &self.chunks[loc.chunk as usize];
            out.write_all(&chunk[loc.start as usize..][..loc.len as usize])?;
        }
        out.write_all(b"]")
    }
}

#[derive(Default)]
pub(crate) struct Catalog {
    slots: HashMap<String, Slot>,
    arena: Arena,
    by_time: BTreeSet<(i64, String)>,
    by_hash: HashMap<Box<str>, String>,
    per_year: BTreeMap<i32, usize>,
}

/// Why an entry cannot be catalogued.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CatalogError {
    #[error("started_at {0:?} is not an RFC 3339 time")]
    BadStartedAt(String),
    #[error("{0}")]
    Serialize(serde_json::Error),
}

/// An index entry ready for the catalog (serialized, its start parsed): made on any thread,
/// listed quickly by the thread that owns the store.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    id: String,
    facts: Facts,
    source_hash: Option<Box<str>>,
    json: Box<[u8]>,
}

impl Summary {
    pub(crate) fn of(entry: &IndexEntry) -> Result<Summary, CatalogError> {
        let started_at = parse_unix(&entry.started_at)
            .ok_or_else(|| CatalogError::BadStartedAt(entry.started_at.clone()))?;
        let year = local_year(&entry.started_at)
            .ok_or_else(|| CatalogError::BadStartedAt(entry.started_at.clone()))?;
        let json = serde_json::to_vec(entry).map_err(CatalogError::Serialize)?;
        Ok(Summary {
            id: entry.id.clone(),
            facts: Facts {
                started_at,
                distance_m: entry.distance_m.unwrap_or(0.0),
                year,
            },
            source_hash: entry.source_hash().map(Into::into),
            json: json.into_boxed_slice(),
        })
    }

    /// The `sha256:{hex}` of the original file, when this crate wrote the entry.
    pub(crate) fn source_hash(&self) -> Option<&str> {
        self.source_hash.as_deref()
    }
}

impl Catalog {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Adds `entry`, replacing any entry with the same id.
    pub(crate) fn insert(&mut self, entry: &IndexEntry) -> Result<(), CatalogError> {
        self.insert_summary(Summary::of(entry)?);
        Ok(())
    }

    /// Adds a summary, replacing any entry with the same id.
    pub(crate) fn insert_summary(&mut self, summary: Summary) {
        let Summary {
            id,
            facts,
            source_hash,
            json,
        } = summary;
        self.remove(&id);
        self.by_time.insert((facts.started_at, id.clone()));
        *self.per_year.entry(facts.year).or_default() += 1;
        if let Some(hash) = source_hash {
            self.by_hash.insert(hash, id.clone());
        }
        let json = self.arena.push(&json);
        self.slots.insert(id, Slot { facts, json });
    }

    /// Removes the entry of `id`; whether there was one.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        let Some((id, slot)) = self.slots.remove_entry(id) else {
            return false;
        };
        if let Some(count) = self.per_year.get_mut(&slot.facts.year) {
            *count -= 1;
            if *count == 0 {
                self.per_year.remove(&slot.facts.year);
            }
        }
        // Rare (a replaced id, a failed commit): the hash is read back from the summary.
        let entry: Option<IndexEntry> = serde_json::from_slice(self.arena.bytes(slot.json)).ok();
        if let Some(hash) = entry.as_ref().and_then(IndexEntry::source_hash) {
            if self.by_hash.get(hash).is_some_and(|owner| *owner == id) {
                self.by_hash.remove(hash);
            }
        }
        self.by_time.remove(&(slot.facts.started_at, id));
        true
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.slots.contains_key(id)
    }

    /// The summary of `id`, parsed from its JSON.
    pub(crate) fn get(&self, id: &str) -> Option<Result<IndexEntry, serde_json::Error>> {
        self.slots
            .get(id)
            .map(|slot| serde_json::from_slice(self.arena.bytes(slot.json)))
    }

    pub(crate) fn id_for_hash(&self, source_hash: &str) -> Option<&str> {
        self.by_hash.get(source_hash).map(String::as_str)
    }

    /// The activity closest in start time among those starting within [`NEAR_START_S`] of
    /// `started_at` whose distance is within [`NEAR_DISTANCE_FRACTION`] of `distance_m`.
    pub(crate) fn find_near(&self, started_at: i64, distance_m: f64) -> Option<&str> {
        let from = (started_at.saturating_sub(NEAR_START_S), String::new());
        let until = (started_at.saturating_add(NEAR_START_S + 1), String::new());
        self.by_time
            .range(from..until)
            .filter(|(_, id)| similar_distance(distance_m, self.slots[id].facts.distance_m))
            .min_by_key(|(t, _)| (t - started_at).abs())
            .map(|(_, id)| id.as_str())
    }

    /// Summaries newest first (ties by id, descending), parsed from their JSON.
    pub(crate) fn newest_first(
        &self,
    ) -> impl Iterator<Item = Result<IndexEntry, serde_json::Error>> + '_ {
        self.by_time
            .iter()
            .rev()
            .map(|(_, id)| serde_json::from_slice(self.arena.bytes(self.slots[id].json)))
    }

    /// Number of activities per year of their local start date.
    pub(crate) fn per_year(&self) -> &BTreeMap<i32, usize> {
        &self.per_year
    }

    /// The summaries newest first, as a JSON array to write: those of `year` only when given, at
    /// most `limit` of them.
    pub(crate) fn gather(&mut self, year: Option<i32>, limit: usize) -> Gathered {
        self.arena.seal();
        let pieces = self
            .by_time
            .iter()
            .rev()
            .map(|(_, id)| &self.slots[id])
            .filter(|slot| year.is_none_or(|y| slot.facts.year == y))
            .take(limit)
            .map(|slot| slot.json)
            .collect();
        Gathered {
            chunks: self.arena.sealed.clone(),
            pieces,
        }
    }
}

/// The year of the local date an RFC 3339 time starts with.
fn local_year(started_at: &str) -> Option<i32> {
    started_at.get(..4)?.parse().ok()
}

fn similar_distance(a: f64, b: f64) -> bool {
    let (a, b) = (a.max(0.0), b.max(0.0));
    let longer = a.max(b);
    longer < NO_DISTANCE_M || (a - b).abs() <= NEAR_DISTANCE_FRACTION * longer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::Privacy;
    use crate::sport::Sport;

    fn entry(id: &str, started_at: &str, distance_m: f64) -> IndexEntry {
        IndexEntry {
            id: id.into(),
            title: "t".into(),
            sport: Sport::Cycling,
            sub_sport: None,
            started_at: started_at.into(),
            distance_m: Some(distance_m),
            duration_s: None,
            moving_time_s: None,
            elevation_gain_m: None,
            avg_speed_kmh: None,
            max_speed_kmh: None,
            avg_hr_bpm: None,
            max_hr_bpm: None,
            avg_cadence_rpm: None,
            avg_power_w: None,
            mmp: None,
            best_efforts: None,
            best_climb_m: None,
            source: None,
            privacy: Privacy::Public,
            detail_url: None,
            track_url: None,
            preview_coords: None,
            custom: None,
        }
    }

    #[test]
    fn near_duplicates_need_close_start_and_close_distance() {
        let mut c = Catalog::default();
        c.insert(&entry("a", "2020-01-01T10:00:00+00:00", 10_000.0))
            .unwrap();
        c.insert(&entry("b", "2020-01-01T12:00:00+02:00", 0.0))
            .unwrap(); // same instant as a
        let t = parse_unix("2020-01-01T10:04:59Z").unwrap();
        assert_eq!(c.find_near(t, 10_400.0), Some("a"));
        assert_eq!(c.find_near(t, 0.5), Some("b"));
        assert_eq!(c.find_near(t, 10_600.0), None, "6 % longer");
        assert_eq!(c.find_near(t + 2, 10_000.0), None, "5 min 1 s later");
        let order: Vec<String> = c.newest_first().map(|e| e.unwrap().id).collect();
        assert_eq!(order, ["b", "a"]);
        assert_eq!(c.per_year().get(&2020), Some(&2));
        assert!(c.remove("a"));
        assert_eq!(c.per_year().get(&2020), Some(&1));
        assert_eq!(c.find_near(t, 10_000.0), None);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn gathered_summaries_are_their_json_newest_first_across_chunks() {
        let mut c = Catalog::default();
        let mut expected = Vec::new();
        // Enough summaries for several chunks, sealed part way as a commit would.
        for k in 0..400 {
            let mut e = entry(&format!("a{k:03}"), "2020-01-01T10:00:00Z", f64::from(k));
            e.title = "x".repeat(200 + k as usize);
            e.started_at = format!("2020-01-01T10:{:02}:{:02}Z", k / 60, k % 60);
            expected.push(serde_json::to_vec(&e).unwrap());
            c.insert(&e).unwrap();
            if k == 150 {
                let _ = c.gather(None, usize::MAX);
            }
        }
        assert!(c.arena.sealed.len() > 2, "spans chunks");
        expected.reverse();
        let mut out = Vec::new();
        c.gather(None, usize::MAX).write_to(&mut out).unwrap();
        assert_eq!(out, [b"[", &expected.join(&b","[..])[..], b"]"].concat());
        let mut out = Vec::new();
        c.gather(Some(2020), 2).write_to(&mut out).unwrap();
        assert_eq!(
            out,
            [b"[", &expected[..2].join(&b","[..])[..], b"]"].concat()
        );
        assert_eq!(c.get("a007").unwrap().unwrap().title, "x".repeat(207));
    }

    #[test]
    fn removing_an_entry_forgets_its_content_hash() {
        let mut c = Catalog::default();
        let mut e = entry("a", "2020-01-01T10:00:00Z", 1.0);
        let mut custom = serde_json::Map::new();
        custom.insert("source_hash".into(), "sha256:ab".into());
        e.custom = Some(custom);
        c.insert(&e).unwrap();
        assert_eq!(c.id_for_hash("sha256:ab"), Some("a"));
        assert!(c.remove("a"));
        assert_eq!(c.id_for_hash("sha256:ab"), None);
    }
}
