//! TURN over TCP and TLS for webrtc-rs, whose ICE agent reaches TURN servers over UDP only
//! (webrtc-ice 0.17 `gather_candidates_relay`). Where UDP is blocked, the server's `turns:`
//! URL is the only way in, as for the official SDKs.
//!
//! For each such URL a bridge listens on a loopback UDP socket, and the ICE agent is given
//! `turn:127.0.0.1:<port>?transport=udp` in its place with the same credentials. Each UDP
//! source (one TURN client: one allocation) gets its own TCP or TLS connection to the real
//! server, as TURN requires (the allocation belongs to the connection). Datagrams go out framed
//! for the stream (`turn_stream`), and what comes back is split into messages and sent back
//! as datagrams. The relayed side stays UDP on the server, so nothing changes for the SFU.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::peer::IceServer;
use super::turn_stream::{stream_frame, unreachable_server_response, StreamSplitter, StreamTurnServer};

/// How long a connection to the TURN server may take before the datagrams for it are dropped
/// (the TURN client then times out as it would over UDP).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Datagrams waiting for a connection; beyond this they are dropped, as UDP would.
const QUEUED_DATAGRAMS: usize = 256;
/// A connection whose TURN client sent nothing for this long is closed: its client is gone
/// (an ICE restart gathers with new clients). A live client refreshes its permissions every
/// five minutes (RFC 5766 §8) even when its candidate is not used.
const LINK_IDLE: Duration = Duration::from_secs(600);
/// Connections one bridge keeps at once. Each peer connection's ICE agent uses one TURN client
/// per URL and gathering round; the cap stops a local process that sends from many ports from
/// opening connections without bound.
const MAX_LINKS: usize = 16;

/// The bridges of one session; they stop when this is dropped.
#[derive(Default)]
pub(crate) struct TurnBridges {
    tasks: JoinSet<()>,
}

impl TurnBridges {
    /// Starts a bridge for each TCP or TLS TURN URL in `servers` and returns the servers as
    /// the ICE agent should see them: those URLs replaced by their loopback bridge.
    pub async fn start(servers: &[IceServer]) -> (Vec<IceServer>, Self) {
        let mut bridges = Self::default();
        let mut rewritten = Vec::with_capacity(servers.len());
        for server in servers {
            let mut urls = Vec::with_capacity(server.urls.len());
            for url in &server.urls {
                let Some(target) = StreamTurnServer::from_url(url) else {
                    urls.push(url.clone());
                    continue;
                };
                match bridges.spawn(target).await {
                    Ok(local) => urls.push(format!("turn:{local}?transport=udp")),
                    Err(err) => log::warn!("no bridge for the TURN server {url}: {err}"),
                }
            }
            rewritten.push(IceServer { urls, ..server.clone() });
        }
        (rewritten, bridges)
    }

    async fn spawn(&mut self, target: StreamTurnServer) -> std::io::Result<SocketAddr> {
        let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let local = socket.local_addr()?;
        let tls = if target.tls { Some(tls_config().map_err(std::io::Error::other)?) } else { None };
        self.tasks.spawn(run_bridge(socket, Arc::new(target), tls));
        Ok(local)
    }
}

/// Reads the TURN clients' datagrams and hands each to the connection of its source.
async fn run_bridge(socket: Arc<UdpSocket>, target: Arc<StreamTurnServer>, tls: Option<Arc<rustls::ClientConfig>>) {
    let mut links: HashMap<SocketAddr, mpsc::Sender<Bytes>> = HashMap::new();
    let mut link_tasks = JoinSet::new();
    let mut buffer = vec![0u8; 65_536];
    loop {
        let (len, client) = match socket.recv_from(&mut buffer).await {
            Ok(received) => received,
            Err(err) => {
                log::debug!("TURN bridge to {}: {err}", target.host);
                continue;
            }
        };
        let Ok(frame) = stream_frame(&buffer[..len]) else { continue };
        let link = links.get(&client).filter(|link| !link.is_closed());
        let link = match link {
            Some(link) => link.clone(),
            None => {
                while link_tasks.try_join_next().is_some() {}
                links.retain(|_, link| !link.is_closed());
                if links.len() >= MAX_LINKS {
                    log::debug!("TURN bridge to {}: {MAX_LINKS} connections open, {client} refused", target.host);
                    continue;
                }
                let (sender, receiver) = mpsc::channel(QUEUED_DATAGRAMS);
                link_tasks.spawn(run_link(socket.clone(), client, target.clone(), tls.clone(), receiver));
                links.insert(client, sender.clone());
                sender
            }
        };
        log::trace!("TURN bridge: {len} bytes from {client} (first {:#04x})", buffer[0]);
        if link.try_send(frame).is_err() {
            log::debug!("TURN bridge to {}: a datagram from {client} dropped (queue full)", target.host);
        }
    }
}

/// One TURN client's connection to the server, until either side closes it. When the server
/// cannot be reached, the client's pending requests are answered with an error at once.
async fn run_link(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    target: Arc<StreamTurnServer>,
    tls: Option<Arc<rustls::ClientConfig>>,
    mut outgoing: mpsc::Receiver<Bytes>,
) {
    match connect(&target, tls).await {
        Ok(Stream::Tcp(tcp)) => relay(tcp, socket, client, outgoing).await,
        Ok(Stream::Tls(tls)) => relay(*tls, socket, client, outgoing).await,
        Err(err) => {
            log::warn!("TURN server {}:{}: {err}", target.host, target.port);
            outgoing.close();
            while let Some(frame) = outgoing.recv().await {
                if let Some(response) = unreachable_server_response(&frame) {
                    let _ = socket.send_to(&response, client).await;
                }
            }
        }
    }
}

enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

