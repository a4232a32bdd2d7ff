//! Salvage warnings: what was wrong with a file that was still imported.

use std::fmt;

/// Something wrong with an imported file; kept in `Converted::warnings` and in the activity's
/// `custom.warnings`.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// The CRC at the end of a FIT file does not match its bytes; the data was kept.
    FileCrcMismatch {
        /// Byte offset of the CRC.
        offset: usize,
        /// The CRC written in the file.
        stored: u16,
        /// The CRC computed from the bytes.
        computed: u16,
    },
    /// A FIT header's own CRC does not match; its data was kept.
    HeaderCrcMismatch {
        /// Byte offset of the header.
        offset: usize,
    },
    /// The file ends before the end its header announces.
    Truncated {
        /// Length of the file.
        file_len: usize,
        /// Length the header announces.
        expected_len: usize,
    },
    /// Decoding stopped at a damaged message; the messages before it were kept.
    DecodeStopped {
        /// Byte offset where decoding stopped.
        offset: usize,
        /// The decoder's message.
        detail: String,
    },
    /// Some messages could not be interpreted and were skipped.
    MessagesSkipped {
        /// How many.
        count: usize,
        /// The first decoder message.
        first_detail: String,
    },
    /// Bytes after a complete FIT file are not a valid chained FIT header; they were ignored.
    CorruptChainedHeader {
        /// Byte offset of the bad header.
        offset: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The file has no `file_id` message; it was imported because it holds activity data.
    MissingFileId,
    /// A multisport file: only its first session became the activity.
    MultisportFirstSessionOnly {
        /// Number of sessions in the file.
        sessions: usize,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::FileCrcMismatch {
                offset,
                stored,
                computed,
            } => write!(
                f,
                "file CRC mismatch at byte {offset} (stored {stored:#06x}, computed {computed:#06x}): data kept"
            ),
            Warning::HeaderCrcMismatch { offset } => {
                write!(f, "FIT header CRC mismatch at byte {offset}: data kept")
            }
            Warning::Truncated {
                file_len,
                expected_len,
            } => write!(
                f,
                "file truncated: {file_len} bytes of {expected_len}; records before the cut kept"
            ),
            Warning::DecodeStopped { offset, detail } => write!(
                f,
                "decoding stopped at byte {offset} ({detail}); messages before it kept"
            ),
            Warning::MessagesSkipped {
                count,
                first_detail,
            } => write!(f, "{count} undecodable message(s) skipped (first: {first_detail})"),
            Warning::CorruptChainedHeader { offset, reason } => write!(
                f,
                "bytes from {offset} are not a valid chained FIT file ({reason}): ignored"
            ),
            Warning::MissingFileId => write!(f, "no file_id message: imported from its records"),
            Warning::MultisportFirstSessionOnly { sessions } => write!(
                f,
                "multisport file with {sessions} sessions: the activity is the first session; \
                 the others are summarised in custom.multisport"
            ),
        }
    }
}
