//! A real FIT file given a field whose size is not a multiple of its base type's: the
//! definition fitparser 0.11 complains about on stderr (`ERROR: field size ...`). Devices and
//! damage make such files; none of the shared fixtures is one, so the tests make it.

use garmin_emulator::fit_writer::fit_crc;

/// `bytes` (a clean FIT file with a 14- or 12-byte header) with the first one-byte `uint8`
/// field of a `record` definition retyped `uint16` (a `uint16` of one byte), and the file CRC
/// made right again, so the odd size is the only thing wrong with it.
pub fn with_odd_field_size(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let header_len = usize::from(out[0]);
    let data_len = u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize;
    let end = header_len + data_len;
    let mut sizes = [0usize; 16];
    let mut at = header_len;
    let mut patched = false;
    while at < end && !patched {
        let header = out[at];
        if header & 0x80 != 0 {
            at += 1 + sizes[usize::from((header >> 5) & 0x3)];
        } else if header & 0x40 != 0 {
            let big_endian = out[at + 2] == 1;
            let global = if big_endian {
                u16::from_be_bytes([out[at + 3], out[at + 4]])
            } else {
                u16::from_le_bytes([out[at + 3], out[at + 4]])
            };
            let fields = usize::from(out[at + 5]);
            let mut len = 6 + 3 * fields;
            let mut size: usize = (0..fields).map(|i| usize::from(out[at + 7 + 3 * i])).sum();
            for i in 0..fields {
                let field = at + 6 + 3 * i;
                if global == 20 && out[field + 1] == 1 && out[field + 2] == 0x02 && !patched {
                    out[field + 2] = 0x84;
                    patched = true;
                }
            }
            if header & 0x20 != 0 {
                let developer = usize::from(out[at + len]);
                size += (0..developer)
                    .map(|i| usize::from(out[at + len + 2 + 3 * i]))
                    .sum::<usize>();
                len += 1 + 3 * developer;
            }
            sizes[usize::from(header & 0xF)] = size;
            at += len;
        } else {
            at += 1 + sizes[usize::from(header & 0xF)];
        }
    }
    assert!(
        patched,
        "the file has a record definition with a one-byte uint8 field"
    );
    let crc = fit_crc(&out[..end]);
    out[end..end + 2].copy_from_slice(&crc.to_le_bytes());
    out
}
