//! Audio commands of the official-SDK peer (protocol, events and the analysis's
//! definitions: `official_peer_media.py`; the same analysis in Rust: `audio_analysis`).
//!
//! Track events are waited on with `wait_event`: `track_published`, `track_subscribed`,
//! `track_muted`, `active_speakers_changed` (`identities`), `connection_quality_changed`
//! (`identity`, `quality`), `tones_played` (`track_sid`), ...

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::audio_analysis::ToneSegment;
use crate::OfficialPeer;

/// Time allowed for `stop_recording` besides its own wait for silence.
const STOP_MARGIN: Duration = Duration::from_secs(30);

/// The `TrackSource` an audio track is published with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioSourceKind {
    Microphone,
    ScreenShareAudio,
    Unknown,
}

impl AudioSourceKind {
    fn name(self) -> &'static str {
        match self {
            Self::Microphone => "microphone",
            Self::ScreenShareAudio => "screen_share_audio",
            Self::Unknown => "unknown",
        }
    }
}

/// One sine of a `play_tones` program; `amplitude` in 0..1 of full scale.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Tone {
    pub freq: f64,
    pub seconds: f64,
    pub amplitude: f64,
}

/// A per-participant grant of `set_track_subscription_permissions`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TrackPermission {
    pub participant_identity: String,
    pub allow_all: bool,
    pub allowed_track_sids: Vec<String>,
}

/// Options of `stop_recording`; all off by default.
#[derive(Clone, Debug, Default)]
pub struct StopRecording {
    /// Wait until sound was received and then this much silence (see the script).
    pub wait_silence: Option<Duration>,
    /// Wait until this much sound was received (for a sender that never stops).
    pub wait_sound: Option<Duration>,
    /// The limit of that wait (the script's default: 15 s).
    pub wait_timeout: Option<Duration>,
    /// Expected tone frequencies in order: fills `tones_match`.
    pub tones: Option<Vec<f64>>,
    /// Return the PCM (`AudioAnalysis::pcm`).
    pub include_pcm: bool,
    /// A span (start_ms, end_ms) whose precise dominant frequency fills `frequency`.
    pub frequency_for: Option<(u64, u64)>,
}

/// The result of `stop_recording`: the recording and its analysis.
#[derive(Clone, Debug, Deserialize)]
pub struct AudioAnalysis {
    pub seconds: f64,
    pub frames: u64,
    pub sample_rate: u32,
    pub channels: u32,
    pub segments: Vec<ToneSegment>,
    pub longest_gap_ms: u64,
    /// RMS of the non-silent windows, full scale = 1.
    pub rms: f64,
    pub first_sound_ms: Option<u64>,
    pub last_sound_ms: Option<u64>,
    /// From `start_recording` to the stream's first frame.
    pub first_frame_ms: Option<f64>,
    pub frequency: Option<f64>,
    pub tones_match: Option<bool>,
    pub pcm_b64: Option<String>,
}

impl AudioAnalysis {
    /// The recorded interleaved samples, when `include_pcm` was asked for.
    pub fn pcm(&self) -> Result<Vec<i16>, String> {
        let b64 = self.pcm_b64.as_deref().ok_or("the recording was stopped without include_pcm")?;
        let bytes = BASE64.decode(b64).map_err(|e| format!("bad pcm_b64: {e}"))?;
        Ok(bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect())
    }
}

fn str_field(result: &Value, key: &str) -> Result<String, String> {
    result[key].as_str().map(str::to_string).ok_or_else(|| format!("no {key} in {result}"))
}

impl OfficialPeer {
    /// `connect` with the SDK's `auto_subscribe` room option.
    pub async fn connect_with(&mut self, url: &str, token: &str, auto_subscribe: bool) -> Result<Value, String> {
        self.request(json!({"cmd": "connect", "url": url, "token": token, "auto_subscribe": auto_subscribe})).await
    }

    /// Publishes an audio track fed with silence until tones are played; returns its sid.
    /// The SDK's `AudioSource` queue holds 100 ms.
    pub async fn publish_audio(
        &mut self,
        name: &str,
        source: AudioSourceKind,
        sample_rate: u32,
        channels: u32,
    ) -> Result<String, String> {
        self.publish_audio_with_queue(name, source, sample_rate, channels, 100).await
    }

