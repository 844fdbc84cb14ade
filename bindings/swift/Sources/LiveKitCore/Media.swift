// Audio and video for Swift apps: frames of a remote track as an `AsyncSequence`, PCM as
// `[Int16]`, and publishing through `LocalParticipant`. The sources, tracks and streams are the
// generated objects (LiveKitUniFFI) used as they are; this file only adapts their shapes.
// Generated and checked in this repository, not compiled (no Swift toolchain; see README.md).
import Foundation
import LiveKitUniFFI

/// A generated stream object whose `next()` gives its frames in turn, `nil` at the end.
public protocol FrameStream: Sendable {
    associatedtype Frame
    func next() async -> Frame?
}

extension LiveKitUniFFI.AudioStream: FrameStream {}
extension LiveKitUniFFI.VideoStream: FrameStream {}

/// A stream's frames as an `AsyncSequence`: `for await frame in stream.frames { ... }`. Ends
/// when the track ends or after `stream.cancel()`. Iterate it from one task at a time.
public struct Frames<Stream: FrameStream>: AsyncSequence, Sendable {
    public typealias Element = Stream.Frame
    let stream: Stream

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: Stream
        public mutating func next() async -> Stream.Frame? {
            await stream.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: stream)
    }
}

/// The decoded 10 ms frames of an `AudioStream`.
public typealias AudioFrames = Frames<LiveKitUniFFI.AudioStream>
/// The decoded pictures of a `VideoStream`.
public typealias VideoFrames = Frames<LiveKitUniFFI.VideoStream>

public extension LiveKitUniFFI.AudioStream {
    /// The frames as an `AsyncSequence`.
    var frames: AudioFrames { AudioFrames(stream: self) }
}

public extension LiveKitUniFFI.VideoStream {
    /// The pictures as an `AsyncSequence`.
    var frames: VideoFrames { VideoFrames(stream: self) }
}

public extension LiveKitUniFFI.AudioSource {
    /// Queues interleaved 16-bit samples and returns once the source's queue is back under its
    /// size. The samples are copied once into `Data` in native byte order, which is
    /// little-endian on every Apple platform, as the core expects.
    func captureFrame(samples: [Int16]) async throws {
        let pcm = samples.withUnsafeBufferPointer { Data(buffer: $0) }
        try await captureFrame(pcm: pcm)
    }
}

public extension LiveKitUniFFI.AudioFrame {
    /// The frame's interleaved samples (one copy out of its little-endian bytes).
    var samples: [Int16] { int16Samples(data) }
}

public extension LiveKitUniFFI.AudioResampler {
    /// Resamples interleaved samples; returns what they complete (see `push(pcm:)`).
    func push(samples: [Int16]) throws -> [Int16] {
        int16Samples(try push(pcm: samples.withUnsafeBufferPointer { Data(buffer: $0) }))
    }

    /// Ends the resampler's stream; returns the rest of its output as samples.
    func flushSamples() throws -> [Int16] {
        int16Samples(try flush())
    }
}

/// Little-endian 16-bit PCM bytes as samples (Apple platforms are little-endian).
private func int16Samples(_ data: Data) -> [Int16] {
    var samples = [Int16](repeating: 0, count: data.count / 2)
    _ = samples.withUnsafeMutableBytes { data.copyBytes(to: $0) }
    return samples
}

public extension LocalParticipant {
    /// Publishes a track made with `LocalTrack.createAudioTrack` / `createVideoTrack`; others
    /// see it once this returns.
    @discardableResult
    func publish(track: LiveKitUniFFI.LocalTrack, options: TrackPublishOptions) async throws -> LocalTrackPublication {
        try await ffi().publishTrack(track: track, options: options)
    }

    /// Stops publishing the track with this sid.
    func unpublish(trackSid: String) async throws {
        try await ffi().unpublishTrack(sid: trackSid)
    }
}
