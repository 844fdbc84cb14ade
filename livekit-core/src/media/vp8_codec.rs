//! VP8 through the system libvpx (Debian `libvpx-dev`, bindings from `env-libvpx-sys`): a safe
//! encoder and decoder behind [`VideoEncoder`] / [`VideoDecoder`]. The encoder uses the
//! realtime settings libwebrtc uses for one VP8 stream (CBR, no lag, error resilient, one token
//! partition, `cpu-used` -6); the decoder waits for a keyframe and asks for another when libvpx
//! reports a corrupt frame.
#![cfg(feature = "vp8")]

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_uint, c_ulong};
use std::ptr;

use bytes::Bytes;
use vpx_sys as vpx;

use crate::error::{Error, Result};
use crate::media::video_codec::{sanitize_rates, EncodedVideo, EncoderConfig, VideoDecoder, VideoEncoder};
use crate::media::{I420Buffer, VideoFormat, MAX_VIDEO_DIMENSION};

/// RTP's 90 kHz video clock as the encoder's time base.
const TIMEBASE_HZ: u32 = 90_000;
/// libwebrtc's default speed on desktop: negative means "adapt, at most this fast"; 16 is the
/// fastest. Overridable for the benchmark through `Vp8Encoder::with_speed`.
pub(crate) const DEFAULT_CPU_USED: i32 = -6;

/// An owned libvpx context, destroyed on drop. Boxed so its address never changes.
struct Context(Box<vpx::vpx_codec_ctx_t>);

// SAFETY: a libvpx context has no thread affinity; `&mut self` on every use serialises calls.
unsafe impl Send for Context {}

impl Context {
    fn as_ptr(&mut self) -> *mut vpx::vpx_codec_ctx_t {
        &mut *self.0
    }

    /// The context's last error as text.
    fn error(&mut self, what: &str, code: vpx::vpx_codec_err_t) -> Error {
        // SAFETY: the context is initialised; libvpx returns static or context-owned strings.
        let (msg, detail) = unsafe {
            let msg = vpx::vpx_codec_error(self.as_ptr());
            let detail = vpx::vpx_codec_error_detail(self.as_ptr());
            (c_text(msg).unwrap_or_default(), c_text(detail))
        };
        Error::Internal(format!(
            "libvpx VP8 {what}: {msg} ({code:?}){}",
            detail.map(|d| format!(": {d}")).unwrap_or_default()
        ))
    }

    /// Sets one integer control.
    fn control(&mut self, id: c_int, value: c_int) -> Result<()> {
        // SAFETY: every control this file sets takes an `int` (or an enum passed as one).
        let code = unsafe { vpx::vpx_codec_control_(self.as_ptr(), id, value) };
        check(code).map_err(|code| self.error("control", code))
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: only initialised contexts are wrapped.
        unsafe { vpx::vpx_codec_destroy(self.as_ptr()) };
    }
}

fn c_text(text: *const std::os::raw::c_char) -> Option<String> {
    // SAFETY: libvpx returns NUL-terminated strings or NULL.
    (!text.is_null()).then(|| unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned())
}

fn check(code: vpx::vpx_codec_err_t) -> std::result::Result<(), vpx::vpx_codec_err_t> {
    if code == vpx::vpx_codec_err_t::VPX_CODEC_OK {
        Ok(())
    } else {
        Err(code)
    }
}

/// A realtime VP8 encoder (one stream, no temporal layers).
pub(crate) struct Vp8Encoder {
    context: Option<Context>,
    cfg: vpx::vpx_codec_enc_cfg_t,
    size: (u32, u32),
    bitrate_bps: u32,
    framerate: f64,
    screencast: bool,
    cpu_used: i32,
    pts: i64,
    /// A keyframe was asked for and not yet produced (the frame was dropped).
    keyframe_pending: bool,
}

// SAFETY: the only pointers in `cfg` are the unused two-pass stats buffers (null); the context
// is `Send` (see `Context`).
unsafe impl Send for Vp8Encoder {}

