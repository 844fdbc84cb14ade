//! What crosses from the native room into the Python listen task: the core's `RoomEvent`s plus
//! stream and RPC hand-offs, each converted to a tuple `(name, *args)` using the official SDK's
//! event names. The Python layer maps participants to its wrapper objects and emits.

use livekit_core::data::{ByteStreamReader, RpcInvocationData, TextStreamReader};
use livekit_core::room::ParticipantPermissions;
use livekit_core::{
    ConnectionState, DataPacketKind, DisconnectReason, Participant, RemoteParticipant, RemoteTrackPublication,
    RoomEvent, SubscriptionPermission, TrackPublication,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::media::{stream_state_to_py, NativeLocalPublication, NativeRemotePublication, NativeRemoteTrack};
use crate::participant::{quality_to_py, NativeParticipant};
use crate::rpc::RpcResponder;
use crate::streams::{NativeByteReader, NativeTextReader};

pub enum NativeEvent {
    Room(RoomEvent),
    ByteStream(ByteStreamReader, String),
    TextStream(TextStreamReader, String),
    Rpc { method: String, data: RpcInvocationData, responder: RpcResponder },
}

pub fn to_py_list(py: Python<'_>, batch: Vec<NativeEvent>) -> PyResult<Bound<'_, PyAny>> {
    let list = PyList::empty(py);
    for event in batch {
        if let Some(tuple) = to_py(py, event)? {
            list.append(tuple)?;
        }
    }
    Ok(list.into_any())
}

fn participant(p: Participant) -> NativeParticipant {
    NativeParticipant::new(p)
}

fn remote(p: RemoteParticipant) -> NativeParticipant {
    NativeParticipant::new(Participant::Remote(p))
}

fn remote_pub(publication: RemoteTrackPublication) -> NativeRemotePublication {
    NativeRemotePublication::new(publication)
}

fn any_pub(py: Python<'_>, publication: TrackPublication) -> PyResult<Bound<'_, PyAny>> {
    match publication {
        TrackPublication::Local(p) => NativeLocalPublication::new(p).into_bound_py_any(py),
        TrackPublication::Remote(p) => NativeRemotePublication::new(p).into_bound_py_any(py),
    }
}

fn tuple<'py>(py: Python<'py>, items: Vec<Bound<'py, PyAny>>) -> PyResult<Option<Bound<'py, PyTuple>>> {
    PyTuple::new(py, items).map(Some)
}

macro_rules! items {
    ($py:expr; $($item:expr),* $(,)?) => {
        vec![$(pyo3::IntoPyObjectExt::into_bound_py_any($item, $py)?),*]
    };
}

fn to_py(py: Python<'_>, event: NativeEvent) -> PyResult<Option<Bound<'_, PyTuple>>> {
    let event = match event {
        NativeEvent::Room(event) => event,
        NativeEvent::ByteStream(reader, identity) => {
            let reader = NativeByteReader::new(reader);
            return tuple(py, items![py; "byte_stream", reader, identity]);
        }
        NativeEvent::TextStream(reader, identity) => {
            let reader = NativeTextReader::new(reader);
            return tuple(py, items![py; "text_stream", reader, identity]);
        }
        NativeEvent::Rpc { method, data, responder } => {
            let timeout = data.response_timeout.as_secs_f64();
            return tuple(
                py,
                items![py; "rpc", responder, method, data.request_id, data.caller_identity.0, data.payload, timeout],
            );
        }
    };
    match event {
        RoomEvent::Connected => tuple(py, items![py; "connected"]),
        RoomEvent::Disconnected { reason } => tuple(py, items![py; "disconnected", disconnect_reason(reason)]),
        RoomEvent::ConnectionStateChanged(state) => {
            let state = match state {
                ConnectionState::Connected => 1,
                ConnectionState::Reconnecting => 2,
                ConnectionState::Disconnected => 0,
            };
            tuple(py, items![py; "connection_state_changed", state])
        }
        RoomEvent::Reconnecting => tuple(py, items![py; "reconnecting"]),
        RoomEvent::Reconnected => tuple(py, items![py; "reconnected"]),
        RoomEvent::ParticipantConnected(p) => {
            tuple(py, items![py; "participant_connected", participant(Participant::Remote(p))])
        }
        RoomEvent::ParticipantDisconnected(p) => {
            tuple(py, items![py; "participant_disconnected", participant(Participant::Remote(p))])
        }
        RoomEvent::ParticipantAttributesChanged { participant: p, changed_attributes } => {
            tuple(py, items![py; "participant_attributes_changed", changed_attributes, participant(p)])
        }
        RoomEvent::ParticipantMetadataChanged { participant: p, old_metadata, metadata } => {
            tuple(py, items![py; "participant_metadata_changed", participant(p), old_metadata, metadata])
        }
        RoomEvent::ParticipantNameChanged { participant: p, old_name, name } => {
            tuple(py, items![py; "participant_name_changed", participant(p), old_name, name])
        }
        RoomEvent::ParticipantPermissionsChanged { participant: p, old_permissions, permissions } => {
            let old = permissions_dict(py, old_permissions)?;
            let new = permissions_dict(py, permissions)?;
            tuple(py, items![py; "participant_permissions_changed", participant(p), old, new])
        }
        RoomEvent::RoomMetadataChanged { old_metadata, metadata } => {
            tuple(py, items![py; "room_metadata_changed", old_metadata, metadata])
        }
        RoomEvent::DataReceived { payload, topic, kind, participant: p, sender_identity } => {
            let kind = match kind {
                DataPacketKind::Lossy => 0,
                DataPacketKind::Reliable => 1,
            };
            let payload = PyBytes::new(py, &payload);
            let p = p.map(|p| participant(Participant::Remote(p)));
            tuple(py, items![py; "data_received", payload, kind, p, topic, sender_identity])
        }
        RoomEvent::TrackPublished { publication, participant: p } => {
            tuple(py, items![py; "track_published", remote_pub(publication), remote(p)])
        }
        RoomEvent::TrackUnpublished { publication, participant: p } => {
            tuple(py, items![py; "track_unpublished", remote_pub(publication), remote(p)])
        }
        RoomEvent::TrackSubscribed { track, publication, participant: p } => {
            tuple(py, items![py; "track_subscribed", NativeRemoteTrack::new(track), remote_pub(publication), remote(p)])
        }
        RoomEvent::TrackUnsubscribed { track, publication, participant: p } => tuple(
            py,
            items![py; "track_unsubscribed", NativeRemoteTrack::new(track), remote_pub(publication), remote(p)],
        ),
        RoomEvent::TrackSubscriptionFailed { participant: p, track_sid, error } => {
            tuple(py, items![py; "track_subscription_failed", remote(p), track_sid, error])
        }
        RoomEvent::LocalTrackPublished { publication, track: _, previous_sid } => {
            tuple(py, items![py; "local_track_published", NativeLocalPublication::new(publication), previous_sid])
        }
        RoomEvent::LocalTrackUnpublished { publication } => {
            tuple(py, items![py; "local_track_unpublished", NativeLocalPublication::new(publication)])
        }
        RoomEvent::LocalTrackSubscribed { track_sid } => tuple(py, items![py; "local_track_subscribed", track_sid]),
        RoomEvent::TrackMuted { participant: p, publication } => {
            tuple(py, items![py; "track_muted", participant(p), any_pub(py, publication)?])
        }
        RoomEvent::TrackUnmuted { participant: p, publication } => {
            tuple(py, items![py; "track_unmuted", participant(p), any_pub(py, publication)?])
        }
        RoomEvent::TrackStreamStateChanged { participant: p, publication, stream_state } => tuple(
            py,
            items![py; "track_stream_state_changed", remote(p), remote_pub(publication), stream_state_to_py(stream_state)],
        ),
        RoomEvent::TrackSubscriptionPermissionChanged { participant: p, publication, permission } => {
            let allowed = permission == SubscriptionPermission::Allowed;
            tuple(py, items![py; "track_subscription_permission_changed", remote(p), remote_pub(publication), allowed])
        }
        RoomEvent::ActiveSpeakersChanged { speakers } => {
            let speakers: Vec<NativeParticipant> = speakers.into_iter().map(participant).collect();
            tuple(py, items![py; "active_speakers_changed", speakers])
        }
        RoomEvent::ConnectionQualityChanged { participant: p, quality } => {
            tuple(py, items![py; "connection_quality_changed", participant(p), quality_to_py(quality)])
        }
        // Streams on topics without a handler: the official SDK drops them too.
        _ => Ok(None),
    }
}

/// `livekit.rtc.DisconnectReason` numbers.
fn disconnect_reason(reason: DisconnectReason) -> i32 {
    match reason {
        DisconnectReason::ClientInitiated => 1,
        DisconnectReason::DuplicateIdentity => 2,
        DisconnectReason::ServerShutdown => 3,
        DisconnectReason::ParticipantRemoved => 4,
        DisconnectReason::RoomDeleted => 5,
        DisconnectReason::StateMismatch => 6,
        DisconnectReason::JoinFailure => 7,
        DisconnectReason::RoomClosed => 10,
        DisconnectReason::ConnectionLost => 9,
        DisconnectReason::Other => 0,
    }
}

pub fn permissions_dict(py: Python<'_>, p: Option<ParticipantPermissions>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let Some(p) = p else { return Ok(None) };
    let dict = PyDict::new(py);
    dict.set_item("can_subscribe", p.can_subscribe)?;
    dict.set_item("can_publish", p.can_publish)?;
    dict.set_item("can_publish_data", p.can_publish_data)?;
    dict.set_item("can_update_metadata", p.can_update_metadata)?;
    dict.set_item("hidden", p.hidden)?;
    Ok(Some(dict))
}
