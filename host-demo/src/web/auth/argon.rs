//! argon2id hashing and checking into memory the caller lends, so the
//! server reuses a few buffers instead of allocating 19 MiB per sign-in.
//!
//! Why: with glibc's malloc, a freed 19 MiB buffer raises the size at
//! which allocations go to their own mapping. Later buffers of that size
//! come from the heaps, and small allocations between them keep the heaps
//! from shrinking. The load bench measured it on `host-demo serve`: each
//! burst of 40 sign-ins left the RSS higher (26 MiB, then 543 and 640 MiB),
//! even with at most 4 checks at once. With the memory lent from
//! [`super::password_gate`]'s pool, the peak is the pool (4 x 19 MiB) and
//! stays there. The hash strings are the PHC strings of
//! `bincio_state::hash_password` (argon2id, the crate's default cost), and
//! each side checks the other's (tested).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use bincio_state::SecretString;

/// The most memory a stored hash may ask for: 256 MiB in 1 KiB blocks
/// (the default cost is 19 MiB). A larger one is refused, not computed.
pub const MAX_BLOCKS: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("the password could not be hashed: {0}")]
pub struct HashError(String);

/// `memory` grown to `blocks` if it is smaller (never shrunk: it is reused).
fn lend(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

/// A new PHC string for `password` (argon2id, default cost, random salt).
pub fn hash_with(password: &SecretString, memory: &mut Vec<Block>) -> Result<String, HashError> {
    let err = |e: &dyn std::fmt::Display| HashError(e.to_string());
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let raw_salt = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| err(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let blocks = params.block_count();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            raw_salt,
            &mut out,
            lend(memory, blocks),
        )
        .map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| err(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash` (any argon2 variant
/// and version; a malformed hash or one above [`MAX_BLOCKS`] never does).
pub fn verify_with(hash: &str, password: &SecretString, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        tracing::warn!(target: "web::auth", blocks, "a stored password hash asks for more memory than allowed; refused");
        return false;
    }
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            raw_salt,
            &mut out,
            lend(memory, blocks),
        )
        .is_ok()
        // Output's equality takes the same time wherever the bytes differ.
        && Output::new(&out).is_ok_and(|o| o == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s)
    }

    #[test]
    fn our_hashes_and_the_state_crates_check_each_other() {
        let mut memory = Vec::new();
        let ours = hash_with(&pw("a-long-password"), &mut memory).unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(bincio_state::verify_password(&ours, &pw("a-long-password")));
        assert!(!bincio_state::verify_password(
            &ours,
            &pw("a-long-passwore")
        ));
        let theirs = bincio_state::hash_password(&pw("another-password")).unwrap();
        assert!(verify_with(&theirs, &pw("another-password"), &mut memory));
        assert!(!verify_with(&theirs, &pw("another-passworD"), &mut memory));
        assert!(verify_with(&ours, &pw("a-long-password"), &mut memory));
        assert_eq!(
            memory.len(),
            Params::default().block_count(),
            "one buffer, reused"
        );
    }

    #[test]
    fn malformed_and_oversized_hashes_never_match() {
        let mut memory = Vec::new();
        let good = bincio_state::hash_password(&pw("a-long-password")).unwrap();
        for bad in [
            "",
            "not a hash",
            &good.replace("argon2id", "scrypt"),
            &good.replace("m=19456", "m=1048576"),
            &good[..good.rfind('$').unwrap()],
        ] {
            assert!(
                !verify_with(bad, &pw("a-long-password"), &mut memory),
                "{bad}"
            );
        }
        assert!(
            memory.len() <= MAX_BLOCKS,
            "the oversized cost was not allocated"
        );
    }
}
