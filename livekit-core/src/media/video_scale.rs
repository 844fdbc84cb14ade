//! Downscaling an I420 picture, plane by plane, with a box filter (each output pixel the mean of
//! the pixels it covers): what the lower simulcast layers are encoded from. Halves and quarters
//! (the usual simulcast layers) take a 2x2 mean, once or twice (a general convolution cost a
//! quarter of the CPU of publishing 720p); other sizes go through the general box filter of
//! `box_scale`.

use super::box_scale::BoxScaler;
use super::video_frame::I420Buffer;
use crate::error::Result;

/// Scales pictures; keeps the box filter's buffer between calls.
#[derive(Default)]
pub(crate) struct Scaler {
    general: BoxScaler,
}

impl Scaler {
    /// `picture` at `width` x `height` (a copy when the size is already that).
    pub fn scale(&mut self, picture: &I420Buffer, width: u32, height: u32) -> Result<I420Buffer> {
        if (picture.width(), picture.height()) == (width, height) {
            return Ok(picture.clone());
        }
        if let Some(half) = halved(picture, width, height)? {
            return Ok(half);
        }
        let mut out = I420Buffer::filled(width, height, (0, 128, 128))?;
        let (chroma_width, chroma_height) = (out.chroma_width(), out.chroma_height());
        let (y, u, v) = out.planes_mut();
        let (src_width, src_height) = (picture.width(), picture.height());
        let (src_chroma_width, src_chroma_height) = (picture.chroma_width(), picture.chroma_height());
        self.plane(picture.y(), (src_width, src_height), y, (width, height));
        self.plane(picture.u(), (src_chroma_width, src_chroma_height), u, (chroma_width, chroma_height));
        self.plane(picture.v(), (src_chroma_width, src_chroma_height), v, (chroma_width, chroma_height));
        Ok(out)
    }

    fn plane(&mut self, src: &[u8], (sw, sh): (u32, u32), dst: &mut [u8], (dw, dh): (u32, u32)) {
        let size = |w: u32, h: u32| (w as usize, h as usize);
        self.general.scale(src, size(sw, sh), dst, size(dw, dh));
    }
}

/// `picture` at exactly a half or a quarter of its size, by 2x2 means; `None` for other sizes.
fn halved(picture: &I420Buffer, width: u32, height: u32) -> Result<Option<I420Buffer>> {
    let (w, h) = (picture.width(), picture.height());
    // Each halving needs both sides a multiple of 4, so the chroma planes halve exactly too.
    let by =
        |factor: u32| w == factor * width && h == factor * height && w % (2 * factor) == 0 && h % (2 * factor) == 0;
    Ok(if by(2) {
        Some(halve(picture)?)
    } else if by(4) {
        Some(halve(&halve(picture)?)?)
    } else {
        None
    })
}

/// Half the size; both sides are multiples of 4.
fn halve(picture: &I420Buffer) -> Result<I420Buffer> {
    let mut out = I420Buffer::filled(picture.width() / 2, picture.height() / 2, (0, 128, 128))?;
    let (width, chroma_width) = (picture.width() as usize, picture.chroma_width() as usize);
    let (y, u, v) = out.planes_mut();
    halve_plane(picture.y(), width, y);
    halve_plane(picture.u(), chroma_width, u);
    halve_plane(picture.v(), chroma_width, v);
    Ok(out)
}

/// Each output sample the rounded mean of the 2x2 input samples it covers.
fn halve_plane(src: &[u8], src_width: usize, dst: &mut [u8]) {
    let dst_width = src_width / 2;
    for (out, rows) in dst.chunks_exact_mut(dst_width).zip(src.chunks_exact(2 * src_width)) {
        let (top, bottom) = rows.split_at(src_width);
        let done = halve_rows_wide(top, bottom, out);
        halve_rows(&top[2 * done..], &bottom[2 * done..], &mut out[done..]);
    }
}

/// One output row from two input rows, a sample at a time (the reference the faster ways are
/// tested against, and what finishes a row's last few samples).
fn halve_rows(top: &[u8], bottom: &[u8], out: &mut [u8]) {
    for ((o, t), b) in out.iter_mut().zip(top.chunks_exact(2)).zip(bottom.chunks_exact(2)) {
        let sum = u16::from(t[0]) + u16::from(t[1]) + u16::from(b[0]) + u16::from(b[1]);
        *o = ((sum + 2) / 4) as u8;
    }
}

/// As [`halve_rows`] for as many whole blocks of 16 outputs as fit, with SSE2 (part of every
/// x86_64 CPU). The release profile optimises for size, which turns LLVM's loop vectoriser off,
/// so the plain loop ran a sample at a time: 15 % of the CPU of publishing 720p. Returns how
/// many outputs it wrote.
#[cfg(target_arch = "x86_64")]
fn halve_rows_wide(top: &[u8], bottom: &[u8], out: &mut [u8]) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi16, _mm_and_si128, _mm_loadu_si128, _mm_packus_epi16, _mm_set1_epi16, _mm_srli_epi16,
        _mm_storeu_si128,
    };
    let mut written = 0;
    for ((t, b), o) in top.chunks_exact(32).zip(bottom.chunks_exact(32)).zip(out.chunks_exact_mut(16)) {
        // SAFETY: SSE2 is part of the x86_64 baseline. The unaligned loads read 16 bytes at
        // offsets 0 and 16 of 32-byte chunks, and the store writes the 16 bytes of `o`.
        unsafe {
            let low_bytes = _mm_set1_epi16(0x00ff);
            // Eight u16 sums of horizontally adjacent samples.
            let pairs = |at: *const u8| {
                let v = _mm_loadu_si128(at.cast::<__m128i>());
                _mm_add_epi16(_mm_and_si128(v, low_bytes), _mm_srli_epi16::<8>(v))
            };
            let mean = |top: *const u8, bottom: *const u8| {
                let sum = _mm_add_epi16(pairs(top), pairs(bottom));
                _mm_srli_epi16::<2>(_mm_add_epi16(sum, _mm_set1_epi16(2)))
            };
            let first = mean(t.as_ptr(), b.as_ptr());
            let second = mean(t.as_ptr().add(16), b.as_ptr().add(16));
            _mm_storeu_si128(o.as_mut_ptr().cast::<__m128i>(), _mm_packus_epi16(first, second));
        }
        written += 16;
    }
    written
}

