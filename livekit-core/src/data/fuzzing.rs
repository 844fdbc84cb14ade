//! Test only (feature `testing`): the incoming half of data streams and the RPC guard with no
//! room and no network, for the fuzz target in `fuzz/` (`incoming_data`). Not part
//! of the API.

use std::time::{Duration, Instant};

use livekit_data_stream::backend::incoming::OutputEvent;
use livekit_protocol as proto;
use tokio::sync::mpsc::UnboundedReceiver;

use super::rpc_guard::RpcGuard;
use super::stream_guard::{MAX_OPEN_STREAMS, MAX_UNREAD_BYTES};
use super::streams::{OutgoingPackets, Streams};

/// Senders the fuzz input picks from; "" is a packet with no identity (server-sent).
const SENDERS: [&str; 4] = ["alice", "bob", "eve", ""];

/// Runs one fuzz input and checks what must hold after any input (panics if not): the guard
/// within its limits (open streams, unread bytes), no stream in the manager that the guard does
/// not know, no RPC left pending. The fuzz target and the regression replay
/// (`tests/fuzz_regressions.rs`) share it.
///
/// Input: records of [control byte, length (u16, little endian), that many bytes of an encoded
/// `DataPacket`]. The control byte picks the sender (low 2 bits), whether it leaves instead
/// (bit 7), and how many seconds pass first (bits 2 to 6), so idle expiry is reached.
pub async fn run_input(data: &[u8]) {
    use prost::Message;
    let mut incoming = IncomingData::start();
    let mut now = Instant::now();
    let mut rest = data;
    while let [control, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        now += Duration::from_secs(u64::from((control >> 2) & 0x1f));
        let sender = SENDERS[usize::from(control & 0x3)];
        if control & 0x80 != 0 {
            incoming.sender_left(sender);
        } else if let Ok(packet) = proto::DataPacket::decode(bytes) {
            incoming.on_packet(now, sender, packet);
        }
    }
    let unread = incoming.unread();
    assert!(unread <= MAX_UNREAD_BYTES, "{unread} unread bytes in the guard");
    let (in_manager, in_guard) = incoming.settle().await;
    assert!(in_guard <= MAX_OPEN_STREAMS, "{in_guard} streams open in the guard");
    assert!(in_manager <= in_guard, "the manager holds {in_manager} streams, the guard knows {in_guard}");
    assert_eq!(incoming.pending_rpc(), 0);
}

/// What a room does with incoming stream and RPC packets, up to the app: our guards and the
/// official incoming stream manager. Needs a tokio runtime (the manager runs as a task).
pub struct IncomingData {
    streams: Streams,
    output: UnboundedReceiver<OutputEvent>,
    rpc: RpcGuard,
    /// Kept so the outgoing manager's channel stays open; nothing is sent.
    _outgoing: OutgoingPackets,
}

impl IncomingData {
    /// Starts the official manager's task on the current runtime.
    pub fn start() -> Self {
        let (streams, outgoing, output) = Streams::start();
        Self { streams, output, rpc: RpcGuard::new(), _outgoing: outgoing }
    }

    /// Handles one packet from `sender` at `now`, as the room's dispatch would. RPC requests
    /// only go through the guard: each one let through is ended at once, as if answered.
    pub fn on_packet(&mut self, now: Instant, sender: &str, packet: proto::DataPacket) {
        use proto::data_packet::Value;
        match packet.value {
            Some(value @ (Value::StreamHeader(_) | Value::StreamChunk(_) | Value::StreamTrailer(_))) => {
                self.streams.on_packet_at(now, value, sender.to_string())
            }
            Some(Value::RpcRequest(request)) if self.rpc.try_begin(sender, &request.method) => self.rpc.end(sender),
            _ => {}
        }
    }

    /// The sender left, as the room handles it.
    pub fn sender_left(&mut self, sender: &str) {
        self.streams.abort_streams_from(sender);
    }

    /// Waits until the manager has handled everything fed so far, routes the readers it opened
    /// as the room does and drops them (an app that ignores streams), and returns the streams
    /// open in the manager and in our guard.
    pub async fn settle(&mut self) -> (usize, usize) {
        let in_manager = self.streams.open_in_manager().await;
        while let Ok(event) = self.output.try_recv() {
            if let OutputEvent::StreamOpened(opened) = event {
                drop(self.streams.route(opened.stream_reader, opened.participant_identity.0));
            }
        }
        (in_manager, self.streams.open_in_guard())
    }

    /// Bytes received on open streams and not yet read (none is read here: readers are only
    /// routed by `settle`).
    pub fn unread(&self) -> u64 {
        self.streams.unread_in_guard()
    }

    /// RPC requests counted as pending (0 once each is answered).
    pub fn pending_rpc(&self) -> usize {
        self.rpc.pending()
    }
}
