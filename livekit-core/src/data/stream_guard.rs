//! Limits on incoming data streams, checked before a packet reaches the official
//! `livekit-data-stream` incoming manager.
//!
//! Why a guard of ours: the official manager accepts any number of open streams, streams that
//! announce up to 5 GB, and chunks for a stream from any sender, and its readers keep what they
//! were sent until the app reads it; a hostile participant could make us hold memory without
//! bound. The guard keeps a small record per open stream (sender, bytes handed on, next chunk
//! index, last packet time, and the meter its reader counts the app's reads on) and decides for
//! each header, chunk and trailer whether it goes on to the manager, is dropped, or ends its
//! stream. What it bounds is the bytes received but not yet read by the app (`reader.rs`), not
//! the bytes received: a stream the app reads as it arrives may be as long as the official
//! SDKs allow, one nobody reads is ended at `MAX_UNREAD_STREAM_BYTES`. It is a plain type with
//! the time passed in, so it is tested without a runtime or a network (docs/security.md lists
//! the limits).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::{Decompress, FlushDecompress, Status};

use super::reader::Meter;

/// Longest stream we accept, announced (`total_length`) or received, in bytes (decompressed for
/// a compressed stream): the official SDKs' limit (`livekit-data-stream`'s default, 5e9). A
/// longer announcement is refused at the header; a stream that grows past it is aborted. The
/// same figure is the official manager's cap. Memory is bounded by the unread limits below,
/// not by this.
pub const MAX_INCOMING_STREAM_BYTES: u64 = 5_000_000_000;

/// Bytes of one stream received but not yet read by the app (in the manager's queue or in the
/// reader; decompressed). The chunk that would pass it aborts the stream, so a stream that is
/// not read, or read more slowly than it arrives by this much, fails. `read_all` holds the
/// whole stream until it returns, so this is also the longest stream `read_all` takes; inline
/// streams (one packet) are held to it when they inflate. Why 64 MiB: a reader that keeps up
/// never comes near it, an app that reads nothing holds at most this per stream, and the SDK's
/// memory target under attack is 100 MB.
pub const MAX_UNREAD_STREAM_BYTES: u64 = 64 * 1024 * 1024;

/// Streams one sender may have open at once; more headers from it are refused. A legitimate
/// peer rarely has more than a few in flight (one per file or text being sent).
pub const MAX_OPEN_STREAMS_PER_SENDER: usize = 32;

/// Streams all senders together may have open at once; more headers are refused.
pub const MAX_OPEN_STREAMS: usize = 256;

/// Unread bytes (as above) of one sender's open streams together; the chunk that would pass it
/// aborts its stream. It bounds what one participant's open streams can make us hold, whatever
/// their number, without letting one big transfer starve other senders' streams.
pub const MAX_UNREAD_BYTES_PER_SENDER: u64 = 64 * 1024 * 1024;

/// Unread bytes of all open streams together (several senders); past it, as above.
pub const MAX_UNREAD_BYTES: u64 = 192 * 1024 * 1024;

/// An open stream with no packet for this long is aborted, so a stream opened and never
/// closed does not hold its place forever. Senders write continuously; 30 s is generous.
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How often, at most, idle streams are looked for (each look walks every open stream).
const EXPIRY_INTERVAL: Duration = Duration::from_secs(1);

/// The output buffer compressed chunks are inflated into to count their bytes (then discarded).
const INFLATE_SCRATCH_BYTES: usize = 32 * 1024;

/// What to do with one incoming stream packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it on to the official manager.
    Forward,
    /// Drop it; the stream, if any, goes on.
    Drop,
    /// Drop it and end the stream in the manager with this reason (the reader gets an error).
    Abort(String),
}

/// How a stream's chunks (or inline content) are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    /// Sent as is.
    #[default]
    None,
    /// Raw DEFLATE, the one kind the protocol has.
    Deflate,
    /// A value this version does not know: the official manager drops such a stream.
    Unknown,
}

