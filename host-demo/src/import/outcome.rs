//! What the pipeline did with one item, and the tally of a whole run.

use std::collections::HashMap;
use std::fmt;

/// The decision for one item. Every variant is durable once its batch is
/// flushed: the ledger remembers it, so the item is never worked on again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as a new activity. `salvaged` when the file was damaged and
    /// its readable part kept; `warnings` says what was wrong or left out
    /// (a multisport file's later sessions are a warning, not damage).
    Imported {
        activity_id: String,
        salvaged: bool,
        warnings: Vec<String>,
    },
    /// Already held; `activity_id` is the activity that holds it.
    Duplicate {
        activity_id: String,
        why: DuplicateOf,
    },
    /// Refused for good; `reason` names the file and the cause.
    Rejected { reason: String },
}

/// Which dedupe rule matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DuplicateOf {
    /// The same (source, external id) was seen before.
    SameExternalId,
    /// The same bytes were seen before (under any name or source).
    SameContent,
    /// Another recording of the same activity: start within 5 minutes,
    /// distance within 5 %.
    NearDuplicate,
}

impl fmt::Display for DuplicateOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SameExternalId => "same external id",
            Self::SameContent => "same file content",
            Self::NearDuplicate => "same start and distance",
        })
    }
}

/// Counts for a run of imports; each duplicate with the activity it duplicates, and each
/// rejection with its reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// New activities from clean files.
    pub imported: u64,
    /// New activities from damaged files that were salvaged.
    pub salvaged: u64,
    /// Files kept as duplicates, in the order met.
    pub duplicates: Vec<DuplicateFile>,
    /// `(file name, reason)`.
    pub rejected: Vec<(String, String)>,
    /// Activity id → the file of this run it was imported from.
    imported_from: HashMap<String, String>,
}

/// A file recorded as a duplicate: of which activity, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateFile {
    pub file_name: String,
    pub activity_id: String,
    pub why: DuplicateOf,
}

impl Tally {
    pub fn add(&mut self, file_name: &str, outcome: &Outcome) {
        match outcome {
            Outcome::Imported {
                activity_id,
                salvaged,
                ..
            } => {
                if *salvaged {
                    self.salvaged += 1;
                } else {
                    self.imported += 1;
                }
                self.imported_from
                    .entry(activity_id.clone())
                    .or_insert_with(|| file_name.to_owned());
            }
            Outcome::Duplicate { activity_id, why } => self.duplicates.push(DuplicateFile {
                file_name: file_name.to_owned(),
                activity_id: activity_id.clone(),
                why: why.clone(),
            }),
            Outcome::Rejected { reason } => self.reject(file_name, reason),
        }
    }

    /// A file that never reached the pipeline (it could not be read).
    pub fn reject(&mut self, file_name: &str, reason: &str) {
        self.rejected
            .push((file_name.to_owned(), reason.to_owned()));
    }

    /// Files kept as duplicates.
    pub fn duplicate(&self) -> u64 {
        self.duplicates.len() as u64
    }

    /// The file of this run that `activity_id` was imported from, if it was.
    pub fn imported_from(&self, activity_id: &str) -> Option<&str> {
        self.imported_from.get(activity_id).map(String::as_str)
    }

    pub fn total(&self) -> u64 {
        self.imported + self.salvaged + self.duplicate() + self.rejected.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_remember_which_file_of_the_run_holds_their_activity() {
        let mut tally = Tally::default();
        let imported = |id: &str| Outcome::Imported {
            activity_id: id.to_owned(),
            salvaged: false,
            warnings: Vec::new(),
        };
        let duplicate = |id: &str, why| Outcome::Duplicate {
            activity_id: id.to_owned(),
            why,
        };
        tally.add("a.fit", &imported("A"));
        tally.add("copy-of-a.fit", &duplicate("A", DuplicateOf::SameContent));
        tally.add("old.fit", &duplicate("OLD", DuplicateOf::NearDuplicate));
        // The store adopting bytes it already held answers the same id again.
        tally.add("again.fit", &imported("A"));
        assert_eq!(
            (tally.imported, tally.duplicate(), tally.total()),
            (2, 2, 4)
        );
        assert_eq!(tally.imported_from("A"), Some("a.fit"));
        assert_eq!(tally.imported_from("OLD"), None);
        assert_eq!(
            tally.duplicates[0],
            DuplicateFile {
                file_name: "copy-of-a.fit".to_owned(),
                activity_id: "A".to_owned(),
                why: DuplicateOf::SameContent,
            }
        );
    }
}
