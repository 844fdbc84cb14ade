//! Publishing: `AddTrackRequest` and the server's answer, the track on the publisher
//! connection, the task that moves encoded audio to it, mute, and unpublishing (ours, or the
//! server's). The encoding itself is in `media/`, the connection in `engine/`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use parking_lot::Mutex;
use tokio::sync::{oneshot, watch};

use super::events::{RoomEvent, TrackPublication};
use super::local_participant::LocalParticipant;
use super::participant::Participant;
use super::RoomInner;
use crate::engine::{AudioSender, TrackSender};
use crate::error::{Error, Result};
use crate::media::AudioSource;
use crate::track::local::MuteHook;
use crate::track::{
    LocalAudioTrack, LocalTrack, LocalTrackPublication, TrackKind, TrackPublicationInfo, TrackPublishOptions,
};

/// How long the server may take to answer an `AddTrackRequest` (the official SDKs wait 10 s).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server answers to an `AddTrackRequest`, by the request's cid.
pub(crate) type PublishAnswer = oneshot::Sender<Result<proto::TrackInfo>>;

/// One of our published tracks, with what keeps its media flowing.
pub(crate) struct PublishedTrack {
    pub publication: LocalTrackPublication,
    /// What the track was published with, for a resume's `SyncState` and a full reconnect's
    /// republish.
    cid: String,
    info: proto::TrackInfo,
    options: TrackPublishOptions,
    sender: TrackSender,
    pump: tokio::task::JoinHandle<()>,
    /// For a video track: the layers its pump sends (dynacast changes it for simulcast).
    layers: Option<LayerSwitch>,
}

impl LocalParticipant {
    /// Publishes a track; resolves once the server accepted it and the connection carries it,
    /// after which others see `TrackPublished` and this room raises `LocalTrackPublished`.
    /// Fails with `NotAllowed` at once when the token lacks `canPublish` or the source.
    pub async fn publish_track(
        &self,
        track: LocalTrack,
        options: TrackPublishOptions,
    ) -> Result<LocalTrackPublication> {
        self.publish(track, options, None).await
    }

    /// `publish_track`, naming in the event the sid the track had before a full reconnect.
    async fn publish(
        &self,
        track: LocalTrack,
        options: TrackPublishOptions,
        previous_sid: Option<String>,
    ) -> Result<LocalTrackPublication> {
        let room = self.room()?;
        if mute_hook(&track).lock().is_some() {
            return Err(Error::InvalidArgument(format!("track {:?} is already published", track.name())));
        }
        let cid = new_cid();
        let (info, sender, pump, layers) = match &track {
            LocalTrack::Audio(audio) => publish_audio(&room, &cid, audio, &options).await?,
            LocalTrack::Video(video) => super::local_video::publish_video(&room, &cid, video, &options).await?,
        };
        let republish = (cid.clone(), info.clone(), options);
        let publication_info = TrackPublicationInfo::from_proto(&info)
            .ok_or_else(|| Error::Server(format!("the server published {cid} with an unknown kind")))?;
        let publication = LocalTrackPublication::new(publication_info, track.clone());
        install_mute_hook(&room, mute_hook(&track), &publication);
        let sid = publication.sid();
        let (cid, info, options) = republish;
        let published = PublishedTrack { publication: publication.clone(), cid, info, options, sender, pump, layers };
        room.local_tracks.lock().insert(sid, published);
        room.emit(RoomEvent::LocalTrackPublished { publication: publication.clone(), track, previous_sid });
        Ok(publication)
    }

    /// Stops publishing a track; others see `TrackUnpublished`, this room
    /// `LocalTrackUnpublished`. The track and its source stay usable.
    pub async fn unpublish_track(&self, sid: &str) -> Result<()> {
        let room = self.room()?;
        let published = room.local_tracks.lock().remove(sid);
        let published =
            published.ok_or_else(|| Error::InvalidArgument(format!("no published track has sid {sid:?}")))?;
        let result = room.engine.unpublish(&published.sender).await;
        stop(&published);
        room.emit(RoomEvent::LocalTrackUnpublished { publication: published.publication });
        result
    }

    /// Our published tracks by sid.
    pub fn track_publications(&self) -> HashMap<String, LocalTrackPublication> {
        let Some(room) = self.room.upgrade() else { return HashMap::new() };
        let tracks = room.local_tracks.lock();
        tracks.iter().map(|(sid, published)| (sid.clone(), published.publication.clone())).collect()
    }
}

/// The server's answer, the sender on the connection and the task feeding it.
pub(super) type Published = (proto::TrackInfo, TrackSender, tokio::task::JoinHandle<()>, Option<LayerSwitch>);

/// Which simulcast layers of a video track to send (dynacast), by layer index.
pub(super) type LayerSwitch = watch::Sender<Vec<bool>>;