/// What the guard reads in a stream header besides its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFacts<'a> {
    /// The announced length (`total_length`), decompressed for a compressed stream.
    pub total_length: Option<u64>,
    /// The whole payload, when the header carries it (`inline_content`).
    pub inline: Option<&'a [u8]>,
    /// How the chunks (or the inline payload) are compressed.
    pub compression: Compression,
    /// It says whether it is a byte or a text stream (the official manager drops it if not).
    pub content_header: bool,
}

/// A byte or text stream's header with nothing else: no length, not inline, not compressed.
impl Default for HeaderFacts<'_> {
    fn default() -> Self {
        Self { total_length: None, inline: None, compression: Compression::None, content_header: true }
    }
}

/// A stream the guard ended on its own (idle), to be aborted in the manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// The stream's id, as its header gave it.
    pub stream_id: String,
    /// The identity of the participant that opened it.
    pub sender: String,
}

/// What the guard knows of one open stream.
struct OpenStream {
    sender: String,
    /// The sender's announced length (decompressed), checked against what is handed on (the
    /// manager checks it too, but only we can then forget the stream).
    announced: Option<u64>,
    /// Bytes handed to the manager for the reader: the chunks' bytes, inflated for a
    /// compressed stream (so it counts what the reader will hold, not what the wire carried).
    produced: u64,
    next_chunk: u64,
    last_packet: Instant,
    /// For a compressed stream, a decoder of our own that only counts what each chunk
    /// inflates to (the manager inflates it again for the reader).
    inflater: Option<Box<Decompress>>,
    /// What the app has read of it, counted by its reader.
    meter: Arc<Meter>,
}

impl OpenStream {
    fn unread(&self) -> u64 {
        self.meter.unread(self.produced)
    }
}

/// Which limit a chunk would pass.
#[derive(Clone, Copy)]
enum Limit {
    Length,
    Announced,
    Unread,
    SenderUnread,
    TotalUnread,
}

/// Per-sender and total limits on open incoming streams (see the module comment).
#[derive(Default)]
pub struct StreamGuard {
    open: HashMap<String, OpenStream>,
    /// Open streams per sender.
    per_sender: HashMap<String, usize>,
    /// Meters of the streams forwarded to the manager whose reader has not yet been routed, in
    /// the order of their headers: the manager opens a reader for each, in that order, and the
    /// reader takes its meter with `claim`. Kept when streams are forgotten (their readers may
    /// still be on their way).
    unrouted: VecDeque<(String, Arc<Meter>)>,
    /// Where compressed chunks are inflated to be counted; allocated at the first one.
    scratch: Vec<u8>,
    last_expiry: Option<Instant>,
    /// Refusals per sender and kind, so a flood logs its first refusal of each kind and then
    /// one line per 1000, instead of a line per packet (a log flood is its own denial of service).
    refusals: HashMap<(String, &'static str), u64>,
}

impl StreamGuard {
    /// A guard with no stream open.
    pub fn new() -> Self {
        Self::default()
    }

    /// Streams open now (for tests and diagnostics).
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Bytes of open streams received but not yet read by the app (for tests and diagnostics).
    pub fn unread_bytes(&self) -> u64 {
        self.open.values().map(OpenStream::unread).sum()
    }

