//! Video: sources, local tracks, frame conversion and decoded streams.
//!
//! Pixels cross the boundary as one contiguous buffer in a `livekit.rtc.VideoBufferType`
//! layout. On the way in (`capture_frame`, `convert_frame`) the core reads the caller's memory
//! in place, with the GIL held, and its conversion to I420 (or to the format asked for) is the
//! one copy; on the way out the core's picture is copied once into a new `bytearray`, which the
//! Python `VideoFrame` wraps (a vertical flip, if asked, is done by that copy).

use std::sync::Arc;

use futures_util::FutureExt;
use livekit_core::media::{PictureRef, VideoRotation};
use livekit_core::{
    Error, LocalTrack, LocalVideoTrack, RemoteTrack, VideoCodec, VideoFormat, VideoFrame, VideoQuality, VideoSource,
    VideoStream,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyTuple};
use tokio::sync::{watch, Mutex};

use crate::errors::{to_py, IntoPyResult};
use crate::media::NativeRemoteTrack;
use crate::runtime::{self, awaitable, Lazy};

/// The core holds at most 4 decoded pictures; a read takes all that are ready.
const MAX_FRAMES_PER_READ: usize = 4;

fn invalid(message: String) -> PyErr {
    to_py(Error::InvalidArgument(message))
}

/// `livekit.rtc.VideoBufferType` numbers (RGBA 0, ABGR 1, ARGB 2, BGRA 3, RGB24 4, I420 5,
/// NV12 10); I420A, I422, I444 and I010 have no core format.
pub fn format_from_py(value: i32) -> PyResult<VideoFormat> {
    Ok(match value {
        0 => VideoFormat::Rgba,
        1 => VideoFormat::Abgr,
        2 => VideoFormat::Argb,
        3 => VideoFormat::Bgra,
        4 => VideoFormat::Rgb24,
        5 => VideoFormat::I420,
        10 => VideoFormat::Nv12,
        6..=9 => {
            return Err(invalid(format!(
                "VideoBufferType {value} (I420A, I422, I444 or I010) is not supported: use RGBA, ABGR, ARGB, BGRA, \
                 RGB24, I420 or NV12"
            )))
        }
        other => return Err(invalid(format!("{other} is not a VideoBufferType value"))),
    })
}

fn format_to_py(format: VideoFormat) -> i32 {
    match format {
        VideoFormat::Rgba => 0,
        VideoFormat::Abgr => 1,
        VideoFormat::Argb => 2,
        VideoFormat::Bgra => 3,
        VideoFormat::Rgb24 => 4,
        VideoFormat::I420 => 5,
        VideoFormat::Nv12 => 10,
        #[allow(unreachable_patterns)] // the enum is non_exhaustive
        _ => 5,
    }
}

fn rotation_from_py(value: i32) -> PyResult<VideoRotation> {
    Ok(match value {
        0 => VideoRotation::Rotation0,
        1 => VideoRotation::Rotation90,
        2 => VideoRotation::Rotation180,
        3 => VideoRotation::Rotation270,
        other => return Err(invalid(format!("{other} is not a VideoRotation value (0..=3)"))),
    })
}

fn rotation_to_py(rotation: VideoRotation) -> i32 {
    match rotation {
        VideoRotation::Rotation0 => 0,
        VideoRotation::Rotation90 => 1,
        VideoRotation::Rotation180 => 2,
        VideoRotation::Rotation270 => 3,
    }
}

/// `livekit.rtc.VideoCodec` numbers: VP8 0, H264 1 (AV1, VP9, H265 are not built in).
pub fn codec_from_py(value: i32) -> PyResult<VideoCodec> {
    match value {
        0 => Ok(VideoCodec::Vp8),
        1 => Ok(VideoCodec::H264),
        2..=4 => Err(invalid(format!("VideoCodec {value} (AV1, VP9 or H265) is not supported: use VP8 or H264"))),
        other => Err(invalid(format!("{other} is not a VideoCodec value"))),
    }
}

