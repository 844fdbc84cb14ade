//! Target-delay cases: steady, bursty, calm again, one spike, early packets, bounds.

use super::*;

const MS: Duration = Duration::from_millis(1);

/// Feeds packets `range` (20 ms apart at the sender) arriving `delay(i)` after they were sent;
/// returns the target after each packet.
fn feed(
    est: &mut JitterEstimator,
    t0: Instant,
    range: std::ops::Range<u32>,
    delay: impl Fn(u32) -> Duration,
) -> Vec<Duration> {
    let mut arrivals: Vec<(Instant, u32)> = range.map(|i| (t0 + 20 * MS * i + delay(i), i)).collect();
    arrivals.sort();
    arrivals
        .into_iter()
        .map(|(at, i)| {
            est.observe(at, 960u32.wrapping_mul(i).wrapping_add(7_000));
            est.target()
        })
        .collect()
}

/// Equal within a microsecond (the estimator computes in floating-point seconds).
fn close(a: Option<Instant>, b: Instant) -> bool {
    a.is_some_and(|a| a.max(b) - a.min(b) < Duration::from_micros(1))
}

fn close_duration(a: Option<Duration>, b: Duration) -> bool {
    a.is_some_and(|a| a.abs_diff(b) < Duration::from_micros(1))
}

fn default_estimator() -> JitterEstimator {
    JitterEstimator::new(MIN_TARGET_DELAY, MAX_TARGET_DELAY)
}

