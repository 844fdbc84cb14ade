//! Both video codecs through `new_encoder` / `new_decoder`: colour round trips, keyframes,
//! odd sizes, size changes, hostile input to the decoders, rate control.

use super::*;

/// The codecs this build has.
fn codecs() -> Vec<VideoCodec> {
    let mut codecs = Vec::new();
    if cfg!(feature = "vp8") {
        codecs.push(VideoCodec::Vp8);
    }
    if cfg!(feature = "h264") {
        codecs.push(VideoCodec::H264);
    }
    codecs
}

fn config(bitrate_bps: u32) -> EncoderConfig {
    EncoderConfig { bitrate_bps, max_framerate: 30.0, screencast: false }
}

/// A picture that changes every frame: moving gradients, a moving box, static hashed noise.
fn moving(width: u32, height: u32, frame: u32) -> I420Buffer {
    let mut picture = I420Buffer::filled(width, height, (0, 128, 128)).unwrap();
    let (chroma_width, chroma_height) = (picture.chroma_width(), picture.chroma_height());
    let (y, u, v) = picture.planes_mut();
    let box_x = (frame * 7) % width;
    for row in 0..height {
        for col in 0..width {
            let mut noise = (col * 73 + row * 151).wrapping_mul(2_654_435_761);
            noise ^= noise >> 13;
            let in_box = col.wrapping_sub(box_x) < width / 5 && row.wrapping_sub(height / 3) < height / 4;
            let base = if in_box { 230 } else { (col + row + frame * 3) % 200 + 20 };
            y[(row * width + col) as usize] = (base + noise % 24) as u8;
        }
    }
    for row in 0..chroma_height {
        for col in 0..chroma_width {
            u[(row * chroma_width + col) as usize] = ((col * 2 + frame) % 256) as u8;
            v[(row * chroma_width + col) as usize] = ((row * 2 + 255 - frame % 256) % 256) as u8;
        }
    }
    picture
}

/// Largest difference between two planes of equal size.
fn max_difference(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}

/// Encodes `frames` pictures and decodes them all; returns the encoded units and the last
/// decoded picture.
fn round_trip(codec: VideoCodec, pictures: &[I420Buffer]) -> (Vec<EncodedVideo>, I420Buffer) {
    let mut encoder = new_encoder(codec, config(800_000)).unwrap();
    let mut decoder = new_decoder(codec).unwrap();
    let mut units = Vec::new();
    let mut last = None;
    for picture in pictures {
        let Some(unit) = encoder.encode(picture, false).unwrap() else { continue };
        last = Some(decoder.decode(&unit.data).unwrap().expect("a decoded picture for each encoded one"));
        units.push(unit);
    }
    (units, last.expect("at least one picture decoded"))
}

#[test]
fn a_solid_colour_comes_back_within_a_small_tolerance() {
    for codec in codecs() {
        let colour = (81, 90, 240); // red
        let picture = I420Buffer::filled(320, 240, colour).unwrap();
        let (units, decoded) = round_trip(codec, &vec![picture.clone(); 5]);
        assert!(units[0].keyframe, "{codec:?}: the first frame is a keyframe");
        assert_eq!((units[0].width, units[0].height), (320, 240));
        assert_eq!((decoded.width(), decoded.height()), (320, 240), "{codec:?}");
        for (plane, decoded_plane, original) in
            [("Y", decoded.y(), picture.y()), ("U", decoded.u(), picture.u()), ("V", decoded.v(), picture.v())]
        {
            let diff = max_difference(decoded_plane, original);
            assert!(diff <= 4, "{codec:?}: {plane} differs by up to {diff}");
        }
    }
}

