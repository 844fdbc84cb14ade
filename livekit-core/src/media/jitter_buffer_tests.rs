//! Jitter-buffer cases: order, timing, loss, wrap, duplicates, late packets, bounds.

use super::*;
use crate::media::jitter_estimator::{MAX_TARGET_DELAY, MIN_TARGET_DELAY};

const MS20: Duration = Duration::from_millis(20);
/// The delay of the fixed-delay buffers whose exact timing these cases check.
const DELAY_60: Duration = Duration::from_millis(60);

fn fixed() -> JitterBuffer {
    JitterBuffer::new(DELAY_60, DEFAULT_CAPACITY)
}

fn payload(n: u16) -> Bytes {
    Bytes::from(n.to_be_bytes().to_vec())
}

/// Pops every output due by `now`.
fn drain(jb: &mut JitterBuffer, now: Instant) -> Vec<JitterOutput> {
    std::iter::from_fn(|| jb.pop(now)).collect()
}

fn sequences(outputs: &[JitterOutput]) -> Vec<(u16, bool)> {
    outputs
        .iter()
        .map(|o| match o {
            JitterOutput::Packet { sequence, .. } => (*sequence, true),
            JitterOutput::Lost { sequence, .. } => (*sequence, false),
        })
        .collect()
}

#[test]
fn packets_wait_for_the_target_delay_then_come_out_every_20ms() {
    let t0 = Instant::now();
    let mut jb = fixed();
    for i in 0..3u16 {
        assert_eq!(jb.push(i, 960 * u32::from(i), payload(i), t0 + MS20 * u32::from(i)), PushOutcome::Buffered);
    }
    assert_eq!(jb.pop(t0 + Duration::from_millis(59)), None, "not before 60 ms");
    assert_eq!(jb.next_due(), Some(t0 + DELAY_60));
    assert_eq!(sequences(&drain(&mut jb, t0 + Duration::from_millis(60))), vec![(0, true)]);
    assert_eq!(jb.pop(t0 + Duration::from_millis(79)), None);
    assert_eq!(sequences(&drain(&mut jb, t0 + Duration::from_millis(100))), vec![(1, true), (2, true)]);
}

#[test]
fn reordered_packets_come_out_in_order_without_loss() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::default();
    for (k, i) in [0u16, 2, 1, 4, 3].into_iter().enumerate() {
        jb.push(i, 960 * u32::from(i), payload(i), t0 + Duration::from_millis(5 * k as u64));
    }
    let out = drain(&mut jb, t0 + Duration::from_secs(1));
    assert_eq!(sequences(&out), (0..5).map(|i| (i, true)).collect::<Vec<_>>());
    assert_eq!(out[1], JitterOutput::Packet { sequence: 1, timestamp: 960, payload: payload(1) });
    assert_eq!(jb.stats(), JitterStats::default());
}

#[test]
fn a_gap_is_lost_once_due_and_offers_the_next_packet_for_fec() {
    let t0 = Instant::now();
    let mut jb = fixed();
    jb.push(10, 0, payload(10), t0);
    jb.push(12, 1_920, payload(12), t0 + 2 * MS20);
    assert_eq!(sequences(&drain(&mut jb, t0 + Duration::from_millis(60))), vec![(10, true)]);
    // Packet 11 would be due at 80 ms; until then it may still arrive.
    assert_eq!(jb.pop(t0 + Duration::from_millis(79)), None);
    assert_eq!(
        jb.pop(t0 + Duration::from_millis(80)),
        Some(JitterOutput::Lost { sequence: 11, next_payload: Some(payload(12)) })
    );
    // It arriving now is too late.
    assert_eq!(jb.push(11, 960, payload(11), t0 + Duration::from_millis(81)), PushOutcome::Late);
    assert_eq!(sequences(&drain(&mut jb, t0 + Duration::from_millis(100))), vec![(12, true)]);
    assert_eq!(jb.stats().lost, 1);
    assert_eq!(jb.stats().late, 1);
}

