//! Turning a picture upright before it is encoded: the rotation of a captured `VideoFrame`
//! (a phone held sideways) is applied to its I420 planes with the `yuv` crate, as libwebrtc
//! does when the video-orientation extension is not negotiated, so every subscriber sees the
//! picture the right way up without knowing the rotation.

use yuv::RotationMode;

use super::video_frame::{I420Buffer, VideoRotation};
use crate::error::{Error, Result};

impl I420Buffer {
    /// The picture turned clockwise by `rotation` (a quarter turn swaps width and height).
    ///
    /// ```
    /// use livekit_core::media::{I420Buffer, VideoRotation};
    /// let wide = I420Buffer::filled(4, 2, (16, 128, 128)).unwrap();
    /// let tall = wide.rotated(VideoRotation::Rotation90).unwrap();
    /// assert_eq!((tall.width(), tall.height()), (2, 4));
    /// ```
    pub fn rotated(&self, rotation: VideoRotation) -> Result<I420Buffer> {
        // The crate turns counter-clockwise.
        let mode = match rotation {
            VideoRotation::Rotation0 => return Ok(self.clone()),
            VideoRotation::Rotation90 => RotationMode::Rotate270,
            VideoRotation::Rotation180 => RotationMode::Rotate180,
            VideoRotation::Rotation270 => RotationMode::Rotate90,
        };
        let quarter_turn = mode != RotationMode::Rotate180;
        let (width, height) = if quarter_turn { (self.height(), self.width()) } else { (self.width(), self.height()) };
        let mut out = I420Buffer::filled(width, height, (0, 128, 128))?;
        let (chroma_width, out_chroma_width) = (self.chroma_width() as usize, out.chroma_width() as usize);
        let (chroma_height, src_width, src_height) =
            (self.chroma_height() as usize, self.width() as usize, self.height() as usize);
        let (y, u, v) = out.planes_mut();
        let turn = |src: &[u8], src_stride, dst: &mut [u8], dst_stride, w, h| {
            yuv::rotate_plane(src, src_stride, dst, dst_stride, w, h, mode)
                .map_err(|e| Error::InvalidArgument(format!("rotating a picture: {e}")))
        };
        turn(self.y(), src_width, y, width as usize, src_width, src_height)?;
        turn(self.u(), chroma_width, u, out_chroma_width, chroma_width, chroma_height)?;
        turn(self.v(), chroma_width, v, out_chroma_width, chroma_width, chroma_height)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4x2 picture whose luma is 0 except a mark at the top-left corner.
    fn marked() -> I420Buffer {
        let mut picture = I420Buffer::filled(4, 2, (0, 128, 128)).unwrap();
        picture.planes_mut().0[0] = 255;
        picture
    }

    fn mark_position(picture: &I420Buffer) -> (usize, usize) {
        let index = picture.y().iter().position(|&y| y == 255).expect("the mark survives");
        (index % picture.width() as usize, index / picture.width() as usize)
    }

    #[test]
    fn each_rotation_turns_clockwise() {
        let turned = |r| marked().rotated(r).unwrap();
        // Top-left goes to top-right on a quarter turn clockwise, bottom-right on a half turn,
        // bottom-left on three quarters.
        assert_eq!(mark_position(&turned(VideoRotation::Rotation90)), (1, 0));
        assert_eq!(mark_position(&turned(VideoRotation::Rotation180)), (3, 1));
        assert_eq!(mark_position(&turned(VideoRotation::Rotation270)), (0, 3));
        assert_eq!(turned(VideoRotation::Rotation0), marked());
    }

    #[test]
    fn odd_sizes_turn_with_their_chroma() {
        let picture = I420Buffer::filled(5, 3, (50, 60, 70)).unwrap();
        let turned = picture.rotated(VideoRotation::Rotation270).unwrap();
        assert_eq!((turned.width(), turned.height(), turned.chroma_width(), turned.chroma_height()), (3, 5, 2, 3));
        assert!(turned.u().iter().all(|&u| u == 60) && turned.v().iter().all(|&v| v == 70));
    }
}
