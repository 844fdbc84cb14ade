//! The voice round: alice plays a melody read from a WAV file, bob and carol are subscribed,
//! bob sees who speaks and the mute, records what he hears and checks its notes.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Duration;

use livekit_core::{
    AudioFrame, AudioSource, AudioStream, LocalAudioTrack, LocalTrack, Participant, RemoteAudioTrack, RemoteTrack,
    Room, RoomEvent, TrackPublishOptions, TrackSource,
};
use livekit_test_harness::audio_analysis::{analyze, read_wav, sine, write_wav};
use tokio::sync::{mpsc::UnboundedReceiver, oneshot};

use crate::step;

const RATE: u32 = 48_000;
/// C5 E5 G5 E5 C6, 0.6 s each: 3 s.
const NOTES: [f64; 5] = [523.25, 659.25, 783.99, 659.25, 1046.50];
const NOTE_SECONDS: f64 = 0.6;
/// Notes played before the mute; the rest follow the unmute.
const BEFORE_MUTE: usize = 2;
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

pub type Events = UnboundedReceiver<RoomEvent>;

pub async fn round(alice: &Room, bob: &mut Events, carol: &mut Events) -> Result<(), Box<dyn Error>> {
    step("voice: alice publishes a melody read from a WAV file");
    let dir = output_dir();
    std::fs::create_dir_all(&dir)?;
    let clip = dir.join("melody.wav");
    write_wav(&clip, &melody(), RATE, 1)?;
    let (samples, rate, channels) = read_wav(&clip)?;
    let seconds = samples.len() as f64 / f64::from(rate * u32::from(channels));
    println!("alice reads {} ({seconds:.1} s, {rate} Hz, {channels} ch)", clip.display());

    let source = AudioSource::new(rate, u32::from(channels), 100)?;
    let track = LocalAudioTrack::create("melody", &source);
    let options = TrackPublishOptions { source: TrackSource::Microphone, ..Default::default() };
    alice.local_participant().publish_track(LocalTrack::Audio(track.clone()), options).await?;
    let heard = wait_for(bob, "bob subscribed to alice", subscribed_to_alice).await?;
    wait_for(carol, "carol subscribed to alice", subscribed_to_alice).await?;

    // Bob records from now on, as 10 ms frames at 48 kHz mono.
    let (stop_recording, stop) = oneshot::channel();
    let recorder = tokio::spawn(record(AudioStream::new(&heard, RATE, 1)?, stop));

    let split = (NOTE_SECONDS * f64::from(rate)) as usize * BEFORE_MUTE * usize::from(channels);
    step("alice plays the first notes");
    play(&source, &samples[..split], rate, channels).await?;
    wait_for(bob, "bob hears alice speak", |e| speakers(e).filter(|s| s.iter().any(|i| i == "alice"))).await?;

    step("alice mutes");
    track.mute();
    wait_for(bob, "bob sees alice muted", |e| {
        matches!(e, RoomEvent::TrackMuted { participant, .. } if participant.identity() == "alice").then_some(())
    })
    .await?;
    wait_for(bob, "bob hears alice stop", |e| speakers(e).filter(|s| !s.iter().any(|i| i == "alice"))).await?;

    step("alice unmutes and plays the rest");
    track.unmute();
    wait_for(bob, "bob sees alice unmuted", |e| {
        matches!(e, RoomEvent::TrackUnmuted { participant, .. } if participant.identity() == "alice").then_some(())
    })
    .await?;
    play(&source, &samples[split..], rate, channels).await?;
    wait_for(bob, "bob hears alice stop", |e| speakers(e).filter(|s| s.is_empty())).await?;

    let _ = stop_recording.send(());
    let recorded = recorder.await?;
    let recording = dir.join("bob-heard.wav");
    write_wav(&recording, &recorded, RATE, 1)?;
    println!("bob wrote what he heard to {} ({:.1} s)", recording.display(), recorded.len() as f64 / f64::from(RATE));
    println!("check: {}", check(&recorded));
    Ok(())
}