impl Vp8Encoder {
    /// An encoder that starts on the first picture (its size sets the stream's).
    pub(crate) fn new(config: EncoderConfig) -> Result<Self> {
        Self::with_speed(config, DEFAULT_CPU_USED)
    }

    /// As `new`, with libvpx's `cpu-used` (-16..=16; larger magnitude is faster and worse).
    pub(crate) fn with_speed(config: EncoderConfig, cpu_used: i32) -> Result<Self> {
        if !(-16..=16).contains(&cpu_used) {
            return Err(Error::InvalidArgument(format!("VP8 cpu-used must be in -16..=16, got {cpu_used}")));
        }
        let mut cfg = MaybeUninit::<vpx::vpx_codec_enc_cfg_t>::zeroed();
        // SAFETY: fills the whole struct for the VP8 interface.
        let code = unsafe { vpx::vpx_codec_enc_config_default(vpx::vpx_codec_vp8_cx(), cfg.as_mut_ptr(), 0) };
        check(code).map_err(|code| Error::Internal(format!("libvpx VP8 default configuration: {code:?}")))?;
        // SAFETY: initialised by the call above.
        let cfg = unsafe { cfg.assume_init() };
        Ok(Self {
            context: None,
            cfg,
            size: (0, 0),
            bitrate_bps: config.bitrate_bps,
            framerate: config.max_framerate,
            screencast: config.screencast,
            cpu_used,
            pts: 0,
            keyframe_pending: false,
        })
    }

    /// Starts (or restarts) libvpx for pictures of `width` x `height`.
    fn start(&mut self, width: u32, height: u32) -> Result<()> {
        self.context = None;
        let cfg = &mut self.cfg;
        cfg.g_w = width;
        cfg.g_h = height;
        cfg.g_threads = threads_for(width, height);
        cfg.g_timebase = vpx::vpx_rational { num: 1, den: TIMEBASE_HZ as c_int };
        cfg.g_lag_in_frames = 0;
        cfg.g_error_resilient = vpx::VPX_ERROR_RESILIENT_DEFAULT;
        cfg.g_pass = vpx::vpx_enc_pass::VPX_RC_ONE_PASS;
        cfg.rc_end_usage = vpx::vpx_rc_mode::VPX_CBR;
        // libwebrtc: drop frames when the buffer runs low for camera, never for screens.
        cfg.rc_dropframe_thresh = if self.screencast { 0 } else { 30 };
        cfg.rc_resize_allowed = 0;
        cfg.rc_min_quantizer = if self.screencast { 12 } else { 2 };
        cfg.rc_max_quantizer = 56;
        cfg.rc_undershoot_pct = 100;
        cfg.rc_overshoot_pct = 15;
        cfg.rc_buf_initial_sz = 500;
        cfg.rc_buf_optimal_sz = 600;
        cfg.rc_buf_sz = 1000;
        // Keyframes on request (and on scene cuts); a periodic one every 3000 frames as libwebrtc.
        cfg.kf_mode = vpx::vpx_kf_mode::VPX_KF_AUTO;
        cfg.kf_min_dist = 0;
        cfg.kf_max_dist = 3000;
        apply_rates(cfg, self.bitrate_bps);

        let mut ctx = Box::new(MaybeUninit::<vpx::vpx_codec_ctx_t>::zeroed());
        // SAFETY: `ctx` is writable memory for a context, `cfg` a valid configuration.
        let code = unsafe {
            vpx::vpx_codec_enc_init_ver(
                ctx.as_mut_ptr(),
                vpx::vpx_codec_vp8_cx(),
                cfg,
                0,
                vpx::VPX_ENCODER_ABI_VERSION as c_int,
            )
        };
        check(code).map_err(|code| Error::Internal(format!("libvpx VP8 encoder init {width}x{height}: {code:?}")))?;
        // SAFETY: initialised by a successful init (same layout, boxed in place).
        let mut context = Context(unsafe { Box::from_raw(Box::into_raw(ctx).cast()) });
        use vpx::vp8e_enc_control_id::*;
        context.control(VP8E_SET_CPUUSED as c_int, self.cpu_used)?;
        context
            .control(VP8E_SET_TOKEN_PARTITIONS as c_int, vpx::vp8e_token_partitions::VP8_ONE_TOKENPARTITION as c_int)?;
        context.control(VP8E_SET_NOISE_SENSITIVITY as c_int, 0)?;
        context.control(VP8E_SET_STATIC_THRESHOLD as c_int, 1)?;
        context.control(VP8E_SET_SCREEN_CONTENT_MODE as c_int, if self.screencast { 2 } else { 0 })?;
        context.control(VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int, max_intra_pct(600, self.framerate))?;
        self.context = Some(context);
        self.size = (width, height);
        Ok(())
    }
}

