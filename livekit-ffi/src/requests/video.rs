//! Video sources, captures and conversions, and the buffers they pass.
//!
//! A capture copies the caller's picture once, during the request, row by row as its strides
//! say, into a tightly packed core `VideoFrame` (the source converts it to I420 from there). A
//! picture the library gives out (a received one, a conversion's result) is tightly packed
//! and lives in a buffer handle until the client drops it.

use bytes::Bytes;
use livekit_core::media::{PictureRef, VideoRotation, MAX_VIDEO_DIMENSION};
use livekit_core::{VideoFormat, VideoFrame, VideoSource};

use crate::error::{FfiError, FfiResult};
use crate::handles::FfiHandle;
use crate::proto::{self, video_buffer_info::ComponentInfo, video_convert_response};
use crate::server::server;

/// A native source told the server it has the asked resolution.
pub fn new_video_source(request: proto::NewVideoSourceRequest) -> FfiResult<proto::NewVideoSourceResponse> {
    if request.r#type() != proto::VideoSourceType::VideoSourceNative {
        return Err(FfiError::NotImplemented {
            name: "new_video_source with VIDEO_SOURCE_ENCODED",
            number: 21,
            why: " (livekit-core encodes pictures itself: capture raw frames into a native source)",
        });
    }
    let resolution = request.resolution;
    let source = VideoSource::new(resolution.width, resolution.height, request.is_screencast.unwrap_or(false))
        .map_err(|error| FfiError::InvalidArgument(format!("new_video_source: {error}")))?;
    let handle = server().handles.insert(FfiHandle::VideoSource(source));
    Ok(proto::NewVideoSourceResponse {
        source: proto::OwnedVideoSource {
            handle: proto::FfiOwnedHandle { id: handle },
            info: proto::VideoSourceInfo { r#type: proto::VideoSourceType::VideoSourceNative as i32 },
        },
    })
}

/// Hands the picture to the source during the request (converted to I420 straight from the
/// caller's memory when it is tightly packed); the source keeps the newest one.
pub fn capture_video_frame(request: proto::CaptureVideoFrameRequest) -> FfiResult<proto::CaptureVideoFrameResponse> {
    let source = server().handles.video_source(request.source_handle)?;
    let rotation = core_rotation(request.rotation());
    with_picture(&request.buffer, |picture| {
        source
            .capture_picture(picture, rotation, request.timestamp_us)
            .map_err(|error| FfiError::InvalidArgument(format!("capture_video_frame: {error}")))
    })?;
    Ok(proto::CaptureVideoFrameResponse {})
}

/// A picture in another format, optionally flipped upside down; failures go in `error`, as
/// the official library reports them (the Python SDK raises them as `Exception`).
pub fn video_convert(request: proto::VideoConvertRequest) -> proto::VideoConvertResponse {
    let message = match convert(&request) {
        Ok(buffer) => video_convert_response::Message::Buffer(buffer),
        Err(error) => video_convert_response::Message::Error(format!("video_convert: {error}")),
    };
    proto::VideoConvertResponse { message: Some(message) }
}

fn convert(request: &proto::VideoConvertRequest) -> FfiResult<proto::OwnedVideoBuffer> {
    let target = core_format(request.dst_type())?;
    let mut converted = with_picture(&request.buffer, |picture| match shuffle_packed(picture, target) {
        Some(converted) => converted,
        None => picture.convert(target).map_err(|error| FfiError::InvalidArgument(error.to_string())),
    })?;
    if request.flip_y.unwrap_or(false) {
        converted = flip_vertically(&converted)?;
    }
    Ok(owned_picture(converted.data().clone(), target, converted.width(), converted.height()))
}

/// The core's pixel format for a protocol buffer type; the ones livekit-core has no
/// conversions for are refused by name.
pub fn core_format(kind: proto::VideoBufferType) -> FfiResult<VideoFormat> {
    use proto::VideoBufferType as T;
    Ok(match kind {
        T::Rgba => VideoFormat::Rgba,
        T::Abgr => VideoFormat::Abgr,
        T::Argb => VideoFormat::Argb,
        T::Bgra => VideoFormat::Bgra,
        T::Rgb24 => VideoFormat::Rgb24,
        T::I420 => VideoFormat::I420,
        T::Nv12 => VideoFormat::Nv12,
        T::I420a | T::I422 | T::I444 | T::I010 => {
            return Err(FfiError::InvalidArgument(format!(
            "video buffer type {} is not supported by livekit-core (RGBA, ABGR, ARGB, BGRA, RGB24, I420 and NV12 are)",
            kind.as_str_name()
        )))
        }
    })
}

