//! Signalling: the official `livekit-signaling` client (WebSocket, join, ping, request queueing,
//! `/rtc/validate` diagnostics) with our options and our error mapping.

use std::time::Duration;

use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalError, SignalEvents, SignalOptions, SignalSdkOptions};

use crate::error::Error;

pub(crate) use livekit_signaling::SignalEvent;

mod transport;

/// The SDK name sent in `ClientInfo.sdk` (the protocol has no value of its own for us).
const SDK_NAME: &str = "rust";

/// Signalling options for a join. We advertise only what we implement: compressed data streams
/// and data streams v2 (with RPC over streams), but no packet trailers (no media yet).
fn signal_options(auto_subscribe: bool, single_peer_connection: bool, connect_timeout: Duration) -> SignalOptions {
    let mut options = SignalOptions::default();
    options.auto_subscribe = auto_subscribe;
    options.adaptive_stream = false;
    // Tries `/rtc/v1` first and falls back to `/rtc` when the server answers 404 there.
    options.single_peer_connection = single_peer_connection;
    options.connect_timeout = connect_timeout;
    // Region failover is LiveKit Cloud's; on a direct URL it only adds a round trip to errors.
    options.region_failover = false;
    options.client_capabilities = vec![proto::client_info::Capability::CapCompressionDeflateRaw];
    options.client_protocol = livekit_signaling::CLIENT_PROTOCOL_DATA_STREAM_V2;
    let mut sdk = SignalSdkOptions::default();
    sdk.sdk = SDK_NAME.to_string();
    sdk.sdk_version = Some(env!("CARGO_PKG_VERSION").to_string());
    options.sdk_options = sdk;
    options
}

pub(crate) async fn connect(
    url: &str,
    token: &str,
    auto_subscribe: bool,
    single_peer_connection: bool,
    connect_timeout: Duration,
) -> Result<(SignalClient, proto::JoinResponse, SignalEvents), Error> {
    validate_url(url)?;
    transport::install();
    SignalClient::connect(url, token, signal_options(auto_subscribe, single_peer_connection, connect_timeout), None)
        .await
        .map_err(map_signal_error)
}

fn validate_url(url: &str) -> Result<(), Error> {
    let scheme_ok = ["ws://", "wss://", "http://", "https://"].iter().any(|s| url.starts_with(s));
    if !scheme_ok {
        return Err(Error::InvalidArgument(format!(
            "the server URL must start with ws://, wss://, http:// or https:// (got {url:?})"
        )));
    }
    Ok(())
}

/// Turns a signalling failure into the error a caller can act on. 401/403 come from the
/// server's `/rtc/validate` answer, which names the reason (bad signature, expired...).
pub(crate) fn map_signal_error(err: SignalError) -> Error {
    match err {
        SignalError::Client(status, body) if matches!(status.as_u16(), 401 | 403) => {
            Error::Unauthorized { reason: body.trim().to_string() }
        }
        SignalError::Client(status, body) => {
            Error::Connection(format!("the server refused the connection ({status}): {}", body.trim()))
        }
        SignalError::Server(status, body) => Error::Connection(format!("server error ({status}): {}", body.trim())),
        SignalError::Handshake { status } => {
            Error::Connection(format!("the WebSocket upgrade failed with HTTP {status}"))
        }
        SignalError::TokenFormat => {
            Error::Unauthorized { reason: "the access token has characters a header cannot carry".into() }
        }
        SignalError::UrlParse(msg) => Error::InvalidArgument(format!("bad server URL: {msg}")),
        SignalError::Timeout(msg) => Error::Timeout { what: msg, after: Duration::ZERO },
        SignalError::LeaveRequest { reason, .. } => {
            Error::Connection(format!("the server sent leave while connecting: {reason:?}"))
        }
        other => Error::Connection(other.to_string()),
    }
}
