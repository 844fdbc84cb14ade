//! Limits on incoming data streams, checked before a packet reaches the official
//! `livekit-data-stream` incoming manager.
//!
//! Why a guard of ours: the official manager accepts any number of open streams, streams that
//! announce up to 5 GB, and chunks for a stream from any sender; a hostile participant could make
//! us hold memory without bound. The guard keeps a small record per open stream (sender, bytes,
//! next chunk index, last packet time) and decides for each header, chunk and trailer whether it
//! goes on to the manager, is dropped, or ends its stream. It is a plain type with the time passed
//! in, so it is tested without a runtime or a network (docs/security.md lists the limits).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Largest stream we accept, announced (`total_length`) or received, in bytes. Larger
/// announcements are refused at the header; a stream that grows past it is aborted. The same
/// figure caps the official manager's decompressed output. Why 64 MiB: files of tens of MB are
/// what streams are for (the interop suite sends 50 MiB each way), while a reader the app does
/// not drain keeps every byte, and the SDK's memory target under attack is 100 MB.
pub const MAX_INCOMING_STREAM_BYTES: u64 = 64 * 1024 * 1024;

/// Streams one sender may have open at once; more headers from it are refused. A legitimate
/// peer rarely has more than a few in flight (one per file or text being sent).
pub const MAX_OPEN_STREAMS_PER_SENDER: usize = 32;

/// Streams all senders together may have open at once; more headers are refused.
pub const MAX_OPEN_STREAMS: usize = 256;

/// Bytes received on one sender's open streams together; the chunk that would pass it aborts
/// its stream. It bounds what one participant's open streams can make us hold, whatever their
/// number, without letting one big transfer starve other senders' streams.
pub const MAX_OPEN_STREAM_BYTES_PER_SENDER: u64 = 64 * 1024 * 1024;

/// Bytes received on all open streams together (several senders); past it, as above.
pub const MAX_OPEN_STREAM_BYTES: u64 = 192 * 1024 * 1024;

/// An open stream with no packet for this long is aborted, so a stream opened and never
/// closed does not hold its place forever. Senders write continuously; 30 s is generous.
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How often, at most, idle streams are looked for (each look walks every open stream).
const EXPIRY_INTERVAL: Duration = Duration::from_secs(1);

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

/// What the guard reads in a stream header besides its id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderFacts {
    /// The announced length (`total_length`), decompressed for a compressed stream.
    pub total_length: Option<u64>,
    /// The header carries the whole payload (`inline_content`).
    pub inline: bool,
    /// The chunks are compressed (`compression` other than none).
    pub compressed: bool,
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
    /// The sender's announced length, checked against what arrives (the manager checks it too,
    /// but only we can then forget the stream). `None` for compressed streams: the announcement
    /// counts decompressed bytes, which only the manager sees (and checks), and incompressible
    /// data arrives slightly larger than announced.
    announced: Option<u64>,
    received: u64,
    next_chunk: u64,
    last_packet: Instant,
}

/// What one sender's open streams hold.
#[derive(Default)]
struct SenderLoad {
    streams: usize,
    bytes: u64,
}

/// Per-sender and total limits on open incoming streams (see the module comment).
#[derive(Default)]
pub struct StreamGuard {
    open: HashMap<String, OpenStream>,
    /// Open streams and the bytes received on them, per sender.
    per_sender: HashMap<String, SenderLoad>,
    open_bytes: u64,
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

    /// A header: opens a stream unless a limit refuses it. `inline` headers carry the whole
    /// payload and close at once, so they count against nothing but the length limit.
    /// `compressed` streams announce their decompressed length (see `OpenStream::announced`).
    pub fn on_header(&mut self, now: Instant, sender: &str, stream_id: &str, header: HeaderFacts) -> Verdict {
        let HeaderFacts { total_length, inline, compressed } = header;
        if let Some(total) = total_length.filter(|&t| t > MAX_INCOMING_STREAM_BYTES) {
            let why = format!("it announces {total} bytes (limit {MAX_INCOMING_STREAM_BYTES})");
            return self.refuse(sender, stream_id, "too long", &why);
        }
        if inline {
            return Verdict::Forward;
        }
        if self.open.contains_key(stream_id) {
            // A stream id already open, maybe another sender's: taking it over would let one
            // participant write into another's stream.
            return self.refuse(sender, stream_id, "id", "its id is already open");
        }
        let from_sender = self.per_sender.get(sender).map_or(0, |load| load.streams);
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
        self.per_sender.entry(sender.to_string()).or_default().streams += 1;
        let stream = OpenStream {
            sender: sender.to_string(),
            announced: total_length.filter(|_| !compressed),
            received: 0,
            next_chunk: 0,
            last_packet: now,
        };
        self.open.insert(stream_id.to_string(), stream);
        Verdict::Forward
    }

