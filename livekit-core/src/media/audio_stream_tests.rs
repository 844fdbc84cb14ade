//! AudioStream on paused tokio time: a real encoder feeds a 440 Hz tone as RTP packets every
//! 20 ms through a broadcast channel, as the engine will.

use super::*;
use crate::media::send_pipeline::AudioSendPipeline;
use crate::media::test_support::{detect_tone, sine};
use crate::media::EncodedAudio;
use futures_util::StreamExt;

/// 20 ms Opus packets of a 440 Hz tone captured at 48 kHz mono.
fn encode(ms: u32) -> Vec<EncodedAudio> {
    let mut send = AudioSendPipeline::new(48_000, 1).unwrap();
    sine(440.0, 0.5, 48_000, 1, ms).chunks(480).filter_map(|c| send.push_10ms(c).unwrap()).collect()
}

fn packet(i: usize, encoded: &EncodedAudio) -> RtpPacket {
    RtpPacket {
        sequence: (i as u16).wrapping_add(65_500),
        timestamp: (i as u32 * encoded.rtp_timestamp_step).wrapping_add(4_000_000_000),
        marker: false,
        payload: encoded.payload.clone(),
        arrival: Instant::now().into_std(),
    }
}

/// Sends packet `i` at `start + 20 ms * (i + 1)`, calling `burst` to decide whether a packet is
/// sent late in a burst with others; drops the sender at the end (the track ends).
fn send_in_real_time(
    packets: Vec<EncodedAudio>,
    tx: broadcast::Sender<RtpPacket>,
    burst: impl Fn(usize) -> Option<std::ops::Range<usize>> + Send + 'static,
) -> JoinHandle<Instant> {
    let start = Instant::now();
    tokio::spawn(async move {
        let mut i = 0;
        while i < packets.len() {
            tokio::time::sleep_until(start + Duration::from_millis(20 * (i as u64 + 1))).await;
            let range = burst(i).unwrap_or(i..i + 1);
            for j in range.clone() {
                // No await in between: the receiver cannot run, so a burst over its capacity lags it.
                let _ = tx.send(packet(j, &packets[j]));
            }
            i = range.end;
        }
        Instant::now()
    })
}

