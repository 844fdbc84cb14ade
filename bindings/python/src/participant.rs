//! `NativeParticipant`: live reads of a participant's state, and for the local participant the
//! state updates, data packets, streams and RPC calls of the core's `LocalParticipant`.

use std::collections::HashMap;
use std::time::Duration;

use livekit_core::data::PerformRpcData;
use livekit_core::{
    ConnectionQuality, DataOptions, LocalParticipant, Participant, ParticipantKind, ParticipantTrackPermission,
    RemoteParticipant,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::IntoPyObjectExt;

use crate::errors::{rpc_to_py, IntoPyResult};
use crate::events::permissions_dict;
use crate::media::{
    local_track, publish_options, NativeLocalAudioTrack, NativeLocalPublication, NativeRemotePublication, VideoOptions,
};
use crate::runtime::awaitable;
use crate::video::{local_video_track, NativeLocalVideoTrack};

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeParticipant {
    inner: Participant,
}

impl NativeParticipant {
    pub fn new(inner: Participant) -> Self {
        Self { inner }
    }

    pub fn local(&self) -> PyResult<LocalParticipant> {
        match &self.inner {
            Participant::Local(local) => Ok(local.clone()),
            Participant::Remote(_) => Err(PyValueError::new_err("only the local participant can do this")),
        }
    }

    pub fn remote(&self) -> PyResult<RemoteParticipant> {
        match &self.inner {
            Participant::Remote(remote) => Ok(remote.clone()),
            Participant::Local(_) => Err(PyValueError::new_err("a stream follows a remote participant, not ourselves")),
        }
    }
}

fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| PyValueError::new_err(format!("{what} must be a positive number of seconds, got {value}")))
}

