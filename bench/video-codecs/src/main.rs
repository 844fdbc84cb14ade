//! The video codec benchmark: synthetic clips (640x360, 30 fps, 10 s; see clips.rs) through each
//! codec at 300, 600 and 1200 kb/s (the camera clip also at several speed settings), decoded right after each frame. Prints
//! one table row per run: achieved bitrate, mean PSNR (Y) of what a receiver shows (a dropped
//! frame shows the previous picture), encode and decode wall time and CPU time per frame,
//! keyframes and drops. Single-threaded (both encoders use one thread at this size), so CPU
//! time is the thread's user+sys from getrusage.
//!
//! `cargo run --release -p livekit-video-codec-bench [-- --quick]` (`--quick`: camera clip at
//! 600 kb/s with the default speeds only).

mod clips;

use std::time::{Duration, Instant};

use clips::{Clip, FPS, FRAMES, HEIGHT, WIDTH};
use livekit_core::media::video_codec_bench::{Decoder, Encoder};
use livekit_core::media::{I420Buffer, VideoCodec};

/// One encoder setting to measure.
#[derive(Clone, Copy)]
struct Setting {
    codec: VideoCodec,
    /// VP8 cpu-used, or H.264 complexity (0 low, 1 medium, 2 high); `None`: the core's default.
    speed: Option<i32>,
    label: &'static str,
}

const SETTINGS: [Setting; 6] = [
    Setting { codec: VideoCodec::Vp8, speed: Some(-4), label: "VP8 cpu-used -4" },
    Setting { codec: VideoCodec::Vp8, speed: None, label: "VP8 cpu-used -6 (default)" },
    Setting { codec: VideoCodec::Vp8, speed: Some(-10), label: "VP8 cpu-used -10" },
    Setting { codec: VideoCodec::H264, speed: Some(0), label: "H.264 complexity low" },
    Setting { codec: VideoCodec::H264, speed: None, label: "H.264 complexity medium (default)" },
    Setting { codec: VideoCodec::H264, speed: Some(2), label: "H.264 complexity high" },
];

/// What one run measured.
struct Measurement {
    bytes: usize,
    psnr_sum: f64,
    encode_wall: Duration,
    decode_wall: Duration,
    encode_cpu: Duration,
    decode_cpu: Duration,
    keyframes: u32,
    dropped: u32,
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    print_machine();
    let rates: &[u32] = if quick { &[600_000] } else { &[300_000, 600_000, 1_200_000] };
    println!(
        "\n| clip | setting | target kb/s | achieved kb/s | PSNR Y dB | enc ms/frame | dec ms/frame | enc CPU ms/frame | dec CPU ms/frame | keyframes | dropped |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for clip in [Clip::Camera, Clip::Hard, Clip::Screen] {
        if quick && clip != Clip::Camera {
            continue;
        }
        let frames = clip.frames();
        for setting in SETTINGS {
            // The other clips with the default speeds only.
            if (quick || clip != Clip::Camera) && setting.speed.is_some() {
                continue;
            }
            for &rate in rates {
                match run(&frames, setting, rate, clip == Clip::Screen) {
                    Ok(m) => print_row(clip, setting, rate, &m),
                    Err(err) => println!("| {} | {} | {} | failed: {err} |", clip.name(), setting.label, rate / 1000),
                }
            }
        }
    }
}

fn run(
    frames: &[I420Buffer],
    setting: Setting,
    bitrate_bps: u32,
    screencast: bool,
) -> livekit_core::Result<Measurement> {
    let mut encoder = Encoder::new(setting.codec, bitrate_bps, f64::from(FPS), screencast, setting.speed)?;
    let mut decoder = Decoder::new(setting.codec)?;
    let mut m = Measurement {
        bytes: 0,
        psnr_sum: 0.0,
        encode_wall: Duration::ZERO,
        decode_wall: Duration::ZERO,
        encode_cpu: Duration::ZERO,
        decode_cpu: Duration::ZERO,
        keyframes: 0,
        dropped: 0,
    };
    let mut shown: Option<I420Buffer> = None;
    for picture in frames {
        let (wall, cpu) = (Instant::now(), thread_cpu());
        let encoded = encoder.encode(picture, false)?;
        m.encode_wall += wall.elapsed();
        m.encode_cpu += thread_cpu().saturating_sub(cpu);
        match encoded {
            Some((data, keyframe)) => {
                m.bytes += data.len();
                m.keyframes += u32::from(keyframe);
                let (wall, cpu) = (Instant::now(), thread_cpu());
                let decoded = decoder.decode(&data)?;
                m.decode_wall += wall.elapsed();
                m.decode_cpu += thread_cpu().saturating_sub(cpu);
                if decoded.is_some() {
                    shown = decoded;
                }
            }
            None => m.dropped += 1,
        }
        m.psnr_sum += shown.as_ref().map_or(0.0, |shown| psnr_y(picture, shown));
    }
    Ok(m)
}

/// PSNR of the luma planes, capped at 99 dB for identical pictures.
fn psnr_y(original: &I420Buffer, decoded: &I420Buffer) -> f64 {
    if (original.width(), original.height()) != (decoded.width(), decoded.height()) {
        return 0.0;
    }
    let squared: u64 = original.y().iter().zip(decoded.y()).map(|(&a, &b)| u64::from(a.abs_diff(b)).pow(2)).sum();
    if squared == 0 {
        return 99.0;
    }
    let mse = squared as f64 / original.y().len() as f64;
    (10.0 * (255.0 * 255.0 / mse).log10()).min(99.0)
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes one `rusage` into the zeroed struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn print_row(clip: Clip, setting: Setting, bitrate_bps: u32, m: &Measurement) {
    let frames = f64::from(FRAMES);
    let per_frame = |d: Duration| d.as_secs_f64() * 1000.0 / frames;
    let decoded_frames = f64::from(FRAMES - m.dropped).max(1.0);
    let per_decoded = |d: Duration| d.as_secs_f64() * 1000.0 / decoded_frames;
    let seconds = frames / f64::from(FPS);
    println!(
        "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
        clip.name(),
        setting.label,
        bitrate_bps / 1000,
        m.bytes as f64 * 8.0 / seconds / 1000.0,
        m.psnr_sum / frames,
        per_frame(m.encode_wall),
        per_decoded(m.decode_wall),
        per_frame(m.encode_cpu),
        per_decoded(m.decode_cpu),
        m.keyframes,
        m.dropped,
    );
}

fn print_machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cpu}, {cores} cores available; clips {WIDTH}x{HEIGHT}, {FPS} fps, {FRAMES} frames");
}