/// libwebrtc's rule: a second encoder thread only for pictures above 640x480 and with cores to
/// spare (3 or more). On 2 busy cores a second libvpx thread mostly spins waiting for the first
/// (the FFI media bench found 57% of the process's CPU in libvpx's pause loops at 720p).
fn threads_for(width: u32, height: u32) -> c_uint {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    threads_for_cores(width * height, cores)
}

fn threads_for_cores(pixels: u32, cores: u32) -> c_uint {
    if pixels >= 1920 * 1080 && cores > 8 {
        4
    } else if pixels > 1280 * 960 && cores >= 6 {
        3
    } else if pixels > 640 * 480 && cores >= 3 {
        2
    } else {
        1
    }
}

/// libwebrtc's cap on a keyframe's size, in percent of the per-frame budget.
fn max_intra_pct(optimal_buffer_ms: u32, framerate: f64) -> c_int {
    ((optimal_buffer_ms as f64 * 0.5 * framerate / 10.0) as c_int).max(300)
}

fn apply_rates(cfg: &mut vpx::vpx_codec_enc_cfg_t, bitrate_bps: u32) {
    cfg.rc_target_bitrate = bitrate_bps.div_ceil(1000).max(1);
}

impl VideoEncoder for Vp8Encoder {
    fn encode(&mut self, picture: &I420Buffer, force_keyframe: bool) -> Result<Option<EncodedVideo>> {
        let (width, height) = (picture.width(), picture.height());
        let restarted = self.context.is_none() || self.size != (width, height);
        if restarted {
            self.start(width, height)?;
        }
        let image = wrap_picture(picture);
        let duration = (f64::from(TIMEBASE_HZ) / self.framerate).round() as c_ulong;
        self.keyframe_pending |= force_keyframe;
        let flags =
            if self.keyframe_pending || restarted { vpx::VPX_EFLAG_FORCE_KF as vpx::vpx_enc_frame_flags_t } else { 0 };
        let pts = self.pts;
        self.pts += duration as i64;
        let context = self.context.as_mut().ok_or_else(|| Error::Internal("VP8 encoder not started".into()))?;
        // SAFETY: `image` points into `picture`, which outlives the call; libvpx only reads it.
        let code = unsafe {
            vpx::vpx_codec_encode(context.as_ptr(), &image, pts, duration, flags, vpx::VPX_DL_REALTIME as c_ulong)
        };
        check(code).map_err(|code| context.error("encode", code))?;

        let mut out: Option<EncodedVideo> = None;
        let mut iter: vpx::vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: iterates the packets of the call above; each lives until the next encode.
            let packet = unsafe { vpx::vpx_codec_get_cx_data(context.as_ptr(), &mut iter) };
            if packet.is_null() {
                break;
            }
            // SAFETY: non-null packets are valid; `frame` is the union member for frame packets.
            let packet = unsafe { &*packet };
            if packet.kind != vpx::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                continue;
            }
            let frame = unsafe { packet.data.frame };
            if frame.buf.is_null() || frame.sz == 0 {
                continue;
            }
            // SAFETY: libvpx owns `sz` bytes at `buf` until the next encode; copied now.
            let bytes = unsafe { std::slice::from_raw_parts(frame.buf.cast::<u8>(), frame.sz as usize) };
            let keyframe = frame.flags & vpx::VPX_FRAME_IS_KEY != 0;
            match &mut out {
                // One token partition and no partition output: one packet per frame, but join
                // any extra so nothing is lost.
                Some(previous) => {
                    let mut joined = previous.data.to_vec();
                    joined.extend_from_slice(bytes);
                    previous.data = Bytes::from(joined);
                }
                None => {
                    out = Some(EncodedVideo { data: Bytes::copy_from_slice(bytes), keyframe, width, height });
                }
            }
        }
        self.keyframe_pending &= !out.as_ref().is_some_and(|unit| unit.keyframe);
        Ok(out)
    }

    fn set_rates(&mut self, bitrate_bps: u32, framerate: f64) {
        let (bitrate_bps, framerate) = sanitize_rates(bitrate_bps, framerate);
        self.bitrate_bps = bitrate_bps;
        self.framerate = framerate;
        apply_rates(&mut self.cfg, bitrate_bps);
        let Some(context) = self.context.as_mut() else { return };
        // SAFETY: `cfg` is the configuration the context was started with, rates changed.
        let code = unsafe { vpx::vpx_codec_enc_config_set(context.as_ptr(), &self.cfg) };
        if let Err(code) = check(code) {
            log::warn!("{}", context.error("rate change", code));
        }
        if let Err(err) = context
            .control(vpx::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int, max_intra_pct(600, framerate))
        {
            log::warn!("{err}");
        }
    }
}