#[pymethods]
impl NativeParticipant {
    #[getter]
    fn sid(&self) -> String {
        self.inner.sid()
    }
    #[getter]
    fn identity(&self) -> String {
        self.inner.identity()
    }
    #[getter]
    fn name(&self) -> String {
        self.inner.name()
    }
    #[getter]
    fn metadata(&self) -> String {
        self.inner.metadata()
    }
    #[getter]
    fn attributes(&self) -> HashMap<String, String> {
        self.inner.attributes()
    }
    /// `livekit.rtc.ParticipantKind` numbers.
    #[getter]
    fn kind(&self) -> i32 {
        match self.inner.kind() {
            ParticipantKind::Standard => 0,
            ParticipantKind::Ingress => 1,
            ParticipantKind::Egress => 2,
            ParticipantKind::Sip => 3,
            ParticipantKind::Agent => 4,
            ParticipantKind::Connector => 5,
        }
    }
    #[getter]
    fn permissions<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        permissions_dict(py, self.inner.permissions())
    }
    #[getter]
    fn is_local(&self) -> bool {
        self.inner.is_local()
    }

    fn set_attributes<'py>(&self, py: Python<'py>, attributes: HashMap<String, String>) -> PyResult<Bound<'py, PyAny>> {
        let local = self.local()?;
        awaitable(py, async move { local.set_attributes(attributes).await.py() })
    }

    fn set_metadata<'py>(&self, py: Python<'py>, metadata: String) -> PyResult<Bound<'py, PyAny>> {
        let local = self.local()?;
        awaitable(py, async move { local.set_metadata(metadata).await.py() })
    }

    fn set_name<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        let local = self.local()?;
        awaitable(py, async move { local.set_name(name).await.py() })
    }

    #[pyo3(signature = (payload, reliable, destination_identities, topic))]
    fn publish_data<'py>(
        &self,
        py: Python<'py>,
        payload: Vec<u8>,
        reliable: bool,
        destination_identities: Vec<String>,
        topic: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let local = self.local()?;
        let mut options = if reliable { DataOptions::reliable() } else { DataOptions::lossy() };
        if let Some(topic) = topic.filter(|t| !t.is_empty()) {
            options = options.with_topic(topic);
        }
        options = options.with_destinations(destination_identities);
        awaitable(py, async move { local.publish_data(payload, options).await.py() })
    }

    #[pyo3(signature = (destination_identity, method, payload, response_timeout=None, max_round_trip_latency=None))]
    fn perform_rpc<'py>(
        &self,
        py: Python<'py>,
        destination_identity: String,
        method: String,
        payload: String,
        response_timeout: Option<f64>,
        max_round_trip_latency: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let local = self.local()?;
        let mut data = PerformRpcData::new(destination_identity, method).with_payload(payload);
        if let Some(timeout) = response_timeout {
            data = data.with_response_timeout(seconds(timeout, "response_timeout")?);
        }
        if let Some(latency) = max_round_trip_latency {
            data = data.with_max_round_trip_latency(seconds(latency, "max_round_trip_latency")?);
        }
        awaitable(py, async move { local.perform_rpc(data).await.map_err(rpc_to_py) })
    }

    // Tracks: publications, speaking state and connection quality, and for the local
    // participant publishing.

    /// The server's last audio level, 0.0 (silent) to 1.0.
    #[getter]
    fn audio_level(&self) -> f32 {
        self.inner.audio_level()
    }
    #[getter]
    fn is_speaking(&self) -> bool {
        self.inner.is_speaking()
    }
    #[getter]
    fn connection_quality(&self) -> i32 {
        quality_to_py(self.inner.connection_quality())
    }

    /// The participant's publications: `NativeLocalPublication`s or `NativeRemotePublication`s.
    fn track_publications<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        match &self.inner {
            Participant::Local(local) => local
                .track_publications()
                .into_values()
                .map(|p| NativeLocalPublication::new(p).into_bound_py_any(py))
                .collect(),
            Participant::Remote(remote) => remote
                .track_publications()
                .into_values()
                .map(|p| NativeRemotePublication::new(p).into_bound_py_any(py))
                .collect(),
        }
    }

    /// Publishes a `NativeLocalAudioTrack` or `NativeLocalVideoTrack`; `video` carries the
    /// video options (`VideoOptions`) and is ignored for audio.
    #[allow(clippy::too_many_arguments)] // the options' fields, flat as Python passes them
    #[pyo3(signature = (track, source, dtx=true, red=true, stereo=false, audio_bitrate=None, video=None))]
    fn publish_track<'py>(
        &self,
        py: Python<'py>,
        track: &Bound<'py, PyAny>,
        source: i32,
        dtx: bool,
        red: bool,
        stereo: bool,
        audio_bitrate: Option<u32>,
        video: Option<VideoOptions>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let local = self.local()?;
        let options = publish_options(source, dtx, red, stereo, audio_bitrate, video)?;
        let track = if let Ok(audio) = track.cast::<NativeLocalAudioTrack>() {
            local_track(audio.get())
        } else if let Ok(video) = track.cast::<NativeLocalVideoTrack>() {
            local_video_track(video.get())
        } else {
            return Err(PyTypeError::new_err("publish_track takes a LocalAudioTrack or a LocalVideoTrack"));
        };
        awaitable(py, async move { local.publish_track(track, options).await.map(NativeLocalPublication::new).py() })
    }

    fn unpublish_track<'py>(&self, py: Python<'py>, sid: String) -> PyResult<Bound<'py, PyAny>> {
        let local = self.local()?;
        awaitable(py, async move { local.unpublish_track(&sid).await.py() })
    }

    /// `allowed`: list of `(participant_identity, allow_all, allowed_track_sids)`.
    fn set_track_subscription_permissions<'py>(
        &self,
        py: Python<'py>,
        allow_all_participants: bool,
        allowed: Vec<(String, bool, Vec<String>)>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let local = self.local()?;
        let permissions = allowed
            .into_iter()
            .map(|(participant_identity, allow_all, allowed_track_sids)| ParticipantTrackPermission {
                participant_identity,
                allow_all,
                allowed_track_sids,
            })
            .collect();
        awaitable(py, async move {
            local.set_track_subscription_permissions(allow_all_participants, permissions).await.py()
        })
    }
}

/// `livekit.rtc.ConnectionQuality` numbers; the core's "not reported yet" counts as poor.
pub fn quality_to_py(quality: ConnectionQuality) -> i32 {
    match quality {
        ConnectionQuality::Unknown | ConnectionQuality::Poor => 0,
        ConnectionQuality::Good => 1,
        ConnectionQuality::Excellent => 2,
        ConnectionQuality::Lost => 3,
    }
}
