//! End-to-end content checks of the audio path without a network: a tone goes through the send
//! pipeline, a simulated network (delay, jitter, reordering, loss), the jitter buffer, the
//! decoder and the resampler, and must come out as the same tone, continuous.

use super::*;
use crate::media::jitter_buffer;
use crate::media::jitter_estimator::MIN_TARGET_DELAY;
use crate::media::send_pipeline::AudioSendPipeline;
use crate::media::test_support::{detect_tone, sine, Tone};
use crate::media::EncodedAudio;

struct Run {
    frames: Vec<AudioFrame>,
    /// A poll returned `None` after playout had started.
    gap_after_start: bool,
    stats: (JitterStats, u64),
    /// The counters 2 s after the start (once an adaptive delay has settled).
    stats_at_2s: (JitterStats, u64),
    /// The counters at 1 s, 2 s, 3 s... after the start.
    stats_each_second: Vec<(JitterStats, u64)>,
    /// When the last frame came out, after the last packet was sent.
    end_after_last_send: Duration,
    /// The jitter buffer's target delay at the end.
    target: Duration,
}

/// When `run_with` stops.
#[derive(Clone, Copy, PartialEq)]
enum Until {
    /// Once it has produced one frame per 10 ms sent.
    AllFrames,
    /// Once every packet has arrived and the receiver has played them out.
    Drained,
}

fn encode(rate: u32, channels: u32, ms: u32) -> Vec<EncodedAudio> {
    encode_after_loss_report(rate, channels, ms, 0.0)
}

/// `encode` by a sender that was told of `fraction_lost` in a receiver report first (so its
/// encoder plans FEC for that loss).
fn encode_after_loss_report(rate: u32, channels: u32, ms: u32, fraction_lost: f32) -> Vec<EncodedAudio> {
    let mut send = AudioSendPipeline::new(rate, channels).unwrap();
    send.observe_loss(Instant::now(), fraction_lost).unwrap();
    let pcm = sine(440.0, 0.5, rate, channels, ms);
    pcm.chunks((rate / 100 * channels) as usize).filter_map(|c| send.push_10ms(c).unwrap()).collect()
}

/// Sends `packets` (one per 20 ms) through `network` (for packet `i`: `None` drops it, else its
/// one-way delay), polls the receiver every 10 ms until it
/// has produced one frame per 10 ms sent.
fn run(packets: &[EncodedAudio], out_rate: u32, out_channels: u32, network: &dyn Fn(usize) -> Option<Duration>) -> Run {
    run_with(packets, out_rate, out_channels, network, JitterBuffer::default(), Until::AllFrames)
}

/// `run` with a given jitter buffer and stop condition.
fn run_with(
    packets: &[EncodedAudio],
    out_rate: u32,
    out_channels: u32,
    network: &dyn Fn(usize) -> Option<Duration>,
    jitter: JitterBuffer,
    until: Until,
) -> Run {
    let t0 = Instant::now();
    let mut arrivals: Vec<(Instant, usize)> = (0..packets.len())
        .filter_map(|i| network(i).map(|delay| (t0 + Duration::from_millis(20 * (i as u64 + 1)) + delay, i)))
        .collect();
    arrivals.sort();
    let mut receiver = AudioReceivePipeline::with_jitter_buffer(out_rate, out_channels, jitter).unwrap();
    let mut stats_at_2s = None;
    let mut stats_each_second = Vec::new();
    let mut next_arrival = 0;
    let mut frames = Vec::new();
    let mut gap_after_start = false;
    let wanted = packets.len() * 2;
    let mut now = t0;
    while now < t0 + Duration::from_secs(120) {
        let done = match until {
            Until::AllFrames => frames.len() >= wanted,
            Until::Drained => next_arrival == arrivals.len() && !frames.is_empty() && receiver.is_drained(),
        };
        if done {
            break;
        }
        if now >= t0 + Duration::from_secs(2) && stats_at_2s.is_none() {
            stats_at_2s = Some(receiver.stats());
        }
        if now >= t0 + Duration::from_secs(stats_each_second.len() as u64 + 1) {
            stats_each_second.push(receiver.stats());
        }
        now += POLL_INTERVAL;
        while next_arrival < arrivals.len() && arrivals[next_arrival].0 <= now {
            let i = arrivals[next_arrival].1;
            let ts = (i as u32).wrapping_mul(packets[i].rtp_timestamp_step).wrapping_add(1_000_000);
            receiver.push_packet(
                (i as u16).wrapping_add(65_500),
                ts,
                packets[i].payload.clone(),
                arrivals[next_arrival].0,
            );
            next_arrival += 1;
        }
        match receiver.poll_frame(now).unwrap() {
            Some(frame) => frames.push(frame),
            None => gap_after_start |= !frames.is_empty(),
        }
    }
    let last_send = t0 + Duration::from_millis(20 * packets.len() as u64);
    Run {
        frames,
        gap_after_start,
        stats: receiver.stats(),
        stats_at_2s: stats_at_2s.unwrap_or_default(),
        stats_each_second,
        end_after_last_send: now.saturating_duration_since(last_send),
        target: receiver.jitter.target_delay(),
    }
}