fn pcm_of(frames: &[AudioFrame]) -> Vec<i16> {
    frames.iter().flat_map(|f| f.data().iter().copied()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_tone_plays_as_continuous_10ms_frames_and_ends_with_the_track() {
    let packets = encode(1_500);
    assert_eq!(packets.len(), 75);
    let (tx, rx) = broadcast::channel(16);
    let mut stream = AudioStream::from_packets(rx, 24_000, 2).unwrap();
    assert_eq!((stream.sample_rate(), stream.num_channels()), (24_000, 2));
    let start = Instant::now();
    let sender = send_in_real_time(packets, tx, |_| None);

    let mut frames = Vec::new();
    let mut times = Vec::new();
    while let Some(frame) = stream.recv().await {
        times.push(Instant::now() - start);
        frames.push(frame);
    }
    let sent_done = sender.await.unwrap() - start;
    let ended = Instant::now() - start;

    // Every packet played once, as two 10 ms frames of the asked format.
    assert_eq!(frames.len(), 150);
    assert!(frames
        .iter()
        .all(|f| f.sample_rate() == 24_000 && f.num_channels() == 2 && f.samples_per_channel() == 240));
    // First packet at 20 ms + the jitter buffer's 20 ms starting delay (no jitter here, so it
    // stays there); then one frame per 10 ms exactly (no drift).
    assert_eq!(times[0], Duration::from_millis(20) + crate::media::jitter_estimator::MIN_TARGET_DELAY);
    for (k, t) in times.iter().enumerate() {
        assert_eq!(*t, times[0] + POLL_INTERVAL * k as u32, "frame {k}");
    }
    // The stream ends right after the last packet has played, 20 ms after it was sent.
    assert_eq!(sent_done, Duration::from_millis(1_500));
    assert!(ended <= Duration::from_millis(1_530), "ended at {ended:?}");
    assert_eq!(stream.dropped_frames(), 0);

    let tone = detect_tone(&pcm_of(&frames[20..]), 24_000, 2);
    assert!((tone.frequency - 440.0).abs() <= 2.0, "{tone:?}");
    assert!(tone.min_channel_rms > 0.9 * 0.5 * 32767.0 / std::f64::consts::SQRT_2, "{tone:?}");
}

#[tokio::test(start_paused = true)]
async fn a_lagged_receiver_goes_on_and_the_gap_is_concealed() {
    let packets = encode(1_500);
    // Capacity 4: a burst of 10 packets makes the stream's receiver lag by 6.
    let (tx, rx) = broadcast::channel(4);
    let mut stream = AudioStream::from_packets(rx, 48_000, 1).unwrap();
    let sender = send_in_real_time(packets, tx, |i| (i == 30).then_some(30..40));

    let frames: Vec<AudioFrame> = (&mut stream).collect().await;
    sender.await.unwrap();
    // Packets 30..36 were skipped, declared lost when due and concealed:
    // the output stays continuous and complete.
    assert_eq!(frames.len(), 150);
    let rms = |f: &AudioFrame| (f.data().iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 480.0).sqrt();
    // Frames 60..72 hold packets 30..36: libopus concealment fades out over the gap (slowly
    // for a steady tone in CELT mode: the encoder has no FEC to carry on a clean link).
    let tone_rms = frames[40..56].iter().map(rms).sum::<f64>() / 16.0;
    let gap: Vec<f64> = frames[64..72].iter().map(rms).collect();
    assert!(gap.iter().all(|&r| r < 0.7 * tone_rms), "the skipped packets were not played: {gap:?} vs {tone_rms}");
    assert!(frames[76..].iter().all(|f| rms(f) > 0.85 * tone_rms), "then the tone is back");
    let tone = detect_tone(&pcm_of(&frames[90..]), 48_000, 1);
    assert!((tone.frequency - 440.0).abs() <= 2.0, "{tone:?}");
    assert!(tone.rms > 0.8 * 0.5 * 32767.0 / std::f64::consts::SQRT_2, "the tone is back: {tone:?}");
}

#[tokio::test(start_paused = true)]
async fn a_slow_reader_loses_the_oldest_frames_not_the_pipeline() {
    let packets = encode(1_500);
    // A small broadcast capacity: a stalled pipeline would lag and lose packets.
    let (tx, rx) = broadcast::channel(2);
    let mut stream = AudioStream::from_packets(rx, 16_000, 1).unwrap();
    let start = Instant::now();
    send_in_real_time(packets, tx, |_| None).await.unwrap();
    // Nobody reads for 2 s; the task has finished on time regardless.
    tokio::time::sleep_until(start + Duration::from_secs(2)).await;
    assert_eq!(stream.dropped_frames(), 150 - FRAME_CAPACITY as u64);
    let frames: Vec<AudioFrame> = (&mut stream).collect().await;
    assert_eq!(Instant::now() - start, Duration::from_secs(2), "everything was buffered already");
    assert_eq!(frames.len(), FRAME_CAPACITY);
    // The newest 0.5 s is what is left: the tone, without a concealed hole.
    let tone = detect_tone(&pcm_of(&frames), 16_000, 1);
    assert!((tone.frequency - 440.0).abs() <= 2.0, "{tone:?}");
    assert!(tone.rms > 0.9 * 0.5 * 32767.0 / std::f64::consts::SQRT_2, "{tone:?}");
}

#[tokio::test(start_paused = true)]
async fn close_and_drop_stop_the_task() {
    let (tx, rx) = broadcast::channel(16);
    let mut stream = AudioStream::from_packets(rx, 48_000, 2).unwrap();
    let sender = send_in_real_time(encode(2_000), tx.clone(), |_| None);
    assert!(stream.recv().await.is_some());
    stream.close();
    assert!(stream.recv().await.is_none());
    assert!(stream.next().await.is_none());
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(tx.receiver_count(), 0, "the task dropped its receiver");

    let mut stream = AudioStream::from_packets(tx.subscribe(), 48_000, 2).unwrap();
    assert!(stream.recv().await.is_some());
    drop(stream);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(tx.receiver_count(), 0, "dropping the stream stops the task");
    sender.abort();
}

#[tokio::test(start_paused = true)]
async fn a_track_that_ends_before_any_packet_ends_the_stream_and_bad_formats_fail() {
    let (tx, rx) = broadcast::channel::<RtpPacket>(4);
    let mut stream = AudioStream::from_packets(rx, 48_000, 1).unwrap();
    drop(tx);
    assert!(stream.recv().await.is_none());
    for (rate, channels) in [(44_110, 1), (48_000, 3), (7_000, 1)] {
        let (_tx, rx) = broadcast::channel::<RtpPacket>(4);
        assert!(matches!(AudioStream::from_packets(rx, rate, channels), Err(Error::InvalidArgument(_))));
    }
}
