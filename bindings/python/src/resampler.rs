//! `AudioResampler`: the core's streaming sample-rate converter behind the official SDK's
//! `rtc.AudioResampler` (`push` and `flush` of int16 PCM). The input is copied once in, with the
//! GIL held; the output once out, into a new `bytearray` that the Python `AudioFrame` wraps.

use livekit_core::media::AudioResampler;
use parking_lot::Mutex;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use livekit_core::Error;

use crate::errors::{to_py, IntoPyResult};

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeAudioResampler {
    inner: Mutex<AudioResampler>,
}

#[pymethods]
impl NativeAudioResampler {
    #[new]
    fn new(input_rate: u32, output_rate: u32, num_channels: u32) -> PyResult<Self> {
        let inner = AudioResampler::new(input_rate, output_rate, num_channels).py()?;
        Ok(NativeAudioResampler { inner: Mutex::new(inner) })
    }

    /// Converts native-endian int16 bytes; returns the output they complete (maybe empty).
    fn push<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyByteArray>> {
        let samples = samples_from_py(data)?;
        let mut inner = self.inner.lock();
        let output = inner.push(&samples).py()?;
        samples_to_py(py, output)
    }

    /// Ends the stream and returns the rest of the output.
    fn flush<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyByteArray>> {
        let mut inner = self.inner.lock();
        let output = inner.flush().py()?;
        samples_to_py(py, output)
    }
}

fn samples_from_py(data: &Bound<'_, PyAny>) -> PyResult<Vec<i16>> {
    let copy = |bytes: &[u8]| -> PyResult<Vec<i16>> {
        if !bytes.len().is_multiple_of(2) {
            let message = format!("{} bytes are not whole int16 samples", bytes.len());
            return Err(to_py(Error::InvalidArgument(message)));
        }
        Ok(bytes.chunks_exact(2).map(|b| i16::from_ne_bytes([b[0], b[1]])).collect())
    };
    if let Ok(array) = data.cast::<PyByteArray>() {
        // SAFETY: the GIL is held and no Python code runs while the slice is read, so nothing
        // can resize or free the bytearray under it.
        copy(unsafe { array.as_bytes() })
    } else if let Ok(bytes) = data.cast::<PyBytes>() {
        copy(bytes.as_bytes())
    } else {
        Err(PyTypeError::new_err("audio data must be a bytearray or bytes of int16 samples"))
    }
}

fn samples_to_py<'py>(py: Python<'py>, samples: &[i16]) -> PyResult<Bound<'py, PyByteArray>> {
    PyByteArray::new_with(py, samples.len() * 2, |out| {
        for (dst, sample) in out.chunks_exact_mut(2).zip(samples) {
            dst.copy_from_slice(&sample.to_ne_bytes());
        }
        Ok(())
    })
}