/// A libvpx image over the packed planes of `picture` (strides = plane widths).
fn wrap_picture(picture: &I420Buffer) -> vpx::vpx_image_t {
    // SAFETY: an all-zero `vpx_image_t` is valid (null pointers, zero sizes); every field
    // libvpx reads for an I420 input is set below.
    let mut image: vpx::vpx_image_t = unsafe { MaybeUninit::zeroed().assume_init() };
    let (width, height) = (picture.width(), picture.height());
    image.fmt = vpx::vpx_img_fmt::VPX_IMG_FMT_I420;
    image.w = width;
    image.h = height;
    image.d_w = width;
    image.d_h = height;
    image.bit_depth = 8;
    image.x_chroma_shift = 1;
    image.y_chroma_shift = 1;
    image.bps = 12;
    image.planes = [
        picture.y().as_ptr().cast_mut(),
        picture.u().as_ptr().cast_mut(),
        picture.v().as_ptr().cast_mut(),
        ptr::null_mut(),
    ];
    image.stride = [width as c_int, picture.chroma_width() as c_int, picture.chroma_width() as c_int, 0];
    image
}

/// A VP8 (or VP9) decoder that shows nothing until a keyframe and reports corrupt frames.
pub(crate) struct Vp8Decoder {
    context: Context,
    waiting_for_keyframe: bool,
    vp9: bool,
}

