//! AudioSource on paused tokio time: back-pressure timing, silence when idle, playout, close.

use super::*;
use crate::media::test_support::sine;
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

    // 200 ms can never fit a 50 ms queue (100 ms buffer); two 100 ms frames do, in turn.
    assert!(matches!(source.capture_frame(&tone(200)).await, Err(Error::LimitExceeded { .. })));
    source.capture_frame(&tone(100)).await.unwrap();
    source.capture_frame(&tone(100)).await.unwrap();
    source.wait_for_playout().await;
    let mut levels = Vec::new();
    while let Ok(packet) = packets.try_recv() {
        levels.push(packet.audio_level);
    }
    let loud = levels.iter().filter(|&&l| (8..=10).contains(&l)).count();
    assert!(loud >= 8, "the 200 ms tone (about 10 packets at 9 dBov) is sent: {levels:?}");
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
    let odd = AudioFrame::new(vec![0; 2 * 500], 48_000, 2).unwrap();
    assert!(matches!(source.capture_frame(&odd).await, Err(Error::InvalidArgument(_))));
    assert_eq!(source.queued_duration(), Duration::ZERO);
}
