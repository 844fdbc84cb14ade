//! Audio: sources, local tracks, remote tracks and publications, and decoded streams.
//!
//! PCM crosses the boundary as a `bytearray` of native-endian int16 samples: a frame is copied
//! once on its way in (the caller's buffer into the core's `Vec<i16>`, with the GIL held) and once
//! on its way out (the core's samples into a new `bytearray`, which the Python `AudioFrame` wraps
//! without copying). Remote tracks and publications are live handles: every read is current.

use std::sync::Arc;

use futures_util::FutureExt;
use livekit_core::{
    AudioFrame, AudioSource, AudioStream, Error, LocalAudioTrack, LocalTrack, LocalTrackPublication, RemoteAudioTrack,
    RemoteTrack, RemoteTrackPublication, TrackKind, TrackSource,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyTuple};
use tokio::sync::{watch, Mutex};

use crate::errors::{to_py, IntoPyResult};
use crate::runtime::{self, awaitable, awaitable_eager, Lazy};

/// A stream read returns the frames already decoded, up to this many, so Python wakes once per
/// batch rather than once per 10 ms frame when it falls behind.
const MAX_FRAMES_PER_READ: usize = 50;

/// `InvalidArgumentError` (a `ValueError`), as the core raises for bad arguments.
fn invalid(message: String) -> PyErr {
    to_py(Error::InvalidArgument(message))
}

/// `livekit.rtc.TrackSource` numbers.
pub fn source_to_py(source: TrackSource) -> i32 {
    match source {
        TrackSource::Unknown => 0,
        TrackSource::Camera => 1,
        TrackSource::Microphone => 2,
        TrackSource::ScreenShare => 3,
        TrackSource::ScreenShareAudio => 4,
    }
}

pub fn source_from_py(source: i32) -> PyResult<TrackSource> {
    Ok(match source {
        0 => TrackSource::Unknown,
        1 => TrackSource::Camera,
        2 => TrackSource::Microphone,
        3 => TrackSource::ScreenShare,
        4 => TrackSource::ScreenShareAudio,
        other => return Err(invalid(format!("{other} is not a TrackSource value (0..=4)"))),
    })
}

/// `livekit.rtc.TrackKind` numbers.
pub fn kind_to_py(kind: TrackKind) -> i32 {
    match kind {
        TrackKind::Audio => 1,
        TrackKind::Video => 2,
    }
}

/// Copies `samples` int16 values from a `bytearray` or `bytes` into a core frame (the one copy in).
fn frame_from_py(data: &Bound<'_, PyAny>, sample_rate: u32, num_channels: u32, samples: usize) -> PyResult<AudioFrame> {
    let copy = |bytes: &[u8]| -> PyResult<Vec<i16>> {
        let needed = samples.checked_mul(2).filter(|n| *n <= bytes.len()).ok_or_else(|| {
            invalid(format!(
                "the frame's data holds {} bytes; {samples} int16 samples need {}",
                bytes.len(),
                samples.saturating_mul(2)
            ))
        })?;
        Ok(bytes[..needed].chunks_exact(2).map(|b| i16::from_ne_bytes([b[0], b[1]])).collect())
    };
    let samples = if let Ok(array) = data.cast::<PyByteArray>() {
        // SAFETY: the GIL is held and no Python code runs while the slice is read, so nothing
        // can resize or free the bytearray under it.
        copy(unsafe { array.as_bytes() })?
    } else if let Ok(bytes) = data.cast::<PyBytes>() {
        copy(bytes.as_bytes())?
    } else {
        return Err(PyTypeError::new_err("audio data must be a bytearray or bytes of int16 samples"));
    };
    AudioFrame::new(samples, sample_rate, num_channels).py()
}

/// A core frame as `(bytearray, sample_rate, num_channels, samples_per_channel)` (the one copy out).
fn frame_to_py<'py>(py: Python<'py>, frame: &AudioFrame) -> PyResult<Bound<'py, PyTuple>> {
    let samples = frame.data();
    let data = PyByteArray::new_with(py, samples.len() * 2, |out| {
        for (dst, sample) in out.chunks_exact_mut(2).zip(samples) {
            dst.copy_from_slice(&sample.to_ne_bytes());
        }
        Ok(())
    })?;
    (data, frame.sample_rate(), frame.num_channels(), frame.samples_per_channel()).into_pyobject(py)
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeAudioSource {
    inner: AudioSource,
}

#[pymethods]
impl NativeAudioSource {
    #[new]
    fn new(sample_rate: u32, num_channels: u32, queue_size_ms: u32) -> PyResult<Self> {
        let _guard = runtime::enter();
        Ok(Self { inner: AudioSource::new(sample_rate, num_channels, queue_size_ms).py()? })
    }

    #[getter]
    fn sample_rate(&self) -> u32 {
        self.inner.sample_rate()
    }

    #[getter]
    fn num_channels(&self) -> u32 {
        self.inner.num_channels()
    }

