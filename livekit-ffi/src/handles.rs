//! The handle table: every object the client holds by id. Ids and async ids share one counter
//! that starts at 1, so 0 never names anything (the protocol's "invalid handle").

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use livekit_core::data::{ByteStreamReader, TextStreamReader};
use livekit_core::{
    LocalParticipant, LocalTrack, LocalTrackPublication, RemoteAudioTrack, RemoteParticipant, RemoteTrack,
    RemoteTrackPublication, RemoteVideoTrack, VideoSource,
};
use parking_lot::Mutex;

use crate::error::{FfiError, FfiResult};
use crate::requests::audio::FfiAudioSource;
use crate::requests::audio_streams::StreamStop;
use crate::requests::resampler::FfiResampler;
use crate::requests::room::FfiRoom;
use crate::requests::stream_writers::WriterQueue;

/// A subscribed remote track and the publication it belongs to.
pub struct FfiRemoteTrack {
    pub track: RemoteTrack,
    pub publication: RemoteTrackPublication,
}

pub enum FfiHandle {
    /// Bytes the client reads through a pointer: a response or a received data packet. The box
    /// keeps their address fixed until the handle is dropped.
    Buffer(#[allow(dead_code)] Box<[u8]>),
    /// The interleaved samples of a received audio frame, read by the client through a pointer
    /// (kept as `i16` so the pointer is aligned for them).
    Samples(#[allow(dead_code)] Box<[i16]>),
    Room(Arc<FfiRoom>),
    LocalParticipant(LocalParticipant),
    /// A remote participant; a stream from a participant reads its tracks.
    RemoteParticipant(RemoteParticipant),
    ByteReader(ByteStreamReader),
    TextReader(TextStreamReader),
    /// The queue of the task that owns the writer.
    ByteWriter(WriterQueue<Vec<u8>>),
    TextWriter(WriterQueue<String>),
    /// A source the client captures frames into, with the queue of its capture task.
    AudioSource(FfiAudioSource),
    /// The pixels of a received picture or a conversion's result, read by the client through
    /// a pointer (tightly packed; `Bytes` keeps the address fixed and needs no copy).
    Pixels(#[allow(dead_code)] bytes::Bytes),
    /// A source the client captures pictures into.
    VideoSource(VideoSource),
    /// An audio or video track made from a source, before, during and after publishing.
    LocalTrack(LocalTrack),
    /// A subscribed remote track with its publication; streams are opened from it, and
    /// `enable_remote_track` pauses it through the publication.
    RemoteTrack(FfiRemoteTrack),
    /// One of our publications; no request reads it (the client keeps the sid), it is kept so
    /// the handle names a live object like the official library's.
    LocalPublication(#[allow(dead_code)] LocalTrackPublication),
    /// A remote publication, for `set_subscribed`.
    RemotePublication(RemoteTrackPublication),
    /// Dropping it ends the stream's task, which sends the stream's `eos`.
    AudioStream(#[allow(dead_code)] StreamStop),
    /// Dropping it ends the stream's task, which sends the stream's `eos`.
    VideoStream(#[allow(dead_code)] StreamStop),
    /// A sox resampler request's state, with its last output.
    Resampler(FfiResampler),
}

impl FfiHandle {
    fn kind(&self) -> &'static str {
        match self {
            Self::Buffer(_) => "buffer",
            Self::Room(_) => "room",
            Self::LocalParticipant(_) => "local participant",
            Self::RemoteParticipant(_) => "remote participant",
            Self::ByteReader(_) => "byte stream reader",
            Self::TextReader(_) => "text stream reader",
            Self::ByteWriter(_) => "byte stream writer",
            Self::TextWriter(_) => "text stream writer",
            Self::Samples(_) => "audio frame buffer",
            Self::AudioSource(_) => "audio source",
            Self::Pixels(_) => "video frame buffer",
            Self::VideoSource(_) => "video source",
            Self::LocalTrack(LocalTrack::Video(_)) => "local video track",
            Self::LocalTrack(_) => "local audio track",
            Self::RemoteTrack(FfiRemoteTrack { track: RemoteTrack::Video(_), .. }) => "remote video track",
            Self::RemoteTrack(_) => "remote audio track",
            Self::LocalPublication(_) => "local track publication",
            Self::RemotePublication(_) => "remote track publication",
            Self::AudioStream(_) => "audio stream",
            Self::VideoStream(_) => "video stream",
            Self::Resampler(_) => "resampler",
        }
    }
}

#[derive(Default)]
pub struct HandleTable {
    next_id: AtomicU64,
    handles: Mutex<HashMap<u64, FfiHandle>>,
}

/// Picks one kind of handle out of the table, or says why it cannot.
macro_rules! expect_kind {
    ($handle:expr, $id:expr, $variant:ident, $expected:literal) => {
        match $handle {
            FfiHandle::$variant(value) => Ok(value),
            other => Err(FfiError::WrongHandleType { id: $id, expected: $expected, actual: other.kind() }),
        }
    };
}

/// Takes one kind of handle out of the table (a request that consumes it); a handle of another
/// kind stays where it was.
macro_rules! take_kind {
    ($table:ident, $id:expr, $variant:ident, $expected:literal) => {{
        let mut handles = $table.handles.lock();
        match handles.remove(&$id) {
            None => Err(FfiError::UnknownHandle($id)),
            Some(FfiHandle::$variant(value)) => Ok(value),
            Some(other) => {
                let actual = other.kind();
                handles.insert($id, other);
                Err(FfiError::WrongHandleType { id: $id, expected: $expected, actual })
            }
        }
    }};
}

impl HandleTable {
    /// A fresh id, never 0 and never reused.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn insert(&self, handle: FfiHandle) -> u64 {
        let id = self.next_id();
        self.handles.lock().insert(id, handle);
        id
    }

    /// Stores a handle under an id taken from `next_id` earlier (an object that names itself).
    pub fn insert_at(&self, id: u64, handle: FfiHandle) {
        self.handles.lock().insert(id, handle);
    }

    /// Removes a handle; `None` if the id is unknown.
    pub fn remove(&self, id: u64) -> Option<FfiHandle> {
        self.handles.lock().remove(&id)
    }

    /// Removes every handle except buffers and audio frames (dispose), returning the rooms so they can be closed.
    /// Buffers stay until the caller drops them: it may be reading one through the pointer a
    /// request returned (the dispose request's own response among them), so freeing it here
    /// would leave the caller holding freed memory. They own nothing but their bytes.
    pub fn clear(&self) -> Vec<Arc<FfiRoom>> {
        let mut handles = self.handles.lock();
        let mut rooms = Vec::new();
        handles.retain(|_, handle| match handle {
            FfiHandle::Buffer(_) | FfiHandle::Samples(_) | FfiHandle::Pixels(_) => true,
            FfiHandle::Room(room) => {
                rooms.push(room.clone());
                false
            }
            _ => false,
        });
        rooms
    }

    fn with<T>(&self, id: u64, pick: impl FnOnce(&FfiHandle) -> FfiResult<T>) -> FfiResult<T> {
        match self.handles.lock().get(&id) {
            Some(handle) => pick(handle),
            None => Err(FfiError::UnknownHandle(id)),
        }
    }

    /// Every room the client holds.
    pub fn rooms(&self) -> Vec<Arc<FfiRoom>> {
        let handles = self.handles.lock();
        handles.values().filter_map(|h| if let FfiHandle::Room(room) = h { Some(room.clone()) } else { None }).collect()
    }

    /// A local track, or a remote track's sid: what `get_stats` asks about.
    pub fn track_for_stats(&self, id: u64) -> FfiResult<Result<LocalTrack, String>> {
        self.with(id, |handle| match handle {
            FfiHandle::LocalTrack(track) => Ok(Ok(track.clone())),
            FfiHandle::RemoteTrack(remote) => Ok(Err(remote.publication.sid())),
            other => Err(FfiError::WrongHandleType { id, expected: "local or remote track", actual: other.kind() }),
        })
    }

    pub fn room(&self, id: u64) -> FfiResult<Arc<FfiRoom>> {
        self.with(id, |handle| expect_kind!(handle, id, Room, "room").cloned())
    }

    pub fn local_participant(&self, id: u64) -> FfiResult<LocalParticipant> {
        self.with(id, |handle| expect_kind!(handle, id, LocalParticipant, "local participant").cloned())
    }

    pub fn remote_participant(&self, id: u64) -> FfiResult<RemoteParticipant> {
        self.with(id, |handle| expect_kind!(handle, id, RemoteParticipant, "remote participant").cloned())
    }

    pub fn audio_source(&self, id: u64) -> FfiResult<FfiAudioSource> {
        self.with(id, |handle| expect_kind!(handle, id, AudioSource, "audio source").cloned())
    }

    pub fn video_source(&self, id: u64) -> FfiResult<VideoSource> {
        self.with(id, |handle| expect_kind!(handle, id, VideoSource, "video source").cloned())
    }

    /// A local audio or video track.
    pub fn local_track(&self, id: u64) -> FfiResult<LocalTrack> {
        self.with(id, |handle| expect_kind!(handle, id, LocalTrack, "local track").cloned())
    }

    /// A subscribed remote track (audio or video) and its publication.
    pub fn remote_track(&self, id: u64) -> FfiResult<(RemoteTrack, RemoteTrackPublication)> {
        self.with(id, |handle| {
            expect_kind!(handle, id, RemoteTrack, "remote track").map(|t| (t.track.clone(), t.publication.clone()))
        })
    }

    pub fn remote_audio_track(&self, id: u64) -> FfiResult<RemoteAudioTrack> {
        self.with(id, |handle| match handle {
            FfiHandle::RemoteTrack(FfiRemoteTrack { track: RemoteTrack::Audio(track), .. }) => Ok(track.clone()),
            other => Err(FfiError::WrongHandleType { id, expected: "remote audio track", actual: other.kind() }),
        })
    }

    pub fn remote_video_track(&self, id: u64) -> FfiResult<RemoteVideoTrack> {
        self.with(id, |handle| match handle {
            FfiHandle::RemoteTrack(FfiRemoteTrack { track: RemoteTrack::Video(track), .. }) => Ok(track.clone()),
            other => Err(FfiError::WrongHandleType { id, expected: "remote video track", actual: other.kind() }),
        })
    }

    pub fn remote_publication(&self, id: u64) -> FfiResult<RemoteTrackPublication> {
        self.with(id, |handle| expect_kind!(handle, id, RemotePublication, "remote track publication").cloned())
    }

    pub fn resampler(&self, id: u64) -> FfiResult<FfiResampler> {
        self.with(id, |handle| expect_kind!(handle, id, Resampler, "resampler").cloned())
    }

    pub fn byte_writer(&self, id: u64) -> FfiResult<WriterQueue<Vec<u8>>> {
        self.with(id, |handle| expect_kind!(handle, id, ByteWriter, "byte stream writer").cloned())
    }

    pub fn text_writer(&self, id: u64) -> FfiResult<WriterQueue<String>> {
        self.with(id, |handle| expect_kind!(handle, id, TextWriter, "text stream writer").cloned())
    }

    pub fn take_byte_writer(&self, id: u64) -> FfiResult<WriterQueue<Vec<u8>>> {
        take_kind!(self, id, ByteWriter, "byte stream writer")
    }

    pub fn take_text_writer(&self, id: u64) -> FfiResult<WriterQueue<String>> {
        take_kind!(self, id, TextWriter, "text stream writer")
    }

    pub fn take_byte_reader(&self, id: u64) -> FfiResult<ByteStreamReader> {
        take_kind!(self, id, ByteReader, "byte stream reader")
    }

    pub fn take_text_reader(&self, id: u64) -> FfiResult<TextStreamReader> {
        take_kind!(self, id, TextReader, "text stream reader")
    }
}