    /// `publish_audio` with an `AudioSource` queue of `queue_ms`: the script's feeder runs that
    /// far ahead, so a stall of the peer's process shorter than it leaves no hole of silence in
    /// what is sent (for tests about the network, not about the peer's scheduling).
    pub async fn publish_audio_with_queue(
        &mut self,
        name: &str,
        source: AudioSourceKind,
        sample_rate: u32,
        channels: u32,
        queue_ms: u32,
    ) -> Result<String, String> {
        let cmd = json!({
            "cmd": "publish_audio",
            "name": name,
            "source": source.name(),
            "sample_rate": sample_rate,
            "channels": channels,
            "queue_ms": queue_ms,
        });
        str_field(&self.request(cmd).await?, "track_sid")
    }

    /// Queues tones (10 ms frames) on a published track; returns their total seconds.
    /// A `tones_played` event follows when the last frame has been captured.
    pub async fn play_tones(&mut self, track_sid: &str, tones: &[Tone]) -> Result<f64, String> {
        let cmd = json!({"cmd": "play_tones", "track_sid": track_sid, "tones": tones, "frame_ms": 10});
        let result = self.request(cmd).await?;
        result["total_seconds"].as_f64().ok_or_else(|| format!("no total_seconds in {result}"))
    }

    pub async fn mute_track(&mut self, track_sid: &str, muted: bool) -> Result<(), String> {
        self.request(json!({"cmd": "mute_track", "track_sid": track_sid, "muted": muted})).await.map(drop)
    }

    pub async fn unpublish_track(&mut self, track_sid: &str) -> Result<(), String> {
        self.request(json!({"cmd": "unpublish_track", "track_sid": track_sid})).await.map(drop)
    }

    /// `RemoteTrackPublication.set_subscribed` on a remote participant's publication.
    pub async fn set_subscribed(&mut self, identity: &str, track_sid: &str, subscribed: bool) -> Result<(), String> {
        let cmd = json!({
            "cmd": "set_subscribed",
            "participant_identity": identity,
            "track_sid": track_sid,
            "subscribed": subscribed,
        });
        self.request(cmd).await.map(drop)
    }

    pub async fn set_track_subscription_permissions(
        &mut self,
        all_participants_allowed: bool,
        permissions: &[TrackPermission],
    ) -> Result<(), String> {
        let cmd = json!({
            "cmd": "set_track_subscription_permissions",
            "all_participants_allowed": all_participants_allowed,
            "permissions": permissions,
        });
        self.request(cmd).await.map(drop)
    }

    /// Records a remote audio track (waits up to 10 s for it to be subscribed); returns
    /// the recording id.
    pub async fn start_recording(
        &mut self,
        identity: &str,
        track_sid: &str,
        sample_rate: u32,
        channels: u32,
    ) -> Result<String, String> {
        let cmd = json!({
            "cmd": "start_recording",
            "participant_identity": identity,
            "track_sid": track_sid,
            "sample_rate": sample_rate,
            "channels": channels,
        });
        str_field(&self.request(cmd).await?, "recording_id")
    }

    /// Stops a recording and returns its analysis.
    pub async fn stop_recording(
        &mut self,
        recording_id: &str,
        options: &StopRecording,
    ) -> Result<AudioAnalysis, String> {
        let mut cmd = json!({"cmd": "stop_recording", "recording_id": recording_id});
        let mut limit = STOP_MARGIN;
        if let Some(silence) = options.wait_silence {
            cmd["wait_silence_ms"] = json!(silence.as_millis() as u64);
            let wait = options.wait_timeout.unwrap_or(Duration::from_secs(15));
            cmd["wait_timeout_ms"] = json!(wait.as_millis() as u64);
            limit += wait;
        }
        if let Some(sound) = options.wait_sound {
            cmd["wait_sound_ms"] = json!(sound.as_millis() as u64);
            let wait = options.wait_timeout.unwrap_or(Duration::from_secs(15));
            cmd["wait_timeout_ms"] = json!(wait.as_millis() as u64);
            limit += wait;
        }
        if let Some(tones) = &options.tones {
            cmd["tones"] = json!(tones);
        }
        if options.include_pcm {
            cmd["include_pcm"] = json!(true);
        }
        if let Some((start_ms, end_ms)) = options.frequency_for {
            cmd["frequency_for"] = json!({"start_ms": start_ms, "end_ms": end_ms});
        }
        let result = self.request_within(cmd, limit).await?;
        serde_json::from_value(result.clone()).map_err(|e| format!("bad stop_recording result ({e}): {result}"))
    }
}