    /// Queues `samples_per_channel` of `data` (int16, interleaved); resolves once the queue is
    /// back under its size.
    fn capture_frame<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        sample_rate: u32,
        num_channels: u32,
        samples_per_channel: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let samples = samples_per_channel.saturating_mul(num_channels as usize);
        let frame = frame_from_py(data, sample_rate, num_channels, samples)?;
        let source = self.inner.clone();
        awaitable_eager(py, async move { source.capture_frame(&frame).await.py() })
    }

    fn clear_queue(&self) {
        self.inner.clear_queue();
    }

    /// Seconds of audio queued and not yet sent.
    #[getter]
    fn queued_duration(&self) -> f64 {
        self.inner.queued_duration().as_secs_f64()
    }

    fn wait_for_playout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let source = self.inner.clone();
        awaitable(py, async move {
            source.wait_for_playout().await;
            Ok(())
        })
    }

    fn close(&self) {
        self.inner.close();
    }
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeLocalAudioTrack {
    pub inner: LocalAudioTrack,
}

#[pymethods]
impl NativeLocalAudioTrack {
    #[new]
    fn new(name: String, source: &NativeAudioSource) -> Self {
        Self { inner: LocalAudioTrack::create(name, &source.inner) }
    }

    #[getter]
    fn name(&self) -> String {
        self.inner.name()
    }

    #[getter]
    fn muted(&self) -> bool {
        self.inner.is_muted()
    }

    fn mute(&self) {
        self.inner.mute();
    }

    fn unmute(&self) {
        self.inner.unmute();
    }
}

/// The video fields of `TrackPublishOptions`: `(video_codec, max_bitrate, max_framerate,
/// simulcast)`, 0 meaning the default for the bitrate and the frame rate.
pub type VideoOptions = (i32, Option<u32>, Option<f64>, bool);

/// Publish options as the Python layer passes them.
pub fn publish_options(
    source: i32,
    dtx: bool,
    red: bool,
    stereo: bool,
    audio_bitrate: Option<u32>,
    video: Option<VideoOptions>,
) -> PyResult<livekit_core::TrackPublishOptions> {
    let mut options = livekit_core::TrackPublishOptions {
        source: source_from_py(source)?,
        stereo,
        audio_bitrate,
        dtx,
        red,
        ..Default::default()
    };
    if let Some((codec, max_bitrate, max_framerate, simulcast)) = video {
        options.video_codec = crate::video::codec_from_py(codec)?;
        options.max_bitrate = max_bitrate.filter(|b| *b > 0);
        if let Some(fps) = max_framerate.filter(|f| *f > 0.0) {
            options.max_framerate = fps;
        }
        options.simulcast = simulcast;
    }
    Ok(options)
}

pub fn local_track(track: &NativeLocalAudioTrack) -> LocalTrack {
    LocalTrack::Audio(track.inner.clone())
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeLocalPublication {
    inner: LocalTrackPublication,
}

impl NativeLocalPublication {
    pub fn new(inner: LocalTrackPublication) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl NativeLocalPublication {
    #[getter]
    fn sid(&self) -> String {
        self.inner.sid()
    }
    #[getter]
    fn name(&self) -> String {
        self.inner.name()
    }
    #[getter]
    fn kind(&self) -> i32 {
        kind_to_py(self.inner.kind())
    }
    #[getter]
    fn source(&self) -> i32 {
        source_to_py(self.inner.source())
    }
    #[getter]
    fn muted(&self) -> bool {
        self.inner.is_muted()
    }
    #[getter]
    fn mime_type(&self) -> String {
        self.inner.mime_type()
    }
    #[getter]
    fn simulcasted(&self) -> bool {
        self.inner.info().simulcasted
    }
    #[getter]
    fn width(&self) -> u32 {
        self.inner.info().dimensions.0
    }
    #[getter]
    fn height(&self) -> u32 {
        self.inner.info().dimensions.1
    }
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeRemotePublication {
    inner: RemoteTrackPublication,
}

impl NativeRemotePublication {
    pub fn new(inner: RemoteTrackPublication) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl NativeRemotePublication {
    #[getter]
    fn sid(&self) -> String {
        self.inner.sid()
    }
    #[getter]
    fn name(&self) -> String {
        self.inner.name()
    }
    #[getter]
    fn kind(&self) -> i32 {
        kind_to_py(self.inner.kind())
    }
    #[getter]
    fn source(&self) -> i32 {
        source_to_py(self.inner.source())
    }
    #[getter]
    fn muted(&self) -> bool {
        self.inner.is_muted()
    }
    #[getter]
    fn mime_type(&self) -> String {
        self.inner.mime_type()
    }
    #[getter]
    fn simulcasted(&self) -> bool {
        self.inner.info().simulcasted
    }
    #[getter]
    fn width(&self) -> u32 {
        self.inner.info().dimensions.0
    }
    #[getter]
    fn height(&self) -> u32 {
        self.inner.info().dimensions.1
    }
    #[getter]
    fn subscribed(&self) -> bool {
        self.inner.is_subscribed()
    }
    /// `livekit.rtc.StreamState` number.
    #[getter]
    fn stream_state(&self) -> i32 {
        stream_state_to_py(self.inner.stream_state())
    }
    #[getter]
    fn track(&self) -> Option<NativeRemoteTrack> {
        self.inner.track().map(NativeRemoteTrack::new)
    }

    fn set_subscribed<'py>(&self, py: Python<'py>, subscribed: bool) -> PyResult<Bound<'py, PyAny>> {
        let publication = self.inner.clone();
        awaitable(py, async move { publication.set_subscribed(subscribed).await.py() })
    }

    /// Asks the server for a simulcast layer (`livekit.rtc.VideoQuality` number).
    fn set_video_quality<'py>(&self, py: Python<'py>, quality: i32) -> PyResult<Bound<'py, PyAny>> {
        let quality = crate::video::quality_from_py(quality)?;
        let publication = self.inner.clone();
        awaitable(py, async move { publication.set_video_quality(quality).await.py() })
    }
}

