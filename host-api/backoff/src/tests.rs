//! Ranges, doubling, caps, and saturation on absurd inputs.

use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

#[test]
fn jitter_stays_in_its_range_and_uses_all_of_it() {
    let mut rng = StdRng::seed_from_u64(1);
    let around = Jitter::around(0.1);
    let below = Jitter::below(0.2);
    let (mut lowest, mut highest) = (i64::MAX, 0);
    for _ in 0..2000 {
        let secs = around.apply_secs(21_600, &mut rng);
        assert!((19_440..=23_760).contains(&secs), "{secs}");
        lowest = lowest.min(secs);
        highest = highest.max(secs);
        let wait = below.apply(Duration::from_secs(300), &mut rng);
        assert!(wait >= Duration::from_secs(240) && wait <= Duration::from_secs(300));
    }
    // Both ends of ±10 % are reached, so neither side is clipped.
    assert!(lowest < 19_700 && highest > 23_500, "{lowest}..{highest}");
    assert_eq!(Jitter::NONE.apply_secs(77, &mut rng), 77);
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let plain = Backoff {
        base: Duration::from_secs(300),
        max: Duration::from_secs(86_400),
        jitter: Jitter::NONE,
    };
    let mut rng = StdRng::seed_from_u64(2);
    let delays: Vec<i64> = (0..10).map(|n| plain.delay_secs(n, &mut rng)).collect();
    assert_eq!(
        delays,
        [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 76800, 86400]
    );
    assert_eq!(plain.ceiling_secs(u32::MAX), 86_400);
    let jittered = Backoff {
        jitter: Jitter {
            low: 0.5,
            high: 1.0,
        },
        ..plain
    };
    for retry in 0..12 {
        let wait = jittered.delay(retry, &mut rng);
        assert!(wait <= jittered.ceiling(retry) && wait >= jittered.ceiling(retry) / 2);
    }
}

#[test]
fn absurd_inputs_saturate_instead_of_panicking() {
    let mut rng = StdRng::seed_from_u64(3);
    let huge = Backoff {
        base: Duration::MAX,
        max: Duration::MAX,
        jitter: Jitter::around(0.25),
    };
    assert!(huge.delay(u32::MAX, &mut rng) >= Duration::MAX.mul_f64(0.74));
    assert_eq!(huge.delay_secs(3, &mut rng), i64::MAX);
    let doubling = Jitter {
        low: 2.0,
        high: 2.0,
    };
    assert_eq!(doubling.apply(Duration::MAX, &mut rng), Duration::MAX);
    let nan = Jitter {
        low: f64::NAN,
        high: 1.0,
    };
    assert_eq!(nan.apply(Duration::from_secs(4), &mut rng), Duration::ZERO);
    let negative = Jitter {
        low: -3.0,
        high: -1.0,
    };
    assert_eq!(
        negative.apply(Duration::from_secs(4), &mut rng),
        Duration::ZERO
    );
    assert_eq!(Jitter::around(0.1).apply_secs(-50, &mut rng), 0);
    assert_eq!(from_secs(i64::MIN), Duration::ZERO);
    let zero = Backoff {
        base: Duration::ZERO,
        ..huge
    };
    assert_eq!(zero.delay(7, &mut rng), Duration::ZERO);
}
