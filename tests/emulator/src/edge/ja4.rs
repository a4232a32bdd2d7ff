//! JA4 (FoxIO) of a raw TLS ClientHello: what Cloudflare-style bot management reads from the
//! first bytes of a connection, before any TLS is spoken.
//!
//! `t` + TLS version + `d`/`i` (SNI or not) + cipher count + extension count + first and last
//! character of the first ALPN value, `_`, 12 hex of the SHA-256 of the sorted cipher list, `_`,
//! 12 hex of the SHA-256 of the sorted extensions (without SNI and ALPN) joined by `_` with the
//! signature algorithms in their order. GREASE values are left out everywhere.

use sha2::{Digest, Sha256};

/// Why bytes are not a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    #[error("not a TLS handshake record (first byte {0:#04x})")]
    NotHandshake(u8),
    #[error("not a ClientHello (handshake type {0})")]
    NotClientHello(u8),
    #[error("the ClientHello is cut short at byte {0}")]
    Truncated(usize),
}

/// What a ClientHello says, as JA4 needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub ciphers: Vec<u16>,
    /// Extension types in the order sent (GREASE included).
    pub extensions: Vec<u16>,
    pub server_name: Option<String>,
    pub alpn: Vec<String>,
    pub supported_versions: Vec<u16>,
    pub signature_algorithms: Vec<u16>,
}

