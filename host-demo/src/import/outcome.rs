//! What the pipeline did with one item, and the tally of a whole run.

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

/// Counts for a run of imports, and each rejection with its reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// New activities from clean files.
    pub imported: u64,
    /// New activities from damaged files that were salvaged.
    pub salvaged: u64,
    pub duplicate: u64,
    /// `(file name, reason)`.
    pub rejected: Vec<(String, String)>,
}

impl Tally {
    pub fn add(&mut self, file_name: &str, outcome: &Outcome) {
        match outcome {
            Outcome::Imported {
                salvaged: false, ..
            } => self.imported += 1,
            Outcome::Imported { salvaged: true, .. } => self.salvaged += 1,
            Outcome::Duplicate { .. } => self.duplicate += 1,
            Outcome::Rejected { reason } => self.reject(file_name, reason),
        }
    }

    /// A file that never reached the pipeline (it could not be read).
    pub fn reject(&mut self, file_name: &str, reason: &str) {
        self.rejected
            .push((file_name.to_owned(), reason.to_owned()));
    }

    pub fn total(&self) -> u64 {
        self.imported + self.salvaged + self.duplicate + self.rejected.len() as u64
    }
}