/// The tone of everything after the first 200 ms (codec and filter start-up).
fn tone_of(run: &Run, rate: u32, channels: u32) -> Tone {
    assert!(run.frames.iter().all(|f| f.sample_rate() == rate && f.num_channels() == channels));
    assert!(run.frames.iter().all(|f| f.samples_per_channel() == rate / 100), "every frame is 10 ms");
    let pcm: Vec<i16> = run.frames[20..].iter().flat_map(|f| f.data().iter().copied()).collect();
    detect_tone(&pcm, rate, channels)
}

const EXPECTED_RMS: f64 = 0.5 * 32767.0 / std::f64::consts::SQRT_2;

fn assert_clean_tone(tone: Tone) {
    assert!((tone.frequency - 440.0).abs() <= 2.0, "{tone:?}");
    assert!((tone.rms / EXPECTED_RMS - 1.0).abs() < 0.1, "level off by more than 10%: {tone:?}");
    assert!(tone.min_channel_rms > 0.9 * EXPECTED_RMS, "a channel lost the tone: {tone:?}");
}

fn frame_rms(frame: &AudioFrame) -> f64 {
    let energy: f64 = frame.data().iter().map(|&s| f64::from(s).powi(2)).sum();
    (energy / frame.data().len() as f64).sqrt()
}

/// Every 10 ms frame after start-up still carries sound: no dropout to silence. (Concealment
/// of a burst of two lost packets fades to about 15% of the level, so the bar is 10%.)
fn assert_no_dropouts(run: &Run) {
    assert_level_above(run, 0.1);
}

/// Every 10 ms frame after start-up is above `fraction` of the tone's level.
fn assert_level_above(run: &Run, fraction: f64) {
    for (i, frame) in run.frames.iter().enumerate().skip(20) {
        let rms = frame_rms(frame);
        assert!(rms > fraction * EXPECTED_RMS, "frame {i} dropped out: rms {rms:.0}");
    }
}

#[test]
fn tone_48k_mono_round_trip_is_clean() {
    let packets = encode(48_000, 1, 1_500);
    let run = run(&packets, 48_000, 1, &|_| Some(Duration::from_millis(30)));
    assert!(!run.gap_after_start);
    assert_eq!(run.frames.len(), 150);
    assert_clean_tone(tone_of(&run, 48_000, 1));
    assert_eq!(run.stats.0.lost, 0);
    assert_eq!(run.stats.1, 0, "nothing concealed on a clean network");
}

#[test]
fn tone_from_16k_mono_capture_plays_as_48k_stereo() {
    let packets = encode(16_000, 1, 1_500);
    let run = run(&packets, 48_000, 2, &|_| Some(Duration::from_millis(25)));
    assert!(!run.gap_after_start);
    assert_clean_tone(tone_of(&run, 48_000, 2));
}

