//! The audio figures, mirrored step for step by `official_bench_audio.py` (change both together):
//!
//! - latency: one process holds publisher A and subscriber B; A feeds 10 ms frames on a 10 ms
//!   clock, silence with a 100 ms tone burst every 500 ms; B reads an `AudioStream` and notes
//!   the instant of the first frame whose RMS crosses the threshold after a quiet one. Both
//!   instants come from the same monotonic clock.
//! - CPU: a process (`livekit-bench audio-cpu`, or the script's `audio_cpu`) that publishes a
//!   continuous tone and decodes the bench's tone track for a fixed window; its own user+system
//!   CPU seconds from /proc/self/stat.
//! - memory: a process (`livekit-bench audio-sub`, or the script's `audio_memory`) that
//!   subscribes to N tracks and reads each through an `AudioStream`; VmRSS before and after.
//!
//! For CPU and memory the other side (the feeder, the N publishers) is our client in this
//! bench process for both SDKs, so both measured processes decode the very same Opus streams.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use livekit_core::{
    AudioFrame, AudioSource, AudioStream, DataOptions, LocalAudioTrack, LocalTrack, RemoteAudioTrack, RemoteTrack,
    Room, RoomEvent, TrackPublishOptions,
};
use serde_json::{json, Value};
use tokio::process::Command;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, Instant};

use crate::child::run_json_process;
use crate::hold::status_kb;
use crate::{ours, Plan, ServerInfo};

pub const RATE: u32 = 48_000;
/// Samples in one 10 ms mono frame.
const FRAME: usize = (RATE / 100) as usize;
const FRAME_PERIOD: Duration = Duration::from_millis(10);
/// 440 Hz at half scale: 440 whole cycles in one second, so 100 frames loop without a click.
const TONE_HZ: f64 = 440.0;
const AMPLITUDE: f64 = 0.5;
/// The capture queue of every source, ours and theirs (the SDK's default is 1000 ms).
pub const QUEUE_MS: u32 = 100;
/// Marks before the measured ones, so the first ones after the stream starts do not count.
pub const WARMUP_MARKS: usize = 2;
/// One mark every 500 ms: 10 frames of tone, then 40 of silence.
const MARK_PERIOD: Duration = Duration::from_millis(500);
const BURST_FRAMES: usize = 10;
const PERIOD_FRAMES: usize = 50;
/// A decoded frame is loud at an RMS of 5% of full scale (-26 dBFS; the tone is -9 dBFS).
pub const THRESHOLD: f64 = 0.05;
/// Decoded frames B must have read before the first mark (the stream has settled).
const SETTLE_FRAMES: usize = 50;
/// Decoded frames each stream of the CPU and memory processes must have read before measuring.
pub const STEADY_FRAMES: usize = 100;
pub const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(15);
const READY_TOPIC: &str = "ready";

/// The 100 frames of one second of tone.
pub fn tone_frames() -> Vec<AudioFrame> {
    let samples: Vec<i16> = (0..RATE as usize)
        .map(|n| {
            let t = n as f64 / f64::from(RATE);
            ((2.0 * std::f64::consts::PI * TONE_HZ * t).sin() * AMPLITUDE * 32767.0).round() as i16
        })
        .collect();
    samples.chunks(FRAME).map(|c| AudioFrame::new(c.to_vec(), RATE, 1).expect("a valid frame")).collect()
}

fn silence_frame() -> AudioFrame {
    AudioFrame::new(vec![0; FRAME], RATE, 1).expect("a valid frame")
}

/// RMS of a frame as a fraction of full scale.
fn rms(frame: &AudioFrame) -> f64 {
    let data = frame.data();
    let sum: f64 = data.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / data.len().max(1) as f64).sqrt() / 32768.0
}

/// Captures one frame per 10 ms on a fixed grid, as a microphone would deliver them.
struct Pacer {
    next: Instant,
}

impl Pacer {
    fn new() -> Pacer {
        Pacer { next: Instant::now() }
    }

