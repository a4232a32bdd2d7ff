//! The in-memory index of a store: every summary by id, by content hash, by start time (sorted)
//! and counted by year, each kept as its JSON already serialised, so lookups are logarithmic and
//! an index file is written from the summaries without a copy.
//!
//! What it holds is compact and in few blocks ([`crate::arena`]): summaries and ids packed in chunks,
//! lookups by slot number and by a content hash's 32 bytes. A catalog of 3,000 activities is a
//! few dozen allocations, none made on the importer's threads, so none of them pins memory
//! among the importer's short-lived buffers.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::arena::{Arena, Gathered, Loc, TextArena};
use crate::index::IndexEntry;
use crate::timefmt::parse_unix;

/// Two activities starting this close (seconds) may be the same one...
pub const NEAR_START_S: i64 = 5 * 60;
/// ...when their distances differ by at most this fraction of the longer one.
pub const NEAR_DISTANCE_FRACTION: f64 = 0.05;
/// Distances below this (metres) are "no distance": two of them are equal.
const NO_DISTANCE_M: f64 = 1.0;

/// What the store keeps of one activity: its id, the summary as the index files hold it
/// (compact JSON, the bytes written) and the few fields lookups need. The structured
/// [`IndexEntry`] is parsed back from the bytes on demand.
struct Slot {
    facts: Facts,
    id: Loc,
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

/// A slot number: an index into [`Catalog::slots`].
type SlotNo = u32;

/// A content hash as this crate writes it, `sha256:` and 64 lowercase hex digits, held as its
/// 32 bytes; any other text is kept as it is (see [`Catalog::odd_hashes`]).
fn sha256_bytes(source_hash: &str) -> Option<[u8; 32]> {
    let hex = source_hash.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex, &mut bytes).ok()?;
    Some(bytes)
}

