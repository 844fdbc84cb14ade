//! The files the stream and big-file figures send: pseudo-random bytes, so compression (on by
//! default on both sides) cannot shrink them, written once per run and removed on drop.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

pub struct TempFile {
    path: PathBuf,
    len: u64,
}

impl TempFile {
    /// Writes `len` pseudo-random bytes to a fresh file in the temp directory.
    pub fn random(label: &str, len: u64) -> anyhow::Result<TempFile> {
        let path = std::env::temp_dir().join(format!("livekit-bench-{}-{label}.bin", std::process::id()));
        // Owned before the first write, so a failed write still removes the file.
        let file = TempFile { path, len };
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&file.path).with_context(|| format!("create {}", file.path.display()))?,
        );
        let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ len;
        let mut block = vec![0u8; 1 << 20];
        let mut left = len;
        while left > 0 {
            for word in block.chunks_exact_mut(8) {
                word.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
            }
            let n = left.min(block.len() as u64) as usize;
            out.write_all(&block[..n])?;
            left -= n as u64;
        }
        out.flush()?;
        Ok(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> u64 {
        self.len
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A small fast generator; the bytes only need to defeat DEFLATE, not be secure.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_file_has_the_length_and_does_not_compress() {
        let file = TempFile::random("unit-test", 100_003).unwrap();
        let bytes = std::fs::read(file.path()).unwrap();
        assert_eq!(bytes.len(), 100_003);
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&bytes).unwrap();
        assert!(encoder.finish().unwrap().len() >= bytes.len());
        let path = file.path().to_path_buf();
        drop(file);
        assert!(!path.exists());
    }
}
