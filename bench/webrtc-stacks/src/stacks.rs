//! The candidates, by name.

use crate::peers::{IceServer, PeersHandle};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    Webrtc17,
    Webrtc21,
    Str0m,
}

impl Stack {
    pub const ALL: [Stack; 3] = [Stack::Webrtc17, Stack::Webrtc21, Stack::Str0m];

    pub fn name(self) -> &'static str {
        match self {
            Stack::Webrtc17 => "webrtc-0.17.2",
            Stack::Webrtc21 => "webrtc-0.21.1",
            Stack::Str0m => "str0m-0.25.0",
        }
    }

    pub fn parse(name: &str) -> Option<Stack> {
        Self::ALL
            .into_iter()
            .find(|s| s.name() == name || s.name().starts_with(&format!("{name}-")) || s.short() == name)
    }

    /// Short names for the command line: `webrtc17`, `webrtc21`, `str0m`.
    pub fn short(self) -> &'static str {
        match self {
            Stack::Webrtc17 => "webrtc17",
            Stack::Webrtc21 => "webrtc21",
            Stack::Str0m => "str0m",
        }
    }

    /// Creates the publisher (with its channels and offer) and subscriber connections.
    pub async fn start(self, ice_servers: &[IceServer]) -> anyhow::Result<PeersHandle> {
        match self {
            Stack::Webrtc17 => crate::stack_webrtc17::start(ice_servers).await,
            Stack::Webrtc21 => crate::stack_webrtc21::start(ice_servers).await,
            Stack::Str0m => crate::stack_str0m::start(ice_servers).await,
        }
    }
}