fn proto_format(format: VideoFormat) -> proto::VideoBufferType {
    use proto::VideoBufferType as T;
    match format {
        VideoFormat::Rgba => T::Rgba,
        VideoFormat::Abgr => T::Abgr,
        VideoFormat::Argb => T::Argb,
        VideoFormat::Bgra => T::Bgra,
        VideoFormat::Rgb24 => T::Rgb24,
        VideoFormat::Nv12 => T::Nv12,
        _ => T::I420,
    }
}

pub fn core_rotation(rotation: proto::VideoRotation) -> VideoRotation {
    match rotation {
        proto::VideoRotation::VideoRotation0 => VideoRotation::Rotation0,
        proto::VideoRotation::VideoRotation90 => VideoRotation::Rotation90,
        proto::VideoRotation::VideoRotation180 => VideoRotation::Rotation180,
        proto::VideoRotation::VideoRotation270 => VideoRotation::Rotation270,
    }
}

pub fn proto_rotation(rotation: VideoRotation) -> proto::VideoRotation {
    match rotation {
        VideoRotation::Rotation0 => proto::VideoRotation::VideoRotation0,
        VideoRotation::Rotation90 => proto::VideoRotation::VideoRotation90,
        VideoRotation::Rotation180 => proto::VideoRotation::VideoRotation180,
        VideoRotation::Rotation270 => proto::VideoRotation::VideoRotation270,
    }
}

/// The planes of a tightly packed `width` x `height` picture: bytes per row and rows.
fn planes(format: VideoFormat, width: u32, height: u32) -> Vec<(usize, usize)> {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    match format {
        VideoFormat::I420 => vec![(w, h), (cw, ch), (cw, ch)],
        VideoFormat::Nv12 => vec![(w, h), (2 * cw, ch)],
        VideoFormat::Rgb24 => vec![(3 * w, h)],
        _ => vec![(4 * w, h)],
    }
}

