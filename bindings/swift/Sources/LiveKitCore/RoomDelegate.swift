import Foundation

/// Hears the room's events, in order, on a background task. Every method has an empty default.
public protocol RoomDelegate: AnyObject {
    func room(_ room: Room, participantDidConnect participant: Participant)
    func room(_ room: Room, participantDidDisconnect participant: Participant)
    /// Only the keys that changed; a deleted key maps to "".
    func room(_ room: Room, participant: Participant, didUpdateAttributes changedAttributes: [String: String])
    func room(_ room: Room, participant: Participant, didUpdateMetadata newMetadata: String?)
    func room(_ room: Room, participant: Participant, didUpdateName newName: String)
    /// The room metadata, which is also the session metadata.
    func room(_ room: Room, didUpdateMetadata newMetadata: String?)
    /// `participant` is nil for data the server API sent, or from a participant not announced yet
    /// (then `senderIdentity` still names it).
    func room(_ room: Room, participant: Participant?, senderIdentity: String?, didReceiveData data: Data, forTopic topic: String?)
    /// A byte stream on a topic without a registered handler.
    func room(_ room: Room, didOpenByteStream reader: ByteStreamReader, from participantIdentity: String)
    /// A text stream on a topic without a registered handler.
    func room(_ room: Room, didOpenTextStream reader: TextStreamReader, from participantIdentity: String)
    func room(_ room: Room, didDisconnectWithReason reason: DisconnectReason)
    /// The connection broke; the room is restoring it (sends wait meanwhile).
    func roomIsReconnecting(_ room: Room)
    /// The connection is back (after `roomIsReconnecting`).
    func roomDidReconnect(_ room: Room)
    /// A remote track's media reaches us: read it with `AudioStream.fromTrack` / `VideoStream.fromTrack`.
    func room(_ room: Room, participant: Participant, didSubscribeTrack track: RemoteTrack, publication: RemoteTrackPublication)
    /// A remote track's media stopped reaching us; its streams end.
    func room(_ room: Room, participant: Participant, didUnsubscribeTrack track: RemoteTrack, publication: RemoteTrackPublication)
    /// A participant (remote or ourselves) muted or unmuted a track.
    func room(_ room: Room, participant: Participant, publication: TrackPublication, didUpdateIsMuted isMuted: Bool)
    /// Who speaks now, loudest first.
    func room(_ room: Room, didUpdateSpeakingParticipants participants: [Participant])
}

public extension RoomDelegate {
    func room(_ room: Room, participantDidConnect participant: Participant) {}
    func room(_ room: Room, participantDidDisconnect participant: Participant) {}
    func room(_ room: Room, participant: Participant, didUpdateAttributes changedAttributes: [String: String]) {}
    func room(_ room: Room, participant: Participant, didUpdateMetadata newMetadata: String?) {}
    func room(_ room: Room, participant: Participant, didUpdateName newName: String) {}
    func room(_ room: Room, didUpdateMetadata newMetadata: String?) {}
    func room(_ room: Room, participant: Participant?, senderIdentity: String?, didReceiveData data: Data, forTopic topic: String?) {}
    func room(_ room: Room, didOpenByteStream reader: ByteStreamReader, from participantIdentity: String) {}
    func room(_ room: Room, didOpenTextStream reader: TextStreamReader, from participantIdentity: String) {}
    func room(_ room: Room, didDisconnectWithReason reason: DisconnectReason) {}
    func roomIsReconnecting(_ room: Room) {}
    func roomDidReconnect(_ room: Room) {}
    func room(_ room: Room, participant: Participant, didSubscribeTrack track: RemoteTrack, publication: RemoteTrackPublication) {}
    func room(_ room: Room, participant: Participant, didUnsubscribeTrack track: RemoteTrack, publication: RemoteTrackPublication) {}
    func room(_ room: Room, participant: Participant, publication: TrackPublication, didUpdateIsMuted isMuted: Bool) {}
    func room(_ room: Room, didUpdateSpeakingParticipants participants: [Participant]) {}
}
