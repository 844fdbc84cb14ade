// Stream readers (async sequences of chunks) and writers with the official Swift SDK's shapes:
// `for try await chunk in reader`, `readAll()`, `writeToFile()`, `writer.write(_:)`, `close()`.
import Foundation
import LiveKitUniFFI

/// An incoming byte stream: iterate its chunks, or `readAll()`, or `writeToFile()` (one of them).
public final class ByteStreamReader: AsyncSequence, @unchecked Sendable {
    public typealias Element = Data
    public let info: ByteStreamInfo
    let ffi: LiveKitUniFFI.ByteStreamReader

    init(_ ffi: LiveKitUniFFI.ByteStreamReader) throws {
        self.ffi = ffi
        self.info = try ffi.info()
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let ffi: LiveKitUniFFI.ByteStreamReader
        /// The next chunk; nil at the end; throws when the sender aborted the stream.
        public mutating func next() async throws -> Data? {
            try await ffi.readChunk()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(ffi: ffi)
    }

    public func readAll() async throws -> Data {
        try await ffi.readAll()
    }

    /// Writes the stream into `directory` (the temporary one by default) under the sender's
    /// name or `name`; names with a path are refused. Returns the file's URL.
    public func writeToFile(in directory: URL = FileManager.default.temporaryDirectory, name: String? = nil) async throws -> URL {
        let path = try await ffi.writeToFile(directory: directory.path, nameOverride: name)
        return URL(fileURLWithPath: path)
    }

    /// Stops receiving; a read in progress throws.
    public func cancel() async {
        await ffi.cancel()
    }
}

/// An incoming text stream: iterate its text chunks or `readAll()`.
public final class TextStreamReader: AsyncSequence, @unchecked Sendable {
    public typealias Element = String
    public let info: TextStreamInfo
    let ffi: LiveKitUniFFI.TextStreamReader

    init(_ ffi: LiveKitUniFFI.TextStreamReader) throws {
        self.ffi = ffi
        self.info = try ffi.info()
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let ffi: LiveKitUniFFI.TextStreamReader
        public mutating func next() async throws -> String? {
            try await ffi.readChunk()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(ffi: ffi)
    }

    public func readAll() async throws -> String {
        try await ffi.readAll()
    }

    public func cancel() async {
        await ffi.cancel()
    }
}

/// An outgoing byte stream from `streamBytes(for:)`.
public final class ByteStreamWriter: @unchecked Sendable {
    public let info: ByteStreamInfo
    private let ffi: LiveKitUniFFI.ByteStreamWriter

    init(_ ffi: LiveKitUniFFI.ByteStreamWriter) {
        self.ffi = ffi
        self.info = ffi.info()
    }

    public func write(_ data: Data) async throws {
        try await ffi.write(bytes: data)
    }

    /// Ends the stream; with a `reason` it aborts it and the receivers' reads throw.
    public func close(reason: String? = nil) async throws {
        if let reason {
            try await ffi.abort(reason: reason)
        } else {
            try await ffi.finish()
        }
    }
}

/// An outgoing text stream from `streamText(for:)`.
public final class TextStreamWriter: @unchecked Sendable {
    public let info: TextStreamInfo
    private let ffi: LiveKitUniFFI.TextStreamWriter

    init(_ ffi: LiveKitUniFFI.TextStreamWriter) {
        self.ffi = ffi
        self.info = ffi.info()
    }

    public func write(_ text: String) async throws {
        try await ffi.write(text: text)
    }

    public func close(reason: String? = nil) async throws {
        if let reason {
            try await ffi.abort(reason: reason)
        } else {
            try await ffi.finish()
        }
    }
}

// The foreign-trait implementations behind the closures above. The core calls the handlers on
// its own threads; each stream gets its own task so the core is never blocked.

final class ByteStreamHandlerBox: LiveKitUniFFI.ByteStreamHandler, @unchecked Sendable {
    private let body: @Sendable (ByteStreamReader, String) async throws -> Void

    init(_ body: @escaping @Sendable (ByteStreamReader, String) async throws -> Void) {
        self.body = body
    }

    func onStream(reader: LiveKitUniFFI.ByteStreamReader, participantIdentity: String) {
        guard let reader = try? ByteStreamReader(reader) else { return }
        let body = self.body
        Task { try? await body(reader, participantIdentity) }
    }
}

final class TextStreamHandlerBox: LiveKitUniFFI.TextStreamHandler, @unchecked Sendable {
    private let body: @Sendable (TextStreamReader, String) async throws -> Void

    init(_ body: @escaping @Sendable (TextStreamReader, String) async throws -> Void) {
        self.body = body
    }

    func onStream(reader: LiveKitUniFFI.TextStreamReader, participantIdentity: String) {
        guard let reader = try? TextStreamReader(reader) else { return }
        let body = self.body
        Task { try? await body(reader, participantIdentity) }
    }
}

final class ProgressBox: LiveKitUniFFI.StreamProgressListener, @unchecked Sendable {
    private let body: @Sendable (Double) -> Void

    init(_ body: @escaping @Sendable (Double) -> Void) {
        self.body = body
    }

    func onProgress(bytesProcessed: UInt64, bytesTotal: UInt64?) {
        guard let total = bytesTotal else { return }
        body(total == 0 ? 1 : Double(bytesProcessed) / Double(total))
    }
}

final class RpcHandlerBox: LiveKitUniFFI.RpcHandler, @unchecked Sendable {
    private let body: @Sendable (RpcInvocation) async throws -> String

    init(_ body: @escaping @Sendable (RpcInvocation) async throws -> String) {
        self.body = body
    }

    func handle(invocation: RpcInvocation) async throws -> String {
        try await body(invocation)
    }
}
