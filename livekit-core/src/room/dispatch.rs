//! Turns engine events into room state changes and `RoomEvent`s, in the order they arrived.

use std::sync::Arc;

use livekit_protocol as proto;
use tokio::sync::mpsc;

use super::events::{DisconnectReason, RoomEvent};
use super::participant::{Participant, RemoteParticipant};
use super::participant_state::{ParticipantChange, ParticipantState};
use super::reconnect;
use super::reconnect_policy::Trigger;
use super::rpc;
use super::track_dispatch;
use super::RoomInner;
use crate::engine::{DataPacketKind, EngineEvent};

pub(super) async fn run(room: Arc<RoomInner>, mut events: mpsc::UnboundedReceiver<EngineEvent>) {
    while let Some(event) = events.recv().await {
        match event {
            EngineEvent::Signal(message) => on_signal(&room, *message).await,
            EngineEvent::Data { packet, kind } => on_data(&room, *packet, kind),
            EngineEvent::RemoteTrack(track) => track_dispatch::on_remote_track(&room, track),
            EngineEvent::RemoteTrackEnded { track_sid } => track_dispatch::on_remote_track_ended(&room, &track_sid),
            EngineEvent::SignalLost { reason } => {
                log::info!("signalling lost: {reason}");
                reconnect::start(&room, Trigger::SignalLost);
            }
            EngineEvent::PeerFailed { reason } => {
                log::info!("{reason}");
                reconnect::start(&room, Trigger::PeerFailed);
            }
        }
    }
}

async fn on_signal(room: &Arc<RoomInner>, message: proto::signal_response::Message) {
    use proto::signal_response::Message as M;
    match message {
        M::Update(update) => {
            for info in &update.participants {
                on_participant_info(room, info);
            }
        }
        M::RoomUpdate(update) => {
            if let Some(info) = update.room {
                let old_metadata = std::mem::replace(&mut room.info.write().metadata, info.metadata.clone());
                room.state_changed.send_modify(|v| *v += 1);
                if old_metadata != info.metadata {
                    room.emit(RoomEvent::RoomMetadataChanged { old_metadata, metadata: info.metadata });
                }
            }
        }
        M::RequestResponse(proto::RequestResponse {
            request: Some(proto::request_response::Request::AddTrack(request)),
            reason,
            message,
            ..
        }) => room.on_add_track_refused(&request, reason, &message),
        M::RequestResponse(response) => room.resolve_request(response),
        M::TrackPublished(response) => room.on_track_published(response),
        M::TrackUnpublished(response) => room.on_server_unpublished(&response.track_sid).await,
        M::Mute(request) => room.on_server_mute(&request),
        M::TrackSubscribed(subscribed) => {
            room.emit(RoomEvent::LocalTrackSubscribed { track_sid: subscribed.track_sid })
        }
        M::RefreshToken(token) => *room.token.write() = token,
        M::SpeakersChanged(changed) => track_dispatch::on_speakers_changed(room, &changed.speakers),
        M::ConnectionQuality(update) => track_dispatch::on_connection_quality(room, &update),
        M::StreamStateUpdate(update) => track_dispatch::on_stream_state(room, &update),
        M::SubscriptionPermissionUpdate(update) => track_dispatch::on_subscription_permission(room, &update),
        M::SubscriptionResponse(response) => track_dispatch::on_subscription_response(room, &response),
        M::SubscribedQualityUpdate(update) => room.on_subscribed_quality(&update),
        M::Leave(leave) => on_leave(room, &leave).await,
        other => log::trace!("unhandled signal message: {other:?}"),
    }
}

/// The server asks us to leave, or to resume or rejoin.
async fn on_leave(room: &Arc<RoomInner>, leave: &proto::LeaveRequest) {
    use proto::leave_request::Action;
    log::info!("the server sent leave: action {:?}, reason {:?}", leave.action(), leave.reason());
    match leave.action() {
        Action::Resume => reconnect::start(room, Trigger::ServerResume),
        Action::Reconnect => reconnect::start(room, Trigger::ServerReconnect),
        Action::Disconnect => room.close(DisconnectReason::from_proto(leave.reason)).await,
    }
}

/// One participant's new state: ours, a newcomer, a departure, or a change to someone known.
fn on_participant_info(room: &RoomInner, info: &proto::ParticipantInfo) {
    let (local_sid, local_identity) = {
        let local = room.local.state.read();
        (local.sid.clone(), local.identity.clone())
    };
    if info.identity == local_identity && info.sid != local_sid {
        return; // our previous session (before a full reconnect), as the server closes it
    }
    if info.sid == local_sid {
        let changes = room.local.state.write().apply(info);
        room.state_changed.send_modify(|v| *v += 1);
        emit_changes(room, Participant::Local(room.local.clone()), changes);
        return;
    }
    let departed = info.state == proto::participant_info::State::Disconnected as i32;
    let known = room.remotes.read().get(&info.identity).cloned();
    match known {
        // An update for an older session of this identity (it rejoined): nothing to do.
        Some(p) if p.state.read().sid != info.sid && departed => {}
        Some(p) if departed => {
            room.remotes.write().remove(&info.identity);
            forget_sender(room, info);
            room.emit(RoomEvent::ParticipantDisconnected(p));
        }
        Some(p) if p.state.read().sid == info.sid => {
            let changes = p.state.write().apply(info);
            emit_remote_changes(room, &p, changes);
        }
        // A new session under a known identity: the old one is gone.
        Some(old) => {
            forget_sender(room, info);
            room.emit(RoomEvent::ParticipantDisconnected(old));
            add_remote(room, info);
        }
        // Never announced (it left within the server's batching window), yet it may have
        // begun streams or calls: those must fail rather than hang.
        None if departed => forget_sender(room, info),
        None => add_remote(room, info),
    }
}

