//! Streams that follow a participant rather than one track, as the official SDKs' `from_participant`
//! streams do: the frames of whichever track of a source (the microphone, the camera) the
//! participant has while we receive it. Between tracks (before the first is subscribed, after an
//! unpublish, across a republish after a reconnect) the stream waits; it ends when the
//! participant leaves or the room disconnects. Every binding's participant streams are these.

use std::future::Future;
use std::sync::{Arc, Weak};

use tokio::sync::mpsc;

use super::events::{ConnectionState, RoomEvent};
use super::participant::RemoteParticipant;
use super::RoomInner;
use crate::error::{Error, Result};
use crate::media::{VideoFormat, VideoStream};
use crate::track::{RemoteTrack, TrackKind, TrackSource};

/// Finds a participant's subscribed track of one source and kind, waiting for the room's
/// events while there is none.
struct TrackWatch {
    room: Weak<RoomInner>,
    participant_sid: String,
    source: TrackSource,
    kind: TrackKind,
    /// The track handed out last: once its stream ended it is not handed out again.
    last: Option<RemoteTrack>,
}

impl TrackWatch {
    fn new(participant: &RemoteParticipant, source: TrackSource, kind: TrackKind) -> Result<Self> {
        let room = participant.room.upgrade().ok_or(Error::Disconnected)?;
        if *room.state.borrow() == ConnectionState::Disconnected {
            return Err(Error::Disconnected);
        }
        let participant_sid = participant.state.read().sid.clone();
        Ok(TrackWatch { room: Arc::downgrade(&room), participant_sid, source, kind, last: None })
    }

    /// The next track to stream; `None` once the participant left or the room disconnected.
    async fn next_track(&mut self) -> Option<RemoteTrack> {
        // Listening only while waiting (a stream that plays must not queue the room's every
        // event); subscribed before the first look, so no change in between is missed.
        let mut events = self.listen()?;
        loop {
            if let Some(track) = self.current_track()? {
                self.last = Some(track.clone());
                return Some(track);
            }
            // Any event may be the one (a subscription, a departure): look again after each.
            events.recv().await?;
        }
    }

    fn listen(&self) -> Option<mpsc::UnboundedReceiver<RoomEvent>> {
        let (tx, events) = mpsc::unbounded_channel();
        self.room.upgrade()?.listeners.lock().push(tx);
        Some(events)
    }

    /// `Some(None)` while the participant is here without a new live track of the source.
    fn current_track(&self) -> Option<Option<RemoteTrack>> {
        let room = self.room.upgrade()?;
        if *room.state.borrow() == ConnectionState::Disconnected {
            return None;
        }
        let participant = room.remote_by_sid(&self.participant_sid)?;
        let publications = participant.track_publications();
        let track = publications
            .values()
            .filter(|publication| publication.source() == self.source && publication.kind() == self.kind)
            .filter_map(|publication| publication.track())
            .find(|track| track.is_live() && !self.last.as_ref().is_some_and(|last| last.same_instance(track)));
        Some(track)
    }
}

/// Spawns the task following the participant: `stream` opens a track's stream, `forward`
/// reads it to its end. Fails when the room is gone or outside a tokio runtime.
fn spawn_follower<S, Open, Forward, Fut>(
    participant: &RemoteParticipant,
    source: TrackSource,
    kind: TrackKind,
    open: Open,
    forward: Forward,
) -> Result<tokio::task::JoinHandle<()>>
where
    S: Send + 'static,
    Open: Fn(&RemoteTrack) -> Result<S> + Send + 'static,
    Forward: Fn(S) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let mut watch = TrackWatch::new(participant, source, kind)?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::Internal("a participant stream needs a running tokio runtime".into()))?;
    Ok(crate::tasks::spawn_on(&runtime, async move {
        while let Some(track) = watch.next_track().await {
            match open(&track) {
                Ok(stream) => forward(stream).await,
                // Ended between the look and the open, or a codec this build cannot decode:
                // wait for the next track.
                Err(err) => log::debug!("participant stream: track {} skipped: {err}", track.sid()),
            }
        }
    }))
}

impl VideoStream {
    /// The pictures of `participant`'s `source` track (the camera, a screen share) in
    /// `format`, from whichever such track it has while we receive it. The stream waits while
    /// there is none (not yet published or subscribed, unpublished, republished after a
    /// reconnect) and ends when the participant leaves or the room disconnects. Fails with
    /// [`Error::Disconnected`] when the room is already gone.
    ///
    /// ```no_run
    /// # async fn demo(participant: livekit_core::RemoteParticipant) -> livekit_core::Result<()> {
    /// use livekit_core::media::{VideoFormat, VideoStream};
    /// use livekit_core::TrackSource;
    /// let mut camera = VideoStream::from_participant(&participant, TrackSource::Camera, VideoFormat::Rgba)?;
    /// while let Some(frame) = camera.recv().await {
    ///     println!("{}x{}", frame.width(), frame.height());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn from_participant(participant: &RemoteParticipant, source: TrackSource, format: VideoFormat) -> Result<Self> {
        VideoStream::from_task(format, |out| {
            spawn_follower(
                participant,
                source,
                TrackKind::Video,
                move |track| match track {
                    RemoteTrack::Video(video) => VideoStream::new(video, format),
                    _ => Err(Error::internal("not a video track")),
                },
                move |mut stream: VideoStream| {
                    let out = out.0.clone();
                    async move {
                        while let Some(frame) = stream.recv().await {
                            out.push(frame);
                        }
                    }
                },
            )
        })
    }
}

#[cfg(feature = "audio")]
impl crate::media::AudioStream {
    /// The audio of `participant`'s `source` track (usually the microphone) as 10 ms frames at
    /// `sample_rate` and `num_channels`, from whichever such track it has while we receive it.
    /// The stream waits while there is none and ends when the participant leaves or the room
    /// disconnects; see [`VideoStream::from_participant`]. Fails with
    /// [`Error::InvalidArgument`] for a format `AudioStream::new` refuses and with
    /// [`Error::Disconnected`] when the room is already gone.
    ///
    /// ```no_run
    /// # async fn demo(participant: livekit_core::RemoteParticipant) -> livekit_core::Result<()> {
    /// use livekit_core::{AudioStream, TrackSource};
    /// let mut microphone = AudioStream::from_participant(&participant, TrackSource::Microphone, 48_000, 1)?;
    /// while let Some(frame) = microphone.recv().await {
    ///     println!("{} samples", frame.data().len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn from_participant(
        participant: &RemoteParticipant,
        source: TrackSource,
        sample_rate: u32,
        num_channels: u32,
    ) -> Result<Self> {
        use crate::media::AudioStream;
        AudioStream::from_task(sample_rate, num_channels, |out| {
            spawn_follower(
                participant,
                source,
                TrackKind::Audio,
                move |track| match track {
                    RemoteTrack::Audio(audio) => AudioStream::new(audio, sample_rate, num_channels),
                    _ => Err(Error::internal("not an audio track")),
                },
                move |mut stream: AudioStream| {
                    let out = out.0.clone();
                    async move {
                        while let Some(frame) = stream.recv().await {
                            out.push(frame);
                        }
                    }
                },
            )
        })
    }
}
