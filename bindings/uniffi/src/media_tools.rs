//! Media helpers that need no room: the streaming `AudioResampler` and `convertFrame` between
//! pixel formats. Both are the core's; this file only moves bytes across (one copy each way).

use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::Result;
use crate::media::{samples_from_le_bytes, samples_to_le_bytes, VideoFormat, VideoFrame};

/// Converts 16-bit PCM from one sample rate to another in pieces of any length (the core's
/// `AudioResampler`): each `push` returns the output the input so far completes, `flush` ends
/// the stream with the rest, so the whole output is exactly the converted length, lined up with
/// the input. PCM is interleaved little-endian bytes, as everywhere in this binding.
#[derive(uniffi::Object)]
pub struct AudioResampler(Mutex<livekit_core::AudioResampler>);

#[uniffi::export]
impl AudioResampler {
    /// A resampler from `input_rate` to `output_rate` Hz (multiples of 100 Hz, 8 to 48 kHz)
    /// for `num_channels` interleaved channels (1 to 8).
    #[uniffi::constructor(default(num_channels = 1))]
    pub fn new(input_rate: u32, output_rate: u32, num_channels: u32) -> Result<Arc<Self>> {
        Ok(Arc::new(Self(Mutex::new(livekit_core::AudioResampler::new(input_rate, output_rate, num_channels)?))))
    }

    /// Adds `pcm` (whole frames) and returns the output it completes, possibly empty.
    pub fn push(&self, pcm: Vec<u8>) -> Result<Vec<u8>> {
        let samples = samples_from_le_bytes(&pcm)?;
        Ok(samples_to_le_bytes(self.0.lock().push(&samples)?))
    }

    /// Ends the stream and returns the rest of the output; the next push starts a new stream.
    pub fn flush(&self) -> Result<Vec<u8>> {
        Ok(samples_to_le_bytes(self.0.lock().flush()?))
    }
}

/// `frame` in another pixel format (a new frame; the same one copied when the format is
/// already `format`). Fails when the frame's data does not match its format and size.
#[uniffi::export]
pub fn convert_frame(frame: VideoFrame, format: VideoFormat) -> Result<VideoFrame> {
    let picture = livekit_core::media::PictureRef::new(frame.format.into(), frame.width, frame.height, &frame.data)?;
    let converted = picture.convert(format.into())?;
    let data = converted.data().clone();
    drop(converted);
    // Bytes into Vec reuses the buffer when nothing else holds it (the frame is gone).
    Ok(VideoFrame { format, data: data.into(), ..frame })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resampler_gives_the_converted_length_across_pushes() {
        let resampler = AudioResampler::new(48_000, 16_000, 1).unwrap();
        let piece = vec![0u8; 2 * 700];
        let mut out = 0;
        for _ in 0..3 {
            out += resampler.push(piece.clone()).unwrap().len();
        }
        out += resampler.flush().unwrap().len();
        assert_eq!(out, 2 * 700);
        assert!(resampler.push(vec![0; 3]).is_err());
        assert!(AudioResampler::new(44_100, 1_234, 1).is_err());
    }

    #[test]
    fn a_red_rgba_picture_converts_to_bgra_and_back() {
        let red = VideoFrame {
            format: VideoFormat::Rgba,
            width: 2,
            height: 2,
            data: [255, 0, 0, 255].repeat(4),
            rotation_degrees: 90,
            timestamp_us: 7,
        };
        let bgra = convert_frame(red.clone(), VideoFormat::Bgra).unwrap();
        assert_eq!((bgra.format, bgra.rotation_degrees, bgra.timestamp_us), (VideoFormat::Bgra, 90, 7));
        // Through I420 (limited range), so close to full red rather than exact.
        assert!(bgra.data[2] > 240 && bgra.data[0] < 16 && bgra.data[1] < 16, "{:?}", &bgra.data[..4]);
        let back = convert_frame(bgra, VideoFormat::Rgba).unwrap();
        assert!(back.data[0] > 240 && back.data[2] < 16, "{:?}", &back.data[..4]);
        let short = VideoFrame { data: vec![0; 3], ..red };
        assert!(convert_frame(short, VideoFormat::I420).is_err());
    }
}