#[derive(Default)]
pub(crate) struct Catalog {
    /// Every summary listed, by slot number; `None` once removed (removal is rare).
    slots: Vec<Option<Slot>>,
    live: usize,
    ids: TextArena,
    summaries: Arena,
    /// Slot numbers by id (hashed with `hasher`, compared against `ids`).
    by_id: HashTable<SlotNo>,
    hasher: RandomState,
    /// (start, slot): ties in start are put in id order when listed.
    by_time: BTreeSet<(i64, SlotNo)>,
    by_hash: HashMap<[u8; 32], SlotNo>,
    /// Content hashes not in this crate's form (an index written elsewhere), kept as text.
    odd_hashes: HashMap<Box<str>, SlotNo>,
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
/// listed quickly by the thread that owns the store (which copies it into the catalog's own
/// blocks, so nothing allocated on the importer's threads outlives the import of one file).
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
        self.live
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
        let slot_no = SlotNo::try_from(self.slots.len()).expect("fewer than 2^32 activities");
        self.by_time.insert((facts.started_at, slot_no));
        *self.per_year.entry(facts.year).or_default() += 1;
        match source_hash.as_deref().map(|h| (h, sha256_bytes(h))) {
            Some((_, Some(bytes))) => {
                self.by_hash.insert(bytes, slot_no);
            }
            Some((text, None)) => {
                self.odd_hashes.insert(text.into(), slot_no);
            }
            None => {}
        }
        let slot = Slot {
            facts,
            id: self.ids.push(&id),
            json: self.summaries.push(&json),
        };
        self.slots.push(Some(slot));
        self.live += 1;
        let Self {
            slots,
            ids,
            by_id,
            hasher,
            ..
        } = self;
        let rehash = |n: &SlotNo| hasher.hash_one(id_of(slots, ids, *n));
        by_id.insert_unique(hasher.hash_one(id.as_str()), slot_no, rehash);
    }

    /// Removes the entry of `id`; whether there was one.
    pub(crate) fn remove(&mut self, id: &str) -> bool {
        let hash = self.hasher.hash_one(id);
        let Self {
            slots, ids, by_id, ..
        } = self;
        let Ok(entry) = by_id.find_entry(hash, |n| id_of(slots, ids, *n) == id) else {
            return false;
        };
        let (slot_no, _) = entry.remove();
        let slot = self.slots[slot_no as usize]
            .take()
            .expect("a listed slot holds its summary");
        self.live -= 1;
        if let Some(count) = self.per_year.get_mut(&slot.facts.year) {
            *count -= 1;
            if *count == 0 {
                self.per_year.remove(&slot.facts.year);
            }
        }
        // Rare (a replaced id, a failed commit): the hash is read back from the summary.
        let entry: Option<IndexEntry> =
            serde_json::from_slice(self.summaries.bytes(slot.json)).ok();
        if let Some(hash) = entry.as_ref().and_then(IndexEntry::source_hash) {
            match sha256_bytes(hash) {
                Some(bytes) if self.by_hash.get(&bytes) == Some(&slot_no) => {
                    self.by_hash.remove(&bytes);
                }
                None if self.odd_hashes.get(hash) == Some(&slot_no) => {
                    self.odd_hashes.remove(hash);
                }
                _ => {}
            }
        }
        self.by_time.remove(&(slot.facts.started_at, slot_no));
        true
    }

    fn slot_of(&self, id: &str) -> Option<&Slot> {
        let hash = self.hasher.hash_one(id);
        let n = self
            .by_id
            .find(hash, |n| id_of(&self.slots, &self.ids, *n) == id)?;
        self.slots[*n as usize].as_ref()
    }

    /// The slot of a number listed in `by_time`, `by_hash` or `odd_hashes` (always live).
    fn live(&self, n: SlotNo) -> &Slot {
        self.slots[n as usize]
            .as_ref()
            .expect("a listed slot holds its summary")
    }

    fn id(&self, n: SlotNo) -> &str {
        id_of(&self.slots, &self.ids, n)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.slot_of(id).is_some()
    }

    /// The summary of `id`, parsed from its JSON.
    pub(crate) fn get(&self, id: &str) -> Option<Result<IndexEntry, serde_json::Error>> {
        self.slot_of(id)
            .map(|slot| serde_json::from_slice(self.summaries.bytes(slot.json)))
    }

    pub(crate) fn id_for_hash(&self, source_hash: &str) -> Option<&str> {
        let n = match sha256_bytes(source_hash) {
            Some(bytes) => self.by_hash.get(&bytes),
            None => self.odd_hashes.get(source_hash),
        }?;
        Some(self.id(*n))
    }

    /// The activity closest in start time among those starting within [`NEAR_START_S`] of
    /// `started_at` whose distance is within [`NEAR_DISTANCE_FRACTION`] of `distance_m`; of two
    /// as close, the earlier, then the smaller id.
    pub(crate) fn find_near(&self, started_at: i64, distance_m: f64) -> Option<&str> {
        let from = (started_at.saturating_sub(NEAR_START_S), 0);
        let until = (started_at.saturating_add(NEAR_START_S + 1), 0);
        self.by_time
            .range(from..until)
            .filter(|(_, n)| similar_distance(distance_m, self.live(*n).facts.distance_m))
            .map(|&(t, n)| ((t - started_at).abs(), t, self.id(n)))
            .min()
            .map(|(_, _, id)| id)
    }

    /// Slot numbers newest first, ties in start by id, descending.
    fn newest_first_slots(&self) -> impl Iterator<Item = SlotNo> + '_ {
        let mut by_time = self.by_time.iter().rev().peekable();
        // A run of equal starts, sorted by id ascending: taken from its end.
        let mut ties: Vec<SlotNo> = Vec::new();
        std::iter::from_fn(move || {
            if ties.is_empty() {
                let &(start, n) = by_time.next()?;
                ties.push(n);
                while let Some(&(_, n)) = by_time.next_if(|(t, _)| *t == start) {
                    ties.push(n);
                }
                if ties.len() > 1 {
                    ties.sort_unstable_by(|a, b| self.id(*a).cmp(self.id(*b)));
                }
            }
            ties.pop()
        })
    }

    /// Summaries newest first (ties by id, descending), parsed from their JSON.
    pub(crate) fn newest_first(
        &self,
    ) -> impl Iterator<Item = Result<IndexEntry, serde_json::Error>> + '_ {
        self.newest_first_slots()
            .map(|n| serde_json::from_slice(self.summaries.bytes(self.live(n).json)))
    }

    /// Number of activities per year of their local start date.
    pub(crate) fn per_year(&self) -> &BTreeMap<i32, usize> {
        &self.per_year
    }

    /// The summaries newest first, as a JSON array to write: those of `year` only when given, at
    /// most `limit` of them.
    pub(crate) fn gather(&self, year: Option<i32>, limit: usize) -> Gathered {
        let pieces = self
            .newest_first_slots()
            .map(|n| self.live(n))
            .filter(|slot| year.is_none_or(|y| slot.facts.year == y))
            .take(limit)
            .map(|slot| slot.json)
            .collect();
        self.summaries.gather(pieces)
    }
}

/// The id of slot `n` (free-standing, for use while `by_id` is borrowed mutably).
fn id_of<'a>(slots: &[Option<Slot>], ids: &'a TextArena, n: SlotNo) -> &'a str {
    let slot = slots[n as usize]
        .as_ref()
        .expect("a listed slot holds its summary");
    ids.text(slot.id)
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
#[path = "catalog_tests.rs"]
mod tests;
