//! Lenient FIT decoding: the byte stream is split by FIT headers (chained files are decoded one
//! by one), each part is streamed through fitparser, and damage (bad CRC, truncated tail,
//! corrupt chained header, a decoder panic) ends or skips only the damaged part, leaving a
//! [`Warning`], so every message that can be read reaches the caller.

use std::panic::{catch_unwind, AssertUnwindSafe};

use fitparser::de::{DecodeOption, FitDataMessage, FitObject, FitStreamProcessor};
use fitparser::{ErrorKind, FitDataRecord};

use crate::error::RejectCause;
use crate::odd_fields::{fit_crc, patch_definition, OddField};
use crate::warning::Warning;

/// The length of a FIT header without its own CRC.
const SHORT_HEADER: usize = 12;
/// The length of a FIT header with its own CRC.
const LONG_HEADER: usize = 14;
/// The CRC that closes every FIT file.
const FILE_CRC_LEN: usize = 2;

/// The fields of a FIT file header this module needs.
#[derive(Debug, Clone, Copy)]
struct FitHeader {
    header_len: usize,
    data_len: usize,
}

impl FitHeader {
    /// Bytes from the header's first byte through the closing CRC.
    fn file_len(&self) -> usize {
        self.header_len + self.data_len + FILE_CRC_LEN
    }
}

/// Checks a FIT header ourselves before fitparser sees it: fitparser slices by the header's
/// declared size and would panic on a header longer than the bytes at hand.
fn parse_header(bytes: &[u8]) -> Result<FitHeader, String> {
    if bytes.len() < SHORT_HEADER {
        return Err(format!(
            "{} byte(s), a FIT header needs {SHORT_HEADER}",
            bytes.len()
        ));
    }
    let header_len = bytes[0] as usize;
    if header_len != SHORT_HEADER && header_len != LONG_HEADER {
        return Err(format!(
            "header size byte is {header_len}, expected {SHORT_HEADER} or {LONG_HEADER}"
        ));
    }
    if bytes.len() < header_len {
        return Err(format!(
            "{} byte(s), the header announces {header_len}",
            bytes.len()
        ));
    }
    if &bytes[8..12] != b".FIT" {
        return Err("the \".FIT\" signature is missing".to_string());
    }
    let data_len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    Ok(FitHeader {
        header_len,
        data_len,
    })
}

/// What became of one data message.
#[derive(Debug)]
pub(crate) enum Taken {
    /// Read (or, for a kind the activity does not need, passed over).
    Used,
    /// Refused by the profile conversion, with fitparser's reason: counted as skipped.
    Failed(String),
}

/// A message the fast path cannot reproduce fitparser's conversion of exactly: the file is
/// decoded again the old way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported(pub &'static str);

/// Where the data messages go, once fitparser has parsed them.
pub(crate) trait MessageSink {
    /// Takes one data message of the FIT part `processor` is parsing.
    fn data(
        &mut self,
        processor: &mut FitStreamProcessor,
        message: FitDataMessage,
    ) -> Result<Taken, Unsupported>;

    /// A new FIT part (of a chained file) starts: fitparser's state starts afresh.
    fn new_part(&mut self) {}
}

/// The old path, and the oracle of the fast one: every data message through fitparser's full
/// profile conversion, handed on as a [`FitDataRecord`].
pub(crate) struct ProfileSink<'a>(pub &'a mut dyn FnMut(FitDataRecord));

impl MessageSink for ProfileSink<'_> {
    fn data(
        &mut self,
        processor: &mut FitStreamProcessor,
        message: FitDataMessage,
    ) -> Result<Taken, Unsupported> {
        Ok(match processor.decode_message(message) {
            Ok(record) => {
                (self.0)(record);
                Taken::Used
            }
            Err(error) => Taken::Failed(error.to_string()),
        })
    }
}

/// Why decoding gave nothing.
#[derive(Debug, PartialEq)]
pub(crate) enum DecodeFailure {
    /// The bytes are no FIT file.
    Rejected(RejectCause),
    /// The sink cannot decode this file (see [`Unsupported`]).
    Unsupported(Unsupported),
}

/// What decoding saw besides the messages themselves.
#[derive(Debug, Default)]
pub(crate) struct DecodeReport {
    /// Damage met and worked around.
    pub warnings: Vec<Warning>,
    /// Number of FIT files found in the byte stream (more than one when chained).
    pub parts: usize,
    /// Number of data messages handed to the caller.
    pub messages: usize,
}

