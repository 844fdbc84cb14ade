//! AudioSource on paused tokio time: back-pressure timing, silence when idle, playout, close.

use super::*;
use crate::media::opus_codec::OpusDecoder;
use crate::media::test_support::{detect_tone, sine};
use tokio::time::Instant;

fn tone(ms: u32) -> AudioFrame {
    AudioFrame::new(sine(440.0, 0.5, 48_000, 1, ms), 48_000, 1).unwrap()
}

#[tokio::test(start_paused = true)]
async fn captures_are_held_to_real_time_by_the_queue() {
    let source = AudioSource::new(48_000, 1, 100).unwrap();
    let start = Instant::now();
    // 100 ms fits the queue: at once.
    source.capture_frame(&tone(100)).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(10), "{:?}", start.elapsed());
    // Each further 100 ms waits until the queue is back to 100 ms: one per 100 ms of time.
    for n in 1..=5u64 {
        source.capture_frame(&tone(100)).await.unwrap();
        let elapsed = start.elapsed().as_millis() as u64;
        assert!((n * 100 - 10..=n * 100 + 10).contains(&elapsed), "capture {n} done at {elapsed} ms");
        assert!(source.queued_duration() <= Duration::from_millis(100));
    }
    source.wait_for_playout().await;
    let elapsed = start.elapsed().as_millis() as u64;
    assert!((590..=620).contains(&elapsed), "600 ms played out at {elapsed} ms");
    assert_eq!(source.queued_duration(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn an_idle_source_sends_silence_then_the_captured_tone() {
    let source = AudioSource::new(48_000, 1, 50).unwrap();
    let mut packets = source.attach();
    tokio::time::sleep(Duration::from_millis(205)).await;
    let mut silent = 0;
    while let Ok(packet) = packets.try_recv() {
        assert_eq!((packet.audio_level, packet.voice_activity), (127, false));
        assert_eq!(packet.rtp_timestamp_step, 960);
        silent += 1;
    }
    assert!((9..=11).contains(&silent), "one packet per 20 ms while idle, got {silent}");

    // 200 ms is larger than a 50 ms queue's 100 ms buffer: it goes in piece by piece; then two
    // 100 ms frames in turn.
    source.capture_frame(&tone(200)).await.unwrap();
    source.capture_frame(&tone(100)).await.unwrap();
    source.capture_frame(&tone(100)).await.unwrap();
    source.wait_for_playout().await;
    let mut levels = Vec::new();
    while let Ok(packet) = packets.try_recv() {
        levels.push(packet.audio_level);
    }
    let loud = levels.iter().filter(|&&l| (8..=10).contains(&l)).count();
    assert!(loud >= 18, "the 400 ms of tone (about 20 packets at 9 dBov) is sent: {levels:?}");
}

#[tokio::test(start_paused = true)]
async fn a_source_streams_a_long_capture_in_small_frames() {
    let source = AudioSource::new(16_000, 2, 50).unwrap();
    let mut packets = source.attach();
    let pcm = sine(440.0, 0.5, 16_000, 2, 400);
    for chunk in pcm.chunks(320 * 2) {
        source.capture_frame(&AudioFrame::new(chunk.to_vec(), 16_000, 2).unwrap()).await.unwrap();
    }
    source.wait_for_playout().await;
    let mut loud = 0;
    while let Ok(packet) = packets.try_recv() {
        loud += usize::from(packet.voice_activity);
    }
    assert!((18..=21).contains(&loud), "400 ms of tone is about 20 voiced packets, got {loud}");
}

#[tokio::test(start_paused = true)]
async fn clear_and_close() {
    let source = AudioSource::new(48_000, 1, 100).unwrap();
    source.capture_frame(&tone(100)).await.unwrap();
    // A second capture waits on back-pressure; clearing the queue releases it.
    let waiting = tokio::spawn({
        let source = source.clone();
        async move { source.capture_frame(&tone(100)).await }
    });
    tokio::task::yield_now().await;
    source.clear_queue();
    waiting.await.unwrap().unwrap();

    // A capture waiting when the source closes fails, and so does any later one.
    source.capture_frame(&tone(100)).await.unwrap();
    let waiting = tokio::spawn({
        let source = source.clone();
        async move { source.capture_frame(&tone(100)).await }
    });
    tokio::task::yield_now().await;
    let packets = source.attach();
    source.close();
    assert!(source.is_closed());
    assert!(matches!(waiting.await.unwrap(), Err(Error::InvalidArgument(_))));
    assert!(matches!(source.capture_frame(&tone(10)).await, Err(Error::InvalidArgument(_))));
    source.wait_for_playout().await; // returns at once when closed
    drop(packets);
}

#[tokio::test(start_paused = true)]
async fn bad_arguments_are_typed_errors() {
    assert!(matches!(AudioSource::new(7_000, 1, 100), Err(Error::InvalidArgument(_))));
    assert!(matches!(AudioSource::new(48_000, 3, 100), Err(Error::InvalidArgument(_))));
    assert!(matches!(AudioSource::new(44_110, 1, 100), Err(Error::InvalidArgument(_))));
    let source = AudioSource::new(48_000, 2, 100).unwrap();
    let mono = tone(10);
    assert!(matches!(source.capture_frame(&mono).await, Err(Error::InvalidArgument(_))));
    let over_1s = AudioFrame::new(vec![0; 2 * 48_001], 48_000, 2).unwrap();
    assert!(matches!(source.capture_frame(&over_1s).await, Err(Error::InvalidArgument(_))));
    assert_eq!(source.queued_duration(), Duration::ZERO);
}

/// Captures `ms` of a 440 Hz tone in frames of `frame_len` samples per channel (the last one
/// shorter), then checks the decoded packets carry the tone without a hole or a click.
async fn stream_in_frames_of(rate: u32, channels: u32, frame_len: usize, ms: u32) {
    let source = AudioSource::new(rate, channels, 100).unwrap();
    let mut packets = source.attach();
    let pcm = sine(440.0, 0.5, rate, channels, ms);
    for chunk in pcm.chunks(frame_len * channels as usize) {
        source.capture_frame(&AudioFrame::new(chunk.to_vec(), rate, channels).unwrap()).await.unwrap();
    }
    source.wait_for_playout().await;
    assert_eq!(source.queued_duration(), Duration::ZERO);
    let mut decoder = OpusDecoder::new(1).unwrap();
    let mut decoded = Vec::new();
    let mut voiced = 0;
    while let Ok(packet) = packets.try_recv() {
        voiced += usize::from(packet.voice_activity);
        decoded.extend(decoder.decode(&packet.payload).unwrap());
    }
    let expected = ms as usize / 20;
    assert!(
        (expected - 1..=expected + 1).contains(&voiced),
        "{ms} ms of tone is about {expected} voiced packets, got {voiced}"
    );
    // The voiced part, past the codec's start-up: one continuous tone.
    let start = decoded.iter().position(|&s| s.abs() > 1_000).unwrap() + 4_800;
    let tone = detect_tone(&decoded[start..start + (ms as usize - 200) * 48], 48_000, 1);
    assert!((tone.frequency - 440.0).abs() <= 2.0, "{tone:?}");
    // A half-scale 440 Hz sine moves at most about 950 per 48 kHz sample; even a 64-sample hole
    // of silence comes out of the codec as a step of about 2,800.
    assert!(tone.max_step < 1_500.0, "a discontinuity: {tone:?}");
}

#[tokio::test(start_paused = true)]
async fn frames_of_1024_samples_from_a_file_decoder_play_continuously() {
    stream_in_frames_of(48_000, 1, 1_024, 600).await;
}

#[tokio::test(start_paused = true)]
async fn five_ms_frames_play_continuously() {
    stream_in_frames_of(48_000, 2, 240, 400).await;
}

#[tokio::test(start_paused = true)]
async fn frames_of_441_and_512_samples_at_44_1_khz_play_continuously() {
    stream_in_frames_of(44_100, 1, 441, 400).await;
    stream_in_frames_of(44_100, 2, 512, 400).await;
}

#[tokio::test(start_paused = true)]
async fn a_new_bitrate_changes_the_packet_size_and_bad_ones_are_refused() {
    let source = AudioSource::new(48_000, 1, 100).unwrap();
    let mut packets = source.attach();
    let mean_size = |packets: &mut mpsc::Receiver<EncodedAudio>| {
        let mut sizes = Vec::new();
        while let Ok(packet) = packets.try_recv() {
            sizes.push(packet.payload.len());
        }
        sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64
    };
    source.capture_frame(&tone(500)).await.unwrap();
    source.wait_for_playout().await;
    let default_size = mean_size(&mut packets);
    source.set_bitrate(12_000).unwrap();
    source.capture_frame(&tone(500)).await.unwrap();
    source.wait_for_playout().await;
    let low_size = mean_size(&mut packets);
    assert!(low_size < default_size * 0.6, "12 kbps packets ({low_size} B) against the default ({default_size} B)");
    assert!(matches!(source.set_bitrate(1_000), Err(Error::InvalidArgument(_))));
    assert!(matches!(source.set_bitrate(600_000), Err(Error::InvalidArgument(_))));
}
