//! The vault's master key: 64 random bytes (AES-256-SIV takes a 512-bit key:
//! one half for S2V/CMAC, one for CTR), written as base64 in the key file or
//! in `BINCIO_MASTER_KEY`. Wiped from memory on drop; never printed.

use crate::secret::SecretString;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub const MASTER_KEY_LEN: usize = 64;

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey(Box<[u8; MASTER_KEY_LEN]>);

/// Why a text is not a master key (never includes the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    #[error("it is not valid base64")]
    NotBase64,
    #[error("it decodes to {0} bytes, not {MASTER_KEY_LEN}")]
    WrongLength(usize),
}

impl MasterKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        let mut bytes = Box::new([0u8; MASTER_KEY_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut bytes[..]);
        Self(bytes)
    }

    /// Parses base64 (standard alphabet; surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let decoded = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| MasterKeyError::NotBase64)?,
        );
        if decoded.len() != MASTER_KEY_LEN {
            return Err(MasterKeyError::WrongLength(decoded.len()));
        }
        let mut bytes = Box::new([0u8; MASTER_KEY_LEN]);
        bytes.copy_from_slice(&decoded);
        Ok(Self(bytes))
    }

    /// The key as base64, the form the key file and the variable hold.
    pub fn to_base64(&self) -> SecretString {
        SecretString::new(STANDARD.encode(&self.0[..]))
    }

    pub(crate) fn bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_bad_input() {
        let key = MasterKey::generate();
        let text = key.to_base64();
        let back = MasterKey::from_base64(&format!(" {}\n", text.expose())).unwrap();
        assert_eq!(back.bytes(), key.bytes());
        assert_ne!(MasterKey::generate().bytes(), key.bytes());
        assert_eq!(
            MasterKey::from_base64("not base64!").unwrap_err(),
            MasterKeyError::NotBase64
        );
        assert_eq!(
            MasterKey::from_base64(&STANDARD.encode([1u8; 32])).unwrap_err(),
            MasterKeyError::WrongLength(32)
        );
        assert_eq!(format!("{key:?}"), "MasterKey([redacted])");
    }
}
