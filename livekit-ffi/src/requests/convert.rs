//! Core types to protocol messages and back. Pure functions, no handles and no I/O.

use std::collections::HashMap;

use livekit_core::data::{
    ByteStreamInfo, OperationType, ParticipantIdentity, SendByteOptions, SendTextOptions, StreamByteOptions,
    StreamTextOptions, TextStreamInfo,
};
use livekit_core::{DisconnectReason, Participant, ParticipantKind, ParticipantPermissions};

use crate::proto;

pub fn participant_info(participant: &Participant) -> proto::ParticipantInfo {
    let state = if participant.is_local() { proto::ParticipantState::Joined } else { proto::ParticipantState::Active };
    proto::ParticipantInfo {
        sid: participant.sid(),
        name: participant.name(),
        identity: participant.identity(),
        state: state as i32,
        metadata: participant.metadata(),
        attributes: participant.attributes(),
        kind: participant_kind(participant.kind()) as i32,
        disconnect_reason: proto::DisconnectReason::UnknownReason as i32,
        joined_at: participant.joined_at_ms(),
        kind_details: Vec::new(),
        permission: participant.permissions().as_ref().map(permission),
        client_protocol: participant.client_protocol(),
    }
}

fn participant_kind(kind: ParticipantKind) -> proto::ParticipantKind {
    match kind {
        ParticipantKind::Standard => proto::ParticipantKind::Standard,
        ParticipantKind::Ingress => proto::ParticipantKind::Ingress,
        ParticipantKind::Egress => proto::ParticipantKind::Egress,
        ParticipantKind::Sip => proto::ParticipantKind::Sip,
        ParticipantKind::Agent => proto::ParticipantKind::Agent,
        ParticipantKind::Connector => proto::ParticipantKind::Connector,
    }
}

pub fn permission(permissions: &ParticipantPermissions) -> proto::ParticipantPermission {
    proto::ParticipantPermission {
        can_subscribe: permissions.can_subscribe,
        can_publish: permissions.can_publish,
        can_publish_data: permissions.can_publish_data,
        hidden: permissions.hidden,
        can_publish_sources: Vec::new(),
        can_update_metadata: permissions.can_update_metadata,
        can_subscribe_metrics: false,
        can_manage_agent_session: false,
    }
}

pub fn disconnect_reason(reason: DisconnectReason) -> proto::DisconnectReason {
    use proto::DisconnectReason as P;
    match reason {
        DisconnectReason::ClientInitiated => P::ClientInitiated,
        DisconnectReason::DuplicateIdentity => P::DuplicateIdentity,
        DisconnectReason::ServerShutdown => P::ServerShutdown,
        DisconnectReason::ParticipantRemoved => P::ParticipantRemoved,
        DisconnectReason::RoomDeleted => P::RoomDeleted,
        DisconnectReason::StateMismatch => P::StateMismatch,
        DisconnectReason::JoinFailure => P::JoinFailure,
        DisconnectReason::RoomClosed => P::RoomClosed,
        DisconnectReason::ConnectionLost => P::SignalClose,
        DisconnectReason::Other => P::UnknownReason,
    }
}

pub fn attribute_entries(attributes: HashMap<String, String>) -> Vec<proto::AttributesEntry> {
    let mut entries: Vec<_> =
        attributes.into_iter().map(|(key, value)| proto::AttributesEntry { key, value }).collect();
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    entries
}

pub fn byte_stream_info(info: &ByteStreamInfo) -> proto::ByteStreamInfo {
    proto::ByteStreamInfo {
        stream_id: info.id.clone(),
        timestamp: info.timestamp.timestamp_millis(),
        mime_type: info.mime_type.clone(),
        topic: info.topic.clone(),
        total_length: info.total_length,
        attributes: info.attributes(),
        name: info.name.clone(),
        encryption_type: proto::EncryptionType::None as i32,
    }
}

pub fn text_stream_info(info: &TextStreamInfo) -> proto::TextStreamInfo {
    proto::TextStreamInfo {
        stream_id: info.id.clone(),
        timestamp: info.timestamp.timestamp_millis(),
        mime_type: info.mime_type.clone(),
        topic: info.topic.clone(),
        total_length: info.total_length,
        attributes: info.attributes(),
        operation_type: operation_to_proto(info.operation_type) as i32,
        version: Some(info.version),
        reply_to_stream_id: info.reply_to_stream_id.clone(),
        attached_stream_ids: info.attached_stream_ids.clone(),
        generated: Some(info.generated),
        encryption_type: proto::EncryptionType::None as i32,
    }
}