async fn connect(target: &StreamTurnServer, tls: Option<Arc<rustls::ClientConfig>>) -> Result<Stream, String> {
    let address = (target.host.as_str(), target.port);
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(err)) => return Err(format!("unreachable over TCP: {err}")),
        Err(_) => return Err(format!("no TCP connection within {CONNECT_TIMEOUT:?}")),
    };
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls else { return Ok(Stream::Tcp(tcp)) };
    let name = ServerName::try_from(target.host.clone()).map_err(|_| "not a valid name for TLS".to_string())?;
    let connector = tokio_rustls::TlsConnector::from(tls);
    match tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(stream)) => Ok(Stream::Tls(Box::new(stream))),
        Ok(Err(err)) => Err(format!("TLS failed: {err}")),
        Err(_) => Err(format!("no TLS session within {CONNECT_TIMEOUT:?}")),
    }
}

async fn relay<S: AsyncRead + AsyncWrite>(
    stream: S,
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    mut outgoing: mpsc::Receiver<Bytes>,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let to_server = async {
        while let Ok(Some(frame)) = tokio::time::timeout(LINK_IDLE, outgoing.recv()).await {
            if writer.write_all(&frame).await.is_err() {
                break;
            }
        }
    };
    let to_client = async {
        let mut splitter = StreamSplitter::default();
        let mut buffer = vec![0u8; 16_384];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(len) => splitter.push(&buffer[..len]),
            }
            loop {
                match splitter.next_message() {
                    Ok(Some(message)) => {
                        log::trace!("TURN bridge: {} bytes to {client} (first {:#04x})", message.len(), message[0]);
                        let _ = socket.send_to(&message, client).await;
                    }
                    Ok(None) => break,
                    Err(err) => {
                        return log::warn!("TURN server sent a non-TURN message (first byte {:#04x})", err.first_byte)
                    }
                }
            }
        }
    };
    tokio::select! {
        () = to_server => {}
        () = to_client => {}
    }
}

/// TLS as a browser would check it: the Mozilla roots and the system's (which honour
/// `SSL_CERT_FILE` and `SSL_CERT_DIR`, for a private CA). Read once per process.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    static ROOTS: OnceLock<Arc<rustls::RootCertStore>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let (added, _unparsable) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        log::debug!("TURN over TLS: {added} system root certificates");
        Arc::new(roots)
    });
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    const WAIT: Duration = Duration::from_secs(5);

    fn allocate_request() -> Vec<u8> {
        let mut request = vec![0x00, 0x03, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        request.extend_from_slice(&[5; 12]);
        request
    }

    async fn bridge_for(url: &str) -> (TurnBridges, SocketAddr) {
        let servers = [IceServer { urls: vec![url.to_string()], username: "u".into(), credential: "p".into() }];
        let (rewritten, bridges) = TurnBridges::start(&servers).await;
        let local = rewritten[0].urls[0].strip_prefix("turn:").and_then(|rest| rest.strip_suffix("?transport=udp"));
        (bridges, local.expect("a loopback UDP TURN URL").parse().unwrap())
    }

    async fn receive(socket: &UdpSocket) -> Vec<u8> {
        let mut buffer = vec![0u8; 2048];
        let (len, _) = tokio::time::timeout(WAIT, socket.recv_from(&mut buffer)).await.expect("a datagram").unwrap();
        buffer.truncate(len);
        buffer
    }

    #[tokio::test]
    async fn udp_urls_are_kept_and_tcp_ones_replaced_by_a_loopback_bridge() {
        let servers = [IceServer {
            urls: vec!["turn:10.0.0.1:3478?transport=udp".into(), "turn:10.0.0.1:3478?transport=tcp".into()],
            username: "u".into(),
            credential: "p".into(),
        }];
        let (rewritten, _bridges) = TurnBridges::start(&servers).await;
        assert_eq!(rewritten[0].urls[0], "turn:10.0.0.1:3478?transport=udp");
        assert!(rewritten[0].urls[1].starts_with("turn:127.0.0.1:"), "{}", rewritten[0].urls[1]);
        assert_eq!((rewritten[0].username.as_str(), rewritten[0].credential.as_str()), ("u", "p"));
    }

    #[tokio::test]
    async fn datagrams_cross_the_stream_framed_and_come_back_split() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("turn:{}?transport=tcp", server.local_addr().unwrap());
        let (_bridges, bridge) = bridge_for(&url).await;
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();

        client.send_to(&[0x40, 0x00, 0x00, 0x03, 7, 8, 9], bridge).await.unwrap();
        let (mut stream, _) = tokio::time::timeout(WAIT, server.accept()).await.unwrap().unwrap();
        let mut framed = [0u8; 8];
        stream.read_exact(&mut framed).await.unwrap();
        assert_eq!(framed, [0x40, 0x00, 0x00, 0x03, 7, 8, 9, 0], "ChannelData padded on the stream");

        // Two messages in one write, the first padded: two datagrams, without the padding.
        let mut both = vec![0x40, 0x01, 0x00, 0x01, 42, 0, 0, 0];
        both.extend_from_slice(&allocate_request());
        stream.write_all(&both).await.unwrap();
        assert_eq!(receive(&client).await, [0x40, 0x01, 0x00, 0x01, 42]);
        assert_eq!(receive(&client).await, allocate_request());
    }

    #[tokio::test]
    async fn a_request_to_an_unreachable_server_fails_at_once() {
        let closed_port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let (_bridges, bridge) = bridge_for(&format!("turn:{closed_port}?transport=tcp")).await;
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.send_to(&allocate_request(), bridge).await.unwrap();
        let response = receive(&client).await;
        assert_eq!(&response[..2], &[0x01, 0x13], "an Allocate error response");
        assert_eq!(&response[8..20], &allocate_request()[8..20], "for the same transaction");
    }
}