#[test]
fn nothing_is_declared_lost_while_the_sender_is_silent() {
    let t0 = Instant::now();
    let mut jb = fixed();
    jb.push(1, 0, payload(1), t0);
    drain(&mut jb, t0 + Duration::from_secs(1));
    // Ten seconds of nothing (mute, DTX): no losses, and the next packet is still accepted.
    assert_eq!(jb.pop(t0 + Duration::from_secs(10)), None);
    let resumed = t0 + Duration::from_secs(10);
    assert_eq!(jb.push(2, 960, payload(2), resumed), PushOutcome::Buffered);
    // It gets the full target delay again (re-anchored after the underrun).
    assert_eq!(jb.pop(resumed + Duration::from_millis(59)), None);
    assert_eq!(sequences(&drain(&mut jb, resumed + DELAY_60)), vec![(2, true)]);
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn sequence_numbers_wrap_around() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::default();
    let seqs = [65_533u16, 65_534, 65_535, 0, 1, 2];
    // The first packet starts the stream; the rest arrive newest first, mixing wrap and reordering.
    let order = std::iter::once(0).chain((1..seqs.len()).rev());
    for k in order {
        let s = seqs[k];
        jb.push(s, 4_294_965_000u32.wrapping_add(960 * k as u32), payload(s), t0);
    }
    let out = drain(&mut jb, t0 + Duration::from_secs(1));
    assert_eq!(sequences(&out), seqs.iter().map(|&s| (s, true)).collect::<Vec<_>>());
}

#[test]
fn duplicates_are_dropped() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::default();
    jb.push(5, 0, payload(5), t0);
    assert_eq!(jb.push(6, 960, payload(6), t0), PushOutcome::Buffered);
    assert_eq!(jb.push(6, 960, payload(6), t0), PushOutcome::Duplicate);
    assert_eq!(jb.len(), 2);
    assert_eq!(drain(&mut jb, t0 + Duration::from_secs(1)).len(), 2);
    // A copy of an already played packet is late, not a new one.
    assert_eq!(jb.push(5, 0, payload(5), t0 + Duration::from_secs(1)), PushOutcome::Late);
    assert_eq!(jb.stats().duplicate, 1);
}

#[test]
fn hostile_input_stays_bounded() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(DELAY_60, 50);
    // A deterministic scramble of sequence numbers and timestamps, never popped.
    let mut x: u32 = 12_345;
    for _ in 0..20_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        jb.push((x >> 16) as u16, x, payload(0), t0);
        assert!(jb.len() <= 50);
    }
    // A sender that jumps far ahead: the buffer restarts at the new position and keeps going.
    let mut jb = JitterBuffer::default();
    jb.push(100, 0, payload(100), t0);
    assert_eq!(jb.push(30_000, 9_600_000, payload(1), t0 + MS20), PushOutcome::Reset);
    assert_eq!(jb.push(30_001, 9_600_960, payload(2), t0 + MS20), PushOutcome::Buffered);
    assert_eq!(sequences(&drain(&mut jb, t0 + Duration::from_secs(1))), vec![(30_000, true), (30_001, true)]);
}

#[test]
fn the_adaptive_buffer_stays_bounded_and_in_order_under_hostile_input() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::adaptive(MIN_TARGET_DELAY, MAX_TARGET_DELAY, 50);
    let mut x: u32 = 4_321;
    let mut now = t0;
    for k in 0..20_000u32 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        // Mostly a plausible stream with scrambled timing, sometimes garbage.
        let (sequence, timestamp) = if x.is_multiple_of(7) {
            ((x >> 16) as u16, x)
        } else {
            (k as u16, (k.wrapping_mul(960)).wrapping_add(x % 5_000))
        };
        let arrival = now + Duration::from_millis(u64::from(x % 300));
        jb.push(sequence, timestamp, payload(sequence), arrival);
        now += Duration::from_millis(u64::from(x % 13));
        if jb.pop(now).is_some() {
            let _ = jb.pop_surplus(now);
        }
        let _ = jb.next_due();
        assert!(jb.len() <= 50);
        assert!((MIN_TARGET_DELAY..=MAX_TARGET_DELAY).contains(&jb.target_delay()));
    }
}

/// A default buffer fed packets `0..count` on time (packet i arriving at 20 ms * i, drained
/// then), plus, as packets `copies_at` arrive, a copy of the packet `copy_age` sequence numbers
/// older: already played, so `Late`.
fn on_time_with_late_copies(t0: Instant, count: u16, copies_at: [u16; 2], copy_age: u16) -> JitterBuffer {
    let mut jb = JitterBuffer::default();
    for i in 0..count {
        let at = t0 + MS20 * u32::from(i);
        jb.push(i, 960 * u32::from(i), payload(i), at);
        drain(&mut jb, at);
        if copies_at.contains(&i) {
            let old = i - copy_age;
            assert_eq!(jb.push(old, 960 * u32::from(old), payload(0), at), PushOutcome::Late);
        }
    }
    jb
}