#[test]
fn a_forced_keyframe_is_a_keyframe_and_others_are_not() {
    for codec in codecs() {
        let mut encoder = new_encoder(codec, config(500_000)).unwrap();
        let mut keyframes = Vec::new();
        let mut emitted = 0;
        for frame in 0..30 {
            // Rate control may drop a frame; a forced keyframe then comes with the next one.
            if let Some(unit) = encoder.encode(&moving(320, 180, frame), frame == 8 || frame == 9).unwrap() {
                emitted += 1;
                if unit.keyframe {
                    keyframes.push(frame);
                }
            }
        }
        assert!(emitted > 20, "{codec:?}: only {emitted} of 30 frames");
        assert!(
            keyframes.len() >= 2 && keyframes[0] == 0 && (8..=10).contains(&keyframes[1]),
            "{codec:?}: {keyframes:?}"
        );
        assert!(keyframes.len() <= 3, "{codec:?}: {keyframes:?}");
    }
}

#[cfg(feature = "h264")]
#[test]
fn h264_keyframes_carry_sps_and_pps_and_are_constrained_baseline() {
    let mut encoder = new_encoder(VideoCodec::H264, config(500_000)).unwrap();
    for frame in 0..6 {
        let Some(unit) = encoder.encode(&moving(320, 180, frame), frame == 4).unwrap() else { continue };
        assert!(unit.data.starts_with(&[0, 0, 0, 1]) || unit.data.starts_with(&[0, 0, 1]), "Annex B");
        let types: Vec<u8> = nal_types(&unit.data);
        if unit.keyframe {
            let sps = types.iter().position(|&t| t == 7).expect("SPS in a keyframe");
            let pps = types.iter().position(|&t| t == 8).expect("PPS in a keyframe");
            let idr = types.iter().position(|&t| t == 5).expect("IDR slice in a keyframe");
            assert!(sps < idr && pps < idr, "{types:?}");
            let sps_start = unit.data.windows(4).position(|w| w == [0, 0, 1, 0x67]).unwrap() + 4;
            let (profile, constraints, level) =
                (unit.data[sps_start], unit.data[sps_start + 1], unit.data[sps_start + 2]);
            assert_eq!(profile, 0x42, "baseline");
            assert!(constraints & 0x40 != 0, "constraint_set1 (constrained baseline): {constraints:#x}");
            assert!(level >= 0x1f, "level {level:#x}");
        } else {
            assert!(!types.contains(&5), "{types:?}");
        }
    }
}

#[cfg(feature = "h264")]
fn nal_types(data: &[u8]) -> Vec<u8> {
    data.windows(4).filter(|w| w[0] == 0 && w[1] == 0 && w[2] == 1).map(|w| w[3] & 0x1f).collect()
}

#[test]
fn odd_dimensions_round_trip() {
    for codec in codecs() {
        let picture = I420Buffer::filled(321, 241, (150, 60, 200)).unwrap();
        let (units, decoded) = round_trip(codec, &vec![picture.clone(); 3]);
        // H.264 cannot code odd sizes: it pads by one column and row.
        let expected = if codec == VideoCodec::H264 { (322, 242) } else { (321, 241) };
        assert_eq!((units[0].width, units[0].height), expected, "{codec:?}");
        assert_eq!((decoded.width(), decoded.height()), expected, "{codec:?}");
        // Within 10 everywhere (H.264 can be off by a little more in the padded corner).
        assert!(max_difference(decoded.y(), &vec![150; decoded.y().len()]) <= 10, "{codec:?}");
        assert!(max_difference(decoded.u(), &vec![60; decoded.u().len()]) <= 10, "{codec:?}");
        assert!(max_difference(decoded.v(), &vec![200; decoded.v().len()]) <= 10, "{codec:?}");
    }
}

#[test]
fn a_size_change_restarts_the_encoder_and_the_decoder_follows() {
    for codec in codecs() {
        let mut encoder = new_encoder(codec, config(600_000)).unwrap();
        let mut decoder = new_decoder(codec).unwrap();
        let sizes = [(320, 240), (640, 360), (160, 90)];
        for (frame, (width, height)) in sizes.into_iter().flat_map(|size| [size; 5]).enumerate() {
            let Some(unit) = encoder.encode(&moving(width, height, frame as u32), false).unwrap() else { continue };
            let first_of_size = frame % 5 == 0;
            assert!(!first_of_size || unit.keyframe, "{codec:?} frame {frame}: the first of a size is a keyframe");
            assert_eq!((unit.width, unit.height), (width, height));
            let decoded = decoder.decode(&unit.data).unwrap();
            let decoded = decoded.unwrap_or_else(|| panic!("{codec:?} frame {frame}: no picture from {unit:?}"));
            assert_eq!((decoded.width(), decoded.height()), (width, height), "{codec:?} frame {frame}");
        }
    }
}