/// The melody, mono at 48 kHz, each note faded in and out over 5 ms (no clicks).
fn melody() -> Vec<i16> {
    let fade = (RATE / 200) as usize;
    NOTES
        .iter()
        .flat_map(|&freq| {
            let note = sine(freq, NOTE_SECONDS, RATE, 1, 0.5);
            let len = note.len();
            note.into_iter().enumerate().map(move |(i, s)| {
                let edge = i.min(len - 1 - i);
                if edge < fade {
                    (f64::from(s) * edge as f64 / fade as f64) as i16
                } else {
                    s
                }
            })
        })
        .collect()
}

/// Captures `samples` in 10 ms frames; the source paces them in real time.
async fn play(source: &AudioSource, samples: &[i16], rate: u32, channels: u16) -> Result<(), Box<dyn Error>> {
    let per_frame = (rate / 100) as usize * usize::from(channels);
    for chunk in samples.chunks(per_frame) {
        source.capture_frame(&AudioFrame::new(chunk.to_vec(), rate, u32::from(channels))?).await?;
    }
    source.wait_for_playout().await;
    Ok(())
}

async fn record(mut stream: AudioStream, mut stop: oneshot::Receiver<()>) -> Vec<i16> {
    let mut samples = Vec::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            frame = stream.recv() => match frame {
                Some(frame) => samples.extend_from_slice(frame.data()),
                None => break,
            },
        }
    }
    samples
}

/// The notes bob heard against the notes alice sent, in one line.
fn check(recorded: &[i16]) -> String {
    let heard: Vec<f64> = analyze(recorded, RATE, 1).segments.iter().map(|s| s.freq).collect();
    let hz = |freqs: &[f64]| freqs.iter().map(|f| f.round().to_string()).collect::<Vec<_>>().join(" ");
    let same = heard.len() == NOTES.len() && heard.iter().zip(NOTES).all(|(h, n)| (h - n).abs() <= 2.0);
    let verdict = if same { "all notes, in order" } else { "NOT the melody sent" };
    format!("bob heard {} notes: {} Hz; alice sent {} Hz: {verdict}", heard.len(), hz(&heard), hz(&NOTES))
}

fn subscribed_to_alice(event: &RoomEvent) -> Option<RemoteAudioTrack> {
    match event {
        RoomEvent::TrackSubscribed { track: RemoteTrack::Audio(track), participant, .. }
            if participant.identity() == "alice" =>
        {
            Some(track.clone())
        }
        _ => None,
    }
}

fn speakers(event: &RoomEvent) -> Option<Vec<String>> {
    match event {
        RoomEvent::ActiveSpeakersChanged { speakers } => Some(speakers.iter().map(Participant::identity).collect()),
        _ => None,
    }
}

/// The first event `pick` accepts, within `EVENT_TIMEOUT`.
pub async fn wait_for<T>(
    events: &mut Events,
    what: &str,
    mut pick: impl FnMut(&RoomEvent) -> Option<T>,
) -> Result<T, Box<dyn Error>> {
    let found = async {
        while let Some(event) = events.recv().await {
            if let Some(value) = pick(&event) {
                return Some(value);
            }
        }
        None
    };
    match tokio::time::timeout(EVENT_TIMEOUT, found).await {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(format!("{what}: the room's events ended").into()),
        Err(_) => Err(format!("{what}: not within {EVENT_TIMEOUT:?}").into()),
    }
}

/// `target/demo-audio`, in the target directory the demo was built in (CARGO_TARGET_DIR too).
fn output_dir() -> PathBuf {
    target_dir().join("demo-audio")
}

/// The target directory the demo was built in.
pub fn target_dir() -> PathBuf {
    // The demo runs as <target>/debug/examples/demo.
    let target = std::env::current_exe().ok().and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf));
    target.unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}
