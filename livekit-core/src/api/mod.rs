//! Server API: access tokens and the RoomService client, from the official `livekit-api`
//! crate, with its errors converted to ours so bindings see one error type.

pub use livekit_api::access_token::{AccessToken, AccessTokenError, Claims, TokenVerifier, VideoGrants};
pub use livekit_api::services::room::{
    CreateRoomOptions, RemoveParticipantOptions, RoomClient, SendDataOptions, UpdateParticipantOptions,
};
pub use livekit_api::services::ServiceError;
use livekit_api::services::{ServerError, ServerErrorCode};

use crate::error::Error;

/// The HTTP base of the server API for a signalling URL (`ws://h` -> `http://h`).
pub fn http_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = url.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        url.to_string()
    }
}

impl From<AccessTokenError> for Error {
    fn from(err: AccessTokenError) -> Self {
        Error::Unauthorized { reason: err.to_string() }
    }
}

impl From<ServiceError> for Error {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Twirp(ServerError::Twirp(code)) => match code.code.as_str() {
                ServerErrorCode::UNAUTHENTICATED => Error::Unauthorized { reason: code.msg },
                ServerErrorCode::PERMISSION_DENIED => Error::NotAllowed(code.msg),
                ServerErrorCode::INVALID_ARGUMENT | ServerErrorCode::MALFORMED => Error::InvalidArgument(code.msg),
                ServerErrorCode::NOT_FOUND => Error::InvalidArgument(format!("not found: {}", code.msg)),
                _ => Error::Server(format!("{}: {}", code.code, code.msg)),
            },
            ServiceError::Twirp(ServerError::Request(err)) => Error::Connection(err.to_string()),
            ServiceError::AccessToken(err) => err.into(),
            other => Error::Server(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_url_maps_websocket_schemes() {
        assert_eq!(http_url("ws://127.0.0.1:7880"), "http://127.0.0.1:7880");
        assert_eq!(http_url("wss://x.livekit.cloud"), "https://x.livekit.cloud");
        assert_eq!(http_url("https://x"), "https://x");
    }
}