    /// A header: opens a stream unless a limit refuses it. `inline` headers carry the whole
    /// payload and close at once, so they count against nothing but the length limits.
    pub fn on_header(&mut self, now: Instant, sender: &str, stream_id: &str, header: HeaderFacts<'_>) -> Verdict {
        let HeaderFacts { total_length, inline, compression, content_header } = header;
        if let Some(total) = total_length.filter(|&t| t > MAX_INCOMING_STREAM_BYTES) {
            let why = format!("it announces {total} bytes (limit {MAX_INCOMING_STREAM_BYTES})");
            return self.refuse(sender, stream_id, "too long", &why);
        }
        // What the manager would drop without opening a reader is dropped here, so that every
        // header forwarded opens one (`claim` relies on it).
        if !content_header {
            return self.refuse(sender, stream_id, "invalid", "it has no byte or text header");
        }
        if compression == Compression::Unknown {
            return self.refuse(sender, stream_id, "invalid", "its compression is of an unknown kind");
        }
        if self.open.contains_key(stream_id) {
            // A stream id already open, maybe another sender's: taking it over would let one
            // participant write into another's stream.
            return self.refuse(sender, stream_id, "id", "its id is already open");
        }
        if let Some(content) = inline {
            // The manager inflates it whole into the reader: held to what one stream may hold.
            if compression == Compression::Deflate {
                let mut inflater = Decompress::new(false);
                let scratch = scratch(&mut self.scratch);
                match inflated_len(&mut inflater, content, MAX_UNREAD_STREAM_BYTES, scratch) {
                    Ok(len) if len <= MAX_UNREAD_STREAM_BYTES => {}
                    Ok(_) => {
                        let why = format!("its inline content inflates past {MAX_UNREAD_STREAM_BYTES} bytes");
                        return self.refuse(sender, stream_id, "inline", &why);
                    }
                    Err(()) => return self.refuse(sender, stream_id, "corrupt", "its inline content does not inflate"),
                }
            }
            return Verdict::Forward;
        }
        let from_sender = self.per_sender.get(sender).copied().unwrap_or(0);
        if from_sender >= MAX_OPEN_STREAMS_PER_SENDER {
            let why = format!("the sender has {from_sender} streams open (limit {MAX_OPEN_STREAMS_PER_SENDER})");
            return self.refuse(sender, stream_id, "per-sender", &why);
        }
        if self.open.len() >= MAX_OPEN_STREAMS {
            return self.refuse(
                sender,
                stream_id,
                "total",
                &format!("{MAX_OPEN_STREAMS} streams are open (the limit)"),
            );
        }
        *self.per_sender.entry(sender.to_string()).or_default() += 1;
        let meter = Arc::new(Meter::default());
        self.unrouted.push_back((stream_id.to_string(), meter.clone()));
        let stream = OpenStream {
            sender: sender.to_string(),
            announced: total_length,
            produced: 0,
            next_chunk: 0,
            last_packet: now,
            inflater: (compression == Compression::Deflate).then(|| Box::new(Decompress::new(false))),
            meter,
        };
        self.open.insert(stream_id.to_string(), stream);
        Verdict::Forward
    }

    /// The meter for the reader the manager opened for `stream_id`: the first stream forwarded
    /// with that id whose reader has not been routed (the manager opens readers in the order of
    /// the headers). `None` for streams the guard does not follow (inline ones).
    pub(crate) fn claim(&mut self, stream_id: &str) -> Option<Arc<Meter>> {
        let at = self.unrouted.iter().position(|(id, _)| id == stream_id)?;
        // Any earlier entry was a header the manager opened no reader for: none will come.
        self.unrouted.drain(..=at).next_back().map(|(_, meter)| meter)
    }