    /// A chunk: goes on if it is the next one of an open stream of this sender and within the
    /// byte limits. A repeated index is dropped (the server may replay after a reconnect); a
    /// gap can never be filled, so it ends the stream.
    pub fn on_chunk(&mut self, now: Instant, sender: &str, stream_id: &str, index: u64, len: usize) -> Verdict {
        let Some(stream) = self.open.get_mut(stream_id) else {
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
        let len = len as u64;
        let received = stream.received + len;
        if received > MAX_INCOMING_STREAM_BYTES {
            return self.abort(sender, stream_id, "length", format!("it passed {MAX_INCOMING_STREAM_BYTES} bytes"));
        }
        if stream.announced.is_some_and(|total| received > total) {
            return self.abort(sender, stream_id, "announced", "it passed its announced length".into());
        }
        let sender_bytes = self.per_sender.get(sender).map_or(0, |load| load.bytes);
        if sender_bytes + len > MAX_OPEN_STREAM_BYTES_PER_SENDER {
            let reason = format!(
                "the sender's open streams hold {sender_bytes} bytes (limit {MAX_OPEN_STREAM_BYTES_PER_SENDER})"
            );
            return self.abort(sender, stream_id, "sender bytes", reason);
        }
        if self.open_bytes + len > MAX_OPEN_STREAM_BYTES {
            let reason = format!("open streams hold {} bytes (limit {MAX_OPEN_STREAM_BYTES})", self.open_bytes);
            return self.abort(sender, stream_id, "open bytes", reason);
        }
        let Some(stream) = self.open.get_mut(stream_id) else { return Verdict::Drop };
        stream.received = received;
        stream.next_chunk += 1;
        stream.last_packet = now;
        self.open_bytes += len;
        if let Some(load) = self.per_sender.get_mut(sender) {
            load.bytes += len;
        }
        Verdict::Forward
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

    /// The connection closed: every stream is aborted by the room.
    pub fn forget_all(&mut self) {
        *self = Self::default();
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
        self.open_bytes -= stream.received;
        if let Some(load) = self.per_sender.get_mut(&stream.sender) {
            load.streams -= 1;
            load.bytes -= stream.received;
            if load.streams == 0 {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(total_length: Option<u64>, inline: bool) -> HeaderFacts {
        HeaderFacts { total_length, inline, compressed: false }
    }

    #[test]
    fn a_compressed_stream_may_arrive_larger_than_its_decompressed_announcement() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        let compressed = HeaderFacts { total_length: Some(10), inline: false, compressed: true };
        assert_eq!(guard.on_header(now, "eve", "z", compressed), Verdict::Forward);
        assert_eq!(guard.on_chunk(now, "eve", "z", 0, 11), Verdict::Forward);
    }

    fn at(start: Instant, seconds: u64) -> Instant {
        start + Duration::from_secs(seconds)
    }

    #[test]
    fn a_terabyte_announcement_is_refused_and_its_chunks_dropped() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        assert_eq!(guard.on_header(now, "eve", "s1", facts(Some(1 << 40), false)), Verdict::Drop);
        assert_eq!(guard.on_chunk(now, "eve", "s1", 0, 100), Verdict::Drop);
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
        guard.on_header(now, "eve", "s", facts(None, false));
        assert_eq!(guard.on_chunk(now, "eve", "s", 0, 10), Verdict::Forward);
        assert_eq!(guard.on_chunk(now, "eve", "s", 1, 10), Verdict::Forward);
        assert_eq!(guard.on_chunk(now, "eve", "s", 1, 10), Verdict::Drop);
        assert_eq!(guard.on_chunk(now, "eve", "s", 0, 10), Verdict::Drop);
        assert!(matches!(guard.on_chunk(now, "eve", "s", u64::MAX, 10), Verdict::Abort(_)));
        assert_eq!(guard.open_count(), 0);
        assert_eq!(guard.on_chunk(now, "eve", "s", 2, 10), Verdict::Drop);
        assert_eq!(guard.open_bytes, 0);
    }

    #[test]
    fn only_the_sender_may_write_to_or_end_its_stream() {
        let mut guard = StreamGuard::new();
        let now = Instant::now();
        guard.on_header(now, "bob", "s", facts(None, false));
        assert_eq!(guard.on_header(now, "eve", "s", facts(None, false)), Verdict::Drop);
        assert_eq!(guard.on_chunk(now, "eve", "s", 0, 10), Verdict::Drop);
        assert_eq!(guard.on_trailer("eve", "s"), Verdict::Drop);
        assert_eq!(guard.on_chunk(now, "bob", "s", 0, 10), Verdict::Forward);
        assert_eq!(guard.on_trailer("bob", "s"), Verdict::Forward);
        assert_eq!(guard.open_count(), 0);
    }

    /// Sends `mib` chunks of 1 MiB on a new stream; the verdict of each.
    fn send_mib(guard: &mut StreamGuard, sender: &str, id: &str, mib: u64) -> Vec<Verdict> {
        let now = Instant::now();
        guard.on_header(now, sender, id, facts(None, false));
        (0..mib).map(|i| guard.on_chunk(now, sender, id, i, 1024 * 1024)).collect()
    }

    #[test]
    fn bytes_are_limited_per_stream_against_the_announcement_per_sender_and_in_total() {
        let mib = 1024 * 1024;
        let mut guard = StreamGuard::new();
        let verdicts = send_mib(&mut guard, "eve", "big", MAX_INCOMING_STREAM_BYTES / mib + 1);
        assert!(verdicts[..verdicts.len() - 1].iter().all(|v| *v == Verdict::Forward));
        assert!(matches!(verdicts.last(), Some(Verdict::Abort(_))), "the chunk past the limit aborts");
        assert_eq!((guard.open_count(), guard.open_bytes), (0, 0));

        let now = Instant::now();
        guard.on_header(now, "eve", "short", facts(Some(10), false));
        assert!(matches!(guard.on_chunk(now, "eve", "short", 0, 11), Verdict::Abort(_)));

        // Eve's open streams share one budget; bob's streams are not held back by hers.
        let half = MAX_OPEN_STREAM_BYTES_PER_SENDER / mib / 2;
        assert!(send_mib(&mut guard, "eve", "e1", half).iter().all(|v| *v == Verdict::Forward));
        assert!(send_mib(&mut guard, "eve", "e2", half).iter().all(|v| *v == Verdict::Forward));
        assert!(matches!(send_mib(&mut guard, "eve", "e3", 1)[0], Verdict::Abort(_)));
        assert!(send_mib(&mut guard, "bob", "b1", 1).iter().all(|v| *v == Verdict::Forward));

        // Several senders together are held to the total.
        let mut guard = StreamGuard::new();
        let per_sender = MAX_OPEN_STREAM_BYTES_PER_SENDER / mib;
        for s in 0..MAX_OPEN_STREAM_BYTES / MAX_OPEN_STREAM_BYTES_PER_SENDER {
            let verdicts = send_mib(&mut guard, &format!("p{s}"), &format!("s{s}"), per_sender);
            assert!(verdicts.iter().all(|v| *v == Verdict::Forward));
        }
        assert_eq!(guard.open_bytes, MAX_OPEN_STREAM_BYTES);
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
        assert_eq!(guard.on_chunk(at(start, 45), "bob", "new", 0, 1), Verdict::Forward);
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
        guard.on_chunk(now, "eve", "a", 0, 100);
        guard.on_header(now, "bob", "b", facts(None, false));
        guard.forget_sender("eve");
        assert_eq!(guard.open_count(), 1);
        assert_eq!(guard.open_bytes, 0);
        assert!(!guard.per_sender.contains_key("eve"));
    }
}
