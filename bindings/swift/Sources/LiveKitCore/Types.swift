// The generated types apps use as they are, under the LiveKitCore module, so that
// `import LiveKitCore` is enough (re-exporting LiveKitUniFFI would make `Room` ambiguous).
import Foundation
import LiveKitUniFFI

public typealias RoomOptions = LiveKitUniFFI.RoomOptions
public typealias DataOptions = LiveKitUniFFI.DataOptions
public typealias ConnectionState = LiveKitUniFFI.ConnectionState
/// A fault for `Room.simulate(scenario:)` to cause (tests of reconnection).
public typealias SimulateScenario = LiveKitUniFFI.SimulateScenario
public typealias DisconnectReason = LiveKitUniFFI.DisconnectReason
public typealias DataPacketKind = LiveKitUniFFI.DataPacketKind
public typealias ParticipantKind = LiveKitUniFFI.ParticipantKind
public typealias ParticipantPermissions = LiveKitUniFFI.ParticipantPermissions
public typealias ByteStreamInfo = LiveKitUniFFI.ByteStreamInfo
public typealias TextStreamInfo = LiveKitUniFFI.TextStreamInfo
public typealias SendByteOptions = LiveKitUniFFI.SendByteOptions
public typealias SendTextOptions = LiveKitUniFFI.SendTextOptions
public typealias StreamOptions = LiveKitUniFFI.StreamOptions
public typealias RpcInvocation = LiveKitUniFFI.RpcInvocation
/// Thrown by every call that can fail; one case per thing a caller can act on.
public typealias LiveKitError = LiveKitUniFFI.LiveKitError
/// Thrown by `performRpc`, and by RPC handlers to answer with an error code.
public typealias RpcError = LiveKitUniFFI.RpcError
public typealias TokenOptions = LiveKitUniFFI.TokenOptions
public typealias TokenGrants = LiveKitUniFFI.TokenGrants

/// A signed access token (for tools and tests that hold the API secret).
public func createAccessToken(apiKey: String, apiSecret: String, options: TokenOptions) throws -> String {
    try LiveKitUniFFI.createAccessToken(apiKey: apiKey, apiSecret: apiSecret, options: options)
}

public extension ByteStreamInfo {
    /// The total size when the sender announced it (`sendFile` and `sendBytes` do).
    var size: UInt64? { totalLength }
    var timestamp: Date { Date(timeIntervalSince1970: TimeInterval(timestampMs) / 1000) }
}

public extension TextStreamInfo {
    var timestamp: Date { Date(timeIntervalSince1970: TimeInterval(timestampMs) / 1000) }
}

/// A participant's live state (local or remote), read from the core on each access.
public final class Participant: @unchecked Sendable {
    let ffi: LiveKitUniFFI.Participant

    init(_ ffi: LiveKitUniFFI.Participant) {
        self.ffi = ffi
    }

    public var sid: String { ffi.sid() }
    public var identity: String { ffi.identity() }
    public var name: String { ffi.name() }
    public var metadata: String { ffi.metadata() }
    public var attributes: [String: String] { ffi.attributes() }
    public var kind: ParticipantKind { ffi.kind() }
    public var permissions: ParticipantPermissions? { ffi.permissions() }
    public var isLocal: Bool { ffi.isLocal() }
}