async fn publish_audio(
    room: &Arc<RoomInner>,
    cid: &str,
    audio: &LocalAudioTrack,
    options: &TrackPublishOptions,
) -> Result<Published> {
    if options.stereo && audio.source().num_channels() != 2 {
        return Err(Error::InvalidArgument("stereo needs a source with two channels".into()));
    }
    if let Some(bitrate) = options.audio_bitrate {
        audio.source().set_bitrate(bitrate)?;
    }
    audio.source().set_dtx(options.dtx);
    let request = proto::AddTrackRequest {
        cid: cid.to_owned(),
        name: audio.name(),
        r#type: TrackKind::Audio.to_proto() as i32,
        source: options.source.to_proto() as i32,
        muted: audio.is_muted(),
        disable_red: !options.red,
        audio_features: audio_features(options),
        ..Default::default()
    };
    let info = room.add_track(request).await?;
    let sender = room.engine.publish_audio(cid, options.red).await?;
    let pump = crate::tasks::spawn(pump_audio(audio.source().clone(), audio.inner.muted.subscribe(), sender.clone()));
    Ok((info, TrackSender::Audio(sender), pump, None))
}

impl RoomInner {
    /// Sends `AddTrackRequest` and waits for the server's `TrackPublishedResponse` or refusal.
    pub(super) async fn add_track(&self, request: proto::AddTrackRequest) -> Result<proto::TrackInfo> {
        let cid = request.cid.clone();
        let (tx, rx) = oneshot::channel();
        self.pending_publishes.lock().insert(cid.clone(), tx);
        let sent = self.send_signal(proto::signal_request::Message::AddTrack(request)).await;
        let outcome = match sent {
            Ok(()) => tokio::time::timeout(PUBLISH_TIMEOUT, rx).await,
            Err(err) => Ok(Ok(Err(err))),
        };
        self.pending_publishes.lock().remove(&cid);
        match outcome {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(Error::Disconnected),
            Err(_) => Err(Error::timeout("the server's answer to publishing a track", PUBLISH_TIMEOUT)),
        }
    }

    /// The server accepted a track.
    pub(crate) fn on_track_published(&self, response: proto::TrackPublishedResponse) {
        if let Some(tx) = self.pending_publishes.lock().remove(&response.cid) {
            let _ = tx.send(response.track.ok_or_else(|| Error::Server("track_published without a track".into())));
        }
    }

    /// The server refused a track (a `RequestResponse` naming the `AddTrackRequest`).
    pub(crate) fn on_add_track_refused(&self, request: &proto::AddTrackRequest, reason: i32, message: &str) {
        use proto::request_response::Reason;
        let Some(tx) = self.pending_publishes.lock().remove(&request.cid) else { return };
        let error = match Reason::try_from(reason) {
            Ok(Reason::NotAllowed) => Error::NotAllowed(format!(
                "publishing a {:?} track needs the canPublish grant and, when the token lists \
                 canPublishSources, that source {message}",
                crate::track::TrackSource::from_proto(request.source)
            )),
            other => Error::Server(format!("publishing a track: {other:?} {message}")),
        };
        let _ = tx.send(Err(error));
    }

    /// The server muted one of our tracks (an admin, or a permission change).
    pub(crate) fn on_server_mute(&self, request: &proto::MuteTrackRequest) {
        let track = self.local_tracks.lock().get(&request.sid).map(|p| p.publication.track());
        match (track, request.muted) {
            (Some(LocalTrack::Audio(track)), true) => track.mute(),
            (Some(LocalTrack::Audio(track)), false) => track.unmute(),
            (Some(LocalTrack::Video(track)), true) => track.mute(),
            (Some(LocalTrack::Video(track)), false) => track.unmute(),
            (None, _) => {}
        }
    }

    /// The server says which qualities of one of our video tracks anybody receives: layers
    /// nobody receives stop being encoded and sent until somebody does (dynacast).
    pub(crate) fn on_subscribed_quality(&self, update: &proto::SubscribedQualityUpdate) {
        let tracks = self.local_tracks.lock();
        let Some(published) = tracks.get(&update.track_sid) else { return };
        let Some(layers) = &published.layers else { return };
        let mime = published.publication.mime_type().to_ascii_lowercase();
        let codec = update.subscribed_codecs.iter().find(|c| mime.ends_with(&c.codec.to_ascii_lowercase()));
        #[allow(deprecated)] // the codec-less list, for servers that send only that
        let qualities = codec.map_or(&update.subscribed_qualities, |c| &c.qualities);
        let subscribed: Vec<(i32, bool)> = qualities.iter().map(|q| (q.quality, q.enabled)).collect();
        let enabled = crate::media::enabled_layers(layers.borrow().len(), &subscribed);
        log::debug!("dynacast: track {} sends layers {enabled:?}", update.track_sid);
        layers.send_replace(enabled);
    }

    /// The server unpublished one of our tracks.
    pub(crate) async fn on_server_unpublished(&self, sid: &str) {
        let published = self.local_tracks.lock().remove(sid);
        if let Some(published) = published {
            let _ = self.engine.unpublish(&published.sender).await;
            stop(&published);
            self.emit(RoomEvent::LocalTrackUnpublished { publication: published.publication });
        }
    }

