//! Test harness: a real `livekit-server` on loopback, and a driver for the official Python SDK.
//!
//! Owns installing the pinned server (with `go install`, into a cache outside the clone),
//! starting it on free ports with a generated config and stopping it when dropped.
//! `audio_analysis` finds tones, levels and dropouts in received audio. `TestCluster` runs the
//! server's distributed mode: Redis and several nodes sharing it, each killable.
//! It knows nothing about our client: tests mint tokens with `livekit_core::api`.

pub mod audio_analysis;
mod cluster;
mod install;
mod official_peer;
mod official_peer_media;
mod official_peer_numbered;
mod official_peer_streams;
mod official_peer_video;
mod server;
mod tcp_proxy;
mod tls_cert;
pub mod warning_log;

pub use cluster::TestCluster;
pub use install::{ensure_server_binary, SERVER_VERSION};
pub use official_peer::OfficialPeer;
pub use official_peer_media::{AudioAnalysis, AudioSourceKind, StopRecording, Tone, TrackPermission};
pub use official_peer_video::{ReceivedPicture, VideoPublish};
pub use server::{ServerConfig, TestServer, TurnTls};
pub use tcp_proxy::TcpProxy;
pub use tls_cert::{write_test_certificate, TestCertificate};
