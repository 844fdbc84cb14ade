//! Signal responses as a broken or hostile server could send them, into the room's plain
//! bookkeeping: participant state and its diffs, track publications, active speakers, and
//! the enum mappings, in the order the messages arrive.

use livekit_protocol as proto;
use prost::Message;

use super::framing::length_prefixed;
use crate::room::fuzz_support::ServerModel;

/// Decodes each length-prefixed message of `data` as a `SignalResponse` and applies it.
pub fn signal_responses(data: &[u8]) {
    let mut model = ServerModel::default();
    for bytes in length_prefixed(data) {
        let Ok(response) = proto::SignalResponse::decode(bytes) else { continue };
        let Some(message) = response.message else { continue };
        model.apply(message);
    }
}