    /// A chunk: goes on if it is the next one of an open stream of this sender and within the
    /// limits. A repeated index is dropped (the server may replay after a reconnect); a gap can
    /// never be filled, so it ends the stream.
    pub fn on_chunk(&mut self, now: Instant, sender: &str, stream_id: &str, index: u64, content: &[u8]) -> Verdict {
        let Some(stream) = self.open.get(stream_id) else {
            return self.refuse(sender, stream_id, "unknown", "a chunk for a stream that is not open");
        };
        if stream.sender != sender {
            return self.refuse(sender, stream_id, "foreign", "a chunk for another participant's stream");
        }
        if index < stream.next_chunk {
            return self.refuse(sender, stream_id, "repeat", &format!("chunk {index} was already received"));
        }
        if index > stream.next_chunk {
            let reason = format!("chunk {index} arrived where {} was expected", stream.next_chunk);
            return self.abort(sender, stream_id, "gap", reason);
        }
        if stream.meter.is_dropped() {
            // The app let go of the reader, and the manager closes the stream at its next chunk:
            // nobody will read the rest. Not the sender's doing, so no warning.
            log::debug!("ending stream {stream_id} from {sender}: its reader was dropped");
            self.forget(stream_id);
            return Verdict::Abort("the receiver dropped the reader".into());
        }
        let (unread, sender_unread, total_unread) = self.unread(stream_id, sender);
        let Self { open, scratch: buffer, .. } = self;
        let Some(stream) = open.get_mut(stream_id) else { return Verdict::Drop };
        let rooms = [
            (MAX_INCOMING_STREAM_BYTES.saturating_sub(stream.produced), Limit::Length),
            (stream.announced.map_or(u64::MAX, |total| total.saturating_sub(stream.produced)), Limit::Announced),
            (MAX_UNREAD_STREAM_BYTES.saturating_sub(unread), Limit::Unread),
            (MAX_UNREAD_BYTES_PER_SENDER.saturating_sub(sender_unread), Limit::SenderUnread),
            (MAX_UNREAD_BYTES.saturating_sub(total_unread), Limit::TotalUnread),
        ];
        let room = rooms.iter().map(|(room, _)| *room).min().unwrap_or(0);
        let len = match stream.inflater.as_deref_mut() {
            None => content.len() as u64,
            Some(inflater) => match inflated_len(inflater, content, room, scratch(buffer)) {
                Ok(len) => len,
                Err(()) => {
                    return self.abort(sender, stream_id, "corrupt", "its compressed data does not inflate".into())
                }
            },
        };
        if let Some((_, limit)) = rooms.iter().find(|(room, _)| len > *room) {
            let (kind, reason) = match limit {
                Limit::Length => ("length", format!("it passed {MAX_INCOMING_STREAM_BYTES} bytes")),
                Limit::Announced => ("announced", "it passed its announced length".to_string()),
                Limit::Unread => (
                    "unread",
                    format!(
                        "it would hold more than {MAX_UNREAD_STREAM_BYTES} bytes received but not yet read \
                         ({unread} unread; the app reads it too slowly or not at all)"
                    ),
                ),
                Limit::SenderUnread => (
                    "sender unread",
                    format!(
                        "the sender's streams would hold more than {MAX_UNREAD_BYTES_PER_SENDER} bytes \
                         received but not yet read ({sender_unread} unread)"
                    ),
                ),
                Limit::TotalUnread => (
                    "total unread",
                    format!(
                        "open streams would hold more than {MAX_UNREAD_BYTES} bytes received but not yet \
                         read ({total_unread} unread)"
                    ),
                ),
            };
            return self.abort(sender, stream_id, kind, reason);
        }
        stream.produced += len;
        stream.next_chunk += 1;
        stream.last_packet = now;
        Verdict::Forward
    }

    /// Unread bytes of one stream, of its sender's open streams, and of all open streams.
    fn unread(&self, stream_id: &str, sender: &str) -> (u64, u64, u64) {
        let (mut of_stream, mut of_sender, mut total) = (0, 0, 0);
        for (id, stream) in &self.open {
            let unread = stream.unread();
            total += unread;
            if stream.sender == sender {
                of_sender += unread;
                if id == stream_id {
                    of_stream = unread;
                }
            }
        }
        (of_stream, of_sender, total)
    }

    /// A trailer ends its stream, cleanly or with the sender's reason; only the stream's own
    /// sender may end it.
    pub fn on_trailer(&mut self, sender: &str, stream_id: &str) -> Verdict {
        match self.open.get(stream_id) {
            Some(stream) if stream.sender == sender => {
                self.forget(stream_id);
                Verdict::Forward
            }
            Some(_) => self.refuse(sender, stream_id, "foreign", "a trailer for another participant's stream"),
            None => Verdict::Drop,
        }
    }

    /// The sender left: its streams are aborted by the room, and forgotten here.
    pub fn forget_sender(&mut self, sender: &str) {
        let ids: Vec<String> = self.open.iter().filter(|(_, s)| s.sender == sender).map(|(id, _)| id.clone()).collect();
        for id in ids {
            self.forget(&id);
        }
        self.refusals.retain(|(s, _), _| s != sender);
    }