    /// Waits for the next slot, captures, and returns the instant just before the capture call.
    async fn capture(&mut self, source: &AudioSource, frame: &AudioFrame) -> anyhow::Result<Instant> {
        sleep_until(self.next).await;
        self.next += FRAME_PERIOD;
        let now = Instant::now();
        // A late slot (a busy machine) starts a fresh grid rather than bursting to catch up.
        if self.next < now {
            self.next = now + FRAME_PERIOD;
        }
        source.capture_frame(frame).await?;
        Ok(now)
    }
}

/// Publishes a mono 48 kHz microphone track from a new source.
async fn publish(room: &Room, name: &str) -> anyhow::Result<AudioSource> {
    let source = AudioSource::new(RATE, 1, QUEUE_MS)?;
    let track = LocalAudioTrack::create(name, &source);
    room.local_participant()
        .publish_track(LocalTrack::Audio(track), TrackPublishOptions::default())
        .await
        .with_context(|| format!("publish {name}"))?;
    Ok(source)
}

/// Feeds the tone on the 10 ms grid until aborted.
fn feed_tone(source: AudioSource) -> JoinHandle<anyhow::Result<()>> {
    tokio::spawn(async move {
        let tone = tone_frames();
        let mut pacer = Pacer::new();
        loop {
            for frame in &tone {
                pacer.capture(&source, frame).await?;
            }
        }
    })
}

/// The next audio track subscribed from `identity` (any identity for `None`).
pub async fn next_audio_track(
    events: &mut UnboundedReceiver<RoomEvent>,
    identity: Option<&str>,
    limit: Duration,
) -> anyhow::Result<(String, RemoteAudioTrack)> {
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(RoomEvent::TrackSubscribed { track: RemoteTrack::Audio(track), participant, .. }))
                if identity.is_none_or(|id| participant.identity() == id) =>
            {
                return Ok((participant.identity(), track))
            }
            Ok(Some(_)) => continue,
            Ok(None) => bail!("the room's event stream ended"),
            Err(_) => bail!("no audio track subscribed within {limit:?}"),
        }
    }
}

/// Reads a stream to its end, counting frames.
pub fn count_frames(mut stream: AudioStream, count: Arc<AtomicUsize>) -> JoinHandle<()> {
    tokio::spawn(async move {
        while stream.recv().await.is_some() {
            count.fetch_add(1, Ordering::Relaxed);
        }
    })
}

