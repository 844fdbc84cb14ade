//! A participant's state as the server describes it, and the changes between two versions.
//! Pure: no I/O, no locks. The room applies `ParticipantInfo` updates through `apply`.

use std::collections::HashMap;

use livekit_protocol as proto;

use super::track_changes::{diff_tracks, TrackChange};
use crate::track::{ConnectionQuality, TrackPublicationInfo};

/// What a participant may do, from its token's grants (as the server reports them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParticipantPermissions {
    /// May subscribe to other participants' tracks.
    pub can_subscribe: bool,
    /// May publish tracks.
    pub can_publish: bool,
    /// May send data packets, streams and RPC.
    pub can_publish_data: bool,
    /// May change its own name, metadata and attributes.
    pub can_update_metadata: bool,
    /// Hidden from the other participants.
    pub hidden: bool,
}

impl From<&proto::ParticipantPermission> for ParticipantPermissions {
    fn from(p: &proto::ParticipantPermission) -> Self {
        Self {
            can_subscribe: p.can_subscribe,
            can_publish: p.can_publish,
            can_publish_data: p.can_publish_data,
            can_update_metadata: p.can_update_metadata,
            hidden: p.hidden,
        }
    }
}

/// The kind of participant (a person, an agent, an ingress...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParticipantKind {
    /// A regular client (also the kind reported when the server's kind is unknown).
    #[default]
    Standard,
    /// A LiveKit Ingress, bringing an outside stream into the room.
    Ingress,
    /// A LiveKit Egress, recording or streaming the room out.
    Egress,
    /// A phone call, through LiveKit SIP.
    Sip,
    /// An agent (LiveKit Agents).
    Agent,
    /// A LiveKit connector, bridging another service into the room.
    Connector,
}

impl ParticipantKind {
    fn from_proto(kind: i32) -> Self {
        use proto::participant_info::Kind;
        match Kind::try_from(kind) {
            Ok(Kind::Ingress) => Self::Ingress,
            Ok(Kind::Egress) => Self::Egress,
            Ok(Kind::Sip) => Self::Sip,
            Ok(Kind::Agent) => Self::Agent,
            Ok(Kind::Connector) => Self::Connector,
            _ => Self::Standard,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ParticipantState {
    pub sid: String,
    pub identity: String,
    pub name: String,
    pub metadata: String,
    /// At most `attribute_limits::MAX_REMOTE_ATTRIBUTES` of them (see that module).
    pub attributes: HashMap<String, String>,
    /// How many attributes the server sent beyond what we keep (0 normally).
    pub attributes_dropped: usize,
    /// Ourselves: our attributes are what we set, so they are kept whole (our setters wait
    /// until every key they set shows).
    pub is_local: bool,
    pub kind: ParticipantKind,
    pub permissions: Option<ParticipantPermissions>,
    /// The server bumps this on every change; older updates are ignored.
    pub version: u32,
    /// What the participant's client supports (data streams v2, compression...).
    pub client_protocol: i32,
    pub capabilities: Vec<i32>,
    /// When the participant joined, in milliseconds since the epoch (0 if unknown).
    pub joined_at_ms: i64,
    /// Published tracks, in the server's order.
    pub tracks: Vec<TrackPublicationInfo>,
    /// Live values the server reports apart from `ParticipantInfo`; `apply` keeps them.
    pub live: LiveState,
}

/// What the server reports about a participant between participant updates.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct LiveState {
    /// 0.0 (silent) to 1.0 (loudest); 0.0 when not speaking.
    pub audio_level: f32,
    pub is_speaking: bool,
    pub connection_quality: ConnectionQuality,
}

/// One observable change, in the order events are raised.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ParticipantChange {
    Name { old: String, new: String },
    Metadata { old: String, new: String },
    Attributes { changed: HashMap<String, String> },
    Permissions { old: Option<ParticipantPermissions>, new: Option<ParticipantPermissions> },
    Track(TrackChange),
}

impl ParticipantState {
    /// The state of a participant we did not know; warns when its attributes are over our limits.
    pub fn from_info(info: &proto::ParticipantInfo) -> Self {
        let state = Self::build(info, false);
        if state.attributes_dropped > 0 {
            state.warn_dropped();
        }
        state
    }

    /// Our own state, from the join response: nothing is dropped.
    pub fn from_local_info(info: &proto::ParticipantInfo) -> Self {
        Self::build(info, true)
    }

    fn warn_dropped(&self) {
        log::warn!(
            "keeping {} of {}'s attributes and dropping {} (limits {} keys, {} bytes)",
            self.attributes.len(),
            self.identity,
            self.attributes_dropped,
            super::attribute_limits::MAX_REMOTE_ATTRIBUTES,
            super::attribute_limits::MAX_REMOTE_ATTRIBUTES_BYTES
        );
    }

    fn build(info: &proto::ParticipantInfo, is_local: bool) -> Self {
        let (attributes, attributes_dropped) = match is_local {
            true => (info.attributes.clone(), 0),
            false => super::attribute_limits::bounded(&info.attributes),
        };
        Self {
            sid: info.sid.clone(),
            identity: info.identity.clone(),
            name: info.name.clone(),
            metadata: info.metadata.clone(),
            attributes,
            attributes_dropped,
            is_local,
            kind: ParticipantKind::from_proto(info.kind),
            permissions: info.permission.as_ref().map(ParticipantPermissions::from),
            version: info.version,
            client_protocol: info.client_protocol,
            capabilities: info.capabilities.clone(),
            joined_at_ms: if info.joined_at_ms != 0 { info.joined_at_ms } else { info.joined_at * 1000 },
            tracks: info.tracks.iter().filter_map(TrackPublicationInfo::from_proto).collect(),
            live: LiveState::default(),
        }
    }

