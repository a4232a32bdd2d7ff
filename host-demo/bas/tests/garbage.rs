//! Bad bytes are rejected with a typed cause, never a panic; damaged real files either convert
//! (to schema-valid documents) or are rejected.

mod common;

use bincio_bas::{convert, RejectCause};
use common::*;

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn empty_random_and_truncated_headers_are_rejected_with_the_cause() {
    let empty = convert(b"", "empty.fit").unwrap_err();
    assert_eq!(
        (empty.file_name.as_str(), &empty.cause),
        ("empty.fit", &RejectCause::Empty)
    );

    let mut rng = Rng(7);
    for len in [1, 11, 12, 100, 5000] {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let err = convert(&bytes, "noise.fit").unwrap_err();
        assert!(
            matches!(err.cause, RejectCause::NotFit { .. }),
            "{len}: {err}"
        );
        assert!(
            err.to_string().starts_with("noise.fit: not a FIT file"),
            "{err}"
        );
    }

    let real = fixture("Activity.fit");
    for cut in [5, 11] {
        let err = convert(&real[..cut], "cut.fit").unwrap_err();
        assert!(
            matches!(err.cause, RejectCause::NotFit { .. }),
            "{cut}: {err}"
        );
    }
    // A whole header but no message: a FIT file with nothing in it.
    for cut in [14, 20] {
        let err = convert(&real[..cut], "header-only.fit").unwrap_err();
        assert!(
            matches!(err.cause, RejectCause::NoActivityData { .. }),
            "{cut}: {err}"
        );
        assert!(
            err.to_string().contains("truncated"),
            "names the damage: {err}"
        );
    }
}

#[test]
fn truncations_and_bit_flips_never_panic_and_stay_schema_valid() {
    let validator = schema();
    let mut rng = Rng(0x5eed);
    let (mut converted, mut rejected) = (0, 0);
    for name in ["Activity.fit", "garmin-fenix-5-run.fit", "hrv-activity.fit"] {
        let original = fixture(name);
        for case in 0..120 {
            let mut bytes = original.clone();
            if case % 2 == 0 {
                bytes.truncate(rng.below(original.len()));
            }
            for _ in 0..=rng.below(4) {
                if !bytes.is_empty() {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
            }
            match convert(&bytes, name) {
                Ok(c) => {
                    converted += 1;
                    let doc = serde_json::to_value(&c.activity).unwrap();
                    assert_valid(&validator, &doc, &format!("{name} case {case}"));
                }
                Err(e) => {
                    rejected += 1;
                    assert_eq!(e.file_name, name);
                }
            }
        }
    }
    eprintln!("damaged variants: {converted} converted, {rejected} rejected");
    assert!(converted > 0 && rejected > 0, "both outcomes exercised");
}
