//! The native half of the `livekit_core` Python package: thin pyo3 wrappers over the livekit-core
//! crate. Python-facing shapes (event emitter, dataclasses) live in `python/livekit_core`; this
//! crate only translates calls, results, events and errors. It decides no protocol behaviour.

mod api;
mod errors;
mod events;
mod media;
mod participant;
mod resampler;
mod room;
mod rpc;
mod runtime;
mod streams;
mod video;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<room::NativeRoom>()?;
    m.add_class::<participant::NativeParticipant>()?;
    m.add_class::<streams::NativeByteReader>()?;
    m.add_class::<streams::NativeTextReader>()?;
    m.add_class::<streams::NativeByteWriter>()?;
    m.add_class::<streams::NativeTextWriter>()?;
    m.add_class::<rpc::RpcResponder>()?;
    m.add_class::<media::NativeAudioSource>()?;
    m.add_class::<media::NativeLocalAudioTrack>()?;
    m.add_class::<media::NativeLocalPublication>()?;
    m.add_class::<media::NativeRemotePublication>()?;
    m.add_class::<media::NativeRemoteTrack>()?;
    m.add_class::<media::NativeAudioStream>()?;
    m.add_class::<resampler::NativeAudioResampler>()?;
    m.add_class::<video::NativeVideoSource>()?;
    m.add_class::<video::NativeLocalVideoTrack>()?;
    m.add_class::<video::NativeVideoStream>()?;
    m.add_class::<api::NativeRoomService>()?;
    m.add_function(wrap_pyfunction!(room::connect, m)?)?;
    m.add_function(wrap_pyfunction!(streams::stream_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(streams::stream_text, m)?)?;
    m.add_function(wrap_pyfunction!(streams::send_text, m)?)?;
    m.add_function(wrap_pyfunction!(streams::send_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(streams::send_file, m)?)?;
    m.add_function(wrap_pyfunction!(video::convert_frame, m)?)?;
    m.add_function(wrap_pyfunction!(api::encode_token, m)?)?;
    m.add_function(wrap_pyfunction!(api::verify_token, m)?)?;
    runtime::register_exit_hook(m)
}
