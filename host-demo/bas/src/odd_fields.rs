//! Field definitions whose size is not a multiple of their base type's size (a `uint16` field
//! of 3 bytes), met in damaged and some odd files. fitparser 0.11 reads such a field as a byte
//! array, but first prints `ERROR: field size ...` to stderr with a bare `eprintln!`, which no
//! log filter can catch. So the decoder looks at each definition message before fitparser
//! does and, when it holds such a field, hands fitparser a copy with that field's base type
//! already set to `byte`: exactly what fitparser would have made of it, without the print.
//! The finding goes to `tracing` instead.
//!
//! fitparser checks the file's CRC over the bytes it was given, and the copy differs from the
//! file, so for a part with a patched definition the decoder checks the CRC itself
//! ([`fit_crc`]) over the original bytes.

use fitparser::profile::field_types::FitBaseType;

/// The FIT base type `byte` (an array of bytes of any length).
const BYTE: u8 = 0x0D;
/// Bits of a base type byte that name the type (the top bit says "multi-byte").
const BASE_TYPE_MASK: u8 = 0x9F;
/// Record header bits: a compressed-timestamp header, a definition, developer fields.
const COMPRESSED_HEADER: u8 = 0x80;
const DEFINITION: u8 = 0x40;
const DEVELOPER_DATA: u8 = 0x20;
/// Header byte, reserved, architecture, global message number (2), field count.
const FIXED_PART: usize = 6;
/// Each field definition: number, size, base type.
const FIELD_LEN: usize = 3;

/// One field fitparser would have read as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OddField {
    pub number: u8,
    pub size: u8,
    pub base_type: u8,
}

/// A definition message with its odd fields already typed as `byte`.
#[derive(Debug)]
pub(crate) struct Patched {
    /// The definition message, patched; as long as the original.
    pub bytes: Vec<u8>,
    pub fields: Vec<OddField>,
}

/// If `message` starts with a definition message holding a field whose size is not a multiple
/// of its base type's, the patched copy of that message; otherwise (a data message, a clean or
/// a truncated definition) `None`, and fitparser reads the bytes as they are.
pub(crate) fn patch_definition(message: &[u8]) -> Option<Patched> {
    let header = *message.first()?;
    if header & COMPRESSED_HEADER != 0 || header & DEFINITION == 0 {
        return None;
    }
    let fields = usize::from(*message.get(FIXED_PART - 1)?);
    let mut len = FIXED_PART + fields * FIELD_LEN;
    if header & DEVELOPER_DATA != 0 {
        let developer_fields = usize::from(*message.get(len)?);
        len += 1 + developer_fields * FIELD_LEN;
    }
    let definition = message.get(..len)?;
    let odd: Vec<(usize, OddField)> = (0..fields)
        .map(|i| FIXED_PART + i * FIELD_LEN)
        .filter_map(|at| {
            let field = OddField {
                number: definition[at],
                size: definition[at + 1],
                base_type: definition[at + 2],
            };
            let unit = base_type_size(FitBaseType::from(field.base_type & BASE_TYPE_MASK));
            (!field.size.is_multiple_of(unit)).then_some((at, field))
        })
        .collect();
    if odd.is_empty() {
        return None;
    }
    let mut bytes = definition.to_vec();
    for (at, _) in &odd {
        bytes[at + 2] = BYTE;
    }
    Some(Patched {
        bytes,
        fields: odd.into_iter().map(|(_, field)| field).collect(),
    })
}

/// The size of one value of a base type, as fitparser counts it (unknown types are bytes).
fn base_type_size(base_type: FitBaseType) -> u8 {
    match base_type {
        FitBaseType::Sint16 | FitBaseType::Uint16 | FitBaseType::Uint16z => 2,
        FitBaseType::Sint32 | FitBaseType::Uint32 | FitBaseType::Uint32z | FitBaseType::Float32 => {
            4
        }
        FitBaseType::Sint64 | FitBaseType::Uint64 | FitBaseType::Uint64z | FitBaseType::Float64 => {
            8
        }
        _ => 1,
    }
}

/// The FIT CRC-16 of `bytes` (CRC-16/ARC, as the FIT SDK computes it).
pub(crate) fn fit_crc(bytes: &[u8]) -> u16 {
    const FIT_CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_ARC);
    FIT_CRC.checksum(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A definition of local message 0, global 20 (`record`), with the given fields.
    fn definition(fields: &[(u8, u8, u8)], developer: Option<&[(u8, u8, u8)]>) -> Vec<u8> {
        let header = DEFINITION
            | if developer.is_some() {
                DEVELOPER_DATA
            } else {
                0
            };
        let mut bytes = vec![header, 0, 0, 20, 0, fields.len() as u8];
        for &(n, size, base) in fields {
            bytes.extend([n, size, base]);
        }
        if let Some(dev) = developer {
            bytes.push(dev.len() as u8);
            for &(n, size, index) in dev {
                bytes.extend([n, size, index]);
            }
        }
        bytes
    }

    #[test]
    fn an_odd_sized_field_is_retyped_as_bytes_and_named() {
        // heart_rate uint8 (1 byte), distance uint32 in 3 bytes, speed uint16 in 2.
        let mut message = definition(&[(3, 1, 0x02), (5, 3, 0x86), (6, 2, 0x84)], None);
        let data_after = [0x00, 1, 2, 3];
        message.extend(data_after);
        let patched = patch_definition(&message).expect("the uint32 of 3 bytes is odd");
        assert_eq!(
            patched.fields,
            [OddField {
                number: 5,
                size: 3,
                base_type: 0x86
            }]
        );
        assert_eq!(patched.bytes.len(), message.len() - data_after.len());
        let mut expected = message[..patched.bytes.len()].to_vec();
        expected[FIXED_PART + FIELD_LEN + 2] = BYTE;
        assert_eq!(patched.bytes, expected);
    }

    #[test]
    fn clean_data_truncated_and_developer_definitions() {
        let clean = definition(&[(3, 1, 0x02), (5, 4, 0x86), (7, 4, 0x84)], None);
        assert!(
            patch_definition(&clean).is_none(),
            "4 bytes of uint16 is two values"
        );
        assert!(
            patch_definition(&[0x00, 1, 2, 3]).is_none(),
            "a data message"
        );
        assert!(
            patch_definition(&[0x85, 1, 2]).is_none(),
            "a compressed-timestamp one"
        );
        let odd = definition(&[(13, 3, 0x83)], Some(&[(0, 3, 0)]));
        assert!(
            patch_definition(&odd[..odd.len() - 1]).is_none(),
            "truncated"
        );
        let patched = patch_definition(&odd).unwrap();
        // The developer field definitions (sizes of any length) are left alone.
        assert_eq!(patched.bytes.len(), odd.len());
        assert_eq!(patched.bytes[odd.len() - 3..], odd[odd.len() - 3..]);
    }

    #[test]
    fn the_crc_matches_the_fit_sdk() {
        // The FIT SDK's CRC of a 12-byte header is what its 14-byte form stores; and the CRC of
        // bytes followed by their own CRC (little endian) is zero.
        assert_eq!(fit_crc(b""), 0);
        let header = [
            14u8, 0x10, 0x34, 0x08, 0x0a, 0, 0, 0, b'.', b'F', b'I', b'T',
        ];
        let crc = fit_crc(&header);
        let mut with_crc = header.to_vec();
        with_crc.extend(crc.to_le_bytes());
        assert_eq!(fit_crc(&with_crc), 0);
        assert_eq!(fit_crc(b"123456789"), 0xBB3D, "CRC-16/ARC check value");
    }
}
