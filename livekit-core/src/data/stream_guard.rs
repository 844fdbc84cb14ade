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
mod tests {
    use super::*;
    use crate::data::test_log;

    fn facts(total_length: Option<u64>, inline: bool) -> HeaderFacts<'static> {
        HeaderFacts { total_length, inline: inline.then_some(b"hello".as_slice()), ..HeaderFacts::default() }
    }

    fn zeros(len: usize) -> Vec<u8> {
        vec![0; len]
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_compressed_stream_may_arrive_larger_than_its_decompressed_announcement() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        let data = b"0123456789";
        let compressed =
            HeaderFacts { total_length: Some(10), compression: Compression::Deflate, ..Default::default() };
        assert_eq!(guard.on_header(now, "eve", "z", compressed), Verdict::Forward);
        let wire = deflate(data);
        assert!(wire.len() > data.len(), "incompressible data arrives larger than announced");
        assert_eq!(guard.on_chunk(now, "eve", "z", 0, &wire), Verdict::Forward);
        assert_eq!(guard.unread_bytes(), 10, "counted as it inflates");
    }

    fn at(start: Instant, seconds: u64) -> Instant {
        start + Duration::from_secs(seconds)
    }

    #[test]
    fn a_terabyte_announcement_is_refused_and_its_chunks_dropped() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        assert_eq!(guard.on_header(now, "eve", "s1", facts(Some(1 << 40), false)), Verdict::Drop);
        assert_eq!(guard.on_chunk(now, "eve", "s1", 0, &zeros(100)), Verdict::Drop);
        assert_eq!(guard.on_header(now, "eve", "s2", facts(Some(MAX_INCOMING_STREAM_BYTES), false)), Verdict::Forward);
        assert_eq!(guard.open_count(), 1);
    }

    #[test]
    fn open_streams_are_limited_per_sender_and_in_total() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        for i in 0..MAX_OPEN_STREAMS_PER_SENDER {
            assert_eq!(guard.on_header(now, "eve", &format!("e{i}"), facts(None, false)), Verdict::Forward);
        }
        assert_eq!(guard.on_header(now, "eve", "one-more", facts(None, false)), Verdict::Drop);
        // Others are not held back by eve.
        assert_eq!(guard.on_header(now, "bob", "b0", facts(None, false)), Verdict::Forward);
        // Closing one of eve's makes room for another.
        assert_eq!(guard.on_trailer("eve", "e0"), Verdict::Forward);
        assert_eq!(guard.on_header(now, "eve", "one-more", facts(None, false)), Verdict::Forward);

        let mut guard = StreamGuard::new();
        let senders = MAX_OPEN_STREAMS / MAX_OPEN_STREAMS_PER_SENDER;
        for s in 0..senders {
            for i in 0..MAX_OPEN_STREAMS_PER_SENDER {
                assert_eq!(
                    guard.on_header(now, &format!("p{s}"), &format!("{s}-{i}"), facts(None, false)),
                    Verdict::Forward
                );
            }
        }
        assert_eq!(guard.on_header(now, "newcomer", "n0", facts(None, false)), Verdict::Drop);
        assert_eq!(guard.open_count(), MAX_OPEN_STREAMS);
    }

    #[test]
    fn a_million_headers_keep_the_guard_small() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        for i in 0..1_000_000u32 {
            guard.on_header(now, "eve", &i.to_string(), facts(None, false));
        }
        assert_eq!(guard.open_count(), MAX_OPEN_STREAMS_PER_SENDER);
        assert!(guard.refusals.len() <= 1);
    }

    #[test]
    fn chunks_in_order_go_on_repeats_are_dropped_and_gaps_abort() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        let ten = zeros(10);
        guard.on_header(now, "eve", "s", facts(None, false));
        assert_eq!(guard.on_chunk(now, "eve", "s", 0, &ten), Verdict::Forward);
        assert_eq!(guard.on_chunk(now, "eve", "s", 1, &ten), Verdict::Forward);
        assert_eq!(guard.on_chunk(now, "eve", "s", 1, &ten), Verdict::Drop);
        assert_eq!(guard.on_chunk(now, "eve", "s", 0, &ten), Verdict::Drop);
        assert!(matches!(guard.on_chunk(now, "eve", "s", u64::MAX, &ten), Verdict::Abort(_)));
        assert_eq!(guard.open_count(), 0);
        assert_eq!(guard.on_chunk(now, "eve", "s", 2, &ten), Verdict::Drop);
        assert_eq!(guard.unread_bytes(), 0);
    }

    #[test]
    fn only_the_sender_may_write_to_or_end_its_stream() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        guard.on_header(now, "bob", "s", facts(None, false));
        assert_eq!(guard.on_header(now, "eve", "s", facts(None, false)), Verdict::Drop);
        assert_eq!(guard.on_chunk(now, "eve", "s", 0, &zeros(10)), Verdict::Drop);
        assert_eq!(guard.on_trailer("eve", "s"), Verdict::Drop);
        assert_eq!(guard.on_chunk(now, "bob", "s", 0, &zeros(10)), Verdict::Forward);
        assert_eq!(guard.on_trailer("bob", "s"), Verdict::Forward);
        assert_eq!(guard.open_count(), 0);
    }

    /// Sends `mib` chunks of 1 MiB on a new stream; the verdict of each.
    fn send_mib(guard: &mut StreamGuard, sender: &str, id: &str, mib: u64) -> Vec<Verdict> {
        let now = Instant::now();
        let chunk = zeros(1024 * 1024);
        guard.on_header(now, sender, id, facts(None, false));
        (0..mib).map(|i| guard.on_chunk(now, sender, id, i, &chunk)).collect()
    }

    #[test]
    fn unread_bytes_are_limited_per_stream_per_sender_and_in_total() {
        let mib = 1024 * 1024;
        let mut guard = StreamGuard::new();
        let verdicts = send_mib(&mut guard, "eve", "big", MAX_UNREAD_STREAM_BYTES / mib + 1);
        assert!(verdicts[..verdicts.len() - 1].iter().all(|v| *v == Verdict::Forward));
        assert!(matches!(verdicts.last(), Some(Verdict::Abort(_))), "the chunk past the limit aborts");
        assert_eq!((guard.open_count(), guard.unread_bytes()), (0, 0));

        let now = Instant::now();
        guard.on_header(now, "eve", "short", facts(Some(10), false));
        assert!(matches!(guard.on_chunk(now, "eve", "short", 0, &zeros(11)), Verdict::Abort(_)));

        // Eve's open streams share one budget; bob's streams are not held back by hers.
        let half = MAX_UNREAD_BYTES_PER_SENDER / mib / 2;
        assert!(send_mib(&mut guard, "eve", "e1", half).iter().all(|v| *v == Verdict::Forward));
        assert!(send_mib(&mut guard, "eve", "e2", half).iter().all(|v| *v == Verdict::Forward));
        assert!(matches!(send_mib(&mut guard, "eve", "e3", 1)[0], Verdict::Abort(_)));
        assert!(send_mib(&mut guard, "bob", "b1", 1).iter().all(|v| *v == Verdict::Forward));

        // Several senders together are held to the total.
        let mut guard = StreamGuard::new();
        let per_sender = MAX_UNREAD_BYTES_PER_SENDER / mib;
        for s in 0..MAX_UNREAD_BYTES / MAX_UNREAD_BYTES_PER_SENDER {
            let verdicts = send_mib(&mut guard, &format!("p{s}"), &format!("s{s}"), per_sender);
            assert!(verdicts.iter().all(|v| *v == Verdict::Forward));
        }
        assert_eq!(guard.unread_bytes(), MAX_UNREAD_BYTES);
        assert!(matches!(send_mib(&mut guard, "late", "l", 1)[0], Verdict::Abort(_)));
    }

    #[test]
    fn idle_streams_expire_and_free_their_place() {
        let mut guard = StreamGuard::new();
        let start = Instant::now();
        guard.on_header(start, "eve", "old", facts(None, false));
        guard.on_header(at(start, 20), "bob", "new", facts(None, false));
        assert!(guard.expire(at(start, 29)).is_empty());
        let expired = guard.expire(at(start, 31));
        assert_eq!(expired, vec![Expired { stream_id: "old".into(), sender: "eve".into() }]);
        assert_eq!(guard.open_count(), 1);
        // A chunk keeps a stream alive.
        assert_eq!(guard.on_chunk(at(start, 45), "bob", "new", 0, &zeros(1)), Verdict::Forward);
        assert!(guard.expire(at(start, 60)).is_empty());
        assert_eq!(guard.expire(at(start, 76)).len(), 1);
    }

    #[test]
    fn inline_headers_and_departures_leave_nothing_behind() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        assert_eq!(guard.on_header(now, "eve", "inline", facts(Some(5), true)), Verdict::Forward);
        assert_eq!(guard.open_count(), 0);
        guard.on_header(now, "eve", "a", facts(None, false));
        guard.on_chunk(now, "eve", "a", 0, &zeros(100));
        guard.on_header(now, "bob", "b", facts(None, false));
        guard.forget_sender("eve");
        assert_eq!(guard.open_count(), 1);
        assert_eq!(guard.unread_bytes(), 0);
        assert!(!guard.per_sender.contains_key("eve"));
    }

    /// Opens a stream and returns the meter its reader would count reads on.
    fn open_metered(guard: &mut StreamGuard, sender: &str, id: &str, header: HeaderFacts<'_>) -> Arc<Meter> {
        assert_eq!(guard.on_header(Instant::now(), sender, id, header), Verdict::Forward);
        guard.claim(id).expect("the stream's meter")
    }

    #[test]
    fn a_reader_that_keeps_up_takes_a_stream_far_past_the_unread_limit() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        let meter = open_metered(&mut guard, "alice", "big", facts(None, false));
        let chunk = zeros(1024 * 1024);
        let chunks = 5 * MAX_UNREAD_STREAM_BYTES / chunk.len() as u64; // 320 MiB
        for i in 0..chunks {
            assert_eq!(guard.on_chunk(now, "alice", "big", i, &chunk), Verdict::Forward, "chunk {i}");
            // The app reads each chunk as it arrives, one behind.
            if i > 0 {
                meter.consume(chunk.len());
            }
            assert!(guard.unread_bytes() <= 2 * chunk.len() as u64);
        }
        assert_eq!(guard.on_trailer("alice", "big"), Verdict::Forward);

        // A reader that falls behind by the limit fails, even on a stream of any length.
        let meter = open_metered(&mut guard, "alice", "slow", facts(None, false));
        let mut verdicts = Vec::new();
        for i in 0..3 * MAX_UNREAD_STREAM_BYTES / chunk.len() as u64 {
            let verdict = guard.on_chunk(now, "alice", "slow", i, &chunk);
            let aborted = verdict != Verdict::Forward;
            verdicts.push(verdict);
            if aborted {
                break;
            }
            if i % 2 == 0 {
                meter.consume(chunk.len()); // half the speed it arrives at
            }
        }
        assert!(matches!(verdicts.last(), Some(Verdict::Abort(why)) if why.contains("not yet read")), "{verdicts:?}");
        assert_eq!(verdicts.len() as u64, 2 * MAX_UNREAD_STREAM_BYTES / chunk.len() as u64 + 1);
    }

    #[test]
    fn an_unread_stream_is_aborted_at_the_limit_with_a_line_naming_the_sender() {
        test_log::start();
        let mut guard = StreamGuard::new();
        let _meter = open_metered(&mut guard, "mallory-hoards", "hoard", facts(None, false));
        let verdicts = send_more(&mut guard, "mallory-hoards", "hoard", MAX_UNREAD_STREAM_BYTES / (1024 * 1024) + 1);
        assert!(verdicts[..verdicts.len() - 1].iter().all(|v| *v == Verdict::Forward));
        let Some(Verdict::Abort(why)) = verdicts.last() else { panic!("not aborted: {verdicts:?}") };
        assert!(why.contains("not yet read"), "{why}");
        let lines = test_log::lines_with("aborting stream hoard from mallory-hoards");
        assert!(lines.iter().any(|line| line.contains("not yet read")), "{lines:?}");
        assert_eq!((guard.open_count(), guard.unread_bytes()), (0, 0));
    }

    /// Chunks of 1 MiB on a stream already open, from index 0; the verdict of each.
    fn send_more(guard: &mut StreamGuard, sender: &str, id: &str, mib: u64) -> Vec<Verdict> {
        let chunk = zeros(1024 * 1024);
        (0..mib).map(|i| guard.on_chunk(Instant::now(), sender, id, i, &chunk)).collect()
    }

    #[test]
    fn compressed_chunks_count_what_they_inflate_to() {
        test_log::start();
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        let compressed = HeaderFacts { compression: Compression::Deflate, ..Default::default() };

        // A bomb: 100 MiB of zeros in about 100 KB, in one chunk. It is counted as it inflates
        // and stops soon past the limit, and aborts the stream.
        let bomb = deflate(&zeros(100 * 1024 * 1024));
        assert!(bomb.len() < 200 * 1024);
        let _meter = open_metered(&mut guard, "mallory-zips", "bomb", compressed);
        let verdict = guard.on_chunk(now, "mallory-zips", "bomb", 0, &bomb);
        assert!(matches!(&verdict, Verdict::Abort(why) if why.contains("not yet read")), "{verdict:?}");
        assert!(!test_log::lines_with("aborting stream bomb from mallory-zips").is_empty());

        // Compressible data read as it arrives: 200 MiB inflated from a few hundred KB on the
        // wire, cut into chunks as a sender cuts its compressed output.
        let meter = open_metered(&mut guard, "alice", "logs", compressed);
        let block: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut index = 0;
        let mut send = |wire: &mut Vec<u8>, guard: &mut StreamGuard| {
            for piece in wire.chunks(15_000) {
                assert_eq!(guard.on_chunk(now, "alice", "logs", index, piece), Verdict::Forward);
                index += 1;
                meter.consume(guard.unread_bytes() as usize); // the app reads what arrived
            }
            wire.clear();
        };
        for _ in 0..200 {
            std::io::Write::write_all(&mut encoder, &block).unwrap();
            send(encoder.get_mut(), &mut guard);
        }
        let mut rest = encoder.finish().unwrap();
        send(&mut rest, &mut guard);
        assert_eq!(guard.unread_bytes(), 0);
        assert_eq!(guard.open["logs"].produced, 200 * 1024 * 1024, "every inflated byte counted");

        // Bytes that are not DEFLATE end the stream.
        let _meter = open_metered(&mut guard, "mallory-zips", "junk", compressed);
        let verdict = guard.on_chunk(now, "mallory-zips", "junk", 0, &[0xff; 64]);
        assert!(matches!(&verdict, Verdict::Abort(why) if why.contains("does not inflate")), "{verdict:?}");
    }

    #[test]
    fn an_inline_payload_that_inflates_past_the_limit_is_refused() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        let bomb = deflate(&zeros(MAX_UNREAD_STREAM_BYTES as usize + 1));
        let header = HeaderFacts { inline: Some(&bomb), compression: Compression::Deflate, ..Default::default() };
        assert_eq!(guard.on_header(now, "eve", "inline-bomb", header), Verdict::Drop);
        let small = deflate(b"hello hello hello");
        let header = HeaderFacts { inline: Some(&small), compression: Compression::Deflate, ..Default::default() };
        assert_eq!(guard.on_header(now, "eve", "inline-ok", header), Verdict::Forward);
        assert_eq!(guard.open_count(), 0, "inline streams are not followed");
        assert!(guard.claim("inline-ok").is_none());
    }

    #[test]
    fn headers_the_manager_would_drop_are_dropped_here() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        let no_kind = HeaderFacts { content_header: false, ..Default::default() };
        assert_eq!(guard.on_header(now, "eve", "a", no_kind), Verdict::Drop);
        let unknown = HeaderFacts { compression: Compression::Unknown, ..Default::default() };
        assert_eq!(guard.on_header(now, "eve", "b", unknown), Verdict::Drop);
        assert_eq!(guard.open_count(), 0);
        assert!(guard.unrouted.is_empty());
    }

    #[test]
    fn a_dropped_reader_ends_its_stream_without_a_warning() {
        test_log::start();
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        let meter = open_metered(&mut guard, "alice-drops", "s", facts(None, false));
        assert_eq!(guard.on_chunk(now, "alice-drops", "s", 0, &zeros(10)), Verdict::Forward);
        meter.reader_dropped();
        assert_eq!(guard.unread_bytes(), 0, "a dropped reader holds nothing");
        assert!(matches!(guard.on_chunk(now, "alice-drops", "s", 1, &zeros(10)), Verdict::Abort(_)));
        assert_eq!(guard.open_count(), 0);
        assert!(test_log::lines_with("alice-drops").is_empty());
    }

    #[test]
    fn each_reader_claims_the_meter_of_its_own_stream() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        // A stream closed and its id reused before the first reader was routed: the readers
        // come in the order of the headers, and each gets its own stream's meter.
        guard.on_header(now, "eve", "x", facts(None, false));
        guard.on_chunk(now, "eve", "x", 0, &zeros(10));
        guard.on_trailer("eve", "x");
        guard.on_header(now, "eve", "x", facts(None, false));
        guard.on_header(now, "bob", "y", facts(None, false));
        let first = guard.claim("x").unwrap();
        let second = guard.claim("x").unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        second.consume(5);
        assert_eq!(guard.open["x"].meter.unread(10), 5, "the open x is the second one");
        assert!(guard.claim("unknown").is_none());
        assert!(guard.claim("y").is_some(), "an unknown id takes nothing from the queue");
        assert!(guard.unrouted.is_empty());
        // Forgetting everything keeps meters whose readers are still on their way.
        guard.on_header(now, "bob", "z", facts(None, false));
        guard.forget_all();
        assert!(guard.claim("z").is_some());
    }
}