#[test]
fn tone_from_48k_stereo_capture_plays_as_16k_mono() {
    let packets = encode(48_000, 2, 1_500);
    let run = run(&packets, 16_000, 1, &|_| Some(Duration::from_millis(25)));
    assert!(!run.gap_after_start);
    assert_clean_tone(tone_of(&run, 16_000, 1));
}

/// Deterministic pseudo-random numbers per packet.
fn hash(i: usize) -> u64 {
    (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17).wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 33
}

#[test]
fn jitter_and_reordering_are_absorbed_without_loss() {
    let packets = encode(48_000, 1, 2_000);
    // 0..45 ms of jitter on 20 ms spacing: many packets overtake each other.
    let run = run(&packets, 48_000, 1, &|i| Some(Duration::from_millis(10 + hash(i) % 45)));
    assert!(!run.gap_after_start);
    assert_eq!(run.stats.0.lost, 0, "{:?}", run.stats);
    assert_eq!(run.stats.0.late, 0, "{:?}", run.stats);
    assert_clean_tone(tone_of(&run, 48_000, 1));
    assert_no_dropouts(&run);
}

#[test]
fn five_percent_loss_with_jitter_still_gives_continuous_tone() {
    // The sender heard of the loss (a receiver report), so its packets carry FEC.
    let packets = encode_after_loss_report(48_000, 1, 3_000, 0.06);
    let lost = |i: usize| i > 0 && i + 1 < packets.len() && hash(i + 7).is_multiple_of(20);
    let dropped = (0..packets.len()).filter(|&i| lost(i)).count();
    assert!((5..=12).contains(&dropped), "about 5% of 150: {dropped}");
    // A fixed delay: this case checks which output frames hold which packet, and an adaptive
    // delay shifts that mapping each time it grows (adaptive loss and jitter: see below).
    let run = run_with(
        &packets,
        24_000,
        2,
        &|i| (!lost(i)).then(|| Duration::from_millis(10 + hash(i) % 30)),
        JitterBuffer::new(Duration::from_millis(60), jitter_buffer::DEFAULT_CAPACITY),
        Until::AllFrames,
    );
    assert!(!run.gap_after_start);
    assert_eq!(run.frames.len(), 300);
    let (jitter, concealed) = run.stats;
    assert_eq!(jitter.lost, dropped as u64);
    // The packet after each loss was usually here, so FEC rebuilt most of them.
    assert!(concealed < jitter.lost, "FEC unused: {concealed} concealed of {} lost", jitter.lost);
    // A single loss is rebuilt from the next packet's FEC at nearly full level (frames 2i and
    // 2i+1 hold packet i).
    let singles: Vec<usize> = (1..packets.len() - 1).filter(|&i| lost(i) && !lost(i - 1) && !lost(i + 1)).collect();
    assert!(singles.len() >= 3, "{singles:?}");
    for i in singles {
        for frame in &run.frames[2 * i..2 * i + 2] {
            let rms = frame_rms(frame);
            assert!((rms / EXPECTED_RMS - 1.0).abs() < 0.25, "packet {i} rebuilt at rms {rms:.0}");
        }
    }
    let tone = tone_of(&run, 24_000, 2);
    assert!((tone.frequency - 440.0).abs() <= 2.0, "{tone:?}");
    assert!((tone.rms / EXPECTED_RMS - 1.0).abs() < 0.2, "{tone:?}");
    assert_no_dropouts(&run);
}

#[test]
fn nothing_comes_out_before_the_first_packet_and_bad_formats_fail() {
    let mut receiver = AudioReceivePipeline::new(48_000, 2).unwrap();
    assert_eq!(receiver.poll_frame(Instant::now()).unwrap(), None);
    assert!(AudioReceivePipeline::new(44_110, 2).is_err());
    assert!(AudioReceivePipeline::new(48_000, 3).is_err());
}

