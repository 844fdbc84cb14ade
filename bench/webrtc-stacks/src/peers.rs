//! The seam every stack implements: the two LiveKit peer connections of one participant,
//! driven by messages. Only SDP strings, candidate JSON and bytes cross it, so the signalling
//! and the measurements are the same code for all stacks.

use bytes::Bytes;
use tokio::sync::mpsc;

pub const RELIABLE: &str = "_reliable";
pub const LOSSY: &str = "_lossy";

/// Above this many bytes queued on our `_reliable` channel a stack stops taking new messages,
/// so a fast sender cannot grow memory without bound.
pub const SEND_HIGH_WATER: usize = 1024 * 1024;
/// A stack resumes taking messages once the queue has drained below this.
pub const SEND_LOW_WATER: usize = 256 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Publisher,
    Subscriber,
}

/// From the signalling to the stack.
#[derive(Debug)]
pub enum ToPeers {
    /// The server's answer to our publisher offer.
    Answer(String),
    /// The server's subscriber offer; the stack replies with [`FromPeers::LocalAnswer`].
    Offer(String),
    /// A trickled candidate, as the JSON `RTCIceCandidateInit` LiveKit carries.
    Candidate(Role, String),
    /// Media: add a sendonly Opus transceiver whose msid track id is `track_id` (the
    /// AddTrackRequest cid) and send a new publisher offer ([`FromPeers::LocalOffer`]).
    PublishAudio { track_id: String },
    /// Media: one 20 ms Opus packet for the published track.
    Audio(AudioPacket),
    /// Media: drop every `n`th outgoing RTP packet of the publisher before it reaches the socket
    /// (0 = none), where the stack lets us.
    DropEvery(u32),
    /// Media: reply with [`FromPeers::MediaStats`].
    Stats,
}

#[derive(Debug, Clone)]
pub struct AudioPacket {
    /// Counts 20 ms packets from 0: RTP timestamp = counter * 960 (48 kHz).
    pub counter: u32,
    pub payload: Bytes,
    /// RFC 6464 level, 0..=127 = -dBov (0 loudest, 127 silence).
    pub level: u8,
    pub voice: bool,
}

/// From the stack to the signalling and the measurements.
#[derive(Debug)]
pub enum FromPeers {
    /// The publisher offer (with `_reliable` and `_lossy`), sent once at start.
    LocalOffer(String),
    LocalAnswer(String),
    LocalCandidate(Role, String),
    /// Our `_reliable` channel on the publisher connection is open.
    PublisherReliableOpen,
    /// The server's `_reliable` channel on the subscriber connection is open.
    SubscriberReliableOpen,
    /// A message on the server's `_reliable` channel (data from other participants).
    Data(Bytes),
    /// The stack gave up; the text says why.
    Failed(String),
    /// Media: an RTP payload of a remote audio track, on the subscriber connection.
    Rtp {
        payload: Bytes,
        at: std::time::Instant,
    },
    /// Media: what the stack tells about RTCP/NACK/TWCC/BWE, as `name = value` lines.
    MediaStats(Vec<(String, String)>),
}

/// A running pair of peer connections. Dropping `to` (or the whole handle) closes them.
pub struct PeersHandle {
    pub to: mpsc::UnboundedSender<ToPeers>,
    pub from: mpsc::UnboundedReceiver<FromPeers>,
    /// Messages for our `_reliable` channel. Bounded: a full queue is the back-pressure.
    pub send: mpsc::Sender<Bytes>,
}

/// The stack's ends of a [`PeersHandle`].
pub struct PeersEnds {
    pub to: mpsc::UnboundedReceiver<ToPeers>,
    pub from: mpsc::UnboundedSender<FromPeers>,
    pub send: mpsc::Receiver<Bytes>,
}

pub fn channels() -> (PeersHandle, PeersEnds) {
    let (to_tx, to_rx) = mpsc::unbounded_channel();
    let (from_tx, from_rx) = mpsc::unbounded_channel();
    // A few messages in flight between the app and the stack; the stack holds the rest back.
    let (send_tx, send_rx) = mpsc::channel(4);
    (PeersHandle { to: to_tx, from: from_rx, send: send_tx }, PeersEnds { to: to_rx, from: from_tx, send: send_rx })
}

/// A TURN/STUN server from the JoinResponse.
#[derive(Clone, Debug, Default)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// The JSON LiveKit's trickle carries (the browser's `RTCIceCandidateInit`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateInit {
    pub candidate: String,
    #[serde(default)]
    pub sdp_mid: Option<String>,
    #[serde(rename = "sdpMLineIndex", default)]
    pub sdp_mline_index: Option<u16>,
    #[serde(default)]
    pub username_fragment: Option<String>,
}

static MEDIA: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Called by the media measurement before it joins: stacks then set up codecs, interceptors and
/// RTCP statistics. The data measurements run without them, as they always did.
pub fn enable_media() {
    MEDIA.store(true, std::sync::atomic::Ordering::Relaxed);
}

pub fn media_enabled() -> bool {
    MEDIA.load(std::sync::atomic::Ordering::Relaxed)
}
