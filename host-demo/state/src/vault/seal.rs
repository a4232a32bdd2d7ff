//! Sealing one value with AES-256-SIV (RFC 5297).
//!
//! The associated data is a vector of separate components (SIV's S2V takes
//! each one on its own, so no ambiguous concatenation is possible):
//! a purpose label, the key version, the plugin id, the connection id, the
//! field key, and last the random nonce. A ciphertext therefore opens only
//! under the exact (key version, plugin, connection, field) it was sealed
//! for: moved to another field or connection, it fails authentication.
//!
//! Stored form: `nonce (16) || SIV tag (16) || ciphertext`.

use super::master_key::MasterKey;
use aes_siv::siv::Aes256Siv;
use aes_siv::KeyInit;
use rand::RngCore;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 16;

const SECRET_LABEL: &[u8] = b"bincio-vault/secret/v1";
const CANARY_LABEL: &[u8] = b"bincio-vault/key-check/v1";
/// The known plaintext of the key check value.
const CANARY_PLAINTEXT: &[u8] = b"bincio vault master key check";

/// What a secret is bound to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Binding<'a> {
    pub key_version: u32,
    pub plugin_id: &'a str,
    pub connection_id: &'a str,
    pub field: &'a str,
}

/// Authentication failed: wrong key, wrong binding, or altered bytes.
#[derive(Debug)]
pub(crate) struct OpenFailed;

fn cipher(key: &MasterKey) -> Aes256Siv {
    Aes256Siv::new(key.bytes().into())
}

fn seal_with(key: &MasterKey, headers: &[&[u8]], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut all: Vec<&[u8]> = headers.to_vec();
    all.push(&nonce);
    // Fails only past 126 header components; we pass at most seven.
    let sealed = cipher(key)
        .encrypt(&all, plaintext)
        .expect("AES-SIV accepts up to 126 associated data components");
    let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

fn open_with(
    key: &MasterKey,
    headers: &[&[u8]],
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenFailed> {
    if stored.len() < NONCE_LEN + TAG_LEN {
        return Err(OpenFailed);
    }
    let (nonce, sealed) = stored.split_at(NONCE_LEN);
    let mut all: Vec<&[u8]> = headers.to_vec();
    all.push(nonce);
    cipher(key)
        .decrypt(&all, sealed)
        .map(Zeroizing::new)
        .map_err(|_| OpenFailed)
}

pub(crate) fn seal_secret(key: &MasterKey, binding: &Binding<'_>, plaintext: &[u8]) -> Vec<u8> {
    let version = binding.key_version.to_be_bytes();
    seal_with(key, &secret_headers(binding, &version), plaintext)
}

pub(crate) fn open_secret(
    key: &MasterKey,
    binding: &Binding<'_>,
    stored: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenFailed> {
    let version = binding.key_version.to_be_bytes();
    open_with(key, &secret_headers(binding, &version), stored)
}

fn secret_headers<'a>(binding: &Binding<'a>, version: &'a [u8; 4]) -> [&'a [u8]; 5] {
    [
        SECRET_LABEL,
        version,
        binding.plugin_id.as_bytes(),
        binding.connection_id.as_bytes(),
        binding.field.as_bytes(),
    ]
}

/// The key check value stored per key version.
pub(crate) fn seal_canary(key: &MasterKey, key_version: u32) -> Vec<u8> {
    seal_with(
        key,
        &[CANARY_LABEL, &key_version.to_be_bytes()],
        CANARY_PLAINTEXT,
    )
}

/// Whether `key` is the key that sealed this check value.
pub(crate) fn canary_matches(key: &MasterKey, key_version: u32, stored: &[u8]) -> bool {
    open_with(key, &[CANARY_LABEL, &key_version.to_be_bytes()], stored)
        .map(|plain| plain.as_slice() == CANARY_PLAINTEXT)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(field: &str) -> Binding<'_> {
        Binding {
            key_version: 1,
            plugin_id: "dev.bincio.garmin",
            connection_id: "garmin-1",
            field,
        }
    }

    #[test]
    fn seals_open_only_under_their_binding() {
        let key = MasterKey::generate();
        let sealed = seal_secret(&key, &binding("password"), b"s3cret");
        assert_eq!(
            open_secret(&key, &binding("password"), &sealed)
                .unwrap()
                .as_slice(),
            b"s3cret"
        );
        assert!(open_secret(&key, &binding("token"), &sealed).is_err());
        let other_version = Binding {
            key_version: 2,
            ..binding("password")
        };
        assert!(open_secret(&key, &other_version, &sealed).is_err());
        assert!(open_secret(&MasterKey::generate(), &binding("password"), &sealed).is_err());
        // A fresh nonce each time: equal plaintexts give different bytes.
        assert_ne!(sealed, seal_secret(&key, &binding("password"), b"s3cret"));
        assert!(open_secret(&key, &binding("password"), &sealed[..20]).is_err());
    }

    #[test]
    fn canary_tells_keys_apart() {
        let key = MasterKey::generate();
        let canary = seal_canary(&key, 3);
        assert!(canary_matches(&key, 3, &canary));
        assert!(!canary_matches(&key, 4, &canary));
        assert!(!canary_matches(&MasterKey::generate(), 3, &canary));
    }
}