#[test]
fn a_late_copy_of_an_old_packet_does_not_raise_the_delay() {
    // Two stray copies of packets played seconds ago.
    let jb = on_time_with_late_copies(Instant::now(), 300, [200, 250], 150);
    assert_eq!(jb.target_delay(), MIN_TARGET_DELAY);
}

#[test]
fn a_caller_catching_up_after_a_stall_gets_the_packets_not_concealment() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::default();
    // On time: packet i arrives at 20 ms * i and is played 20 ms later.
    for i in 0..50u16 {
        let at = t0 + MS20 * u32::from(i);
        jb.push(i, 960 * u32::from(i), payload(i), at);
        assert_eq!(sequences(&drain(&mut jb, at)), if i == 0 { vec![] } else { vec![(i - 1, true)] });
    }
    assert_eq!(sequences(&drain(&mut jb, t0 + MS20 * 50)), vec![(49, true)]);
    // The whole process stalls for 200 ms: packets 50..60 are stamped when it resumes, then its
    // player polls the instants it missed.
    let resumed = t0 + MS20 * 60;
    for i in 50..60u16 {
        jb.push(i, 960 * u32::from(i), payload(i), resumed);
    }
    for i in 50..60u16 {
        let missed = t0 + MS20 * (u32::from(i) + 1);
        assert_eq!(sequences(&drain(&mut jb, missed)), vec![(i, true)], "the poll missed at packet {i}'s turn");
    }
    assert_eq!(jb.stats(), JitterStats::default());
}

/// A default buffer that played packets 0..100 on time (each arriving at 20 ms * i), then got
/// two copies of packets from 140 ms before, as late retransmissions do: two delay peaks, which
/// raise the target to about 150 ms while the schedule still gives 20 ms. Packet 99 has played.
fn raised_by_late_packets(t0: Instant) -> JitterBuffer {
    let mut jb = on_time_with_late_copies(t0, 100, [80, 95], 7);
    assert!(jb.target_delay() >= Duration::from_millis(140), "{:?}", jb.target_delay());
    assert_eq!(sequences(&drain(&mut jb, t0 + MS20 * 100)), vec![(99, true)]);
    jb
}

#[test]
fn a_raised_target_is_reached_in_steps_of_20_ms_at_least_200_ms_apart() {
    let t0 = Instant::now();
    let mut jb = raised_by_late_packets(t0);
    // From packet 100 on, one packet every 20 ms except 110, 115 and 130; polled every 10 ms.
    // Without waiting, missing packet i would be declared lost at 20 ms * (i + 1).
    let missing = [110u16, 115, 130];
    let mut lost_at = Vec::new();
    for tick in 200..400u32 {
        let now = t0 + Duration::from_millis(10) * tick;
        if tick % 2 == 0 {
            let i = (tick / 2) as u16;
            if !missing.contains(&i) {
                jb.push(i, 960 * u32::from(i), payload(i), now);
            }
        }
        for output in drain(&mut jb, now) {
            if let JitterOutput::Lost { sequence, .. } = output {
                lost_at.push((sequence, now.duration_since(t0).as_millis()));
            }
        }
    }
    // 110 waits one step (20 ms); 115 comes 120 ms later, too soon for another; 130 waits a
    // second step.
    assert_eq!(lost_at, vec![(110, 2_220 + 20), (115, 2_320 + 20), (130, 2_620 + 40)]);
}

/// On `raised_by_late_packets`' buffer, packet 100 (after packet 99 played, nothing buffered)
/// with RTP timestamp `timestamp` arrives `arrival_ms` after the start: how long it waits.
fn wait_of_packet_100(timestamp: u32, arrival_ms: u64) -> Duration {
    let t0 = Instant::now();
    let mut jb = raised_by_late_packets(t0);
    let arrival = t0 + Duration::from_millis(arrival_ms);
    assert_eq!(jb.push(100, timestamp, payload(100), arrival), PushOutcome::Buffered);
    jb.next_due().unwrap().saturating_duration_since(arrival)
}

#[test]
fn after_a_pause_the_whole_raised_target_is_taken_at_once() {
    // The sender pauses (DTX, mute) for a second: its next packet is one sequence number on, its
    // timestamp a second on, and it comes 30 ms after its turn. The output was silence.
    let waits = wait_of_packet_100(960 * 150, 3_050);
    assert!(waits >= Duration::from_millis(100), "{waits:?}");
}

#[test]
fn an_underrun_in_sound_adds_one_step_of_delay() {
    // Packet 100 comes 30 ms after its turn: the output was concealment for 30 ms.
    assert_eq!(wait_of_packet_100(960 * 100, 2_050), MS20);
}
