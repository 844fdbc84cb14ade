//! User data packets: options, limits and the wire packet. Pure; the engine sends the bytes.

use livekit_protocol as proto;

use crate::engine::DataPacketKind;
use crate::error::{Error, Result};

/// Largest payload `publish_data` accepts. SCTP makes messages over 16 KiB (protocol wrapper
/// included) impractical, and LiveKit's documentation asks to stay under 15 KiB. For lossy
/// packets it also advises 1,300 bytes, so that one lost fragment does not lose the message.
pub const MAX_DATA_PAYLOAD: usize = 15 * 1024;

/// Longest identity the server accepts (its default `max_participant_identity_length`).
pub const MAX_IDENTITY_LENGTH: usize = 256;

/// How `LocalParticipant::publish_data` sends a packet. The default is lossy, with no topic,
/// to everyone.
#[derive(Clone, Debug, Default)]
pub struct DataOptions {
    /// Reliable (ordered, retransmitted) or lossy (unordered, no retransmission).
    pub reliable: bool,
    /// A topic receivers can tell packets apart by (`RoomEvent::DataReceived::topic`).
    pub topic: Option<String>,
    /// Empty: everyone in the room. Identities not in the room are dropped by the server.
    pub destination_identities: Vec<String>,
}

impl DataOptions {
    /// Reliable delivery, no topic, to everyone.
    pub fn reliable() -> Self {
        Self { reliable: true, ..Default::default() }
    }

    /// Lossy delivery, no topic, to everyone (the same as `DataOptions::default()`).
    pub fn lossy() -> Self {
        Self::default()
    }

    /// Sets the topic.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Sends only to these identities instead of everyone (replacing any set before).
    pub fn with_destinations<I: IntoIterator<Item = S>, S: Into<String>>(mut self, identities: I) -> Self {
        self.destination_identities = identities.into_iter().map(Into::into).collect();
        self
    }

    pub(crate) fn kind(&self) -> DataPacketKind {
        if self.reliable {
            DataPacketKind::Reliable
        } else {
            DataPacketKind::Lossy
        }
    }
}

/// Checks the payload and options, then builds the packet. The server stamps the sender.
pub(crate) fn user_packet(payload: Vec<u8>, options: &DataOptions) -> Result<proto::DataPacket> {
    if payload.len() > MAX_DATA_PAYLOAD {
        return Err(Error::LimitExceeded {
            what: "the data payload".into(),
            limit: MAX_DATA_PAYLOAD,
            actual: payload.len(),
        });
    }
    for identity in &options.destination_identities {
        if identity.is_empty() || identity.len() > MAX_IDENTITY_LENGTH {
            return Err(Error::InvalidArgument(format!(
                "destination identity {identity:?} must be 1 to {MAX_IDENTITY_LENGTH} bytes"
            )));
        }
    }
    let kind = match options.kind() {
        DataPacketKind::Reliable => proto::data_packet::Kind::Reliable,
        DataPacketKind::Lossy => proto::data_packet::Kind::Lossy,
    };
    // `kind` is deprecated but still read by older receivers; the official clients set it too.
    #[allow(deprecated)]
    Ok(proto::DataPacket {
        kind: kind as i32,
        destination_identities: options.destination_identities.clone(),
        value: Some(proto::data_packet::Value::User(proto::UserPacket {
            payload,
            topic: options.topic.clone(),
            ..Default::default()
        })),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_payload_names_the_limit() {
        let err = user_packet(vec![0; MAX_DATA_PAYLOAD + 1], &DataOptions::reliable()).unwrap_err();
        assert_eq!(
            err,
            Error::LimitExceeded {
                what: "the data payload".into(),
                limit: MAX_DATA_PAYLOAD,
                actual: MAX_DATA_PAYLOAD + 1
            }
        );
    }

    #[test]
    fn payload_at_the_limit_is_accepted_with_topic_and_destinations() {
        let options = DataOptions::reliable().with_topic("chat").with_destinations(["bob"]);
        let packet = user_packet(vec![7; MAX_DATA_PAYLOAD], &options).unwrap();
        assert_eq!(packet.destination_identities, vec!["bob".to_string()]);
        let Some(proto::data_packet::Value::User(user)) = packet.value else { panic!("not a user packet") };
        assert_eq!(user.topic.as_deref(), Some("chat"));
        assert_eq!(user.payload.len(), MAX_DATA_PAYLOAD);
    }

    #[test]
    fn empty_destination_identity_is_rejected() {
        let options = DataOptions::reliable().with_destinations([""]);
        assert!(matches!(user_packet(vec![1], &options), Err(Error::InvalidArgument(_))));
    }
}