/// A participant left: its half-sent streams fail, calls waiting on it end, and stream packets
/// of its session that are still on their way are dropped.
fn forget_sender(room: &RoomInner, info: &proto::ParticipantInfo) {
    room.departed_sids.lock().insert(info.sid.clone());
    track_dispatch::forget_speaker(room, &info.sid);
    room.streams.abort_streams_from(&info.identity);
    room.rpc_client.handle_participant_disconnected(&info.identity.clone().into());
}

pub(super) fn add_remote(room: &RoomInner, info: &proto::ParticipantInfo) {
    let participant =
        RemoteParticipant::new(ParticipantState::from_info(info), room.local.room.clone(), room.auto_subscribe);
    room.remotes.write().insert(info.identity.clone(), participant.clone());
    room.emit(RoomEvent::ParticipantConnected(participant.clone()));
    // A newcomer's first update often carries its tracks already; announce each, as for later ones.
    for publication in participant.track_publications().into_values() {
        room.emit(RoomEvent::TrackPublished { publication, participant: participant.clone() });
    }
}

/// A remote participant's changes: track changes update its publications, the rest are events.
fn emit_remote_changes(room: &RoomInner, participant: &RemoteParticipant, changes: Vec<ParticipantChange>) {
    let (tracks, others): (Vec<_>, Vec<_>) =
        changes.into_iter().partition(|change| matches!(change, ParticipantChange::Track(_)));
    emit_changes(room, Participant::Remote(participant.clone()), others);
    for change in tracks {
        if let ParticipantChange::Track(change) = change {
            track_dispatch::on_remote_track_change(room, participant, change);
        }
    }
}

fn emit_changes(room: &RoomInner, participant: Participant, changes: Vec<ParticipantChange>) {
    for change in changes {
        let participant = participant.clone();
        room.emit(match change {
            ParticipantChange::Name { old, new } => {
                RoomEvent::ParticipantNameChanged { participant, old_name: old, name: new }
            }
            ParticipantChange::Metadata { old, new } => {
                RoomEvent::ParticipantMetadataChanged { participant, old_metadata: old, metadata: new }
            }
            ParticipantChange::Attributes { changed } => {
                RoomEvent::ParticipantAttributesChanged { participant, changed_attributes: changed }
            }
            ParticipantChange::Permissions { old, new } => {
                RoomEvent::ParticipantPermissionsChanged { participant, old_permissions: old, permissions: new }
            }
            // Our own tracks: the local participant's publish and mute calls raise their events.
            ParticipantChange::Track(_) => continue,
        });
    }
}

fn on_data(room: &Arc<RoomInner>, packet: proto::DataPacket, kind: DataPacketKind) {
    use proto::data_packet::Value;
    // Servers before `DataPacket.participant_identity` stamped the sender on the user packet.
    #[allow(deprecated)]
    let sender = match (&packet.value, packet.participant_identity.is_empty()) {
        (Some(Value::User(user)), true) => user.participant_identity.clone(),
        _ => packet.participant_identity.clone(),
    };
    match packet.value {
        Some(Value::User(user)) => {
            let participant = room.remotes.read().get(&sender).cloned();
            room.emit(RoomEvent::DataReceived {
                payload: Arc::new(user.payload),
                topic: user.topic,
                kind,
                participant,
                sender_identity: (!sender.is_empty()).then_some(sender),
            });
        }
        Some(value @ (Value::StreamHeader(_) | Value::StreamChunk(_) | Value::StreamTrailer(_))) => {
            if room.departed_sids.lock().contains(&packet.participant_sid) {
                log::debug!("dropping a stream packet from {sender}, who already left");
            } else {
                room.streams.on_packet(value, sender);
            }
        }
        Some(Value::RpcRequest(request)) if !sender.is_empty() => {
            rpc::handle_request_packet(room.clone(), request, sender)
        }
        Some(Value::RpcResponse(response)) => rpc::handle_response_packet(room, response),
        Some(Value::RpcAck(ack)) => room.rpc_client.handle_incoming_rpc_ack(ack.request_id),
        // Servers before `SpeakersChanged` on signalling sent speakers as data.
        #[allow(deprecated)]
        Some(Value::Speaker(update)) => track_dispatch::on_speakers_changed(room, &update.speakers),
        _ => log::trace!("ignoring a data packet of another kind"),
    }
}
