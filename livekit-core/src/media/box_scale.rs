//! One plane of 8-bit samples scaled to any size with a box filter: each output sample is the
//! mean of the input area it covers, with the samples at its edges weighted by how much of
//! them it covers. Separable: each row first into a fixed-point intermediate, then the columns.
//! It replaces `fast_image_resize`, whose convolutions for every pixel type and CPU were 3 MB
//! of the library, for the sizes the 2x2 means of `video_scale` do not cover.

/// Weights are fixed point with this many fractional bits; the weights of one output sum to 1.
const FRACTION_BITS: u32 = 16;
const ONE: u32 = 1 << FRACTION_BITS;

/// The inputs one output covers along an axis: the first one's index and their weights.
#[derive(Debug, PartialEq)]
struct Tap {
    first: usize,
    weights: Vec<u32>,
}

/// For each of `outputs` positions, the inputs of `inputs` it covers.
fn taps(inputs: usize, outputs: usize) -> Vec<Tap> {
    let scale = inputs as f64 / outputs as f64;
    (0..outputs)
        .map(|i| {
            let (left, right) = (i as f64 * scale, (i + 1) as f64 * scale);
            let first = left.floor() as usize;
            let last = (right.ceil() as usize).clamp(first + 1, inputs);
            let mut weights: Vec<u32> = (first..last)
                .map(|j| {
                    let covered = right.min(j as f64 + 1.0) - left.max(j as f64);
                    (covered.max(0.0) / scale * f64::from(ONE)).round() as u32
                })
                .collect();
            // Rounding may leave the sum a little off 1: the largest weight takes the difference.
            let sum: u32 = weights.iter().sum();
            if let Some(largest) = weights.iter_mut().max() {
                *largest = (*largest + ONE).saturating_sub(sum);
            }
            Tap { first, weights }
        })
        .collect()
}

/// Scales planes, keeping its intermediate buffer between calls.
#[derive(Default)]
pub(crate) struct BoxScaler {
    /// Each input row scaled horizontally, in fixed point.
    rows: Vec<u32>,
}

impl BoxScaler {
    /// `src` (`src_width` x `src_height` samples, rows packed) into `dst` (`dst_width` x
    /// `dst_height`). The caller sizes both slices; neither side may be 0.
    pub fn scale(
        &mut self,
        src: &[u8],
        (src_width, src_height): (usize, usize),
        dst: &mut [u8],
        (dst_width, dst_height): (usize, usize),
    ) {
        debug_assert!(src.len() >= src_width * src_height && dst.len() >= dst_width * dst_height);
        let across = taps(src_width, dst_width);
        self.rows.clear();
        self.rows.reserve(src_height * dst_width);
        for row in src.chunks_exact(src_width).take(src_height) {
            self.rows.extend(across.iter().map(|tap| {
                let inputs = &row[tap.first..tap.first + tap.weights.len()];
                inputs.iter().zip(&tap.weights).map(|(&s, &w)| u32::from(s) * w).sum::<u32>()
            }));
        }
        let down = taps(src_height, dst_height);
        for (out_row, tap) in dst.chunks_exact_mut(dst_width).zip(&down) {
            for (x, out) in out_row.iter_mut().enumerate() {
                let column = tap
                    .weights
                    .iter()
                    .enumerate()
                    .map(|(k, &w)| u64::from(self.rows[(tap.first + k) * dst_width + x]) * u64::from(w));
                let sum: u64 = column.sum();
                *out = ((sum + (1 << (2 * FRACTION_BITS - 1))) >> (2 * FRACTION_BITS)).min(255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact area mean in floating point, the reference.
    fn reference(src: &[u8], (sw, sh): (usize, usize), (dw, dh): (usize, usize)) -> Vec<f64> {
        let (sx, sy) = (sw as f64 / dw as f64, sh as f64 / dh as f64);
        let cover = |i: usize, j: usize, scale: f64| {
            let (left, right) = (i as f64 * scale, (i + 1) as f64 * scale);
            (right.min(j as f64 + 1.0) - left.max(j as f64)).max(0.0)
        };
        let mut out = Vec::new();
        for oy in 0..dh {
            for ox in 0..dw {
                let mut sum = 0.0;
                for y in 0..sh {
                    for x in 0..sw {
                        sum += f64::from(src[y * sw + x]) * cover(ox, x, sx) * cover(oy, y, sy);
                    }
                }
                out.push(sum / (sx * sy));
            }
        }
        out
    }

    #[test]
    fn every_output_is_the_mean_of_the_area_it_covers() {
        let (sw, sh) = (23, 17);
        let src: Vec<u8> = (0..sw * sh).map(|i| ((i * 37 + (i / sw) * 11) % 256) as u8).collect();
        let mut scaler = BoxScaler::default();
        for (dw, dh) in [(11, 8), (7, 5), (22, 16), (1, 1), (23, 17), (30, 20)] {
            let mut dst = vec![0; dw * dh];
            scaler.scale(&src, (sw, sh), &mut dst, (dw, dh));
            let expected = reference(&src, (sw, sh), (dw, dh));
            for (i, (&got, want)) in dst.iter().zip(&expected).enumerate() {
                assert!((f64::from(got) - want).abs() <= 1.0, "{dw}x{dh}, sample {i}: {got} for {want:.2}");
            }
        }
    }

    #[test]
    fn the_weights_of_each_output_sum_to_one() {
        for (inputs, outputs) in [(1366, 683), (1366, 341), (720, 270), (3, 7), (10, 10)] {
            for tap in taps(inputs, outputs) {
                assert_eq!(tap.weights.iter().sum::<u32>(), ONE, "{inputs} -> {outputs}: {tap:?}");
                assert!(tap.first + tap.weights.len() <= inputs);
            }
        }
    }
}