/// Decodes every readable data message of `bytes`, in order, handing each to `sink`.
/// Fails only when the bytes do not start with a FIT header (or the sink cannot take the
/// file); every other problem becomes a warning in the report.
pub(crate) fn decode_lenient(
    bytes: &[u8],
    sink: &mut dyn MessageSink,
) -> Result<DecodeReport, DecodeFailure> {
    if bytes.is_empty() {
        return Err(DecodeFailure::Rejected(RejectCause::Empty));
    }
    let mut report = DecodeReport::default();
    let mut start = 0;
    while start < bytes.len() {
        let header = match parse_header(&bytes[start..]) {
            Ok(header) => header,
            Err(reason) if start == 0 => {
                return Err(DecodeFailure::Rejected(RejectCause::NotFit { reason }))
            }
            Err(reason) => {
                report.warnings.push(Warning::CorruptChainedHeader {
                    offset: start,
                    reason,
                });
                break;
            }
        };
        let expected_end = start.saturating_add(header.file_len());
        let end = expected_end.min(bytes.len());
        if expected_end > bytes.len() {
            report.warnings.push(Warning::Truncated {
                file_len: bytes.len(),
                expected_len: expected_end,
            });
        }
        let part = Part {
            bytes: &bytes[start..end],
            offset: start,
            truncated: expected_end > bytes.len(),
        };
        report.parts += 1;
        let mut stats = PartStats::default();
        sink.new_part();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            decode_part(&part, header, sink, &mut stats)
        }));
        if let Ok(Err(unsupported)) = outcome {
            return Err(DecodeFailure::Unsupported(unsupported));
        }
        report.messages += stats.messages;
        report.warnings.append(&mut stats.warnings);
        if stats.skipped > 0 {
            report.warnings.push(Warning::MessagesSkipped {
                count: stats.skipped,
                first_detail: stats.first_skip_detail,
            });
        }
        if outcome.is_err() {
            // fitparser has arithmetic that overflows on some crafted inputs; the messages
            // decoded before the panic are kept and the rest of the stream is not trusted.
            report.warnings.push(Warning::DecodeStopped {
                offset: stats.position,
                detail: "the FIT decoder failed on malformed data".to_string(),
            });
            break;
        }
        start = expected_end;
    }
    Ok(report)
}

/// One FIT file of a possibly chained stream.
struct Part<'a> {
    bytes: &'a [u8],
    offset: usize,
    truncated: bool,
}

#[derive(Default)]
struct PartStats {
    messages: usize,
    skipped: usize,
    first_skip_detail: String,
    position: usize,
    warnings: Vec<Warning>,
}

fn decode_part(
    part: &Part<'_>,
    header: FitHeader,
    sink: &mut dyn MessageSink,
    stats: &mut PartStats,
) -> Result<(), Unsupported> {
    let mut processor = FitStreamProcessor::new();
    processor.add_option(DecodeOption::DropUnknownFields);
    let messages_end = header.header_len.saturating_add(header.data_len);
    // Set once a definition was patched: fitparser then saw other bytes than the file's.
    let mut own_crc_check = false;
    let mut rest = part.bytes;
    while !rest.is_empty() {
        let at = part.bytes.len() - rest.len();
        stats.position = part.offset + at;
        let patched = (header.header_len..messages_end)
            .contains(&at)
            .then(|| patch_definition(rest))
            .flatten();
        let deserialized = match &patched {
            None => processor.deserialize_next(rest),
            Some(patched) => {
                log_odd_fields(stats.position, &patched.fields);
                if !own_crc_check {
                    processor.add_option(DecodeOption::SkipDataCrcValidation);
                    own_crc_check = true;
                }
                let read = processor.deserialize_next(&patched.bytes);
                // The whole copy is one definition: go on after the original's bytes.
                read.map(|(_, object)| (&rest[patched.bytes.len()..], object))
            }
        };
        match deserialized {
            Ok((remaining, object)) => {
                rest = remaining;
                match object {
                    FitObject::DataMessage(message) => match sink.data(&mut processor, message)? {
                        Taken::Used => stats.messages += 1,
                        Taken::Failed(detail) => {
                            if stats.skipped == 0 {
                                stats.first_skip_detail = detail;
                            }
                            stats.skipped += 1;
                        }
                    },
                    FitObject::Crc(stored) => {
                        if own_crc_check {
                            check_crc(part, header, stored, stats);
                        }
                        break;
                    }
                    FitObject::Header(_) | FitObject::DefinitionMessage(_) => {}
                }
            }
            Err(error) => match *error {
                ErrorKind::InvalidCrc((_, FitObject::Header(_), _, _)) => {
                    stats.warnings.push(Warning::HeaderCrcMismatch {
                        offset: part.offset,
                    });
                    // The deserializer has taken the header in; resume right after it.
                    rest = &part.bytes[header.header_len..];
                }
                ErrorKind::InvalidCrc((_, _, stored, computed)) => {
                    stats.warnings.push(Warning::FileCrcMismatch {
                        offset: stats.position,
                        stored,
                        computed,
                    });
                    break;
                }
                // A truncated part ends in an EOF error; the Truncated warning already says so.
                ErrorKind::UnexpectedEof(_) if part.truncated => break,
                other => {
                    stats.warnings.push(Warning::DecodeStopped {
                        offset: stats.position,
                        detail: other.to_string(),
                    });
                    break;
                }
            },
        }
    }
    Ok(())
}