    /// The connection closed: every stream is aborted by the room. Readers the manager opened
    /// before may still be on their way to be routed, so their meters stay claimable.
    pub fn forget_all(&mut self) {
        let unrouted = std::mem::take(&mut self.unrouted);
        *self = Self { unrouted, ..Self::default() };
    }

    /// Streams idle for `STREAM_IDLE_TIMEOUT`, forgotten here, for the caller to abort in the
    /// manager. Looks at most once per `EXPIRY_INTERVAL`.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired> {
        if self.last_expiry.is_some_and(|last| now.saturating_duration_since(last) < EXPIRY_INTERVAL) {
            return Vec::new();
        }
        self.last_expiry = Some(now);
        let idle: Vec<Expired> = self
            .open
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last_packet) >= STREAM_IDLE_TIMEOUT)
            .map(|(id, s)| Expired { stream_id: id.clone(), sender: s.sender.clone() })
            .collect();
        for expired in &idle {
            log::warn!(
                "aborting stream {} from {}: no packet for {STREAM_IDLE_TIMEOUT:?}",
                expired.stream_id,
                expired.sender
            );
            self.forget(&expired.stream_id);
        }
        idle
    }

    fn forget(&mut self, stream_id: &str) {
        let Some(stream) = self.open.remove(stream_id) else { return };
        if let Some(count) = self.per_sender.get_mut(&stream.sender) {
            *count -= 1;
            if *count == 0 {
                self.per_sender.remove(&stream.sender);
            }
        }
    }

    fn refuse(&mut self, sender: &str, stream_id: &str, kind: &'static str, why: &str) -> Verdict {
        self.log(sender, kind, format_args!("dropping a packet of stream {stream_id} from {sender}: {why}"));
        Verdict::Drop
    }

    fn abort(&mut self, sender: &str, stream_id: &str, kind: &'static str, why: String) -> Verdict {
        self.forget(stream_id);
        self.log(sender, kind, format_args!("aborting stream {stream_id} from {sender}: {why}"));
        Verdict::Abort(why)
    }

    /// Logs the first refusal of each kind from a sender and every 1000th after it.
    fn log(&mut self, sender: &str, kind: &'static str, message: std::fmt::Arguments<'_>) {
        // Only senders we refused are counted; the map is cleared when one leaves, and a
        // stranger's count costs one entry, so it is capped like the streams are.
        let key = (sender.to_string(), kind);
        if !self.refusals.contains_key(&key) && self.refusals.len() >= MAX_OPEN_STREAMS {
            self.refusals.clear();
        }
        let count = self.refusals.entry(key).or_default();
        *count += 1;
        if *count % 1000 == 1 {
            log::warn!("{message} ({count} such from this sender so far)");
        }
    }
}

/// The scratch buffer, allocated at its first use.
fn scratch(buffer: &mut Vec<u8>) -> &mut [u8] {
    if buffer.is_empty() {
        buffer.resize(INFLATE_SCRATCH_BYTES, 0);
    }
    buffer
}

/// How many bytes `input` inflates to, fed to `inflater` (which keeps the stream's state from
/// chunk to chunk). Stops soon after the count passes `limit`, so a small chunk that inflates
/// to gigabytes costs little; the count is then over `limit` but not the whole. `Err` when the
/// data is not valid raw DEFLATE.
fn inflated_len(inflater: &mut Decompress, mut input: &[u8], limit: u64, scratch: &mut [u8]) -> Result<u64, ()> {
    let mut len = 0u64;
    loop {
        let (read_before, written_before) = (inflater.total_in(), inflater.total_out());
        let status = inflater.decompress(input, scratch, FlushDecompress::None).map_err(|_| ())?;
        let read = (inflater.total_in() - read_before) as usize;
        let written = inflater.total_out() - written_before;
        input = &input[read..];
        len += written;
        let drained = input.is_empty() && written < scratch.len() as u64;
        if len > limit || status == Status::StreamEnd || drained || (read == 0 && written == 0) {
            return Ok(len);
        }
    }
}

#[cfg(test)]
#[path = "stream_guard_tests.rs"]
mod tests;
