//! TURN over a byte stream (TCP, or TLS over TCP): which ICE server URLs need it, and how
//! TURN messages are framed on the stream (RFC 5766 §2.1 and §11.5). Plain logic, no I/O;
//! `turn_bridge` carries the bytes.
//!
//! On a stream, a STUN message delimits itself by the length in its header (20-byte header +
//! body), and a ChannelData message by its own length field, padded to a multiple of four
//! bytes. Over UDP the padding is optional; we send datagrams without it.

use bytes::{Buf, Bytes, BytesMut};

/// A TURN server reached over TCP: `turns:` (TLS) or `turn:` with `transport=tcp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StreamTurnServer {
    pub tls: bool,
    pub host: String,
    pub port: u16,
}

impl StreamTurnServer {
    /// Parses an ICE server URL; `None` for anything a UDP TURN client or a STUN client handles
    /// itself (or that is not a TURN URL at all).
    pub fn from_url(url: &str) -> Option<Self> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("turns:") {
            (true, rest)
        } else {
            (false, url.strip_prefix("turn:")?)
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let transport = query.split('&').find_map(|pair| pair.strip_prefix("transport=")).unwrap_or(if tls {
            "tcp"
        } else {
            "udp"
        });
        if !transport.eq_ignore_ascii_case("tcp") {
            return None;
        }
        let default_port = if tls { 5349 } else { 3478 };
        let (host, port) = split_host_port(authority, default_port)?;
        Some(Self { tls, host, port })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None => Some((authority.to_string(), default_port)),
    }
    .filter(|(host, _)| !host.is_empty())
}

/// A message that is neither STUN nor ChannelData: the stream is out of step or not TURN.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotTurn {
    pub first_byte: u8,
}

/// STUN messages start with the bits 00, ChannelData with 01 (channel numbers 0x4000-0x7FFF).
enum Kind {
    Stun,
    ChannelData,
}

fn kind(first_byte: u8) -> Result<Kind, NotTurn> {
    match first_byte >> 6 {
        0b00 => Ok(Kind::Stun),
        0b01 => Ok(Kind::ChannelData),
        _ => Err(NotTurn { first_byte }),
    }
}

/// The bytes to write on the stream for one datagram from the TURN client: ChannelData padded
/// to four bytes, STUN as it is. A datagram too short for its own header is refused.
pub(crate) fn stream_frame(datagram: &[u8]) -> Result<Bytes, NotTurn> {
    let first_byte = *datagram.first().ok_or(NotTurn { first_byte: 0 })?;
    match kind(first_byte)? {
        Kind::Stun if datagram.len() >= 20 => Ok(Bytes::copy_from_slice(datagram)),
        Kind::ChannelData if datagram.len() >= 4 => {
            let mut frame = BytesMut::with_capacity(padded(datagram.len()));
            frame.extend_from_slice(datagram);
            frame.resize(padded(datagram.len()), 0);
            Ok(frame.freeze())
        }
        _ => Err(NotTurn { first_byte }),
    }
}

fn padded(len: usize) -> usize {
    len.div_ceil(4) * 4
}

/// The error response (500) a TURN client gets for `request` when the server cannot be reached
/// over the stream, so that it gives up at once instead of retransmitting for seconds (which
/// would hold ICE gathering). `None` for anything but a STUN request.
pub(crate) fn unreachable_server_response(request: &[u8]) -> Option<Bytes> {
    const REASON: &[u8] = b"TURN server unreachable over TCP/TLS";
    if request.len() < 20 || !matches!(kind(request[0]), Ok(Kind::Stun)) {
        return None;
    }
    let message_type = u16::from_be_bytes([request[0], request[1]]);
    let is_request = message_type & 0x0110 == 0;
    if !is_request {
        return None;
    }
    let padding = padded(REASON.len()) - REASON.len();
    let attribute_len = 4 + REASON.len();
    let mut response = BytesMut::with_capacity(20 + 4 + attribute_len + padding);
    response.extend_from_slice(&(message_type | 0x0110).to_be_bytes());
    response.extend_from_slice(&((4 + attribute_len + padding) as u16).to_be_bytes());
    response.extend_from_slice(&request[4..20]); // magic cookie and transaction id
    response.extend_from_slice(&0x0009u16.to_be_bytes()); // ERROR-CODE
    response.extend_from_slice(&(attribute_len as u16).to_be_bytes());
    response.extend_from_slice(&[0, 0, 5, 0]); // class 5, number 0: 500
    response.extend_from_slice(REASON);
    response.resize(response.len() + padding, 0);
    Some(response.freeze())
}

/// Splits what the server sends on the stream back into whole messages, one per datagram.
/// Holds at most one partial message (under 64 KiB: both length fields are 16 bits).
#[derive(Default)]
pub(crate) struct StreamSplitter {
    buffer: BytesMut,
}

