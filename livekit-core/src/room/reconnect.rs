//! Reconnecting after the connection to the server broke. `reconnect_policy` decides what to
//! try and when; this file carries it out: resume the session (reopen signalling, `SyncState`,
//! ICE restart, resend) or join anew (a full reconnect: participants, our tracks and
//! subscriptions restored), with the events in the official SDKs' order.

use std::collections::HashMap;
use std::sync::Arc;

use livekit_protocol as proto;

use super::events::{ConnectionState, DisconnectReason, RoomEvent};
use super::participant::RemoteParticipant;
use super::participant_state::ParticipantState;
use super::reconnect_policy::{AttemptFailure as PolicyFailure, Episode, Step, Trigger};
use super::RoomInner;
use crate::engine::AttemptFailure;

tokio::task_local! {
    /// Set while the reconnect task restores our state, so its own requests go out although
    /// the room is `Reconnecting` (everyone else's wait for the episode to end).
    static RESTORING: ();
}

/// Whether the caller is the reconnect task restoring our state.
pub(super) fn is_restoring() -> bool {
    RESTORING.try_with(|_| ()).is_ok()
}

/// Something broke: starts an episode, or tells the running one.
pub(super) fn start(room: &Arc<RoomInner>, trigger: Trigger) {
    if *room.state.borrow() == ConnectionState::Disconnected {
        return;
    }
    let mut episode = room.reconnect.lock();
    if let Some(running) = episode.as_mut() {
        log::info!("reconnecting: {trigger:?} during the episode; the next attempt joins anew");
        running.on_trigger(trigger);
        room.reconnect_wake.notify_one();
        return;
    }
    log::info!("the connection broke ({trigger:?}); reconnecting");
    *episode = Some(Episode::new(room.reconnect_policy, trigger));
    drop(episode);
    crate::tasks::spawn(run(room.clone()));
}

async fn run(room: Arc<RoomInner>) {
    let full_at_start = room.reconnect.lock().as_ref().is_some_and(Episode::is_full);
    if full_at_start {
        disconnect_remotes(&room);
    }
    if room.state.send_replace(ConnectionState::Reconnecting) != ConnectionState::Connected {
        room.reconnect.lock().take();
        return; // disconnected meanwhile
    }
    room.emit(RoomEvent::ConnectionStateChanged(ConnectionState::Reconnecting));
    room.emit(RoomEvent::Reconnecting);
    loop {
        let next = room.reconnect.lock().as_mut().map(|e| e.next_step(jitter()));
        let Some((step, delay)) = next else { return };
        if let Step::GiveUp(reason) = step {
            give_up(&room, reason).await;
            return;
        }
        if !delay.is_zero() {
            let _ = tokio::time::timeout(delay, room.reconnect_wake.notified()).await;
        }
        if *room.state.borrow() == ConnectionState::Disconnected {
            room.reconnect.lock().take();
            return;
        }
        let outcome = match step {
            Step::Resume => resume(&room).await,
            _ => RESTORING.scope((), full_reconnect(&room)).await,
        };
        if *room.state.borrow() == ConnectionState::Disconnected {
            // `disconnect()` ran while the attempt did: whatever it opened must close too.
            room.reconnect.lock().take();
            room.engine.close().await;
            return;
        }
        match outcome {
            Ok(()) => {
                room.reconnect.lock().take();
                room.state.send_replace(ConnectionState::Connected);
                log::info!("reconnected ({step:?})");
                room.emit(RoomEvent::ConnectionStateChanged(ConnectionState::Connected));
                room.emit(RoomEvent::Reconnected);
                return;
            }
            Err(failure) => {
                log::warn!("reconnect attempt ({step:?}) failed: {failure:?}");
                let policy_failure = match failure {
                    AttemptFailure::Refused(err) => PolicyFailure::Refused(err),
                    AttemptFailure::ServerLeave { reconnect, reason } => {
                        PolicyFailure::ServerLeave { reconnect, reason: DisconnectReason::from_proto(reason) }
                    }
                };
                let give_up_with = room.reconnect.lock().as_mut().and_then(|e| e.on_failure(&policy_failure));
                if let Some(reason) = give_up_with {
                    give_up(&room, reason).await;
                    return;
                }
                let now_full = room.reconnect.lock().as_ref().is_some_and(Episode::is_full);
                if now_full && step == Step::Resume {
                    disconnect_remotes(&room);
                }
            }
        }
    }
}

async fn give_up(room: &Arc<RoomInner>, reason: DisconnectReason) {
    log::warn!("reconnecting failed for good: {reason:?}");
    room.reconnect.lock().take();
    room.close(reason).await;
}

/// A uniform number in [0, 1] for the backoff's jitter (not for anything secret).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Resume: the server still has our session. Reopen signalling, tell the server what we
/// publish and subscribe to, restart ICE, and send again what it did not get.
async fn resume(room: &Arc<RoomInner>) -> Result<(), AttemptFailure> {
    let response = room.engine.resume_signal(proto::ReconnectReason::RrSignalDisconnected).await?;
    room.engine.send_signal(proto::signal_request::Message::SyncState(sync_state(room))).await;
    room.engine.finish_resume(response.last_message_seq).await
}