/// Calls `use_picture` with the picture a `VideoBufferInfo` describes. When its planes lie
/// tightly packed one after the other in the caller's memory (the usual case) that memory is
/// lent as is, with no copy; otherwise the rows are copied once into a tightly packed buffer,
/// honouring each plane's stride. Everything is checked before the caller's memory is read:
/// the dimensions (at most `MAX_VIDEO_DIMENSION`), non-null pointers, strides at least a row
/// and component sizes covering every row.
pub fn with_picture<T>(
    info: &proto::VideoBufferInfo,
    use_picture: impl FnOnce(PictureRef<'_>) -> FfiResult<T>,
) -> FfiResult<T> {
    let format = core_format(info.r#type())?;
    let (width, height) = (info.width, info.height);
    if !(1..=MAX_VIDEO_DIMENSION).contains(&width) || !(1..=MAX_VIDEO_DIMENSION).contains(&height) {
        return Err(FfiError::InvalidArgument(format!(
            "video buffer: {width}x{height} (each side 1 to {MAX_VIDEO_DIMENSION})"
        )));
    }
    let planes = planes(format, width, height);
    let sources = plane_sources(info, &planes)?;
    let size = format.frame_size(width, height);
    fn view(format: VideoFormat, width: u32, height: u32, data: &[u8]) -> FfiResult<PictureRef<'_>> {
        PictureRef::new(format, width, height, data)
            .map_err(|error| FfiError::InvalidArgument(format!("video buffer: {error}")))
    }
    if is_tightly_packed(&planes, &sources) {
        // SAFETY: the protocol says each plane is readable at its pointer for its rows during
        // the request; the planes were just found to follow each other with no gap, so the
        // `size` bytes from the first pointer are exactly those rows. Dimensions are bounded
        // above and component sizes were checked.
        let data = unsafe { std::slice::from_raw_parts(sources[0].0 as usize as *const u8, size) };
        return use_picture(view(format, width, height, data)?);
    }
    let mut data = Vec::with_capacity(size);
    for (&(row, rows), &(pointer, stride)) in planes.iter().zip(&sources) {
        for line in 0..rows {
            // SAFETY: the protocol says the buffer's planes are readable at their pointers for
            // `rows` rows of `stride` bytes during the request (the last row needs only `row`
            // bytes); the dimensions were bounded above and component sizes checked.
            let bytes = unsafe { std::slice::from_raw_parts((pointer as usize + line * stride) as *const u8, row) };
            data.extend_from_slice(bytes);
        }
    }
    use_picture(view(format, width, height, &data)?)
}

/// The (pointer, stride) of each plane of `info`, checked: no null pointer, no stride shorter
/// than a row, no component smaller than its rows.
fn plane_sources(info: &proto::VideoBufferInfo, planes: &[(usize, usize)]) -> FfiResult<Vec<(u64, usize)>> {
    let sources: Vec<(u64, usize)> = if info.components.is_empty() {
        if info.data_ptr == 0 {
            return Err(FfiError::InvalidArgument("video buffer: data_ptr is null".into()));
        }
        if planes.len() == 1 {
            let stride = match info.stride.unwrap_or(0) as usize {
                0 => planes[0].0,
                stride => stride,
            };
            vec![(info.data_ptr, stride)]
        } else {
            // Planes tightly packed one after the other.
            let mut at = info.data_ptr;
            planes
                .iter()
                .map(|&(row, rows)| {
                    let plane = (at, row);
                    at += (row * rows) as u64;
                    plane
                })
                .collect()
        }
    } else {
        if info.components.len() != planes.len() {
            return Err(FfiError::InvalidArgument(format!(
                "video buffer: a {} picture has {} plane(s), the buffer lists {} component(s)",
                info.r#type().as_str_name(),
                planes.len(),
                info.components.len()
            )));
        }
        let mut sources = Vec::with_capacity(planes.len());
        for (index, (component, &(row, rows))) in info.components.iter().zip(planes).enumerate() {
            let ComponentInfo { data_ptr, stride, size } = *component;
            let stride = if stride == 0 { row } else { stride as usize };
            let needed = stride * (rows - 1) + row;
            if data_ptr == 0 {
                return Err(FfiError::InvalidArgument(format!("video buffer: component {index} has a null data_ptr")));
            }
            if (size as usize) < needed {
                return Err(FfiError::InvalidArgument(format!(
                    "video buffer: component {index} is {size} bytes, its {rows} rows of {row} bytes (stride {stride}) need {needed}"
                )));
            }
            sources.push((data_ptr, stride));
        }
        sources
    };
    for (&(row, _), &(_, stride)) in planes.iter().zip(&sources) {
        if stride < row {
            return Err(FfiError::InvalidArgument(format!(
                "video buffer: stride {stride} is shorter than a row ({row} bytes)"
            )));
        }
    }
    Ok(sources)
}

/// Whether every plane's rows follow each other with no padding and each plane starts where
/// the one before it ends: then the picture is one run of memory, readable without a copy.
fn is_tightly_packed(planes: &[(usize, usize)], sources: &[(u64, usize)]) -> bool {
    let mut next = sources[0].0;
    planes.iter().zip(sources).all(|(&(row, rows), &(pointer, stride))| {
        let follows = pointer == next && stride == row;
        next = pointer.wrapping_add((row * rows) as u64);
        follows
    })
}

/// Where red, green, blue and alpha sit in a packed format's pixel, and its size.
fn byte_order(format: VideoFormat) -> Option<(usize, [usize; 3], Option<usize>)> {
    Some(match format {
        VideoFormat::Rgba => (4, [0, 1, 2], Some(3)),
        VideoFormat::Bgra => (4, [2, 1, 0], Some(3)),
        VideoFormat::Argb => (4, [1, 2, 3], Some(0)),
        VideoFormat::Abgr => (4, [3, 2, 1], Some(0)),
        VideoFormat::Rgb24 => (3, [0, 1, 2], None),
        _ => None?,
    })
}

/// Between two packed RGB formats the bytes only move (exact, as the official library does it,
/// where the core would go through I420); `None` for any other pair. Alpha is kept, or 255
/// when the source has none.
fn shuffle_packed(picture: PictureRef<'_>, target: VideoFormat) -> Option<FfiResult<VideoFrame>> {
    let (from_size, from_rgb, from_alpha) = byte_order(picture.format())?;
    let (to_size, to_rgb, to_alpha) = byte_order(target)?;
    let pixels = picture.data().chunks_exact(from_size);
    let mut out = vec![0u8; pixels.len() * to_size];
    for (pixel, into) in pixels.zip(out.chunks_exact_mut(to_size)) {
        for channel in 0..3 {
            into[to_rgb[channel]] = pixel[from_rgb[channel]];
        }
        if let Some(alpha) = to_alpha {
            into[alpha] = from_alpha.map_or(255, |a| pixel[a]);
        }
    }
    Some(
        VideoFrame::new(target, picture.width(), picture.height(), out)
            .map_err(|error| FfiError::Internal(error.to_string())),
    )
}

/// The picture upside down: every plane's rows in reverse order.
fn flip_vertically(frame: &VideoFrame) -> FfiResult<VideoFrame> {
    let mut out = Vec::with_capacity(frame.data().len());
    let mut at = 0;
    for (row, rows) in planes(frame.format(), frame.width(), frame.height()) {
        let plane = &frame.data()[at..at + row * rows];
        for line in plane.chunks_exact(row).rev() {
            out.extend_from_slice(line);
        }
        at += row * rows;
    }
    let mut flipped = VideoFrame::new(frame.format(), frame.width(), frame.height(), out)
        .map_err(|error| FfiError::Internal(error.to_string()))?;
    flipped.rotation = frame.rotation;
    flipped.timestamp_us = frame.timestamp_us;
    Ok(flipped)
}

/// A tightly packed picture as an owned buffer handle: the bytes move into the handle (no
/// copy) and the info points at them, plane by plane.
pub fn owned_picture(data: Bytes, format: VideoFormat, width: u32, height: u32) -> proto::OwnedVideoBuffer {
    let base = data.as_ptr() as u64;
    let planes = planes(format, width, height);
    let mut components = Vec::with_capacity(planes.len());
    let mut at = base;
    for &(row, rows) in &planes {
        let size = (row * rows) as u32;
        components.push(ComponentInfo { data_ptr: at, stride: row as u32, size });
        at += u64::from(size);
    }
    let info = proto::VideoBufferInfo {
        r#type: proto_format(format) as i32,
        width,
        height,
        data_ptr: base,
        stride: Some(planes[0].0 as u32),
        components: if planes.len() > 1 { components } else { Vec::new() },
    };
    let handle = server().handles.insert(FfiHandle::Pixels(data));
    proto::OwnedVideoBuffer { handle: proto::FfiOwnedHandle { id: handle }, info }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The picture as an owned frame (a copy of what `with_picture` lends).
    fn read_picture(info: &proto::VideoBufferInfo) -> FfiResult<VideoFrame> {
        with_picture(info, |p| Ok(VideoFrame::new(p.format(), p.width(), p.height(), p.data().to_vec()).unwrap()))
    }

    fn info(kind: proto::VideoBufferType, width: u32, height: u32, data: &[u8]) -> proto::VideoBufferInfo {
        proto::VideoBufferInfo {
            r#type: kind as i32,
            width,
            height,
            data_ptr: data.as_ptr() as u64,
            stride: None,
            components: Vec::new(),
        }
    }

    #[test]
    fn a_tightly_packed_picture_is_lent_without_a_copy() {
        let data: Vec<u8> = (0..16).collect();
        let mut buffer = info(proto::VideoBufferType::Rgba, 2, 2, &data);
        let lent = |buffer: &proto::VideoBufferInfo| with_picture(buffer, |p| Ok(p.data().as_ptr() == data.as_ptr()));
        assert!(lent(&buffer).unwrap());
        buffer.stride = Some(8);
        assert!(lent(&buffer).unwrap(), "a stride of exactly one row is still packed");
        // I420 planes listed one by one, each right after the one before.
        let planar: Vec<u8> = (0..6).collect();
        let component = |at: usize, stride: u32| ComponentInfo {
            data_ptr: planar[at..].as_ptr() as u64,
            stride,
            size: stride * stride,
        };
        let mut i420 = info(proto::VideoBufferType::I420, 2, 2, &planar);
        i420.components = vec![component(0, 2), component(4, 1), component(5, 1)];
        let packed = with_picture(&i420, |p| Ok(p.data().as_ptr() == planar.as_ptr())).unwrap();
        assert!(packed);
        i420.components.swap(1, 2);
        let swapped = with_picture(&i420, |p| Ok((p.data().as_ptr() == planar.as_ptr(), p.data().to_vec()))).unwrap();
        assert_eq!(
            swapped,
            (false, vec![0, 1, 2, 3, 5, 4]),
            "planes out of order are copied in the order of the format"
        );
    }

    #[test]
    fn a_packed_picture_with_padded_rows_is_copied_tightly() {
        // 2x2 RGBA with 4 bytes of padding after each row.
        let data: Vec<u8> = (0..24).collect();
        let mut buffer = info(proto::VideoBufferType::Rgba, 2, 2, &data);
        buffer.stride = Some(12);
        let frame = read_picture(&buffer).unwrap();
        assert_eq!(&frame.data()[..], &[0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19]);
    }

    #[test]
    fn planar_components_are_read_with_their_strides() {
        // 2x2 I420: Y rows padded to 3 bytes, U and V one byte each in separate places.
        let y = [1u8, 2, 0, 3, 4];
        let (u, v) = ([5u8], [6u8]);
        let component = |p: &[u8], stride| ComponentInfo { data_ptr: p.as_ptr() as u64, stride, size: p.len() as u32 };
        let mut buffer = info(proto::VideoBufferType::I420, 2, 2, &y);
        buffer.components = vec![component(&y, 3), component(&u, 1), component(&v, 1)];
        let frame = read_picture(&buffer).unwrap();
        assert_eq!(&frame.data()[..], &[1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_component_too_small_for_its_rows_is_refused_before_reading() {
        let y = [0u8; 3];
        let component = ComponentInfo { data_ptr: y.as_ptr() as u64, stride: 2, size: 3 };
        let mut buffer = info(proto::VideoBufferType::I420, 2, 2, &y);
        buffer.components = vec![component; 3];
        assert!(matches!(read_picture(&buffer), Err(FfiError::InvalidArgument(m)) if m.contains("component 0")));
    }

    #[test]
    fn oversized_and_unsupported_pictures_are_refused() {
        let data = [0u8; 4];
        assert!(read_picture(&info(proto::VideoBufferType::Rgba, 9000, 1, &data)).is_err());
        assert!(read_picture(&info(proto::VideoBufferType::Rgba, 0, 1, &data)).is_err());
        assert!(read_picture(&proto::VideoBufferInfo {
            data_ptr: 0,
            ..info(proto::VideoBufferType::Rgba, 1, 1, &data)
        })
        .is_err());
        let error = read_picture(&info(proto::VideoBufferType::I444, 1, 1, &data)).unwrap_err();
        assert!(error.to_string().contains("I444"), "{error}");
    }

    #[test]
    fn packed_formats_swap_bytes_exactly() {
        let rgba = VideoFrame::new(VideoFormat::Rgba, 1, 1, vec![200, 100, 50, 77]).unwrap();
        let cases: [(VideoFormat, &[u8]); 5] = [
            (VideoFormat::Bgra, &[50, 100, 200, 77]),
            (VideoFormat::Argb, &[77, 200, 100, 50]),
            (VideoFormat::Abgr, &[77, 50, 100, 200]),
            (VideoFormat::Rgb24, &[200, 100, 50]),
            (VideoFormat::Rgba, &[200, 100, 50, 77]),
        ];
        for (format, bytes) in cases {
            let converted = shuffle_packed(rgba.picture(), format).unwrap().unwrap();
            assert_eq!(&converted.data()[..], bytes, "{format:?}");
        }
        let rgb = VideoFrame::new(VideoFormat::Rgb24, 1, 1, vec![1, 2, 3]).unwrap();
        assert_eq!(&shuffle_packed(rgb.picture(), VideoFormat::Bgra).unwrap().unwrap().data()[..], &[3, 2, 1, 255]);
        assert!(shuffle_packed(rgba.picture(), VideoFormat::I420).is_none());
    }

    #[test]
    fn flipping_reverses_the_rows_of_every_plane() {
        let frame = VideoFrame::new(VideoFormat::I420, 2, 4, (0..12).collect::<Vec<u8>>()).unwrap();
        let flipped = flip_vertically(&frame).unwrap();
        assert_eq!(&flipped.data()[..], &[6, 7, 4, 5, 2, 3, 0, 1, 9, 8, 11, 10]);
    }
}
