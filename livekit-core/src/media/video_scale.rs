//! Downscaling an I420 picture, plane by plane, with `fast_image_resize` (box filter: each output pixel the mean of the pixels it covers): what the
//! lower simulcast layers are encoded from.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::video_frame::I420Buffer;
use crate::error::{Error, Result};

/// Scales pictures; keeps the resizer's buffers between calls.
#[derive(Default)]
pub(crate) struct Scaler {
    resizer: Resizer,
}

impl Scaler {
    /// `picture` at `width` x `height` (a copy when the size is already that).
    pub fn scale(&mut self, picture: &I420Buffer, width: u32, height: u32) -> Result<I420Buffer> {
        if (picture.width(), picture.height()) == (width, height) {
            return Ok(picture.clone());
        }
        let mut out = I420Buffer::filled(width, height, (0, 128, 128))?;
        let (chroma_width, chroma_height) = (out.chroma_width(), out.chroma_height());
        let (y, u, v) = out.planes_mut();
        let (src_width, src_height) = (picture.width(), picture.height());
        let (src_chroma_width, src_chroma_height) = (picture.chroma_width(), picture.chroma_height());
        self.plane(picture.y(), (src_width, src_height), y, (width, height))?;
        self.plane(picture.u(), (src_chroma_width, src_chroma_height), u, (chroma_width, chroma_height))?;
        self.plane(picture.v(), (src_chroma_width, src_chroma_height), v, (chroma_width, chroma_height))?;
        Ok(out)
    }

    fn plane(&mut self, src: &[u8], (sw, sh): (u32, u32), dst: &mut [u8], (dw, dh): (u32, u32)) -> Result<()> {
        let failed = |e: &dyn std::fmt::Display| Error::Internal(format!("scaling a picture: {e}"));
        let src = ImageRef::new(sw, sh, src, PixelType::U8).map_err(|e| failed(&e))?;
        let mut dst = Image::from_slice_u8(dw, dh, dst, PixelType::U8).map_err(|e| failed(&e))?;
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Box));
        self.resizer.resize(&src, &mut dst, &options).map_err(|e| failed(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_colour_survives_downscaling_to_any_size() {
        let picture = I420Buffer::filled(640, 360, (81, 90, 240)).unwrap();
        let mut scaler = Scaler::default();
        for (width, height) in [(320, 180), (160, 90), (161, 91), (1, 1)] {
            let small = scaler.scale(&picture, width, height).unwrap();
            assert_eq!((small.width(), small.height()), (width, height));
            assert!(small.y().iter().all(|&y| y == 81) && small.u().iter().all(|&u| u == 90));
            assert!(small.v().iter().all(|&v| v == 240));
        }
    }

    #[test]
    fn detail_is_averaged_not_dropped() {
        // Alternating black and white columns average to grey at half width.
        let mut picture = I420Buffer::filled(8, 2, (0, 128, 128)).unwrap();
        picture.planes_mut().0.iter_mut().skip(1).step_by(2).for_each(|y| *y = 200);
        let half = Scaler::default().scale(&picture, 4, 1).unwrap();
        assert!(half.y().iter().all(|&y| (90..=110).contains(&y)), "{:?}", half.y());
    }
}