/// The counters accumulated after the 2 s mark: (lost, late, concealed).
fn after_settling(run: &Run) -> (u64, u64, u64) {
    let ((end, end_concealed), (start, start_concealed)) = (run.stats, run.stats_at_2s);
    (end.lost - start.lost, end.late - start.late, end_concealed - start_concealed)
}

/// A network's delay for packet `i`.
type Network = fn(usize) -> Duration;

/// 20 ms of jitter in pairs: packet 2k waits 20 ms for the next one.
fn pairs(i: usize) -> Duration {
    Duration::from_millis(10 + 20 * (1 - i as u64 % 2))
}

/// Reordering: packet 2k arrives 10 ms after packet 2k+1 (30 ms of jitter). Without waiting
/// at the gap each even packet would be declared lost while the odd one is already here.
fn swapped(i: usize) -> Duration {
    Duration::from_millis(10 + 30 * (1 - i as u64 % 2))
}

/// 40 ms of jitter in bursts of three: packet 3k waits 40 ms for the next two.
fn triples(i: usize) -> Duration {
    Duration::from_millis(10 + 20 * (2 - i as u64 % 3))
}

#[test]
fn bursty_arrivals_settle_then_lose_nothing_and_never_gap() {
    let packets = encode(48_000, 1, 6_000);
    // Pairs (20 ms of jitter), bursts of three (40 ms), swapped pairs (30 ms, reordered), each
    // from the start of a stream.
    let cases: [(&str, Network); 3] = [("pairs", pairs), ("triples", triples), ("swapped", swapped)];
    for (name, network) in cases {
        let run = run_with(&packets, 48_000, 1, &|i| Some(network(i)), JitterBuffer::default(), Until::Drained);
        assert!(!run.gap_after_start, "{name}");
        assert_eq!(after_settling(&run), (0, 0, 0), "{name}: lost, late, concealed after 2 s: {:?}", run.stats);
        assert_clean_tone(tone_of(&run, 48_000, 1));
        assert_no_dropouts(&run);
        // The delay grew to the jitter, not to the maximum.
        assert!(run.target <= Duration::from_millis(70), "{name}: {:?}", run.target);
    }
}

#[test]
fn a_calm_network_after_jitter_shrinks_the_delay_without_gaps() {
    // 4 s of 40 ms jitter, then 36 s of a steady network.
    let packets = encode(48_000, 1, 40_000);
    let run = run_with(
        &packets,
        48_000,
        1,
        &|i| Some(if i < 200 { triples(i) } else { Duration::from_millis(10) }),
        JitterBuffer::default(),
        Until::Drained,
    );
    assert!(!run.gap_after_start);
    assert_eq!(after_settling(&run), (0, 0, 0), "{:?}", run.stats);
    assert_eq!(run.target, MIN_TARGET_DELAY);
    assert!(run.stats.0.shrinks >= 1, "the delay was never shortened: {:?}", run.stats);
    // The last packet played out within network (10 ms) + target + a packet + the 10 ms grid.
    assert!(run.end_after_last_send <= Duration::from_millis(60), "{:?}", run.end_after_last_send);
    assert_clean_tone(tone_of(&run, 48_000, 1));
    assert_no_dropouts(&run);
}

#[test]
fn one_network_stall_costs_no_packet_and_its_delay_is_given_back() {
    let packets = encode(48_000, 1, 20_000);
    // Packets 100..115 are held up for up to 300 ms and arrive together with packet 115.
    let stall = |i: usize| {
        let held = if (100..115).contains(&i) { 20 * (115 - i as u64) } else { 0 };
        Some(Duration::from_millis(10 + held))
    };
    let run = run_with(&packets, 48_000, 1, &stall, JitterBuffer::default(), Until::Drained);
    assert!(!run.gap_after_start);
    assert_eq!(run.stats.0.lost, 0, "{:?}", run.stats);
    assert_eq!(run.stats.0.late, 0, "{:?}", run.stats);
    // The 300 ms of concealment during the stall were taken back, a packet at a time: fast
    // while the surplus is large (the stall ends at 2.33 s; by 4 s, at least 12 of them).
    assert!(run.stats.0.shrinks >= 14, "{:?}", run.stats);
    let by_4s = run.stats_each_second[3].0.shrinks;
    assert!(by_4s >= 12, "only {by_4s} packets of delay shed 1.7 s after the stall");
    assert_eq!(run.target, MIN_TARGET_DELAY);
    assert!(run.end_after_last_send <= Duration::from_millis(60), "{:?}", run.end_after_last_send);
    assert_no_dropouts_outside(&run, 200..240);
}

