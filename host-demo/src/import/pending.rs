//! The batch the pipeline has decided on but not yet made durable: activities
//! serialized and waiting to be written, and the ledger rows that will record
//! every decision. Lookups here let an item be deduplicated against earlier
//! items of the same batch exactly as against the store and the ledger.

use bincio_bas::{Encoded, NEAR_DISTANCE_FRACTION, NEAR_START_S};
use bincio_state::{ConnectionId, LedgerEntry, LedgerOutcome};
use std::collections::{HashMap, HashSet};

/// An activity waiting for the store, serialized under the id it will get,
/// with what near-duplicate checks need of it.
pub struct PendingActivity {
    pub id: String,
    pub encoded: Encoded,
    pub started_at_unix: i64,
    pub distance_m: Option<f64>,
}

#[derive(Default)]
pub struct PendingBatch {
    pub activities: Vec<PendingActivity>,
    pub rows: Vec<LedgerEntry>,
    /// Retry rows the batch settles, cleared in its transaction.
    pub settled: Vec<(ConnectionId, String)>,
    by_external_id: HashMap<(String, String), usize>,
    /// Content hash to the row that best answers for it (an import first).
    by_hash: HashMap<String, usize>,
    ids: HashSet<String>,
    /// Bytes of serialized activities held in memory, to bound the batch.
    bytes: usize,
}

impl PendingBatch {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Decisions waiting to be recorded.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn by_external_id(&self, source: &str, external_id: &str) -> Option<&LedgerEntry> {
        self.by_external_id
            .get(&(source.to_owned(), external_id.to_owned()))
            .map(|&i| &self.rows[i])
    }

    pub fn by_hash(&self, sha256: &str) -> Option<&LedgerEntry> {
        self.by_hash.get(sha256).map(|&i| &self.rows[i])
    }

    /// Whether an activity of this batch already has `id`.
    pub fn holds_id(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// The batch's activity closest in start to `started_at`, among those
    /// within the near-duplicate window (the same rule as the store's).
    pub fn find_near(&self, started_at: i64, distance_m: f64) -> Option<&str> {
        self.activities
            .iter()
            .filter(|a| (a.started_at_unix - started_at).abs() <= NEAR_START_S)
            .filter(|a| similar_distance(a.distance_m.unwrap_or(0.0), distance_m))
            .min_by_key(|a| (a.started_at_unix - started_at).abs())
            .map(|a| a.id.as_str())
    }

    /// Records a decision (and the activity it created, if any).
    pub fn push(&mut self, row: LedgerEntry, activity: Option<PendingActivity>) {
        let index = self.rows.len();
        if let Some(external_id) = &row.external_id {
            self.by_external_id
                .insert((row.source.clone(), external_id.clone()), index);
        }
        let better = match self.by_hash.get(&row.content_sha256) {
            None => true,
            Some(&held) => rank(row.outcome) < rank(self.rows[held].outcome),
        };
        if better {
            self.by_hash.insert(row.content_sha256.clone(), index);
        }
        if let (Some(connection), Some(external_id)) = (&row.connection_id, &row.external_id) {
            self.settled.push((connection.clone(), external_id.clone()));
        }
        if let Some(activity) = activity {
            self.bytes += activity.encoded.len();
            self.ids.insert(activity.id.clone());
            self.activities.push(activity);
        }
        self.rows.push(row);
    }

    /// Forgets everything (after it was made durable).
    pub fn clear(&mut self) {
        *self = PendingBatch::default();
    }
}

/// The ledger's preference when one content hash has several rows.
fn rank(outcome: LedgerOutcome) -> u8 {
    match outcome {
        LedgerOutcome::Imported => 0,
        LedgerOutcome::Duplicate => 1,
        LedgerOutcome::Rejected => 2,
    }
}

/// The store's distance rule: within 5 % of the longer, and two distances
/// under a metre (indoor, no distance) count as equal.
fn similar_distance(a: f64, b: f64) -> bool {
    let (a, b) = (a.max(0.0), b.max(0.0));
    let longer = a.max(b);
    longer < 1.0 || (a - b).abs() <= NEAR_DISTANCE_FRACTION * longer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(external_id: Option<&str>, outcome: LedgerOutcome) -> LedgerEntry {
        LedgerEntry {
            source: "p".into(),
            external_id: external_id.map(Into::into),
            connection_id: Some(ConnectionId::new("p-1")),
            content_sha256: "a".repeat(64),
            activity_id: (outcome != LedgerOutcome::Rejected).then(|| "x".into()),
            outcome,
            reason: None,
            at: 0,
        }
    }

    #[test]
    fn hash_lookup_prefers_an_import_and_settles_retries() {
        let mut batch = PendingBatch::default();
        batch.push(row(Some("1"), LedgerOutcome::Rejected), None);
        batch.push(row(Some("2"), LedgerOutcome::Duplicate), None);
        assert_eq!(
            batch.by_hash(&"a".repeat(64)).unwrap().outcome,
            LedgerOutcome::Duplicate
        );
        batch.push(row(Some("3"), LedgerOutcome::Imported), None);
        batch.push(row(None, LedgerOutcome::Duplicate), None);
        assert_eq!(
            batch.by_hash(&"a".repeat(64)).unwrap().outcome,
            LedgerOutcome::Imported
        );
        assert_eq!(
            batch.by_external_id("p", "1").unwrap().outcome,
            LedgerOutcome::Rejected
        );
        assert!(batch.by_external_id("other", "1").is_none());
        assert_eq!(
            batch.settled.len(),
            3,
            "rows with an external id settle retries"
        );
        batch.clear();
        assert!(batch.is_empty() && batch.by_hash(&"a".repeat(64)).is_none());
    }

    #[test]
    fn distances_compare_like_the_store() {
        assert!(similar_distance(10_000.0, 10_500.0));
        assert!(!similar_distance(10_000.0, 10_600.0));
        assert!(similar_distance(0.0, 0.4), "no distance on both sides");
        assert!(!similar_distance(0.0, 50.0));
    }
}