/// `livekit.rtc.VideoQuality` numbers.
pub fn quality_from_py(value: i32) -> PyResult<VideoQuality> {
    match value {
        0 => Ok(VideoQuality::Low),
        1 => Ok(VideoQuality::Medium),
        2 => Ok(VideoQuality::High),
        other => Err(invalid(format!("{other} is not a VideoQuality value (0..=2)"))),
    }
}

/// Runs `f` on the bytes of `data` in place: a `bytes`, a `bytearray`, or an `(address,
/// length)` pair of ints naming the memory of a writable buffer the caller keeps alive (the
/// Python side gets it through ctypes, as the official SDK does). The GIL is held throughout
/// and `f` runs no Python code, so nothing can resize, free or write the memory meanwhile.
fn with_bytes<R>(data: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> PyResult<R>) -> PyResult<R> {
    if let Ok(array) = data.cast::<PyByteArray>() {
        // SAFETY: see above; the GIL is held and no Python code runs while the slice lives.
        f(unsafe { array.as_bytes() })
    } else if let Ok(bytes) = data.cast::<PyBytes>() {
        f(bytes.as_bytes())
    } else if let Ok((address, length)) = data.extract::<(usize, usize)>() {
        if address == 0 && length > 0 {
            return Err(invalid("a null buffer address".into()));
        }
        // SAFETY: the Python side passes the address and size of a contiguous buffer it holds
        // a reference to for the whole call (the frame's memoryview), and the GIL is held.
        f(unsafe { std::slice::from_raw_parts(address as *const u8, length) })
    } else {
        Err(PyTypeError::new_err("video data must be bytes, a bytearray or an (address, length) pair"))
    }
}

/// The rows of each plane of a picture: `(plane byte length, row byte length)`.
fn planes(format: VideoFormat, width: usize, height: usize) -> Vec<(usize, usize)> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    match format {
        VideoFormat::I420 => vec![(width * height, width), (cw * ch, cw), (cw * ch, cw)],
        VideoFormat::Nv12 => vec![(width * height, width), (2 * cw * ch, 2 * cw)],
        VideoFormat::Rgb24 => vec![(3 * width * height, 3 * width)],
        _ => vec![(4 * width * height, 4 * width)],
    }
}

/// Copies a picture into a new `bytearray` (the one copy out), upside down if `flip_y`.
fn to_bytearray<'py>(py: Python<'py>, picture: PictureRef<'_>, flip_y: bool) -> PyResult<Bound<'py, PyByteArray>> {
    let data = picture.data();
    if !flip_y {
        return Ok(PyByteArray::new(py, data));
    }
    let layout = planes(picture.format(), picture.width() as usize, picture.height() as usize);
    PyByteArray::new_with(py, data.len(), |out| {
        let mut offset = 0;
        for (size, row) in layout {
            let (src, dst) = (&data[offset..offset + size], &mut out[offset..offset + size]);
            for (d, s) in dst.chunks_exact_mut(row).zip(src.chunks_exact(row).rev()) {
                d.copy_from_slice(s);
            }
            offset += size;
        }
        Ok(())
    })
}

/// A received picture as `(bytearray, width, height, type, timestamp_us, rotation)`.
fn frame_to_py<'py>(py: Python<'py>, frame: &VideoFrame) -> PyResult<Bound<'py, PyTuple>> {
    (
        to_bytearray(py, frame.picture(), false)?,
        frame.width(),
        frame.height(),
        format_to_py(frame.format()),
        frame.timestamp_us,
        rotation_to_py(frame.rotation),
    )
        .into_pyobject(py)
}

