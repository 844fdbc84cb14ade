//! The WebSocket under the signalling client. `livekit-net`'s own client leaves Nagle's
//! algorithm on, so each small signalling message could wait for a delayed ACK (about 40 ms on
//! Linux) and joins took twice as long. Ours sets TCP_NODELAY; with an HTTP(S) proxy configured
//! it hands over to `livekit-net`'s client, which knows how to tunnel.

use std::sync::{Arc, Once};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use livekit_net::{Header, TransportError, WsClient, WsConnectResult, WsConnection};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Makes the signalling client use our WebSocket, once per process.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| livekit_net::set_ws_client(Arc::new(NoDelayWsClient)));
}

struct NoDelayWsClient;

fn proxy_configured() -> bool {
    ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"].iter().any(|v| std::env::var_os(v).is_some())
}

#[async_trait::async_trait]
impl WsClient for NoDelayWsClient {
    async fn connect(
        &self,
        url: String,
        headers: Vec<Header>,
        timeout_ms: u64,
    ) -> Result<WsConnectResult, TransportError> {
        if proxy_configured() {
            return livekit_net::testing::native_ws_client().connect(url, headers, timeout_ms).await;
        }
        let mut request = url.as_str().into_client_request().map_err(|e| TransportError::Connection(e.to_string()))?;
        for header in headers {
            let name: tokio_tungstenite::tungstenite::http::HeaderName =
                header.name.parse().map_err(|_| TransportError::Other(format!("bad header name {:?}", header.name)))?;
            let value = header.value.parse().map_err(|_| TransportError::Other("bad header value".into()))?;
            request.headers_mut().insert(name, value);
        }
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(socket_config()), true);
        let (socket, _response) = tokio::time::timeout(Duration::from_millis(timeout_ms), connect)
            .await
            .map_err(|_| TransportError::Timeout)?
            .map_err(|err| match err {
                WsError::Http(response) => TransportError::Http { status: response.status().as_u16() },
                other => TransportError::Connection(other.to_string()),
            })?;
        let (writer, reader) = socket.split();
        let connection = Connection { writer: Mutex::new(writer), reader: Mutex::new(reader) };
        Ok(WsConnectResult { connection: Arc::new(connection) })
    }
}

/// tungstenite zero-fills its whole read buffer before every read, so the buffer is resident in
/// full for each connection: its default of 128 KiB was about a fifth of what a data-only
/// participant holds. Signal messages are small; a larger frame still gets room reserved for it.
const SIGNAL_READ_BUFFER: usize = 16 * 1024;

fn socket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(SIGNAL_READ_BUFFER)
}

struct Connection {
    writer: Mutex<SplitSink<Socket, Message>>,
    reader: Mutex<SplitStream<Socket>>,
}

#[async_trait::async_trait]
impl WsConnection for Connection {
    async fn send(&self, frame: Vec<u8>) -> Result<(), TransportError> {
        let mut writer = self.writer.lock().await;
        writer.send(Message::Binary(frame.into())).await.map_err(|e| TransportError::Connection(e.to_string()))
    }

    /// The next binary frame; `Ok(None)` when the server closed the connection.
    async fn recv(&self) -> Result<Option<Vec<u8>>, TransportError> {
        let mut reader = self.reader.lock().await;
        loop {
            match reader.next().await {
                Some(Ok(Message::Binary(data))) => return Ok(Some(data.to_vec())),
                Some(Ok(Message::Ping(payload))) => {
                    let _ = self.writer.lock().await.send(Message::Pong(payload)).await;
                }
                Some(Ok(Message::Close(_))) | None => return Ok(None),
                Some(Ok(_)) => {} // pongs, text and raw frames carry no signalling
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => return Ok(None),
                Some(Err(WsError::Io(err))) if err.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Some(Err(err)) => return Err(TransportError::Connection(err.to_string())),
            }
        }
    }

    async fn close(&self) {
        let _ = self.writer.lock().await.close().await;
    }
}