/// As [`halve_rows`] for whole blocks of 4 outputs, eight input samples of a row at a time in a
/// `u64` (no intrinsics, so it is fast at any optimisation level on any CPU).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn halve_rows_swar(top: &[u8], bottom: &[u8], out: &mut [u8]) -> usize {
    const LOW_BYTES: u64 = 0x00ff_00ff_00ff_00ff;
    // Four u16 sums of horizontally adjacent samples.
    let pairs = |eight: &[u8]| {
        let v = u64::from_le_bytes(eight.try_into().unwrap_or_default());
        (v & LOW_BYTES) + ((v >> 8) & LOW_BYTES)
    };
    let mut written = 0;
    for ((t, b), o) in top.chunks_exact(8).zip(bottom.chunks_exact(8)).zip(out.chunks_exact_mut(4)) {
        let sum = pairs(t) + pairs(b) + 0x0002_0002_0002_0002;
        let means = (sum >> 2) & LOW_BYTES; // each lane at most 255 now
        let packed =
            (means & 0xff) | ((means >> 8) & 0xff00) | ((means >> 16) & 0xff_0000) | ((means >> 24) & 0xff00_0000);
        o.copy_from_slice(&(packed as u32).to_le_bytes());
        written += 4;
    }
    written
}

#[cfg(not(target_arch = "x86_64"))]
fn halve_rows_wide(top: &[u8], bottom: &[u8], out: &mut [u8]) -> usize {
    halve_rows_swar(top, bottom, out)
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

    /// A picture whose every sample differs from its neighbours (a diagonal ramp per plane).
    fn ramp(width: u32, height: u32) -> I420Buffer {
        let mut picture = I420Buffer::filled(width, height, (0, 0, 0)).unwrap();
        let (y, u, v) = picture.planes_mut();
        for (plane, w, seed) in
            [(y, width as usize, 0), (u, width.div_ceil(2) as usize, 50), (v, width.div_ceil(2) as usize, 99)]
        {
            plane.iter_mut().enumerate().for_each(|(i, s)| *s = ((i % w) * 3 + (i / w) * 5 + seed) as u8);
        }
        picture
    }

    #[test]
    fn halves_and_quarters_match_the_general_box_filter() {
        let picture = ramp(64, 48);
        for (width, height) in [(32, 24), (16, 12)] {
            let fast = Scaler::default().scale(&picture, width, height).unwrap();
            let mut general = I420Buffer::filled(width, height, (0, 0, 0)).unwrap();
            let (cw, ch) = (general.chroma_width(), general.chroma_height());
            let (y, u, v) = general.planes_mut();
            let mut scaler = Scaler::default();
            scaler.plane(picture.y(), (64, 48), y, (width, height));
            scaler.plane(picture.u(), (32, 24), u, (cw, ch));
            scaler.plane(picture.v(), (32, 24), v, (cw, ch));
            for (ours, theirs) in [(fast.y(), general.y()), (fast.u(), general.u()), (fast.v(), general.v())] {
                let worst = ours.iter().zip(theirs).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
                assert!(worst <= 1, "{width}x{height}: off by {worst}");
            }
        }
    }

    #[test]
    fn odd_ratios_still_scale() {
        let small = Scaler::default().scale(&ramp(64, 48), 48, 36).unwrap();
        assert_eq!((small.width(), small.height(), small.u().len()), (48, 36, 24 * 18));
    }

    #[test]
    fn the_wide_ways_give_exactly_the_plain_means() {
        // Pseudo-random rows (an LCG) of every length from 0 to 80 outputs, so whole blocks and
        // leftovers of both wide ways are covered, extremes included.
        let mut state = 12345u32;
        let mut next = move || {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        };
        for outputs in 0..=80 {
            let mut top: Vec<u8> = (0..2 * outputs).map(|_| next()).collect();
            let bottom: Vec<u8> = (0..2 * outputs).map(|_| next()).collect();
            if outputs == 80 {
                top.iter_mut().take(8).for_each(|s| *s = 255);
            }
            let mut expected = vec![0; outputs];
            halve_rows(&top, &bottom, &mut expected);
            for (name, wide) in
                [("wide", halve_rows_wide as fn(&[u8], &[u8], &mut [u8]) -> usize), ("swar", halve_rows_swar)]
            {
                let mut got = vec![0; outputs];
                let done = wide(&top, &bottom, &mut got);
                assert!(done <= outputs && outputs - done < 16, "{name}: {done} of {outputs}");
                halve_rows(&top[2 * done..], &bottom[2 * done..], &mut got[done..]);
                assert_eq!(got, expected, "{name}, {outputs} outputs");
            }
        }
        let mut plane = vec![0; 40 * 2];
        halve_plane(&[255; 80 * 4], 80, &mut plane);
        assert!(plane.iter().all(|&s| s == 255), "white stays white");
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