impl StreamSplitter {
    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole message (ChannelData without its padding), `None` until one is complete.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, NotTurn> {
        if self.buffer.len() < 4 {
            return Ok(None);
        }
        let length = usize::from(u16::from_be_bytes([self.buffer[2], self.buffer[3]]));
        let (message_len, frame_len) = match kind(self.buffer[0])? {
            Kind::Stun => (20 + length, 20 + length),
            Kind::ChannelData => (4 + length, padded(4 + length)),
        };
        if self.buffer.len() < frame_len {
            return Ok(None);
        }
        let message = self.buffer.split_to(message_len).freeze();
        self.buffer.advance(frame_len - message_len);
        Ok(Some(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(body_len: u16) -> Vec<u8> {
        let mut message = vec![0x00, 0x01];
        message.extend_from_slice(&body_len.to_be_bytes());
        message.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        message.extend_from_slice(&[7; 12]);
        message.extend(std::iter::repeat_n(9, usize::from(body_len)));
        message
    }

    fn channel_data(payload: &[u8]) -> Vec<u8> {
        let mut message = vec![0x40, 0x01];
        message.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        message.extend_from_slice(payload);
        message
    }

    #[test]
    fn only_tcp_and_tls_turn_urls_need_a_stream() {
        let parse = StreamTurnServer::from_url;
        assert_eq!(
            parse("turns:turn.example.com:443?transport=tcp"),
            Some(StreamTurnServer { tls: true, host: "turn.example.com".into(), port: 443 })
        );
        assert_eq!(
            parse("turn:10.0.0.1:3478?transport=tcp"),
            Some(StreamTurnServer { tls: false, host: "10.0.0.1".into(), port: 3478 })
        );
        assert_eq!(parse("turns:turn.example.com").map(|s| s.port), Some(5349));
        assert_eq!(parse("turn:[::1]:3479?transport=tcp").map(|s| s.host), Some("::1".into()));
        assert_eq!(parse("turn:127.0.0.1:3478?transport=udp"), None);
        assert_eq!(parse("turn:127.0.0.1:3478"), None);
        assert_eq!(parse("stun:127.0.0.1:3478"), None);
        assert_eq!(parse("turns:?transport=tcp"), None);
        assert_eq!(parse("turn:host:notaport?transport=tcp"), None);
    }

    #[test]
    fn channel_data_is_padded_on_the_stream_and_stun_is_not() {
        assert_eq!(stream_frame(&channel_data(&[1, 2, 3, 4, 5])).unwrap().len(), 12);
        assert_eq!(stream_frame(&channel_data(&[1, 2, 3, 4])).unwrap().len(), 8);
        assert_eq!(stream_frame(&stun(8)).unwrap().as_ref(), stun(8).as_slice());
        assert_eq!(stream_frame(&[0x80, 0, 0, 0]), Err(NotTurn { first_byte: 0x80 }));
        assert!(stream_frame(&[0x00, 0x01]).is_err(), "shorter than a STUN header");
        assert!(stream_frame(&[]).is_err());
    }

    #[test]
    fn the_splitter_returns_whole_messages_whatever_the_read_sizes() {
        let messages = [stun(12), channel_data(&[1, 2, 3]), stun(0), channel_data(&[])];
        let stream: Vec<u8> = messages.iter().flat_map(|m| stream_frame(m).unwrap().to_vec()).collect();
        for read_size in [1, 3, 7, stream.len()] {
            let mut splitter = StreamSplitter::default();
            let mut received = Vec::new();
            for chunk in stream.chunks(read_size) {
                splitter.push(chunk);
                while let Some(message) = splitter.next_message().unwrap() {
                    received.push(message.to_vec());
                }
            }
            assert_eq!(received, messages.to_vec(), "reads of {read_size} bytes");
        }
    }

    #[test]
    fn a_request_to_an_unreachable_server_gets_a_500_for_its_transaction() {
        let mut allocate = stun(0);
        allocate[1] = 0x03;
        let response = unreachable_server_response(&allocate).expect("a response");
        assert_eq!(&response[..2], &[0x01, 0x13], "Allocate error response");
        assert_eq!(&response[4..20], &allocate[4..20], "same cookie and transaction");
        assert_eq!(usize::from(u16::from_be_bytes([response[2], response[3]])), response.len() - 20);
        assert_eq!(response.len() % 4, 0);
        assert_eq!(&response[20..22], &[0x00, 0x09], "ERROR-CODE");
        assert_eq!(&response[26..28], &[5, 0]);
        let mut send_indication = stun(0);
        send_indication[1] = 0x16;
        assert_eq!(unreachable_server_response(&send_indication), None);
        assert_eq!(unreachable_server_response(&channel_data(&[1, 2, 3, 4])), None);
    }

    #[test]
    fn a_stream_out_of_step_is_refused() {
        let mut splitter = StreamSplitter::default();
        splitter.push(&[0xC0, 0, 0, 4, 1, 2, 3, 4]);
        assert_eq!(splitter.next_message(), Err(NotTurn { first_byte: 0xC0 }));
    }
}