#[test]
fn the_packet_of_delay_one_underrun_adds_is_given_back() {
    let packets = encode(48_000, 1, 10_000);
    // Packet 100 comes 25 ms late, with 101 (5 ms late) right behind it: an underrun, 20 ms of
    // concealment, then one packet too much delay for the rest of the stream unless it is shed
    // (one late burst does not raise the target).
    let late = |i: usize| {
        Some(Duration::from_millis(match i {
            100 => 35,
            101 => 15,
            _ => 10,
        }))
    };
    let run = run_with(&packets, 48_000, 1, &late, JitterBuffer::default(), Until::Drained);
    assert!(!run.gap_after_start);
    assert_eq!((run.stats.0.lost, run.stats.0.late), (0, 0), "{:?}", run.stats);
    assert_eq!(run.target, MIN_TARGET_DELAY);
    assert_eq!(run.stats.0.shrinks, 1, "{:?}", run.stats);
    assert!(run.end_after_last_send <= Duration::from_millis(60), "{:?}", run.end_after_last_send);
    assert_no_dropouts(&run);
}

/// Audio NACK (LiveKit negotiates it) brings a lost packet back one to three NACK rounds of
/// 100 ms later, past its turn. Those late arrivals raise the target delay, and the schedule must
/// move to it in steps that concealment covers, never in one long dropout.
#[test]
fn late_retransmissions_raise_the_delay_without_a_dropout() {
    let packets = encode_after_loss_report(48_000, 1, 6_000, 0.06);
    let retransmitted = |i: usize| i > 10 && hash(i + 3).is_multiple_of(20);
    let network = |i: usize| {
        let rounds = if retransmitted(i) { 1 + hash(i) % 3 } else { 0 };
        Some(Duration::from_millis(10 + 100 * rounds))
    };
    let run = run_with(&packets, 48_000, 1, &network, JitterBuffer::default(), Until::Drained);
    assert!(run.target >= Duration::from_millis(100), "the late packets did not raise the delay: {:?}", run.target);
    assert!(!run.gap_after_start);
    assert_clean_tone(tone_of(&run, 48_000, 1));
    // No concealment longer than a step (20 ms) and the missing packet: the lowest frame is at
    // 63% of the level. (Moving to the target in one go concealed 110 ms, fading to 12%.)
    assert_level_above(&run, 0.5);
}

/// `assert_no_dropouts`, except for the frames in `allowed` (a stall's concealment fades).
fn assert_no_dropouts_outside(run: &Run, allowed: std::ops::Range<usize>) {
    for (i, frame) in run.frames.iter().enumerate().skip(20).filter(|(i, _)| !allowed.contains(i)) {
        let rms = frame_rms(frame);
        assert!(rms > 0.1 * EXPECTED_RMS, "frame {i} dropped out: rms {rms:.0}");
    }
}

#[test]
fn merging_two_packets_fades_from_one_into_the_other() {
    let first = vec![1_000i16, -1_000, 1_000, -1_000, 1_000, -1_000];
    let next = vec![3_000i16, 5_000, 3_000, 5_000, 3_000, 5_000, 7, 8];
    // Stereo: three frames in common, the next packet's last frame kept as it is.
    let merged = cross_fade(&first, next, 2);
    assert_eq!(merged.len(), 8);
    assert_eq!(&merged[6..], &[7, 8]);
    // Weights 1/6, 3/6, 5/6 of the next packet.
    assert_eq!(&merged[..6], &[1_333, 0, 2_000, 2_000, 2_667, 4_000]);
}