    /// Applies a newer `ParticipantInfo` and returns what changed; a stale one changes nothing.
    pub fn apply(&mut self, info: &proto::ParticipantInfo) -> Vec<ParticipantChange> {
        if info.version != 0 && info.version <= self.version {
            return Vec::new();
        }
        let next = Self { live: self.live.clone(), ..Self::build(info, self.is_local) };
        // Once per crossing, not on every update: the server resends the whole map each time.
        if next.attributes_dropped > 0 && self.attributes_dropped == 0 {
            next.warn_dropped();
        }
        let mut changes = Vec::new();
        if next.name != self.name {
            changes.push(ParticipantChange::Name { old: self.name.clone(), new: next.name.clone() });
        }
        if next.metadata != self.metadata {
            changes.push(ParticipantChange::Metadata { old: self.metadata.clone(), new: next.metadata.clone() });
        }
        let changed = diff_attributes(&self.attributes, &next.attributes);
        if !changed.is_empty() {
            changes.push(ParticipantChange::Attributes { changed });
        }
        if next.permissions != self.permissions {
            changes
                .push(ParticipantChange::Permissions { old: self.permissions.clone(), new: next.permissions.clone() });
        }
        changes.extend(diff_tracks(&self.tracks, &next.tracks).into_iter().map(ParticipantChange::Track));
        *self = next;
        changes
    }
}

/// Keys whose value differs between `old` and `new`; a key gone from `new` maps to "".
pub(crate) fn diff_attributes(old: &HashMap<String, String>, new: &HashMap<String, String>) -> HashMap<String, String> {
    let mut changed: HashMap<String, String> =
        new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        changed.insert(key.clone(), String::new());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(version: u32, name: &str, metadata: &str, attrs: &[(&str, &str)]) -> proto::ParticipantInfo {
        proto::ParticipantInfo {
            sid: "PA_1".into(),
            identity: "alice".into(),
            name: name.into(),
            metadata: metadata.into(),
            attributes: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            version,
            ..Default::default()
        }
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn attribute_diff_reports_added_changed_and_deleted_keys() {
        let old = map(&[("keep", "1"), ("change", "a"), ("drop", "x")]);
        let new = map(&[("keep", "1"), ("change", "b"), ("add", "y")]);
        assert_eq!(diff_attributes(&old, &new), map(&[("change", "b"), ("add", "y"), ("drop", "")]));
    }

    #[test]
    fn apply_reports_each_change_in_order() {
        let mut state = ParticipantState::from_info(&info(1, "Al", "m1", &[("a", "1")]));
        let changes = state.apply(&info(2, "Alice", "m2", &[("b", "2")]));
        assert_eq!(
            changes,
            vec![
                ParticipantChange::Name { old: "Al".into(), new: "Alice".into() },
                ParticipantChange::Metadata { old: "m1".into(), new: "m2".into() },
                ParticipantChange::Attributes { changed: map(&[("a", ""), ("b", "2")]) },
            ]
        );
        assert_eq!(state.attributes, map(&[("b", "2")]));
        assert_eq!(state.version, 2);
    }

    #[test]
    fn remote_attributes_are_bounded_and_our_own_kept_whole() {
        use crate::room::attribute_limits::MAX_REMOTE_ATTRIBUTES;
        let keys: Vec<(String, String)> = (0..2000).map(|i| (format!("k{i:04}"), "v".to_string())).collect();
        let pairs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut remote = ParticipantState::from_info(&info(1, "n", "m", &[]));
        remote.apply(&info(2, "n", "m", &pairs));
        assert_eq!(
            (remote.attributes.len(), remote.attributes_dropped),
            (MAX_REMOTE_ATTRIBUTES, 2000 - MAX_REMOTE_ATTRIBUTES)
        );
        let mut local = ParticipantState::from_local_info(&info(1, "n", "m", &[]));
        local.apply(&info(2, "n", "m", &pairs));
        assert_eq!((local.attributes.len(), local.attributes_dropped), (2000, 0));
    }

    #[test]
    fn stale_versions_are_ignored() {
        let mut state = ParticipantState::from_info(&info(5, "n", "new", &[]));
        assert!(state.apply(&info(4, "n", "old", &[])).is_empty());
        assert!(state.apply(&info(5, "n", "old", &[])).is_empty());
        assert_eq!(state.metadata, "new");
    }

    #[test]
    fn unchanged_info_reports_nothing() {
        let mut state = ParticipantState::from_info(&info(1, "n", "m", &[("a", "1")]));
        assert!(state.apply(&info(2, "n", "m", &[("a", "1")])).is_empty());
    }

    #[test]
    fn permission_change_is_reported() {
        let mut state = ParticipantState::from_info(&info(1, "n", "m", &[]));
        let mut next = info(2, "n", "m", &[]);
        next.permission = Some(proto::ParticipantPermission { can_publish_data: true, ..Default::default() });
        let changes = state.apply(&next);
        assert!(
            matches!(&changes[..], [ParticipantChange::Permissions { old: None, new: Some(p) }] if p.can_publish_data)
        );
    }
}