impl Vp8Decoder {
    /// A VP8 decoder (one thread, no post-processing).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: returns a pointer to libvpx's static interface description.
        Self::with_interface(unsafe { vpx::vpx_codec_vp8_dx() }, false)
    }

    /// A VP9 decoder (profile 0 pictures; the same checks as for VP8, with VP9's header).
    #[cfg(feature = "vp9")]
    pub(crate) fn new_vp9() -> Result<Self> {
        // SAFETY: as for VP8.
        Self::with_interface(unsafe { vpx::vpx_codec_vp9_dx() }, true)
    }

    fn with_interface(interface: *mut vpx::vpx_codec_iface_t, vp9: bool) -> Result<Self> {
        let cfg = vpx::vpx_codec_dec_cfg_t { threads: 1, w: 0, h: 0 };
        let mut ctx = Box::new(MaybeUninit::<vpx::vpx_codec_ctx_t>::zeroed());
        // SAFETY: as for the encoder.
        let code = unsafe {
            vpx::vpx_codec_dec_init_ver(ctx.as_mut_ptr(), interface, &cfg, 0, vpx::VPX_DECODER_ABI_VERSION as c_int)
        };
        check(code).map_err(|code| Error::Internal(format!("libvpx VP8 decoder init: {code:?}")))?;
        // SAFETY: initialised by a successful init.
        let context = Context(unsafe { Box::from_raw(Box::into_raw(ctx).cast()) });
        Ok(Self { context, waiting_for_keyframe: true, vp9 })
    }

    fn decode_frame(&mut self, data: &[u8]) -> Result<Option<I420Buffer>> {
        let header = if self.vp9 { parse_vp9_header(data)? } else { parse_header(data)? };
        if self.waiting_for_keyframe && !header.keyframe {
            return Ok(None);
        }
        let len = c_uint::try_from(data.len()).map_err(|_| Error::InvalidArgument("VP8 frame over 4 GiB".into()))?;
        // SAFETY: `data` is valid for `len` bytes during the call; libvpx copies what it keeps.
        let code = unsafe { vpx::vpx_codec_decode(self.context.as_ptr(), data.as_ptr(), len, ptr::null_mut(), 0) };
        check(code).map_err(|code| self.context.error("decode", code))?;
        let mut corrupted: c_int = 0;
        // SAFETY: VP8D_GET_FRAME_CORRUPTED writes one int.
        let code = unsafe {
            vpx::vpx_codec_control_(
                self.context.as_ptr(),
                vpx::vp8_dec_control_id::VP8D_GET_FRAME_CORRUPTED as c_int,
                &mut corrupted as *mut c_int,
            )
        };
        if check(code).is_ok() && corrupted != 0 {
            return Err(Error::Internal("VP8 frame decoded with errors (reference lost or corrupt)".into()));
        }
        let mut iter: vpx::vpx_codec_iter_t = ptr::null();
        let mut picture = None;
        loop {
            // SAFETY: iterates the decoded images; each lives until the next decode call.
            let image = unsafe { vpx::vpx_codec_get_frame(self.context.as_ptr(), &mut iter) };
            if image.is_null() {
                break;
            }
            // SAFETY: non-null images from libvpx are valid.
            picture = Some(copy_image(unsafe { &*image })?);
        }
        Ok(picture)
    }
}

impl VideoDecoder for Vp8Decoder {
    fn decode(&mut self, data: &[u8]) -> Result<Option<I420Buffer>> {
        let result = self.decode_frame(data);
        match &result {
            Err(_) => self.waiting_for_keyframe = true,
            Ok(Some(_)) => self.waiting_for_keyframe = false,
            Ok(None) => {}
        }
        result
    }
}

/// What the decoder checks before handing a frame to libvpx.
struct FrameHeader {
    keyframe: bool,
}

/// Checks the VP8 frame tag (RFC 6386 9.1) and, for a keyframe, its start code and a size
/// within [`MAX_VIDEO_DIMENSION`] (so a forged header cannot make libvpx allocate 16k x 16k).
fn parse_header(data: &[u8]) -> Result<FrameHeader> {
    let corrupt = |why: &str| Err(Error::InvalidArgument(format!("VP8 frame: {why}")));
    if data.len() < 3 {
        return corrupt("shorter than its 3-byte tag");
    }
    let keyframe = data[0] & 1 == 0;
    if !keyframe {
        return Ok(FrameHeader { keyframe });
    }
    if data.len() < 10 {
        return corrupt("keyframe shorter than its 10-byte header");
    }
    if data[3..6] != [0x9d, 0x01, 0x2a] {
        return corrupt("keyframe without its start code");
    }
    let width = u32::from(u16::from_le_bytes([data[6], data[7]]) & 0x3fff);
    let height = u32::from(u16::from_le_bytes([data[8], data[9]]) & 0x3fff);
    if width == 0 || height == 0 || width > MAX_VIDEO_DIMENSION || height > MAX_VIDEO_DIMENSION {
        return corrupt(&format!("keyframe size {width}x{height} out of range"));
    }
    Ok(FrameHeader { keyframe })
}

