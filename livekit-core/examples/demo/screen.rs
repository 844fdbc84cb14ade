//! The screen share: alice shares a moving test pattern, bob receives it, writes a few of the
//! pictures he decoded as PNG files and says at what size and frame rate they came.

use std::error::Error;
use std::time::{Duration, Instant};

use livekit_core::media::{VideoFormat, VideoFrame, VideoSource, VideoStream};
use livekit_core::{LocalTrack, LocalVideoTrack, RemoteTrack, Room, RoomEvent, TrackPublishOptions, TrackSource};

use crate::step;
use crate::voice::{target_dir, wait_for, Events};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const FPS: u32 = 15;
/// How long bob watches.
const WATCH: Duration = Duration::from_secs(3);
/// Pictures bob saves: the first, one in the middle, the last.
const SAVED: usize = 3;

pub async fn share(alice: &Room, bob: &mut Events) -> Result<(), Box<dyn Error>> {
    step("screen: alice shares a moving test pattern");
    let source = VideoSource::new(WIDTH, HEIGHT, true)?;
    let track = LocalVideoTrack::create("screen", &source);
    let options = TrackPublishOptions { source: TrackSource::ScreenShare, ..Default::default() };
    let publication = alice.local_participant().publish_track(LocalTrack::Video(track), options).await?;
    let drawing = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1) / FPS);
        for index in 0u32.. {
            ticker.tick().await;
            if source.capture_frame(&test_pattern(index)).is_err() {
                return;
            }
        }
    });

    let track = wait_for(bob, "bob subscribes to the screen", |e| match e {
        RoomEvent::TrackSubscribed { track: RemoteTrack::Video(track), .. } => Some(track.clone()),
        _ => None,
    })
    .await?;
    let mut stream = VideoStream::new(&track, VideoFormat::Rgba)?;
    let mut pictures = Vec::new();
    let start = Instant::now();
    while start.elapsed() < WATCH {
        match tokio::time::timeout(WATCH, stream.recv()).await {
            Ok(Some(picture)) => pictures.push(picture),
            _ => return Err("bob: the screen share stopped".into()),
        }
    }
    drawing.abort();
    let first = pictures.first().ok_or("bob received no picture")?;
    let fps = pictures.len() as f64 / start.elapsed().as_secs_f64();
    println!("bob receives {}x{} at {fps:.1} fps ({} pictures)", first.width(), first.height(), pictures.len());

    let dir = target_dir().join("demo-video");
    std::fs::create_dir_all(&dir)?;
    let step_between = (pictures.len() - 1).max(1) / (SAVED - 1);
    for (n, picture) in pictures.iter().step_by(step_between.max(1)).take(SAVED).enumerate() {
        let path = dir.join(format!("screen-{n}.png"));
        image::save_buffer(&path, picture.data(), picture.width(), picture.height(), image::ColorType::Rgba8)?;
        println!("bob saved {}", path.display());
    }
    alice.local_participant().unpublish_track(&publication.sid()).await?;
    Ok(())
}

/// Eight colour bars with a white square moving across them.
fn test_pattern(index: u32) -> VideoFrame {
    const BARS: [[u8; 3]; 8] = [
        [235, 235, 235],
        [235, 235, 16],
        [16, 235, 235],
        [16, 235, 16],
        [235, 16, 235],
        [235, 16, 16],
        [16, 16, 235],
        [16, 16, 16],
    ];
    let square = 60;
    let square_x = (index * 8) % (WIDTH - square);
    let square_y = (HEIGHT - square) / 2;
    let mut rgba = Vec::with_capacity((WIDTH * HEIGHT * 4) as usize);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let in_square = (square_x..square_x + square).contains(&x) && (square_y..square_y + square).contains(&y);
            let [r, g, b] = if in_square { [255, 255, 255] } else { BARS[(x * 8 / WIDTH) as usize] };
            rgba.extend_from_slice(&[r, g, b, 255]);
        }
    }
    VideoFrame::new(VideoFormat::Rgba, WIDTH, HEIGHT, rgba).expect("the pattern fills the picture")
}