pub fn stream_state_to_py(state: livekit_core::StreamState) -> i32 {
    match state {
        livekit_core::StreamState::Unknown => 0,
        livekit_core::StreamState::Active => 1,
        livekit_core::StreamState::Paused => 2,
    }
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeRemoteTrack {
    pub inner: RemoteTrack,
}

impl NativeRemoteTrack {
    pub fn new(inner: RemoteTrack) -> Self {
        Self { inner }
    }

    fn audio(&self) -> PyResult<&RemoteAudioTrack> {
        match &self.inner {
            RemoteTrack::Audio(track) => Ok(track),
            #[allow(unreachable_patterns)]
            _ => Err(invalid(format!("track {} is not an audio track", self.inner.sid()))),
        }
    }
}

#[pymethods]
impl NativeRemoteTrack {
    #[getter]
    fn sid(&self) -> String {
        self.inner.sid()
    }
    #[getter]
    fn kind(&self) -> i32 {
        match self.inner {
            RemoteTrack::Audio(_) => kind_to_py(TrackKind::Audio),
            RemoteTrack::Video(_) => kind_to_py(TrackKind::Video),
            _ => 0, // a kind this package does not know (KIND_UNKNOWN)
        }
    }
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeAudioStream {
    stream: Arc<Mutex<AudioStream>>,
    closed: watch::Sender<bool>,
}

#[pymethods]
impl NativeAudioStream {
    #[new]
    fn new(track: &NativeRemoteTrack, sample_rate: u32, num_channels: u32) -> PyResult<Self> {
        let _guard = runtime::enter();
        let stream = AudioStream::new(track.audio()?, sample_rate, num_channels).py()?;
        Ok(Self { stream: Arc::new(Mutex::new(stream)), closed: watch::channel(false).0 })
    }

    /// The audio of whichever track of `source` the participant has while we receive it; ends
    /// when the participant leaves (the core's `AudioStream::from_participant`).
    #[staticmethod]
    fn from_participant(
        participant: &crate::participant::NativeParticipant,
        source: i32,
        sample_rate: u32,
        num_channels: u32,
    ) -> PyResult<Self> {
        let (participant, source) = (participant.remote()?, source_from_py(source)?);
        let _guard = runtime::enter();
        let stream = AudioStream::from_participant(&participant, source, sample_rate, num_channels).py()?;
        Ok(Self { stream: Arc::new(Mutex::new(stream)), closed: watch::channel(false).0 })
    }

    /// The next decoded frames (those ready, at least one) as a list of
    /// `(bytearray, sample_rate, num_channels, samples_per_channel)`, or `None` at the end.
    fn next_frames<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stream = self.stream.clone();
        let mut closed = self.closed.subscribe();
        awaitable(py, async move {
            if *closed.borrow() {
                return Ok(None);
            }
            let mut stream = stream.lock().await;
            let first = tokio::select! {
                frame = stream.recv() => frame,
                _ = closed.wait_for(|c| *c) => None,
            };
            let Some(first) = first else {
                if *closed.borrow() {
                    stream.close();
                }
                return Ok(None);
            };
            let mut frames = vec![first];
            while frames.len() < MAX_FRAMES_PER_READ {
                match stream.recv().now_or_never() {
                    Some(Some(frame)) => frames.push(frame),
                    _ => break,
                }
            }
            Ok(Some(Lazy::new(move |py| {
                let list = PyList::empty(py);
                for frame in &frames {
                    list.append(frame_to_py(py, frame)?)?;
                }
                Ok(list.into_any())
            })))
        })
    }

    /// Ends the stream: a pending read returns `None`, buffered frames are dropped.
    fn close(&self) {
        self.closed.send_replace(true);
        if let Ok(mut stream) = self.stream.try_lock() {
            stream.close();
        }
    }
}