pub async fn wait_frames(counts: &[Arc<AtomicUsize>], at_least: usize, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while counts.iter().any(|c| c.load(Ordering::Relaxed) < at_least) {
        if Instant::now() > deadline {
            let seen: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            bail!("streams did not all deliver {at_least} frames within {limit:?}: {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Audio latency, ours to ours, in this process.
pub async fn latency(info: &ServerInfo, room: &str, plan: Plan) -> anyhow::Result<Value> {
    let (a, _a_events) = ours::join(info, room, "a").await?;
    let (b, mut b_events) = ours::join(info, room, "b").await?;
    let source = publish(&a, "marks").await?;
    let silence = silence_frame();
    let tone = tone_frames();
    let mut pacer = Pacer::new();
    // Silence flows while B subscribes, as from an open microphone.
    let subscribed = next_audio_track(&mut b_events, Some("a"), SUBSCRIBE_TIMEOUT);
    tokio::pin!(subscribed);
    let track = loop {
        tokio::select! {
            found = &mut subscribed => break found?.1,
            fed = pacer.capture(&source, &silence) => { fed?; }
        }
    };
    let frames = Arc::new(AtomicUsize::new(0));
    let onsets = Arc::new(Mutex::new(Vec::new()));
    let mut stream = AudioStream::new(&track, RATE, 1)?;
    let detector = tokio::spawn({
        let (frames, onsets) = (frames.clone(), onsets.clone());
        async move {
            let mut loud = false;
            while let Some(frame) = stream.recv().await {
                let now = Instant::now();
                let is_loud = rms(&frame) >= THRESHOLD;
                if is_loud && !loud {
                    onsets.lock().expect("onsets").push(now);
                }
                loud = is_loud;
                frames.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let settle_deadline = Instant::now() + SUBSCRIBE_TIMEOUT;
    while frames.load(Ordering::Relaxed) < SETTLE_FRAMES {
        if Instant::now() > settle_deadline {
            bail!("B's stream delivered {} frames in {SUBSCRIBE_TIMEOUT:?}", frames.load(Ordering::Relaxed));
        }
        pacer.capture(&source, &silence).await?;
    }
    let mut marks = Vec::new();
    for _ in 0..WARMUP_MARKS + plan.marks {
        for (i, frame) in tone.iter().take(BURST_FRAMES).enumerate() {
            let at = pacer.capture(&source, frame).await?;
            if i == 0 {
                marks.push(at);
            }
        }
        for _ in BURST_FRAMES..PERIOD_FRAMES {
            pacer.capture(&source, &silence).await?;
        }
    }
    // The last burst's way through, still on an open microphone.
    for _ in 0..PERIOD_FRAMES {
        pacer.capture(&source, &silence).await?;
    }
    detector.abort();
    let onsets = onsets.lock().expect("onsets").clone();
    a.disconnect().await?;
    b.disconnect().await?;
    Ok(match_marks(&marks[WARMUP_MARKS..], &onsets))
}

/// Each mark's latency: the first onset within one period after it.
fn match_marks(marks: &[Instant], onsets: &[Instant]) -> Value {
    let mut samples = Vec::new();
    let mut missed = 0;
    for &mark in marks {
        match onsets.iter().find(|&&o| o >= mark && o < mark + MARK_PERIOD) {
            Some(&onset) => samples.push((onset - mark).as_secs_f64() * 1000.0),
            None => missed += 1,
        }
    }
    json!({ "samples_ms": samples, "missed": missed, "onsets": onsets.len() })
}

/// CPU: our feeder here, `command` (the measured process) in its own process.
pub async fn cpu(info: &ServerInfo, room: &str, command: Command, what: &str) -> anyhow::Result<Value> {
    let (feeder, _events) = ours::join(info, room, "feeder").await?;
    let feed = feed_tone(publish(&feeder, "tone").await?);
    let result = run_json_process(command, what).await;
    feed.abort();
    feeder.disconnect().await?;
    result
}

/// Memory: `plan.audio_tracks` publishers of ours here; `command` subscribes to all of them.
/// The publishers join first and publish once the subscriber says it has its baseline.
pub async fn memory(info: &ServerInfo, room: &str, plan: Plan, command: Command, what: &str) -> anyhow::Result<Value> {
    let mut publishers = Vec::new();
    for i in 0..plan.audio_tracks {
        publishers.push(ours::join(info, room, &format!("pub{i}")).await?);
    }
    let what_owned = what.to_string();
    let mut child = tokio::spawn(async move { run_json_process(command, &what_owned).await });
    let ready = async {
        let events = &mut publishers[0].1;
        loop {
            match events.recv().await {
                Some(RoomEvent::DataReceived { topic, .. }) if topic.as_deref() == Some(READY_TOPIC) => return Ok(()),
                Some(_) => continue,
                None => bail!("pub0's event stream ended"),
            }
        }
    };
    tokio::select! {
        ready = timeout(SUBSCRIBE_TIMEOUT * 2, ready) => ready.with_context(|| format!("{what} never said ready"))??,
        ended = &mut child => bail!("{what} ended before it was ready: {:?}", ended?),
    }
    let mut feeds = Vec::new();
    for (i, (room, _)) in publishers.iter().enumerate() {
        feeds.push(feed_tone(publish(room, &format!("tone{i}")).await?));
    }
    let result = child.await?;
    for feed in feeds {
        feed.abort();
    }
    for (room, _) in &publishers {
        room.disconnect().await?;
    }
    result
}

/// User and system CPU seconds of this process so far (/proc/self/stat, in clock ticks).
pub fn cpu_seconds() -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = stat.rsplit_once(')').context("odd /proc/self/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3. USER_HZ is 100 on Linux.
    let tick = |i: usize| -> anyhow::Result<f64> { Ok(fields.get(i).context("short stat")?.parse::<f64>()? / 100.0) };
    Ok((tick(11)?, tick(12)?))
}

/// The `audio-cpu` subcommand: `<url> <key> <secret> <room> <seconds>`.
pub async fn run_cpu_peer(args: &[String]) -> anyhow::Result<()> {
    let [url, key, secret, room, seconds] = args else {
        bail!("usage: livekit-bench audio-cpu <url> <key> <secret> <room> <seconds>");
    };
    let seconds: f64 = seconds.parse().context("seconds must be a number")?;
    let info = ServerInfo { url: url.clone(), key: key.clone(), secret: secret.clone() };
    let (peer, mut events) = ours::join(&info, room, "peer").await?;
    let feed = feed_tone(publish(&peer, "tone").await?);
    let (_, track) = next_audio_track(&mut events, Some("feeder"), SUBSCRIBE_TIMEOUT).await?;
    let frames = Arc::new(AtomicUsize::new(0));
    let reader = count_frames(AudioStream::new(&track, RATE, 1)?, frames.clone());
    wait_frames(std::slice::from_ref(&frames), STEADY_FRAMES, SUBSCRIBE_TIMEOUT).await?;

    let (user0, system0) = cpu_seconds()?;
    let frames0 = frames.load(Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let (user1, system1) = cpu_seconds()?;
    let elapsed = start.elapsed().as_secs_f64();
    let frames_read = frames.load(Ordering::Relaxed) - frames0;
    if feed.is_finished() {
        bail!("the feeder stopped: {:?}", feed.await);
    }
    feed.abort();
    reader.abort();
    let report = json!({
        "seconds": elapsed,
        "user": user1 - user0,
        "system": system1 - system0,
        "frames": frames_read,
        "rss_kb": status_kb("VmRSS")?,
    });
    peer.disconnect().await?;
    println!("{report}");
    Ok(())
}

/// The `audio-sub` subcommand: `<url> <key> <secret> <room> <count>`.
pub async fn run_subscriber(args: &[String]) -> anyhow::Result<()> {
    let [url, key, secret, room, count] = args else {
        bail!("usage: livekit-bench audio-sub <url> <key> <secret> <room> <count>");
    };
    let count: usize = count.parse().context("count must be a number")?;
    let info = ServerInfo { url: url.clone(), key: key.clone(), secret: secret.clone() };
    let (sub, mut events) = ours::join(&info, room, "sub").await?;
    // Everyone is known before the baseline, so it holds the participants but no track.
    let deadline = Instant::now() + SUBSCRIBE_TIMEOUT;
    while sub.remote_participants().len() < count {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(_)) => {}
            Ok(None) => bail!("the room closed"),
            Err(_) => bail!("the {count} publishers were not all seen"),
        }
    }
    let baseline_kb = status_kb("VmRSS")?;
    let baseline_anon_kb = status_kb("RssAnon")?;
    let ready = DataOptions::reliable().with_topic(READY_TOPIC).with_destinations(["pub0"]);
    sub.local_participant().publish_data(b"ready".to_vec(), ready).await?;

    let mut counts = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..count {
        let (_, track) = next_audio_track(&mut events, None, SUBSCRIBE_TIMEOUT * 2).await?;
        let frames = Arc::new(AtomicUsize::new(0));
        readers.push(count_frames(AudioStream::new(&track, RATE, 1)?, frames.clone()));
        counts.push(frames);
    }
    wait_frames(&counts, STEADY_FRAMES * 3, SUBSCRIBE_TIMEOUT * 2).await?;
    let report = json!({
        "tracks": count,
        "baseline_kb": baseline_kb,
        "total_kb": status_kb("VmRSS")?,
        "baseline_anon_kb": baseline_anon_kb,
        "anon_kb": status_kb("RssAnon")?,
        "peak_kb": status_kb("VmHWM")?,
    });
    for reader in readers {
        reader.abort();
    }
    sub.disconnect().await?;
    println!("{report}");
    Ok(())
}