/// Says through `tracing` what fitparser would have printed to stderr.
fn log_odd_fields(offset: usize, fields: &[OddField]) {
    for field in fields {
        tracing::debug!(
            target: "bas::decode",
            offset,
            field = field.number,
            size = field.size,
            base_type = field.base_type,
            "field size is not a multiple of its base type's: read as bytes"
        );
    }
}

/// The data CRC of a part fitparser did not check (see `odd_fields.rs`), over the file's own
/// bytes: from the header when the header has no CRC of its own, else after it.
fn check_crc(part: &Part<'_>, header: FitHeader, stored: u16, stats: &mut PartStats) {
    let header_crc = part
        .bytes
        .get(SHORT_HEADER..LONG_HEADER)
        .filter(|_| header.header_len == LONG_HEADER)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
    let from = if header_crc == 0 {
        0
    } else {
        header.header_len
    };
    let until = header.header_len + header.data_len;
    let Some(covered) = part.bytes.get(from..until) else {
        return;
    };
    let computed = fit_crc(covered);
    if computed != stored {
        stats.warnings.push(Warning::FileCrcMismatch {
            offset: stats.position,
            stored,
            computed,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks_name_the_problem() {
        assert!(parse_header(b"short").unwrap_err().contains("needs 12"));
        let mut header = [0u8; 12];
        header[0] = 12;
        assert!(parse_header(&header).unwrap_err().contains("signature"));
        header[8..12].copy_from_slice(b".FIT");
        header[4] = 7;
        let parsed = parse_header(&header).unwrap();
        assert_eq!((parsed.header_len, parsed.data_len), (12, 7));
        header[0] = 200;
        assert!(parse_header(&header).unwrap_err().contains("200"));
    }

    /// A 12-byte-header FIT file: a definition of `record` whose heart_rate is a uint16 of 3
    /// bytes (fitparser's "field size is not a multiple" case), one data message, the CRC
    /// (`crc_delta` added to it, to damage it).
    fn file_with_an_odd_field(crc_delta: u16) -> Vec<u8> {
        let messages = [0x40, 0, 0, 20, 0, 1, 3, 3, 0x84, 0x00, 1, 2, 3];
        let mut file = vec![12, 0x10, 0x34, 0x08];
        file.extend((messages.len() as u32).to_le_bytes());
        file.extend(b".FIT");
        file.extend(messages);
        let crc = fit_crc(&file).wrapping_add(crc_delta);
        file.extend(crc.to_le_bytes());
        file
    }

    #[test]
    fn a_part_with_a_patched_definition_has_its_crc_checked_on_the_original_bytes() {
        let mut ignore = |_: FitDataRecord| {};
        let clean = file_with_an_odd_field(0);
        let report = decode_lenient(&clean, &mut ProfileSink(&mut ignore)).unwrap();
        assert!(
            !report
                .warnings
                .iter()
                .any(|w| matches!(w, Warning::FileCrcMismatch { .. })),
            "{:?}",
            report.warnings
        );
        assert_eq!(report.parts, 1);
        let damaged = file_with_an_odd_field(1);
        let report = decode_lenient(&damaged, &mut ProfileSink(&mut ignore)).unwrap();
        let good = fit_crc(&damaged[..damaged.len() - 2]);
        assert!(
            report.warnings.contains(&Warning::FileCrcMismatch {
                offset: damaged.len() - 2,
                stored: good.wrapping_add(1),
                computed: good,
            }),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn empty_and_foreign_bytes_are_refused() {
        let mut ignore = |_: FitDataRecord| {};
        let mut sink = ProfileSink(&mut ignore);
        assert_eq!(
            decode_lenient(b"", &mut sink).unwrap_err(),
            DecodeFailure::Rejected(RejectCause::Empty)
        );
        let err = decode_lenient(b"<html>not a fit file</html>", &mut sink).unwrap_err();
        assert!(
            matches!(err, DecodeFailure::Rejected(RejectCause::NotFit { .. })),
            "{err:?}"
        );
    }
}
