//! Connect, disconnect, the ready step and the room handle. A connected room's events go out
//! through `room_events`, held back until the client says it is ready for them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use livekit_core::{Participant, PeerConnectionMode, Room, RoomOptions};
use tokio::sync::watch;

use super::convert;
use super::room_events;
use super::track_events::{self, TrackEvents};
use crate::error::FfiResult;
use crate::handles::FfiHandle;
use crate::proto::{self, connect_callback, ffi_event};
use crate::server::server;

/// How long a disconnect waits for the room's last events to go out before it answers.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected room as the client holds it.
pub struct FfiRoom {
    pub room: Room,
    /// Opens the gate of the room's events (the ready request, or a disconnect).
    ready: watch::Sender<bool>,
    /// Becomes true once the room's last event (`eos`) went out.
    finished: watch::Receiver<bool>,
}

impl FfiRoom {
    /// Lets held events go and waits until the room's event stream ended with `eos`.
    async fn flush_events(&self) {
        self.ready.send_replace(true);
        let mut finished = self.finished.clone();
        let _ = tokio::time::timeout(FLUSH_TIMEOUT, finished.wait_for(|done| *done)).await;
    }
}

pub fn connect(request: proto::ConnectRequest) -> proto::ConnectResponse {
    let async_id = server().async_id(request.request_async_id);
    let on_panic = |async_id, error| connect_failed(async_id, error);
    server().spawn_callback(async_id, join(async_id, request), on_panic);
    proto::ConnectResponse { async_id }
}

fn connect_failed(async_id: u64, error: String) -> ffi_event::Message {
    ffi_event::Message::Connect(proto::ConnectCallback {
        async_id,
        message: Some(connect_callback::Message::Error(error)),
    })
}

fn core_options(options: &proto::RoomOptions) -> Result<RoomOptions, String> {
    #[allow(deprecated)] // the old field still carries the option from older SDKs
    let wants_encryption = options.e2ee.is_some() || options.encryption.is_some();
    if wants_encryption {
        return Err("end-to-end encryption is not implemented by livekit-core yet: connect without the \
                    encryption option"
            .into());
    }
    if options.rtc_config.is_some() {
        log::warn!("RoomOptions.rtc_config is ignored: livekit-core uses the ICE servers the server sends");
    }
    let defaults = RoomOptions::default();
    Ok(RoomOptions {
        auto_subscribe: options.auto_subscribe.unwrap_or(defaults.auto_subscribe),
        connect_timeout: options.connect_timeout_ms.map(Duration::from_millis).unwrap_or(defaults.connect_timeout),
        join_retries: options.join_retries.unwrap_or(defaults.join_retries),
        // As in the official library: on (the default) still falls back to two on an old server.
        peer_connection_mode: match options.single_peer_connection {
            Some(false) => PeerConnectionMode::Dual,
            Some(true) | None => PeerConnectionMode::Auto,
        },
        ..defaults
    })
}

async fn join(async_id: u64, request: proto::ConnectRequest) -> ffi_event::Message {
    let options = match core_options(&request.options) {
        Ok(options) => options,
        Err(error) => return connect_failed(async_id, error),
    };
    let (room, events) = match Room::connect(&request.url, &request.token, options).await {
        Ok(joined) => joined,
        Err(error) => return connect_failed(async_id, error.to_string()),
    };
    let handles = &server().handles;
    let local = Participant::Local(room.local_participant());
    let local_handle = handles.insert(FfiHandle::LocalParticipant(room.local_participant()));
    let mut announced = HashSet::new();
    let mut tracks = TrackEvents::new(local.identity());
    let participants = room
        .remote_participants()
        .into_values()
        .map(|remote| {
            announced.insert(remote.identity());
            let info = convert::participant_info(&Participant::Remote(remote.clone()));
            let publications = track_events::owned_publications(&remote, &mut tracks.announced);
            let handle = handles.insert(FfiHandle::RemoteParticipant(remote));
            connect_callback::ParticipantWithTracks { participant: owned_participant(handle, info), publications }
        })
        .collect();

    let (ready, ready_gate) = watch::channel(false);
    let (finished_tx, finished) = watch::channel(false);
    let room_handle = handles.next_id();
    let info = room_info(&room);
    let forwarder = room_events::Forwarder { room: room.clone(), room_handle, announced, tracks };
    server().spawn(forwarder.run(events, ready_gate, finished_tx));
    handles.insert_at(room_handle, FfiHandle::Room(Arc::new(FfiRoom { room, ready, finished })));

    ffi_event::Message::Connect(proto::ConnectCallback {
        async_id,
        message: Some(connect_callback::Message::Result(connect_callback::Result {
            room: proto::OwnedRoom { handle: proto::FfiOwnedHandle { id: room_handle }, info },
            local_participant: owned_participant(local_handle, convert::participant_info(&local)),
            participants,
        })),
    })
}

pub fn owned_participant(handle: u64, info: proto::ParticipantInfo) -> proto::OwnedParticipant {
    proto::OwnedParticipant { handle: proto::FfiOwnedHandle { id: handle }, info }
}

/// What the core knows of the room; the rest of RoomInfo (timeouts, counts) is not tracked yet.
fn room_info(room: &Room) -> proto::RoomInfo {
    let sid = room.sid();
    proto::RoomInfo {
        sid: (!sid.is_empty()).then_some(sid),
        name: room.name(),
        metadata: room.metadata(),
        lossy_dc_buffered_amount_low_threshold: 0,
        reliable_dc_buffered_amount_low_threshold: 0,
        empty_timeout: 0,
        departure_timeout: 0,
        max_participants: 0,
        creation_time: 0,
        num_participants: room.remote_participants().len() as u32 + 1,
        num_publishers: 0,
        active_recording: false,
    }
}

pub fn ready_for_room_event(request: proto::ReadyForRoomEventRequest) -> FfiResult<proto::ReadyForRoomEventResponse> {
    server().handles.room(request.room_handle)?.ready.send_replace(true);
    Ok(proto::ReadyForRoomEventResponse {})
}

pub fn disconnect(request: proto::DisconnectRequest) -> FfiResult<proto::DisconnectResponse> {
    let room = server().handles.room(request.room_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let leave = async move {
        room.room.disconnect().await.ok();
        room.flush_events().await;
        ffi_event::Message::Disconnect(proto::DisconnectCallback { async_id })
    };
    server().spawn_callback(async_id, leave, |async_id, _| {
        ffi_event::Message::Disconnect(proto::DisconnectCallback { async_id })
    });
    Ok(proto::DisconnectResponse { async_id })
}

/// The client dropped the room's handle: leave, as a forgotten room must not stay joined.
pub fn leave_in_background(room: Arc<FfiRoom>) {
    server().spawn(async move {
        room.room.disconnect().await.ok();
        room.flush_events().await;
    });
}

/// The protocol's dispose request: leaves every room; the library stays initialized.
pub fn dispose(request: proto::DisposeRequest) -> proto::DisposeResponse {
    if !request.r#async {
        server().close_rooms_and_wait();
        return proto::DisposeResponse { async_id: None };
    }
    let async_id = server().async_id(None);
    let close = async move {
        tokio::task::spawn_blocking(|| server().close_rooms_and_wait()).await.ok();
        ffi_event::Message::Dispose(proto::DisposeCallback { async_id })
    };
    server().spawn_callback(async_id, close, |async_id, _| {
        ffi_event::Message::Dispose(proto::DisposeCallback { async_id })
    });
    proto::DisposeResponse { async_id: Some(async_id) }
}