    /// The cid (the SDP track id) one of our tracks was published with, by sid.
    pub(crate) fn published_cid(&self, sid: &str) -> Option<String> {
        self.local_tracks.lock().get(sid).map(|published| published.cid.clone())
    }

    /// Our tracks as a resume's `SyncState` lists them, so the server can check it still has
    /// each one.
    pub(crate) fn published_for_sync(&self) -> Vec<proto::TrackPublishedResponse> {
        let tracks = self.local_tracks.lock();
        tracks
            .values()
            .map(|p| proto::TrackPublishedResponse { cid: p.cid.clone(), track: Some(p.info.clone()) })
            .collect()
    }

    /// A full reconnect: the new session has none of our tracks, so each is published again
    /// with the options it had (a new sid; `LocalTrackPublished` is raised again). A track the
    /// server refuses now is reported as unpublished.
    pub(crate) async fn republish_local_tracks(self: &Arc<Self>) {
        let old: Vec<PublishedTrack> = self.local_tracks.lock().drain().map(|(_, p)| p).collect();
        for published in old {
            stop(&published);
            let track = published.publication.track();
            let previous_sid = Some(published.publication.sid());
            if let Err(err) = self.local.publish(track, published.options.clone(), previous_sid).await {
                log::warn!("republishing track {} after a reconnect: {err}", published.publication.sid());
                self.emit(RoomEvent::LocalTrackUnpublished { publication: published.publication });
            }
        }
    }

    /// Leaving: every track stops sending.
    pub(crate) fn stop_local_tracks(&self) {
        for (_, published) in self.local_tracks.lock().drain() {
            stop(&published);
        }
    }
}

fn stop(published: &PublishedTrack) {
    published.pump.abort();
    let track = published.publication.track();
    mute_hook(&track).lock().take();
    if let LocalTrack::Audio(audio) = track {
        audio.source().detach();
    }
}

fn mute_hook(track: &LocalTrack) -> &Mutex<Option<MuteHook>> {
    match track {
        LocalTrack::Audio(audio) => &audio.inner.on_mute,
        LocalTrack::Video(video) => &video.inner.on_mute,
    }
}

/// Mute changes of a published track go to the server, and raise `TrackMuted`/`TrackUnmuted`
/// on this room at once (the official SDKs do not wait for the server's echo).
fn install_mute_hook(room: &Arc<RoomInner>, hook: &Mutex<Option<MuteHook>>, publication: &LocalTrackPublication) {
    let weak = Arc::downgrade(room);
    let publication = publication.clone();
    let runtime = tokio::runtime::Handle::current();
    *hook.lock() = Some(Box::new(move |muted| {
        let Some(room) = weak.upgrade() else { return };
        publication.info.write().muted = muted;
        let participant = Participant::Local(room.local.clone());
        let event_publication = TrackPublication::Local(publication.clone());
        room.emit(if muted {
            RoomEvent::TrackMuted { participant, publication: event_publication }
        } else {
            RoomEvent::TrackUnmuted { participant, publication: event_publication }
        });
        let request = proto::MuteTrackRequest { sid: publication.sid(), muted };
        crate::tasks::spawn_on(&runtime, async move {
            if let Err(err) = room.send_signal(proto::signal_request::Message::Mute(request)).await {
                log::warn!("telling the server about a mute change: {err}");
            }
        });
    }));
}

/// Moves encoded audio to the connection; while muted nothing is sent but the RTP clock
/// moves on, so the subscriber's jitter buffer sees a pause, not a burst.
/// Sends the source's packets (skipping the RTP clock over muted stretches and DTX gaps), and
/// hands the server's loss reports back to the source's encoder.
async fn pump_audio(source: AudioSource, muted: watch::Receiver<bool>, sender: Arc<AudioSender>) {
    let mut packets = source.attach();
    let mut loss_reports = sender.loss_reports();
    let mut reports_open = true;
    loop {
        tokio::select! {
            packet = packets.recv() => {
                let Some(packet) = packet else { return };
                if *muted.borrow() || packet.is_dtx_gap() {
                    sender.skip(packet.rtp_timestamp_step);
                    continue;
                }
                if let Err(err) = sender.write(&packet).await {
                    log::debug!("{err}");
                }
            }
            changed = loss_reports.changed(), if reports_open => match changed {
                Ok(()) => source.report_loss(*loss_reports.borrow_and_update()),
                Err(_) => reports_open = false,
            },
        }
    }
}

/// What the server tells subscribers' decoders about this track.
fn audio_features(options: &TrackPublishOptions) -> Vec<i32> {
    let mut features = Vec::new();
    if !options.dtx {
        features.push(proto::AudioTrackFeature::TfNoDtx as i32);
    }
    if options.stereo {
        features.push(proto::AudioTrackFeature::TfStereo as i32);
    }
    features
}

/// A client id for a track, unique in the room; the server matches the media to the request
/// by it (the msid track id), so it uses only msid token characters.
pub(super) fn new_cid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("TR_local_{:x}_{}", nanos, COUNTER.fetch_add(1, Ordering::Relaxed))
}
