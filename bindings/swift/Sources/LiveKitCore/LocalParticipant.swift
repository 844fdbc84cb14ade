// This client in the room: state setters, data, streams and RPC, shaped like the official
// Swift SDK (`try await room.localParticipant.set(attributes:)`).
import Foundation
import LiveKitUniFFI

public final class LocalParticipant: @unchecked Sendable {
    private let room: Room

    init(room: Room) {
        self.room = room
    }

    func ffi() throws -> LiveKitUniFFI.LocalParticipant {
        try room.ffi().localParticipant()
    }

    public var identity: String? { try? ffi().identity() }
    public var name: String? { try? ffi().name() }
    public var metadata: String? { try? ffi().metadata() }
    public var attributes: [String: String] { (try? ffi().attributes()) ?? [:] }

    /// Sets the given keys and keeps the others; "" deletes a key. Needs `canUpdateOwnMetadata`.
    public func set(attributes: [String: String]) async throws {
        try await ffi().setAttributes(attributes: attributes)
    }

    /// Replaces the metadata; "" is refused (the server reads it as "no change").
    public func set(metadata: String) async throws {
        try await ffi().setMetadata(metadata: metadata)
    }

    public func set(name: String) async throws {
        try await ffi().setName(name: name)
    }

    /// Sends a data packet (at most 15 KiB) to the room or to `options.destinationIdentities`.
    public func publish(data: Data, options: DataOptions = DataOptions()) async throws {
        try await ffi().publishData(payload: data, options: options)
    }

    /// Opens a byte stream on `topic` to write incrementally.
    public func streamBytes(for topic: String, options: StreamOptions? = nil) async throws -> ByteStreamWriter {
        var options = options ?? StreamOptions(topic: topic)
        options.topic = topic
        let writer = try await ffi().streamBytes(options: options)
        return ByteStreamWriter(writer)
    }

    /// Opens a text stream on `topic` to write incrementally.
    public func streamText(for topic: String, options: StreamOptions? = nil) async throws -> TextStreamWriter {
        var options = options ?? StreamOptions(topic: topic)
        options.topic = topic
        let writer = try await ffi().streamText(options: options)
        return TextStreamWriter(writer)
    }

    /// Sends a file without loading it whole; `onProgress` hears the fraction sent (0...1).
    @discardableResult
    public func sendFile(
        _ fileURL: URL,
        for topic: String,
        onProgress: (@Sendable (Double) -> Void)? = nil
    ) async throws -> ByteStreamInfo {
        let listener = onProgress.map(ProgressBox.init)
        return try await ffi().sendFile(path: fileURL.path, options: SendByteOptions(topic: topic), progress: listener)
    }

    @discardableResult
    public func send(text: String, for topic: String) async throws -> TextStreamInfo {
        try await ffi().sendText(text: text, options: SendTextOptions(topic: topic))
    }

    /// Streams on `topic` start `onNewStream` (the room holds the handlers).
    public func registerByteStreamHandler(
        for topic: String,
        onNewStream: @escaping @Sendable (ByteStreamReader, String) async throws -> Void
    ) async throws {
        try room.registerByteStreamHandler(for: topic, onNewStream: onNewStream)
    }

    public func registerTextStreamHandler(
        for topic: String,
        onNewStream: @escaping @Sendable (TextStreamReader, String) async throws -> Void
    ) async throws {
        try room.registerTextStreamHandler(for: topic, onNewStream: onNewStream)
    }

    /// Calls `method` on another participant; throws `RpcError.Failed` with the code.
    public func performRpc(
        destinationIdentity: String,
        method: String,
        payload: String,
        responseTimeout: TimeInterval? = nil
    ) async throws -> String {
        try await ffi().performRpc(destinationIdentity: destinationIdentity, method: method, payload: payload,
                                   responseTimeoutMs: responseTimeout.map { UInt64($0 * 1000) })
    }

    /// Answers calls to `method`; throw `RpcError.Failed` to answer with an error code.
    public func registerRpcMethod(
        _ method: String,
        handler: @escaping @Sendable (RpcInvocation) async throws -> String
    ) throws {
        try ffi().registerRpcMethod(method: method, handler: RpcHandlerBox(handler))
    }

    public func unregisterRpcMethod(_ method: String) throws {
        try ffi().unregisterRpcMethod(method: method)
    }
}