/// Deterministic pseudo-random numbers per packet.
fn hash(i: u32) -> u64 {
    (u64::from(i) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 33
}

/// Packets arriving in pairs: each even one waits for the odd one after it (20 ms spread).
fn pairs(i: u32) -> Duration {
    Duration::from_millis(30 + if i.is_multiple_of(2) { 20 } else { 0 })
}

#[test]
fn steady_arrivals_keep_the_minimum() {
    let t0 = Instant::now();
    let mut est = default_estimator();
    assert_eq!(est.target(), MIN_TARGET_DELAY, "starts low");
    // 20 s of packets with up to 4 ms of scheduling noise.
    let targets = feed(&mut est, t0, 0..1_000, |i| Duration::from_millis(30 + hash(i) % 5));
    assert!(targets.iter().all(|&t| t == MIN_TARGET_DELAY), "max {:?}", targets.iter().max());
}

#[test]
fn pairs_raise_the_target_above_their_spread_within_a_second() {
    let t0 = Instant::now();
    let mut est = default_estimator();
    let targets = feed(&mut est, t0, 0..500, pairs);
    let settled = targets.iter().position(|&t| t >= 25 * MS).expect("the target grows");
    assert!(settled < 15, "took {settled} packets");
    assert!(targets[settled..].iter().all(|&t| (25 * MS..=40 * MS).contains(&t)), "{targets:?}");
}

#[test]
fn forty_ms_of_jitter_raises_the_target_to_cover_it() {
    let t0 = Instant::now();
    let mut est = default_estimator();
    // Bursts of three: packet 3k waits 40 ms, 3k+1 waits 20 ms, 3k+2 goes at once.
    let targets = feed(&mut est, t0, 0..750, |i| Duration::from_millis(30 + 20 * u64::from(2 - i % 3)));
    let settled = targets.iter().position(|&t| t >= 45 * MS).expect("the target grows");
    assert!(settled < 15, "took {settled} packets");
    assert!(targets[settled..].iter().all(|&t| (45 * MS..=60 * MS).contains(&t)), "{targets:?}");
}

#[test]
fn a_calm_network_brings_the_target_down_slowly() {
    let t0 = Instant::now();
    let mut est = default_estimator();
    feed(&mut est, t0, 0..500, |i| Duration::from_millis(30 + 20 * u64::from(2 - i % 3)));
    let high = est.target();
    assert!(high >= 45 * MS, "{high:?}");
    // Then 40 s of steady arrivals.
    let targets = feed(&mut est, t0, 500..2_500, |_| 30 * MS);
    // Not within the first 4 s (the window still remembers the jitter)...
    assert!(targets[..200].iter().all(|&t| t == high), "{:?}", &targets[..200]);
    // ... then step by step, never up, never by more than a millisecond between packets ...
    for pair in targets.windows(2) {
        assert!(pair[1] <= pair[0] && pair[0] - pair[1] <= MS, "{pair:?}");
    }
    let at_minimum = targets.iter().position(|&t| t == MIN_TARGET_DELAY).expect("back to the minimum");
    // ... taking several seconds (10 ms per second of decay after the window forgets).
    assert!((300..600).contains(&at_minimum), "back at the minimum after packet {at_minimum}");
}

#[test]
fn one_long_stall_does_not_keep_the_target_high() {
    let t0 = Instant::now();
    let mut est = default_estimator();
    feed(&mut est, t0, 0..250, |_| 30 * MS);
    // Packets 250..265 are held up and arrive together with packet 265, 300 ms late at most.
    let stalled = |i: u32| if (250..265).contains(&i) { (30 + 20 * (265 - i)) * MS } else { 30 * MS };
    let targets = feed(&mut est, t0, 250..1_750, stalled);
    let highest = *targets.iter().max().unwrap();
    assert!(highest <= 100 * MS, "one stall raised the target to {highest:?}");
    // 30 s later it is back where it was.
    assert_eq!(*targets.last().unwrap(), MIN_TARGET_DELAY);
    assert!(targets.iter().rposition(|&t| t > MIN_TARGET_DELAY).unwrap() < 1_000, "{targets:?}");
}

#[test]
fn a_single_late_packet_changes_nothing_but_recurring_ones_do() {
    let t0 = Instant::now();
    let mut est = default_estimator();
    let targets = feed(&mut est, t0, 0..500, |i| if i == 300 { 80 * MS } else { 30 * MS });
    assert!(targets.iter().all(|&t| t == MIN_TARGET_DELAY), "{:?}", targets.iter().max());
    // One packet 50 ms late every second: the second peak raises the target over it.
    let targets = feed(&mut est, t0, 500..1_000, |i| if i % 50 == 0 { 80 * MS } else { 30 * MS });
    let grown = targets.iter().position(|&t| t >= 60 * MS).expect("recurring peaks raise it");
    assert!(grown <= 51, "grew at packet {grown}");
}

#[test]
fn a_burst_of_early_packets_does_not_move_the_floor() {
    let t0 = Instant::now();
    let mut est = default_estimator();
    feed(&mut est, t0, 0..100, |_| 100 * MS);
    let before = est.ideal_due(960 * 200 + 7_000).unwrap();
    assert!(close(Some(before), t0 + 20 * MS * 200 + 100 * MS + MIN_TARGET_DELAY));
    // A sender catching up: packets 100..105 arrive together with packet 100.
    for i in 100..105u32 {
        est.observe(t0 + 20 * MS * 100 + 100 * MS, 960 * i + 7_000);
    }
    assert!(close(est.ideal_due(960 * 200 + 7_000), before));
    assert_eq!(est.target(), MIN_TARGET_DELAY);
}

#[test]
fn ideal_due_is_floor_plus_target_and_spread_is_relative_to_the_floor() {
    let t0 = Instant::now();
    let mut est = default_estimator();
    assert_eq!(est.ideal_due(0), None);
    assert_eq!(est.spread(t0, 0), None);
    est.observe(t0, u32::MAX - 479);
    // Timestamps wrap: 20 ms of media later is 20 ms later.
    assert!(close(est.ideal_due(480), t0 + 20 * MS + MIN_TARGET_DELAY), "{:?}", est.ideal_due(480));
    assert!(close_duration(est.spread(t0 + 35 * MS, 480), 15 * MS));
    // Earlier than the floor is no spread.
    assert_eq!(est.spread(t0, 480), Some(Duration::ZERO));
    est.rebase();
    assert_eq!(est.ideal_due(480), None);
    assert_eq!(est.target(), MIN_TARGET_DELAY);
}

#[test]
fn hostile_timing_stays_within_bounds() {
    let t0 = Instant::now();
    let mut est = JitterEstimator::new(30 * MS, 10 * MS);
    assert_eq!(est.max(), 30 * MS, "max is raised to min");
    let mut est2 = default_estimator();
    let mut x: u32 = 99;
    for k in 0..5_000u32 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let at = t0 + MS * (x % 100_000);
        est.observe(at, x);
        est2.observe(at, x.rotate_left(k % 32));
        assert_eq!(est.target(), 30 * MS);
        assert!((MIN_TARGET_DELAY..=MAX_TARGET_DELAY).contains(&est2.target()));
        let _ = est2.ideal_due(x);
        let _ = est2.spread(at, !x);
    }
}