/// `frame.convert(type, flip_y=)`: the picture in `dst_type`, as a new `bytearray`.
#[pyfunction]
#[pyo3(signature = (data, width, height, src_type, dst_type, flip_y=false))]
pub fn convert_frame<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    width: u32,
    height: u32,
    src_type: i32,
    dst_type: i32,
    flip_y: bool,
) -> PyResult<Bound<'py, PyByteArray>> {
    let (src, dst) = (format_from_py(src_type)?, format_from_py(dst_type)?);
    with_bytes(data, |bytes| {
        let picture = PictureRef::new(src, width, height, bytes).py()?;
        if src == dst {
            return to_bytearray(py, picture, flip_y); // the one copy
        }
        let converted = picture.convert(dst).py()?;
        to_bytearray(py, converted.picture(), flip_y)
    })
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeVideoSource {
    inner: VideoSource,
}

#[pymethods]
impl NativeVideoSource {
    #[new]
    fn new(width: u32, height: u32, is_screencast: bool) -> PyResult<Self> {
        Ok(Self { inner: VideoSource::new(width, height, is_screencast).py()? })
    }

    #[getter]
    fn width(&self) -> u32 {
        self.inner.resolution().0
    }

    #[getter]
    fn height(&self) -> u32 {
        self.inner.resolution().1
    }

    #[getter]
    fn is_screencast(&self) -> bool {
        self.inner.is_screencast()
    }

    /// Hands in one picture (converted to I420 here, the newest replacing one not yet sent).
    #[allow(clippy::too_many_arguments)] // the frame's fields, flat as Python passes them
    fn capture_frame(
        &self,
        data: &Bound<'_, PyAny>,
        width: u32,
        height: u32,
        buffer_type: i32,
        timestamp_us: i64,
        rotation: i32,
    ) -> PyResult<()> {
        let format = format_from_py(buffer_type)?;
        let rotation = rotation_from_py(rotation)?;
        with_bytes(data, |bytes| {
            let picture = PictureRef::new(format, width, height, bytes).py()?;
            self.inner.capture_picture(picture, rotation, timestamp_us).py()
        })
    }
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeLocalVideoTrack {
    pub inner: LocalVideoTrack,
}

#[pymethods]
impl NativeLocalVideoTrack {
    #[new]
    fn new(name: String, source: &NativeVideoSource) -> Self {
        Self { inner: LocalVideoTrack::create(name, &source.inner) }
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

pub fn local_video_track(track: &NativeLocalVideoTrack) -> LocalTrack {
    LocalTrack::Video(track.inner.clone())
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeVideoStream {
    stream: Arc<Mutex<VideoStream>>,
    closed: watch::Sender<bool>,
}

#[pymethods]
impl NativeVideoStream {
    #[new]
    fn new(track: &NativeRemoteTrack, buffer_type: i32) -> PyResult<Self> {
        let format = format_from_py(buffer_type)?;
        let RemoteTrack::Video(video) = &track.inner else {
            return Err(invalid(format!("track {} is not a video track", track.inner.sid())));
        };
        let _guard = runtime::enter();
        let stream = VideoStream::new(video, format).py()?;
        Ok(Self { stream: Arc::new(Mutex::new(stream)), closed: watch::channel(false).0 })
    }

    /// The pictures of whichever track of `source` the participant has while we receive it;
    /// ends when the participant leaves (the core's `VideoStream::from_participant`).
    #[staticmethod]
    fn from_participant(
        participant: &crate::participant::NativeParticipant,
        source: i32,
        buffer_type: i32,
    ) -> PyResult<Self> {
        let (participant, format) = (participant.remote()?, format_from_py(buffer_type)?);
        let source = crate::media::source_from_py(source)?;
        let _guard = runtime::enter();
        let stream = VideoStream::from_participant(&participant, source, format).py()?;
        Ok(Self { stream: Arc::new(Mutex::new(stream)), closed: watch::channel(false).0 })
    }

    /// The next decoded pictures (those ready, at least one) as a list of
    /// `(bytearray, width, height, type, timestamp_us, rotation)`, or `None` at the end.
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

    /// Ends the stream: a pending read returns `None`, held pictures are dropped.
    fn close(&self) {
        self.closed.send_replace(true);
        if let Ok(mut stream) = self.stream.try_lock() {
            stream.close();
        }
    }
}