/// A small deterministic generator for hostile input.
fn noise_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u8
        })
        .collect()
}

#[test]
fn garbage_and_truncated_input_never_panics_or_shows_a_picture() {
    for codec in codecs() {
        let mut encoder = new_encoder(codec, config(600_000)).unwrap();
        let units: Vec<EncodedVideo> =
            (0..4).map(|f| encoder.encode(&moving(320, 240, f), false).unwrap().unwrap()).collect();
        let key = &units[0].data;

        // Pure noise, of many lengths, to a fresh decoder and to one mid-stream.
        for seed in 0..200u64 {
            let garbage = noise_bytes(seed, (seed as usize * 37) % 3000);
            let mut fresh = new_decoder(codec).unwrap();
            assert!(!matches!(fresh.decode(&garbage), Ok(Some(_))), "{codec:?} seed {seed}");
        }
        // Garbage behind a real header: VP8's keyframe tag, or H.264 start code + IDR NAL type.
        for seed in 0..100u64 {
            let mut forged = key[..key.len().min(if codec == VideoCodec::Vp8 { 10 } else { 40 })].to_vec();
            forged.extend(noise_bytes(seed, 200 + seed as usize * 13));
            let mut fresh = new_decoder(codec).unwrap();
            let _ = fresh.decode(&forged); // no panic; a picture of noise is acceptable here
        }
        // Truncated keyframes.
        for cut in [0, 1, 2, 3, 5, 9, 10, 20, key.len() / 4, key.len() / 2] {
            let mut fresh = new_decoder(codec).unwrap();
            let result = fresh.decode(&key[..cut]);
            assert!(!matches!(result, Ok(Some(_))), "{codec:?} keyframe cut at {cut}/{}", key.len());
        }
        // A decoder fed noise mid-stream recovers on the next keyframe.
        let mut decoder = new_decoder(codec).unwrap();
        decoder.decode(&units[0].data).unwrap().unwrap();
        let _ = decoder.decode(&noise_bytes(7, 500));
        let _ = decoder.decode(&units[1].data[..units[1].data.len() / 2]);
        let mut encoder = new_encoder(codec, config(600_000)).unwrap();
        let fresh_key = encoder.encode(&moving(320, 240, 9), true).unwrap().unwrap();
        assert!(decoder.decode(&fresh_key.data).unwrap().is_some(), "{codec:?} recovers on a keyframe");
    }
}

#[test]
fn delta_frames_before_the_first_keyframe_show_nothing() {
    for codec in codecs() {
        let mut encoder = new_encoder(codec, config(600_000)).unwrap();
        let units: Vec<EncodedVideo> =
            (0..3).map(|f| encoder.encode(&moving(320, 240, f), false).unwrap().unwrap()).collect();
        let mut decoder = new_decoder(codec).unwrap();
        assert_eq!(decoder.decode(&units[1].data).unwrap(), None, "{codec:?}");
        assert_eq!(decoder.decode(&units[2].data).unwrap(), None, "{codec:?}");
    }
}

#[test]
fn tiny_and_huge_pictures_are_handled_without_panicking() {
    for codec in codecs() {
        let mut encoder = new_encoder(codec, config(300_000)).unwrap();
        for (width, height) in [(1, 1), (2, 2), (17, 9)] {
            if let Ok(Some(unit)) = encoder.encode(&I420Buffer::filled(width, height, (100, 100, 100)).unwrap(), false)
            {
                let _ = new_decoder(codec).unwrap().decode(&unit.data);
            }
        }
    }
    #[cfg(feature = "h264")]
    {
        let mut encoder = new_encoder(VideoCodec::H264, config(300_000)).unwrap();
        let huge = I420Buffer::filled(4096, 2304, (0, 128, 128)).unwrap();
        assert!(matches!(encoder.encode(&huge, false), Err(Error::InvalidArgument(_))));
    }
}

