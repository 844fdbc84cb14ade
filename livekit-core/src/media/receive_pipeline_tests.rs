//! End-to-end content checks of the audio path without a network: a tone goes through the send
//! pipeline, a simulated network (delay, jitter, reordering, loss), the jitter buffer, the
//! decoder and the resampler, and must come out as the same tone, continuous.

use super::*;
use crate::media::send_pipeline::AudioSendPipeline;
use crate::media::test_support::{detect_tone, sine, Tone};
use crate::media::EncodedAudio;

struct Run {
    frames: Vec<AudioFrame>,
    /// A poll returned `None` after playout had started.
    gap_after_start: bool,
    stats: (JitterStats, u64),
}

fn encode(rate: u32, channels: u32, ms: u32) -> Vec<EncodedAudio> {
    let mut send = AudioSendPipeline::new(rate, channels).unwrap();
    let pcm = sine(440.0, 0.5, rate, channels, ms);
    pcm.chunks((rate / 100 * channels) as usize).filter_map(|c| send.push_10ms(c).unwrap()).collect()
}

/// Sends `packets` (one per 20 ms) through `network` (for packet `i`: `None` drops it, else its
/// one-way delay), polls the receiver every 10 ms until it
/// has produced one frame per 10 ms sent.
fn run(packets: &[EncodedAudio], out_rate: u32, out_channels: u32, network: &dyn Fn(usize) -> Option<Duration>) -> Run {
    let t0 = Instant::now();
    let mut arrivals: Vec<(Instant, usize)> = (0..packets.len())
        .filter_map(|i| network(i).map(|delay| (t0 + Duration::from_millis(20 * (i as u64 + 1)) + delay, i)))
        .collect();
    arrivals.sort();
    let mut receiver = AudioReceivePipeline::new(out_rate, out_channels).unwrap();
    let mut next_arrival = 0;
    let mut frames = Vec::new();
    let mut gap_after_start = false;
    let wanted = packets.len() * 2;
    let mut now = t0;
    while frames.len() < wanted && now < t0 + Duration::from_secs(60) {
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
    Run { frames, gap_after_start, stats: receiver.stats() }
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
    for (i, frame) in run.frames.iter().enumerate().skip(20) {
        let rms = frame_rms(frame);
        assert!(rms > 0.1 * EXPECTED_RMS, "frame {i} dropped out: rms {rms:.0}");
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
    let packets = encode(48_000, 1, 3_000);
    let lost = |i: usize| i > 0 && i + 1 < packets.len() && hash(i + 7).is_multiple_of(20);
    let dropped = (0..packets.len()).filter(|&i| lost(i)).count();
    assert!((5..=12).contains(&dropped), "about 5% of 150: {dropped}");
    let run = run(&packets, 24_000, 2, &|i| (!lost(i)).then(|| Duration::from_millis(10 + hash(i) % 30)));
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