/// Whether `v` is a GREASE value (RFC 8701): `0x?a?a` with equal bytes.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// The length of the first TLS record (header included), once its 5-byte header is there.
pub fn record_len(bytes: &[u8]) -> Option<usize> {
    (bytes.len() >= 5).then(|| 5 + usize::from(u16::from_be_bytes([bytes[3], bytes[4]])))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HelloError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or(HelloError::Truncated(self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, HelloError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, HelloError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Result<usize, HelloError> {
        let b = self.take(3)?;
        Ok((usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
}

fn u16s(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// Parses the ClientHello at the start of `bytes` (a TLS record as read from the socket).
pub fn parse_client_hello(bytes: &[u8]) -> Result<ClientHello, HelloError> {
    let mut r = Reader { bytes, at: 0 };
    let content_type = r.u8()?;
    if content_type != 0x16 {
        return Err(HelloError::NotHandshake(content_type));
    }
    r.take(4)?; // record version + length
    let kind = r.u8()?;
    if kind != 1 {
        return Err(HelloError::NotClientHello(kind));
    }
    r.u24()?;
    let mut hello = ClientHello {
        legacy_version: r.u16()?,
        ..ClientHello::default()
    };
    r.take(32)?; // random
    let sid = usize::from(r.u8()?);
    r.take(sid)?;
    let cipher_len = usize::from(r.u16()?);
    hello.ciphers = u16s(r.take(cipher_len)?);
    let comp = usize::from(r.u8()?);
    r.take(comp)?;
    if r.at == bytes.len() {
        return Ok(hello);
    }
    let ext_len = usize::from(r.u16()?);
    let mut ext = Reader {
        bytes: r.take(ext_len)?,
        at: 0,
    };
    while ext.at < ext.bytes.len() {
        let kind = ext.u16()?;
        let len = usize::from(ext.u16()?);
        let data = ext.take(len)?;
        hello.extensions.push(kind);
        let mut d = Reader { bytes: data, at: 0 };
        match kind {
            0x0000 => {
                // server_name_list: list length, then (type, length, name)
                d.u16()?;
                d.u8()?;
                let n = usize::from(d.u16()?);
                hello.server_name = Some(String::from_utf8_lossy(d.take(n)?).into_owned());
            }
            0x0010 => {
                let total = usize::from(d.u16()?);
                let mut list = Reader {
                    bytes: d.take(total)?,
                    at: 0,
                };
                while list.at < list.bytes.len() {
                    let n = usize::from(list.u8()?);
                    hello
                        .alpn
                        .push(String::from_utf8_lossy(list.take(n)?).into_owned());
                }
            }
            0x002b => {
                let n = usize::from(d.u8()?);
                hello.supported_versions = u16s(d.take(n)?);
            }
            0x000d => {
                let n = usize::from(d.u16()?);
                hello.signature_algorithms = u16s(d.take(n)?);
            }
            _ => {}
        }
    }
    Ok(hello)
}

fn hash12(text: &str) -> String {
    if text.is_empty() {
        return "000000000000".to_string();
    }
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(&digest[..6])
}

fn hex_list(values: impl Iterator<Item = u16>) -> String {
    values
        .map(|v| format!("{v:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        _ => "00",
    }
}

impl ClientHello {
    /// The JA4 fingerprint (TCP: `t`).
    pub fn ja4(&self) -> String {
        let version = self
            .supported_versions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.legacy_version);
        let sni = if self.extensions.contains(&0x0000) {
            'd'
        } else {
            'i'
        };
        let ciphers: Vec<u16> = self
            .ciphers
            .iter()
            .copied()
            .filter(|c| !is_grease(*c))
            .collect();
        let extensions: Vec<u16> = self
            .extensions
            .iter()
            .copied()
            .filter(|e| !is_grease(*e))
            .collect();
        let alpn = match self.alpn.first().map(|a| a.as_bytes()) {
            Some([first, .., last]) => format!("{}{}", *first as char, *last as char),
            Some([only]) => format!("{}{}", *only as char, *only as char),
            _ => "00".to_string(),
        };
        let mut sorted_ciphers = ciphers.clone();
        sorted_ciphers.sort_unstable();
        let mut sorted_ext: Vec<u16> = extensions
            .iter()
            .copied()
            .filter(|e| *e != 0x0000 && *e != 0x0010)
            .collect();
        sorted_ext.sort_unstable();
        let mut c = hex_list(sorted_ext.into_iter());
        if !self.signature_algorithms.is_empty() {
            c.push('_');
            c.push_str(&hex_list(self.signature_algorithms.iter().copied()));
        }
        format!(
            "t{}{sni}{:02}{:02}{alpn}_{}_{}",
            version_code(version),
            ciphers.len().min(99),
            extensions.len().min(99),
            hash12(&hex_list(sorted_ciphers.into_iter())),
            hash12(&c)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-built ClientHello: two ciphers (one GREASE), SNI, ALPN h2, versions, sig algs.
    fn hello_bytes() -> Vec<u8> {
        let mut ext = Vec::new();
        let mut push_ext = |kind: u16, data: &[u8]| {
            ext.extend_from_slice(&kind.to_be_bytes());
            ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
            ext.extend_from_slice(data);
        };
        push_ext(0x0a0a, &[]);
        push_ext(
            0x0000,
            &[
                0, 12, 0, 0, 9, b'l', b'o', b'c', b'a', b'l', b'h', b'o', b's', b't',
            ],
        );
        push_ext(
            0x0010,
            &[
                0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ],
        );
        push_ext(0x002b, &[4, 0x1a, 0x1a, 0x03, 0x04]);
        push_ext(0x000d, &[0, 4, 0x04, 0x03, 0x08, 0x04]);
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 4, 0x2a, 0x2a, 0x13, 0x01]);
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 0x03, 0x01, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn parses_and_fingerprints_a_client_hello() {
        let bytes = hello_bytes();
        assert_eq!(record_len(&bytes), Some(bytes.len()));
        let hello = parse_client_hello(&bytes).unwrap();
        assert_eq!(hello.server_name.as_deref(), Some("localhost"));
        assert_eq!(hello.alpn, vec!["h2", "http/1.1"]);
        let ja4 = hello.ja4();
        // 1 cipher, 4 extensions (GREASE left out), h2; hashes of "1301" and "000d,002b_0403,0804".
        assert!(ja4.starts_with("t13d0104h2_"), "{ja4}");
        assert_eq!(&ja4[11..23], &hash12("1301"));
        assert_eq!(&ja4[24..], &hash12("000d,002b_0403,0804"));
    }

    #[test]
    fn grease_is_recognised() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa));
        assert!(!is_grease(0x0a1a) && !is_grease(0x1301));
    }

    #[test]
    fn garbage_is_refused_with_its_reason() {
        assert_eq!(
            parse_client_hello(b"GET / HTTP/1.1\r\n"),
            Err(HelloError::NotHandshake(b'G'))
        );
        let bytes = hello_bytes();
        assert!(matches!(
            parse_client_hello(&bytes[..40]),
            Err(HelloError::Truncated(_))
        ));
    }
}
