//! Synthetic test clips (I420, deterministic): a camera-like clip (a panning textured
//! scene, a moving object, fine text detail, sensor noise), and a screen-share-like clip that is mostly static text with a
//! moving cursor, a scrolling pane and one window switch.

use livekit_core::media::I420Buffer;

/// Frame size of both clips.
pub const WIDTH: u32 = 640;
/// Frame size of both clips.
pub const HEIGHT: u32 = 360;
/// Frames per second of both clips.
pub const FPS: u32 = 30;
/// Length of both clips, in frames (10 s).
pub const FRAMES: u32 = 300;

/// A clip to encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clip {
    /// A panning textured scene, a bouncing checkered box, a scrolling ticker, noise.
    Camera,
    /// Harder and less natural: a white-noise texture and gradients moving opposite ways,
    /// noise; no single motion vector predicts it.
    Hard,
    /// Static text, a moving cursor, a scrolling pane, a window switch at 8 s.
    Screen,
}

impl Clip {
    /// The clip's name in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Clip::Camera => "camera",
            Clip::Hard => "hard",
            Clip::Screen => "screen",
        }
    }

    /// All frames of the clip.
    pub fn frames(self) -> Vec<I420Buffer> {
        (0..FRAMES)
            .map(|frame| match self {
                Clip::Camera => camera(frame, false),
                Clip::Hard => camera(frame, true),
                Clip::Screen => screen(frame),
            })
            .collect()
    }
}

/// A cheap deterministic hash for noise and glyph shapes.
fn hash(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

/// Smooth random texture 0..48: hashed values on an 8 px grid, bilinearly interpolated.
fn value_noise(x: u32, y: u32) -> u32 {
    let (cell_x, cell_y, fx, fy) = (x / 8, y / 8, x % 8, y % 8);
    let at = |cx: u32, cy: u32| hash(cx.wrapping_mul(7919) ^ cy.wrapping_mul(104_729)) % 48;
    let top = at(cell_x, cell_y) * (8 - fx) + at(cell_x + 1, cell_y) * fx;
    let bottom = at(cell_x, cell_y + 1) * (8 - fx) + at(cell_x + 1, cell_y + 1) * fx;
    (top * (8 - fy) + bottom * fy) / 64
}

/// A triangle wave 0..=255 with period 512.
fn triangle(t: u32) -> u32 {
    let t = t % 512;
    if t < 256 {
        t
    } else {
        511 - t
    }
}

/// Whether pixel (`x`, `y`) of a 6x10 glyph cell drawn from `seed` is ink: a few strokes,
/// like small text.
fn glyph_ink(seed: u32, x: u32, y: u32) -> bool {
    if x >= 5 || !(1..9).contains(&y) {
        return false;
    }
    let shape = hash(seed);
    let vertical = (shape >> (x % 5)) & 1 == 1 && !(shape >> 8).is_multiple_of(3);
    let horizontal = matches!(y, 1 | 4 | 8) && (shape >> (12 + y)) & 1 == 1;
    vertical || horizontal
}

fn camera(frame: u32, hard: bool) -> I420Buffer {
    let mut picture = I420Buffer::filled(WIDTH, HEIGHT, (0, 128, 128)).expect("valid size");
    let (chroma_width, chroma_height) = (picture.chroma_width(), picture.chroma_height());
    let (y_plane, u_plane, v_plane) = picture.planes_mut();
    // A 120x90 box bouncing at (5, 3) px per frame.
    let bounce = |t: u32, span: u32| {
        let t = t % (2 * span);
        if t < span {
            t
        } else {
            2 * span - t
        }
    };
    let (box_x, box_y) = (bounce(frame * 5, WIDTH - 120), bounce(frame * 3, HEIGHT - 130));
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            // The scene pans left 2 px per frame, as under a slowly turning camera: smooth
            // gradients with texture on top: smooth 8 px value noise and fine 2 px grain.
            let scene_x = x + frame * 2;
            let mut luma = if hard {
                // Texture panning left 1 px per frame under gradients moving right 3 px.
                let texture = hash((x + frame) / 3 + (y / 3) * 4096) % 48;
                30 + triangle(x + y / 2 + frame * 3) * 100 / 255 + y * 40 / HEIGHT + texture
            } else {
                let texture = value_noise(scene_x, y) + hash(scene_x / 2 + (y / 2) * 8192) % 12;
                30 + triangle(scene_x + y / 2) * 100 / 255 + y * 40 / HEIGHT + texture
            };
            if (box_x..box_x + 120).contains(&x) && (box_y..box_y + 90).contains(&y) {
                let checker = ((x - box_x) / 8 + (y - box_y) / 8) % 2;
                luma = if checker == 0 { 215 } else { 160 };
            }
            if (HEIGHT - 40..HEIGHT - 10).contains(&y) {
                // A ticker of small text scrolling left 2 px per frame, three rows of glyphs.
                let scrolled = x + frame * 2;
                let row = (y - (HEIGHT - 40)) / 10;
                let cell = scrolled / 6 + row * 10_007;
                luma = if glyph_ink(cell, scrolled % 6, (y - (HEIGHT - 40)) % 10) { 20 } else { 225 };
            }
            // Sensor noise, -1..=1.
            let noise = hash(x + y * WIDTH + frame * WIDTH * HEIGHT) % 3;
            y_plane[(y * WIDTH + x) as usize] = (luma + noise).saturating_sub(1).min(255) as u8;
        }
    }
    for y in 0..chroma_height {
        for x in 0..chroma_width {
            let index = (y * chroma_width + x) as usize;
            u_plane[index] = (96 + triangle(x * 2 + frame * 2) / 4) as u8;
            v_plane[index] = (96 + triangle((x + frame) * 2 + y * 3) / 4) as u8;
            let (full_x, full_y) = (x * 2, y * 2);
            if (box_x..box_x + 120).contains(&full_x) && (box_y..box_y + 90).contains(&full_y) {
                u_plane[index] = 90;
                v_plane[index] = 200;
            }
        }
    }
    picture
}