/// Checks a VP9 frame's uncompressed header (profile 0, RFC-less: the VP9 bitstream spec,
/// section 6.2) and, for a keyframe, its sync code and a size within [`MAX_VIDEO_DIMENSION`].
/// A superframe starts with its first frame, so that one is checked.
fn parse_vp9_header(data: &[u8]) -> Result<FrameHeader> {
    let corrupt = |why: &str| Err(Error::InvalidArgument(format!("VP9 frame: {why}")));
    let Some(&first) = data.first() else { return corrupt("empty") };
    if first >> 6 != 0b10 {
        return corrupt("no frame marker");
    }
    if first & 0x30 != 0 {
        return corrupt("a profile other than 0");
    }
    if first & 0x08 != 0 {
        return Ok(FrameHeader { keyframe: false }); // shows an earlier frame again
    }
    let keyframe = first & 0x04 == 0;
    if !keyframe {
        return Ok(FrameHeader { keyframe });
    }
    if data.len() < 9 {
        return corrupt("keyframe shorter than its header");
    }
    if data[1..4] != [0x49, 0x83, 0x42] {
        return corrupt("keyframe without its sync code");
    }
    // Colour space (3 bits), then the range bit unless the space is sRGB (7, not in profile 0).
    let bits = u64::from_be_bytes([data[4], data[5], data[6], data[7], data[8], 0, 0, 0]);
    let colour_bits = if (bits >> 61) == 7 { 3 } else { 4 };
    let width = ((bits >> (48 - colour_bits)) & 0xffff) as u32 + 1;
    let height = ((bits >> (32 - colour_bits)) & 0xffff) as u32 + 1;
    if width > MAX_VIDEO_DIMENSION || height > MAX_VIDEO_DIMENSION {
        return corrupt(&format!("keyframe size {width}x{height} out of range"));
    }
    Ok(FrameHeader { keyframe })
}

/// Copies a decoded libvpx image (any strides) into a packed [`I420Buffer`].
fn copy_image(image: &vpx::vpx_image_t) -> Result<I420Buffer> {
    if image.fmt != vpx::vpx_img_fmt::VPX_IMG_FMT_I420 {
        return Err(Error::Internal(format!("libvpx VP8 decoded to {:?}, not I420", image.fmt)));
    }
    let (width, height) = (image.d_w, image.d_h);
    let (chroma_width, chroma_height) = (width.div_ceil(2) as usize, height.div_ceil(2) as usize);
    let planes = [(width as usize, height as usize), (chroma_width, chroma_height), (chroma_width, chroma_height)];
    // Filled row by row, with no zeroing first: a 720p picture is 1.4 MB, 30 times a second.
    let mut data = Vec::with_capacity(VideoFormat::I420.frame_size(width, height));
    for (index, (plane_width, rows)) in planes.into_iter().enumerate() {
        let source = image.planes[index];
        let stride = image.stride[index];
        if source.is_null() || stride < plane_width as c_int {
            return Err(Error::Internal("libvpx VP8 decoded image has an unusable plane".into()));
        }
        for row in 0..rows {
            // SAFETY: libvpx guarantees `rows` rows of `stride` bytes, each at least
            // `plane_width` long (checked above).
            let line =
                unsafe { std::slice::from_raw_parts(source.offset(row as isize * stride as isize), plane_width) };
            data.extend_from_slice(line);
        }
    }
    I420Buffer::new(width, height, data)
}

#[cfg(test)]
mod tests {
    use super::threads_for_cores;

    #[test]
    fn a_second_encoder_thread_needs_a_large_picture_and_cores_to_spare() {
        assert_eq!(threads_for_cores(1280 * 720, 2), 1, "720p on 2 cores");
        assert_eq!(threads_for_cores(1280 * 720, 4), 2);
        assert_eq!(threads_for_cores(640 * 480, 16), 1, "VGA never needs two");
        assert_eq!(threads_for_cores(1920 * 1080, 6), 3);
        assert_eq!(threads_for_cores(1920 * 1080, 12), 4);
    }
}
