// The room as Swift apps use it: `connect`, a `RoomDelegate` fed from the core's one event
// stream (`nextEvent()`), participants, session metadata, stream handlers and simulated faults.
import Foundation
import LiveKitUniFFI

public final class Room: @unchecked Sendable {
    public weak var delegate: RoomDelegate?
    private let lock = NSLock()
    private var joined: LiveKitUniFFI.Room?
    private var eventTask: Task<Void, Never>?

    public init(delegate: RoomDelegate? = nil) {
        self.delegate = delegate
    }

    deinit {
        // The event task holds the native room; leaving ends its event stream, and the task.
        if let joined {
            Task { try? await joined.disconnect() }
        }
    }

    /// Joins the room; returns once data can flow. Events then reach the delegate in order.
    public func connect(url: String, token: String, options: RoomOptions = RoomOptions()) async throws {
        let room = try await LiveKitUniFFI.Room.connect(url: url, token: token, options: options)
        lock.lock()
        joined = room
        lock.unlock()
        eventTask = Task { [weak self] in
            while let event = await room.nextEvent() {
                guard let self else { return }
                self.dispatch(event)
            }
        }
    }

    /// Causes a fault the room must survive, for tests of reconnection: the delegate hears
    /// `roomIsReconnecting` and `roomDidReconnect` as for the real fault.
    public func simulate(scenario: SimulateScenario) async throws {
        try await ffi().simulateScenario(scenario: scenario)
    }

    /// Leaves the room; the delegate hears `didDisconnectWithReason` last.
    public func disconnect() async throws {
        try await ffi().disconnect()
    }

    public var localParticipant: LocalParticipant { LocalParticipant(room: self) }

    /// Remote participants by identity; empty before `connect`.
    public var remoteParticipants: [String: Participant] {
        (try? ffi().remoteParticipants().mapValues(Participant.init)) ?? [:]
    }

    public var name: String? { try? ffi().name() }
    public var sid: String? { try? ffi().sid() }
    /// The room metadata, which is also the session metadata.
    public var metadata: String? { try? ffi().metadata() }
    public var connectionState: ConnectionState { (try? ffi().connectionState()) ?? .disconnected }

    /// Sets the session metadata; the token must hold `roomAdmin` for this room.
    public func set(sessionMetadata: String) async throws {
        try await ffi().setSessionMetadata(value: sessionMetadata)
    }

    /// Byte streams on `topic` start `onNewStream`, one task per stream, in the order the
    /// sender opened them.
    public func registerByteStreamHandler(
        for topic: String,
        onNewStream: @escaping @Sendable (ByteStreamReader, String) async throws -> Void
    ) throws {
        try ffi().registerByteStreamHandler(topic: topic, handler: ByteStreamHandlerBox(onNewStream))
    }

    public func registerTextStreamHandler(
        for topic: String,
        onNewStream: @escaping @Sendable (TextStreamReader, String) async throws -> Void
    ) throws {
        try ffi().registerTextStreamHandler(topic: topic, handler: TextStreamHandlerBox(onNewStream))
    }

    public func unregisterByteStreamHandler(for topic: String) throws {
        try ffi().unregisterByteStreamHandler(topic: topic)
    }

    public func unregisterTextStreamHandler(for topic: String) throws {
        try ffi().unregisterTextStreamHandler(topic: topic)
    }

    func ffi() throws -> LiveKitUniFFI.Room {
        lock.lock()
        defer { lock.unlock() }
        guard let joined else { throw LiveKitError.Disconnected }
        return joined
    }

    private func dispatch(_ event: RoomEvent) {
        guard let delegate else { return }
        switch event {
        case let .participantConnected(participant):
            delegate.room(self, participantDidConnect: Participant(participant))
        case let .participantDisconnected(participant):
            delegate.room(self, participantDidDisconnect: Participant(participant))
        case let .participantAttributesChanged(participant, changedAttributes):
            delegate.room(self, participant: Participant(participant), didUpdateAttributes: changedAttributes)
        case let .participantMetadataChanged(participant, _, metadata):
            delegate.room(self, participant: Participant(participant), didUpdateMetadata: metadata)
        case let .participantNameChanged(participant, _, name):
            delegate.room(self, participant: Participant(participant), didUpdateName: name)
        case let .roomMetadataChanged(_, metadata):
            delegate.room(self, didUpdateMetadata: metadata)
        case let .dataReceived(payload, topic, _, participant, senderIdentity):
            delegate.room(self, participant: participant.map(Participant.init), senderIdentity: senderIdentity,
                          didReceiveData: payload, forTopic: topic)
        case let .byteStreamOpened(_, reader, participantIdentity):
            if let reader = try? ByteStreamReader(reader) {
                delegate.room(self, didOpenByteStream: reader, from: participantIdentity)
            }
        case let .textStreamOpened(_, reader, participantIdentity):
            if let reader = try? TextStreamReader(reader) {
                delegate.room(self, didOpenTextStream: reader, from: participantIdentity)
            }
        case let .disconnected(reason):
            delegate.room(self, didDisconnectWithReason: reason)
        case .reconnecting:
            delegate.roomIsReconnecting(self)
        case .reconnected:
            delegate.roomDidReconnect(self)
        case let .trackSubscribed(track, publication, participant):
            delegate.room(self, participant: Participant(participant), didSubscribeTrack: track, publication: publication)
        case let .trackUnsubscribed(track, publication, participant):
            delegate.room(self, participant: Participant(participant), didUnsubscribeTrack: track, publication: publication)
        case let .trackMuted(participant, publication):
            delegate.room(self, participant: Participant(participant), publication: publication, didUpdateIsMuted: true)
        case let .trackUnmuted(participant, publication):
            delegate.room(self, participant: Participant(participant), publication: publication, didUpdateIsMuted: false)
        case let .activeSpeakersChanged(speakers):
            delegate.room(self, didUpdateSpeakingParticipants: speakers.map(Participant.init))
        case .connected, .connectionStateChanged, .participantPermissionsChanged, .trackPublished, .trackUnpublished,
             .localTrackPublished, .localTrackUnpublished, .localTrackSubscribed, .trackSubscriptionFailed,
             .trackStreamStateChanged, .trackSubscriptionPermissionChanged, .connectionQualityChanged:
            break
        }
    }
}