fn screen(frame: u32) -> I420Buffer {
    let mut picture = I420Buffer::filled(WIDTH, HEIGHT, (235, 128, 128)).expect("valid size");
    let (chroma_width, _) = (picture.chroma_width(), picture.chroma_height());
    let (y_plane, u_plane, v_plane) = picture.planes_mut();
    // The left pane switches to another document at 8 s; the right pane scrolls one line
    // (12 px) every 15 frames between 3 s and 7 s.
    let left_document = if frame < 240 { 1 } else { 2 };
    let scroll = if frame < 90 { 0 } else { (frame.min(210) - 90) / 15 * 12 };
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let luma = if y < 24 {
                // A title bar.
                60
            } else if x < 310 {
                let line = (y - 24) / 12;
                let column = x.saturating_sub(8) / 6;
                let line_length = 20 + hash(line * 31 + left_document) % 28;
                let ink = x >= 8
                    && column < line_length
                    && glyph_ink(line * 1000 + column + left_document * 7919, x.saturating_sub(8) % 6, (y - 24) % 12);
                if ink {
                    30
                } else {
                    235
                }
            } else if x < 318 {
                180
            } else {
                let content_y = y - 24 + scroll;
                let line = content_y / 12;
                let column = x.saturating_sub(326) / 6;
                let line_length = 10 + hash(line * 17 + 99) % 40;
                let ink = x >= 326
                    && column < line_length
                    && glyph_ink(line * 977 + column, x.saturating_sub(326) % 6, content_y % 12);
                if ink {
                    16
                } else {
                    250
                }
            };
            y_plane[(y * WIDTH + x) as usize] = luma;
        }
    }
    // The title bar in blue.
    for y in 0..12 {
        for x in 0..chroma_width {
            u_plane[(y * chroma_width + x) as usize] = 170;
            v_plane[(y * chroma_width + x) as usize] = 110;
        }
    }
    // A 12x18 arrow cursor gliding along a Lissajous path.
    let phase = frame as f64 / FPS as f64;
    let cursor_x = (320.0 + 250.0 * (phase * 0.9).sin()) as u32;
    let cursor_y = (190.0 + 140.0 * (phase * 1.3).cos()) as u32;
    for dy in 0..18 {
        for dx in 0..=dy.min(11) {
            let (x, y) = (cursor_x + dx, cursor_y + dy);
            if x < WIDTH && y < HEIGHT {
                let edge = dx == 0 || dx == dy.min(11) || dy == 17;
                y_plane[(y * WIDTH + x) as usize] = if edge { 16 } else { 240 };
            }
        }
    }
    picture
}
