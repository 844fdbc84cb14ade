//! The colour programs of the video tests: each side draws red, green and blue for one second
//! each with a moving white bar; the other side checks the colours come in that order.

use std::time::Duration;

use livekit_core::media::{VideoFormat, VideoFrame, VideoSource};
use livekit_test_harness::{OfficialPeer, ReceivedPicture};
use tokio::task::JoinHandle;

use super::EVENT_TIMEOUT;

pub const RED: [u8; 3] = [220, 30, 30];
pub const GREEN: [u8; 3] = [30, 200, 40];
pub const BLUE: [u8; 3] = [30, 40, 220];
pub const PROGRAM: [[u8; 3]; 3] = [RED, GREEN, BLUE];
pub const FPS: f64 = 15.0;

/// The program colour `rgb` is (within a distance a codec keeps to), if any.
pub fn classify(rgb: [f64; 3]) -> Option<usize> {
    PROGRAM.iter().position(|c| {
        let distance: f64 = c.iter().zip(rgb).map(|(&a, b)| (f64::from(a) - b).powi(2)).sum::<f64>().sqrt();
        distance < 60.0
    })
}

/// The colours seen, consecutive repeats and unclassified (transition) pictures left out.
pub fn colour_runs(pictures: &[[f64; 3]]) -> Vec<usize> {
    let mut runs: Vec<usize> = Vec::new();
    for colour in pictures.iter().filter_map(|&rgb| classify(rgb)) {
        if runs.last() != Some(&colour) {
            runs.push(colour);
        }
    }
    runs
}

/// Whether `runs` holds the program in order at least `times` times over.
pub fn has_program_in_order(runs: &[usize], times: usize) -> bool {
    let expected: Vec<usize> = (0..PROGRAM.len()).cycle().take(PROGRAM.len() * times).collect();
    runs.windows(expected.len()).any(|w| {
        let start = w[0];
        w.iter().enumerate().all(|(i, &c)| c == (start + i) % PROGRAM.len())
    })
}

/// An RGBA picture of `colour` with a white bar at a height that moves with `index`.
pub fn picture(width: u32, height: u32, colour: [u8; 3], index: u32) -> VideoFrame {
    let mut rgba = [colour[0], colour[1], colour[2], 255].repeat((width * height) as usize);
    let bar = (index * 4) % (height - 16).max(1);
    for row in bar..bar + 16 {
        let start = (row * width * 4) as usize;
        rgba[start..start + (width * 4) as usize].fill(255);
    }
    VideoFrame::new(VideoFormat::Rgba, width, height, rgba).expect("a valid picture")
}

/// Draws the program into `source` at `FPS` until aborted; `size` may change mid-way.
pub fn draw_program(source: VideoSource, sizes: Vec<(u32, u32)>, seconds_per_size: f64) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / FPS));
        for index in 0u32.. {
            ticker.tick().await;
            let seconds = f64::from(index) / FPS;
            let (width, height) = sizes[((seconds / seconds_per_size) as usize).min(sizes.len() - 1)];
            let colour = PROGRAM[(seconds as usize) % PROGRAM.len()];
            source.capture_frame(&picture(width, height, colour, index)).expect("capture");
        }
    })
}

/// The mean colour of the centre quarter of an RGBA picture.
pub fn centre_mean(frame: &VideoFrame) -> [f64; 3] {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut sum = [0.0; 3];
    let mut count = 0.0;
    for y in h / 4..h - h / 4 {
        for x in w / 4..w - w / 4 {
            let pixel = &frame.data()[(y * w + x) * 4..][..3];
            for c in 0..3 {
                sum[c] += f64::from(pixel[c]);
            }
            count += 1.0;
        }
    }
    sum.map(|s| s / count)
}

/// Waits until the official peer sees our track (the server lists it once media arrives).
pub async fn official_sees_track(official: &mut OfficialPeer, sid: &str) -> serde_json::Value {
    official
        .wait_event(EVENT_TIMEOUT, |e| e["type"] == "track_published" && e["track_sid"] == sid)
        .await
        .expect("the official peer sees our track")
}

/// Polls the official peer's recording until `done` holds for its pictures or `within` passes;
/// returns the pictures either way, for the caller's assertion to show.
pub async fn wait_for_pictures(
    official: &mut OfficialPeer,
    recording: &str,
    within: Duration,
    done: impl Fn(&[ReceivedPicture]) -> bool,
) -> Vec<ReceivedPicture> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let pictures = official.video_recording_frames(recording).await.expect("the recording goes on");
        if done(&pictures) || tokio::time::Instant::now() >= deadline {
            return pictures;
        }
        tokio::time::sleep(Duration::from_millis(250)).await; // the poll interval
    }
}

pub fn mean_colours(pictures: &[ReceivedPicture]) -> Vec<[f64; 3]> {
    pictures.iter().map(|p| p.rgb).collect()
}

/// The program as the official peer's `publish_video` takes it: `[r, g, b, seconds]`.
pub fn official_program() -> Vec<[f64; 4]> {
    PROGRAM.iter().map(|c| [c[0].into(), c[1].into(), c[2].into(), 1.0]).collect()
}