/// Total encoded bytes of `frames` moving pictures at `bitrate_bps`.
fn encoded_bytes(codec: VideoCodec, bitrate_bps: u32, frames: u32) -> usize {
    let mut encoder = new_encoder(codec, config(bitrate_bps)).unwrap();
    (0..frames).filter_map(|f| encoder.encode(&moving(320, 240, f), false).unwrap()).map(|u| u.data.len()).sum()
}

#[test]
fn a_lower_bitrate_gives_smaller_output() {
    for codec in codecs() {
        let low = encoded_bytes(codec, 150_000, 60);
        let high = encoded_bytes(codec, 1_200_000, 60);
        assert!(low * 2 < high, "{codec:?}: {low} bytes at 150 kb/s vs {high} at 1200 kb/s");
        // Two seconds at 150 kb/s: within 2x of the target (keyframe included).
        assert!(low < 2 * 150_000 / 8 * 2, "{codec:?}: {low} bytes for 2 s at 150 kb/s");
    }
}

#[test]
fn set_rates_takes_effect_without_a_keyframe() {
    for codec in codecs() {
        let mut encoder = new_encoder(codec, config(1_200_000)).unwrap();
        let mut sizes = Vec::new();
        for frame in 0..120 {
            if frame == 60 {
                encoder.set_rates(150_000, 30.0);
            }
            if let Some(unit) = encoder.encode(&moving(320, 240, frame), false).unwrap() {
                sizes.push((frame, unit.data.len(), unit.keyframe));
            }
        }
        let first_after = sizes.iter().find(|(f, _, _)| *f >= 60).unwrap();
        assert!(!first_after.2, "{codec:?}: a rate change is not a keyframe");
        let bytes = |range: std::ops::Range<u32>| -> usize {
            sizes.iter().filter(|(f, _, _)| range.contains(f)).map(|(_, s, _)| s).sum()
        };
        let (before, after) = (bytes(30..60), bytes(90..120));
        assert!(after * 3 < before, "{codec:?}: {before} bytes before the cut, {after} after");
        // And back up.
        encoder.set_rates(1_200_000, 30.0);
        let raised: usize = (120..180)
            .filter_map(|f| encoder.encode(&moving(320, 240, f), false).unwrap())
            .skip(30)
            .map(|u| u.data.len())
            .sum();
        assert!(raised > 2 * after, "{codec:?}: {raised} bytes after raising, {after} before");
    }
}

#[test]
fn encoders_and_decoders_can_move_between_threads() {
    for codec in codecs() {
        let mut encoder = new_encoder(codec, config(300_000)).unwrap();
        let unit =
            std::thread::spawn(move || encoder.encode(&moving(64, 64, 0), false).unwrap().unwrap()).join().unwrap();
        let mut decoder = new_decoder(codec).unwrap();
        let decoded = std::thread::spawn(move || decoder.decode(&unit.data).unwrap()).join().unwrap();
        assert!(decoded.is_some());
    }
}

#[cfg(feature = "vp9")]
#[test]
fn vp9_is_decoded_but_not_encoded_and_refuses_forged_headers() {
    assert!(new_encoder(VideoCodec::Vp9, config(300_000)).is_err(), "VP9 is receive-only");
    let mut decoder = new_decoder(VideoCodec::Vp9).unwrap();
    // A keyframe header claiming 65536 x 65536 (sync code, colour space 0, sizes all ones).
    let forged = [0x82, 0x49, 0x83, 0x42, 0x0f, 0xff, 0xff, 0xff, 0xf0, 0, 0];
    assert!(decoder.decode(&forged).is_err());
    for garbage in [&[][..], &[0x00], &[0x86, 1, 2], &[0x82, 0x49, 0x83, 0x42, 0, 0, 0, 0, 0, 7, 7, 7]] {
        assert!(!matches!(decoder.decode(garbage), Ok(Some(_))), "{garbage:?}");
    }
}