/// What we publish and how our subscriptions differ from the room's default.
fn sync_state(room: &RoomInner) -> proto::SyncState {
    let mut differing = Vec::new();
    for participant in room.remotes.read().values() {
        for (sid, publication) in participant.track_publications() {
            if publication.is_desired() != room.auto_subscribe {
                differing.push(sid);
            }
        }
    }
    proto::SyncState {
        subscription: Some(proto::UpdateSubscription {
            track_sids: differing,
            subscribe: !room.auto_subscribe,
            participant_tracks: Vec::new(),
        }),
        publish_tracks: room.published_for_sync(),
        ..Default::default()
    }
}

/// Full reconnect: a new session. Our sid changes; others see us leave and join again.
async fn full_reconnect(room: &Arc<RoomInner>) -> Result<(), AttemptFailure> {
    let join = room.engine.reconnect_full().await?;
    room.session_epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    *room.token.write() = room.engine.token();
    if let Some(info) = join.room.clone() {
        let mut current = room.info.write();
        current.sid = info.sid;
        current.metadata = info.metadata;
    }
    let local_info = join.participant.clone().unwrap_or_default();
    let before = {
        let state = room.local.state.read();
        OwnState { name: state.name.clone(), metadata: state.metadata.clone(), attributes: state.attributes.clone() }
    };
    // A new session numbers its updates from the start again.
    *room.local.state.write() = ParticipantState::from_local_info(&local_info);
    room.departed_sids.lock().clear();
    let wanted = std::mem::take(&mut *room.wanted_subscriptions.lock());
    for info in &join.other_participants {
        if info.identity == local_info.identity {
            continue; // our previous session, which the server is still closing
        }
        super::dispatch::add_remote(room, info);
    }
    restore_subscriptions(room, wanted).await;
    room.republish_local_tracks().await;
    restore_own_state(room, before).await;
    Ok(())
}

/// Before a full reconnect: every remote participant leaves (the new session sees them join
/// again), and calls and streams in flight fail, since the new session cannot finish them.
/// Manual subscription choices are remembered for the new session.
fn disconnect_remotes(room: &Arc<RoomInner>) {
    let remotes: Vec<RemoteParticipant> = room.remotes.write().drain().map(|(_, p)| p).collect();
    let mut wanted = room.wanted_subscriptions.lock();
    for participant in remotes {
        for (sid, publication) in participant.track_publications() {
            if publication.is_desired() != room.auto_subscribe {
                wanted.insert(sid, publication.is_desired());
            }
            if let Some(track) = publication.track() {
                track.end();
            }
        }
        room.emit(RoomEvent::ParticipantDisconnected(participant));
    }
    drop(wanted);
    room.rpc_client.fail_all_pending();
    room.streams.abort_all();
    *room.speakers.lock() = Default::default();
}

/// Subscriptions chosen by hand before the full reconnect, for tracks still published.
async fn restore_subscriptions(room: &Arc<RoomInner>, wanted: HashMap<String, bool>) {
    let participants: Vec<RemoteParticipant> = room.remotes.read().values().cloned().collect();
    for participant in participants {
        for (sid, publication) in participant.track_publications() {
            if let Some(subscribed) = wanted.get(&sid) {
                if let Err(err) = publication.set_subscribed(*subscribed).await {
                    log::warn!("restoring the subscription to {sid}: {err}");
                }
            }
        }
    }
}

/// Our name, metadata and attributes as they were before a full reconnect.
struct OwnState {
    name: String,
    metadata: String,
    attributes: HashMap<String, String>,
}

/// The new session starts from the token's name, metadata and attributes; ours may have
/// changed since we joined, so they are set again where they differ.
async fn restore_own_state(room: &Arc<RoomInner>, before: OwnState) {
    let (name, metadata, mut attributes) = {
        let now = room.local.state.read();
        (now.name.clone(), now.metadata.clone(), now.attributes.clone())
    };
    let local = room.local.clone();
    if before.name != name {
        if let Err(err) = local.set_name(&before.name).await {
            log::warn!("restoring our name after a reconnect: {err}");
        }
    }
    if before.metadata != metadata {
        if let Err(err) = local.set_metadata(&before.metadata).await {
            log::warn!("restoring our metadata after a reconnect: {err}");
        }
    }
    let mut changed: HashMap<String, String> = before
        .attributes
        .iter()
        .filter(|(k, v)| attributes.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    attributes.retain(|k, _| !before.attributes.contains_key(k));
    changed.extend(attributes.into_keys().map(|k| (k, String::new())));
    if !changed.is_empty() {
        if let Err(err) = local.set_attributes(changed).await {
            log::warn!("restoring our attributes after a reconnect: {err}");
        }
    }
}
