//! The HTTP/2 ("Akamai") fingerprint of a connection, read from the first plaintext bytes the
//! client sent after the TLS handshake: `SETTINGS|WINDOW_UPDATE|PRIORITY|pseudo-header order`,
//! e.g. Chrome's `1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p`.

/// The client connection preface every HTTP/2 connection starts with.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The fingerprint of the frames in `bytes` (preface first), once the first HEADERS frame is
/// there; `None` before that or when the bytes are not HTTP/2.
pub fn fingerprint(bytes: &[u8]) -> Option<String> {
    let mut rest = bytes.strip_prefix(PREFACE)?;
    let mut settings: Vec<String> = Vec::new();
    let mut window = "00".to_string();
    let mut priorities: Vec<String> = Vec::new();
    while rest.len() >= 9 {
        let len = (usize::from(rest[0]) << 16) | (usize::from(rest[1]) << 8) | usize::from(rest[2]);
        let (kind, flags) = (rest[3], rest[4]);
        let stream = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]) & 0x7fff_ffff;
        let payload = rest.get(9..9 + len)?;
        rest = &rest[9 + len..];
        match kind {
            0x4 if flags & 0x1 == 0 => settings.extend(payload.chunks_exact(6).map(|s| {
                let id = u16::from_be_bytes([s[0], s[1]]);
                let value = u32::from_be_bytes([s[2], s[3], s[4], s[5]]);
                format!("{id}:{value}")
            })),
            0x8 if stream == 0 && payload.len() >= 4 => {
                let inc = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                window = (inc & 0x7fff_ffff).to_string();
            }
            0x2 if payload.len() >= 5 => {
                let dep = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                let exclusive = dep >> 31;
                priorities.push(format!(
                    "{stream}:{exclusive}:{}:{}",
                    dep & 0x7fff_ffff,
                    u16::from(payload[4]) + 1
                ));
            }
            0x1 => {
                let mut block = payload;
                if flags & 0x8 != 0 {
                    let pad = usize::from(*block.first()?);
                    block = block.get(1..block.len().checked_sub(pad)?)?;
                }
                if flags & 0x20 != 0 {
                    block = block.get(5..)?;
                }
                let priority = if priorities.is_empty() {
                    "0".to_string()
                } else {
                    priorities.join(",")
                };
                return Some(format!(
                    "{}|{window}|{priority}|{}",
                    settings.join(";"),
                    pseudo_header_order(block).join(",")
                ));
            }
            _ => {}
        }
    }
    None
}

/// HPACK static table entries 1..=7: the pseudo-headers.
fn static_name(index: usize) -> Option<&'static str> {
    match index {
        1 => Some("a"),
        2 | 3 => Some("m"),
        4 | 5 => Some("p"),
        6 | 7 => Some("s"),
        _ => None,
    }
}

/// An HPACK integer with an `prefix`-bit prefix at the start of `bytes`; (value, bytes used).
fn integer(bytes: &[u8], prefix: u8) -> Option<(usize, usize)> {
    let mask = (1usize << prefix) - 1;
    let mut value = usize::from(*bytes.first()?) & mask;
    if value < mask {
        return Some((value, 1));
    }
    let mut shift = 0;
    for (i, b) in bytes.iter().enumerate().skip(1) {
        value = value.checked_add(usize::from(b & 0x7f).checked_shl(shift)?)?;
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
    None
}

/// The pseudo-headers at the start of a header block, as `m`, `a`, `s`, `p` in their order.
/// The first request of a connection names them from the static table, so no Huffman decoding
/// is needed; the walk stops at the first other header.
fn pseudo_header_order(mut block: &[u8]) -> Vec<&'static str> {
    let mut order = Vec::new();
    while let Some(&first) = block.first() {
        let (index, used, literal) = if first & 0x80 != 0 {
            let Some((i, n)) = integer(block, 7) else {
                break;
            };
            (i, n, false)
        } else if first & 0xe0 == 0x20 {
            let Some((_, n)) = integer(block, 5) else {
                break;
            };
            block = &block[n..];
            continue;
        } else if first & 0xc0 == 0x40 {
            let Some((i, n)) = integer(block, 6) else {
                break;
            };
            (i, n, true)
        } else {
            let Some((i, n)) = integer(block, 4) else {
                break;
            };
            (i, n, true)
        };
        let Some(name) = static_name(index) else {
            break;
        };
        order.push(name);
        block = &block[used..];
        if literal {
            let Some((len, n)) = integer(block, 7) else {
                break;
            };
            let Some(after) = block.get(n + len..) else {
                break;
            };
            block = after;
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![
            (payload.len() >> 16) as u8,
            (payload.len() >> 8) as u8,
            payload.len() as u8,
            kind,
            flags,
        ];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn reads_settings_window_and_pseudo_header_order() {
        let mut bytes = PREFACE.to_vec();
        let mut settings = Vec::new();
        for (id, value) in [(1u16, 65536u32), (2, 0), (4, 6291456), (6, 262144)] {
            settings.extend_from_slice(&id.to_be_bytes());
            settings.extend_from_slice(&value.to_be_bytes());
        }
        bytes.extend(frame(4, 0, 0, &settings));
        bytes.extend(frame(8, 0, 0, &15663105u32.to_be_bytes()));
        assert_eq!(fingerprint(&bytes), None, "no HEADERS yet");
        // :method GET (2), :authority literal (1, "x"), :scheme https (7), :path literal (4, "/a"),
        // then a regular header (user-agent, static 58) that ends the walk.
        let block = [
            0x82, 0x41, 1, b'x', 0x87, 0x44, 2, b'/', b'a', 0x7a, 1, b'u',
        ];
        bytes.extend(frame(1, 0x4 | 0x1, 1, &block));
        assert_eq!(
            fingerprint(&bytes).as_deref(),
            Some("1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p")
        );
    }

    #[test]
    fn http1_is_not_http2() {
        assert_eq!(fingerprint(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), None);
    }

    #[test]
    fn hpack_integers_with_continuation_bytes() {
        assert_eq!(integer(&[0x1f, 0x9a, 0x0a], 5), Some((1337, 3)));
        assert_eq!(integer(&[0x0a], 5), Some((10, 1)));
        assert_eq!(integer(&[0x1f, 0x9a], 5), None);
    }
}