fn operation_to_proto(operation: OperationType) -> proto::text_stream_info::OperationType {
    use proto::text_stream_info::OperationType as P;
    match operation {
        OperationType::Create => P::Create,
        OperationType::Update => P::Update,
        OperationType::Delete => P::Delete,
        OperationType::Reaction => P::Reaction,
    }
}

fn operation_from_proto(operation: i32) -> OperationType {
    use proto::text_stream_info::OperationType as P;
    match P::try_from(operation) {
        Ok(P::Update) => OperationType::Update,
        Ok(P::Delete) => OperationType::Delete,
        Ok(P::Reaction) => OperationType::Reaction,
        _ => OperationType::Create,
    }
}

fn identities(identities: Vec<String>) -> Vec<ParticipantIdentity> {
    identities.into_iter().map(ParticipantIdentity).collect()
}

/// The core's text options (one-shot and writer) share these fields; `$options` is consumed.
macro_rules! text_options {
    ($core:ty, $options:expr) => {{
        let options = $options;
        let mut out = <$core>::new_with_topic(options.topic);
        out.attributes = options.attributes;
        out.destination_identities = identities(options.destination_identities);
        out.id = options.id;
        out.operation_type = options.operation_type.map(operation_from_proto);
        out.version = options.version;
        out.reply_to_stream_id = options.reply_to_stream_id;
        out.attached_stream_ids = options.attached_stream_ids;
        out.generated = options.generated;
        out.sender_identity = options.sender_identity.map(ParticipantIdentity);
        (out, options.compress)
    }};
}

/// The core's byte options (one-shot and writer) share these fields; `$options` is consumed.
macro_rules! byte_options {
    ($core:ty, $options:expr) => {{
        let options = $options;
        let mut out = <$core>::new_with_topic(options.topic);
        out.attributes = options.attributes;
        out.destination_identities = identities(options.destination_identities);
        out.id = options.id;
        out.mime_type = options.mime_type;
        out.name = options.name;
        out.sender_identity = options.sender_identity.map(ParticipantIdentity);
        (out, options.compress, options.total_length)
    }};
}

pub fn send_text_options(options: proto::StreamTextOptions) -> SendTextOptions {
    let (mut out, compress) = text_options!(SendTextOptions, options);
    out.compress = compress;
    out
}

/// Writers never compress (the core's rule), so `compress` is not read.
pub fn stream_text_options(options: proto::StreamTextOptions) -> StreamTextOptions {
    text_options!(StreamTextOptions, options).0
}

/// One-shot sends know their length themselves, so `total_length` is not read.
pub fn send_byte_options(options: proto::StreamByteOptions) -> SendByteOptions {
    let (mut out, compress, _) = byte_options!(SendByteOptions, options);
    out.compress = compress;
    out
}

pub fn stream_byte_options(options: proto::StreamByteOptions) -> StreamByteOptions {
    let (mut out, _, total_length) = byte_options!(StreamByteOptions, options);
    out.total_length = total_length;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_entries_come_sorted_by_key() {
        let entries = attribute_entries([("b".into(), "2".into()), ("a".into(), "".into())].into());
        let keys: Vec<_> = entries.iter().map(|e| (e.key.as_str(), e.value.as_str())).collect();
        assert_eq!(keys, [("a", ""), ("b", "2")]);
    }

    #[test]
    fn text_options_keep_every_field() {
        let options = send_text_options(proto::StreamTextOptions {
            topic: "chat".into(),
            attributes: [("k".into(), "v".into())].into(),
            destination_identities: vec!["bob".into()],
            id: Some("id-1".into()),
            operation_type: Some(proto::text_stream_info::OperationType::Reaction as i32),
            version: Some(3),
            reply_to_stream_id: Some("id-0".into()),
            attached_stream_ids: vec!["f".into()],
            generated: Some(true),
            compress: Some(true),
            sender_identity: Some("alice".into()),
        });
        assert_eq!(options.topic, "chat");
        assert_eq!(options.destination_identities, vec![ParticipantIdentity("bob".into())]);
        assert_eq!(options.operation_type, Some(OperationType::Reaction));
        assert_eq!(options.sender_identity, Some(ParticipantIdentity("alice".into())));
        assert_eq!((options.version, options.generated, options.compress), (Some(3), Some(true), Some(true)));
    }
}
