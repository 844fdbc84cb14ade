//! Video commands of the official-SDK peer (protocol: `official_peer_video.py`): a track fed
//! with a colour program, and recordings that keep each received picture's size and the mean
//! colour of its centre.

use serde::Deserialize;
use serde_json::json;

use crate::OfficialPeer;

/// A track the official peer publishes; `colours` is `[r, g, b, seconds]`, repeated.
#[derive(Clone, Debug)]
pub struct VideoPublish<'a> {
    pub name: &'a str,
    pub width: u32,
    pub height: u32,
    /// "camera" or "screen_share".
    pub source: &'a str,
    /// "vp8" or "h264".
    pub codec: &'a str,
    pub fps: f64,
    pub colours: &'a [[f64; 4]],
}

/// One picture the official peer received.
#[derive(Clone, Debug, Deserialize)]
pub struct ReceivedPicture {
    pub t_ms: u64,
    pub width: u32,
    pub height: u32,
    pub rgb: [f64; 3],
}

impl OfficialPeer {
    /// Publishes a single-layer video track fed with the colour program; returns its sid.
    pub async fn publish_video(&mut self, publish: &VideoPublish<'_>) -> Result<String, String> {
        let colours: Vec<serde_json::Value> =
            publish.colours.iter().map(|[r, g, b, s]| json!([*r as u8, *g as u8, *b as u8, s])).collect();
        let cmd = json!({
            "cmd": "publish_video", "name": publish.name, "width": publish.width, "height": publish.height,
            "source": publish.source, "codec": publish.codec, "fps": publish.fps, "colours": colours,
        });
        let result = self.request(cmd).await?;
        result["track_sid"].as_str().map(str::to_string).ok_or_else(|| format!("no track_sid in {result}"))
    }

    /// Starts reading a remote video track (waits for its subscription); returns an id.
    pub async fn start_video_recording(&mut self, identity: &str, track_sid: &str) -> Result<String, String> {
        let cmd = json!({"cmd": "start_video_recording", "participant_identity": identity, "track_sid": track_sid});
        let result = self.request(cmd).await?;
        result["recording_id"].as_str().map(str::to_string).ok_or_else(|| format!("no recording_id in {result}"))
    }

    /// Stops a recording and returns what it saw.
    pub async fn stop_video_recording(&mut self, recording_id: &str) -> Result<Vec<ReceivedPicture>, String> {
        self.video_frames("stop_video_recording", recording_id).await
    }

    /// What a recording has seen so far; it goes on recording.
    pub async fn video_recording_frames(&mut self, recording_id: &str) -> Result<Vec<ReceivedPicture>, String> {
        self.video_frames("video_recording_frames", recording_id).await
    }

    async fn video_frames(&mut self, cmd: &str, recording_id: &str) -> Result<Vec<ReceivedPicture>, String> {
        let result = self.request(json!({"cmd": cmd, "recording_id": recording_id})).await?;
        serde_json::from_value(result["frames"].clone()).map_err(|e| format!("bad frames in the answer: {e}"))
    }
}
