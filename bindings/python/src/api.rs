//! Server API for `livekit_core.api`: access tokens (encode and verify) and the RoomService
//! client, from the core's `api` module. Results cross as dicts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use livekit_core::api::{
    AccessToken, CreateRoomOptions, RoomClient, SendDataOptions, TokenVerifier, UpdateParticipantOptions, VideoGrants,
};
use livekit_core::Error;
use livekit_protocol as proto;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::{to_py, IntoPyResult};
use crate::runtime::{awaitable, Lazy};

fn list_of<'py>(
    py: Python<'py>,
    items: impl Iterator<Item = PyResult<Bound<'py, PyDict>>>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyList::new(py, items.collect::<PyResult<Vec<_>>>()?)?.into_any())
}

fn grants_from(dict: &Bound<'_, PyDict>) -> PyResult<VideoGrants> {
    let flag =
        |key: &str| -> PyResult<bool> { Ok(dict.get_item(key)?.map(|v| v.is_truthy()).transpose()?.unwrap_or(false)) };
    let option = |key: &str| -> PyResult<Option<bool>> {
        match dict.get_item(key)? {
            Some(v) if !v.is_none() => Ok(Some(v.is_truthy()?)),
            _ => Ok(None),
        }
    };
    Ok(VideoGrants {
        room_create: flag("room_create")?,
        room_list: flag("room_list")?,
        room_record: flag("room_record")?,
        room_admin: flag("room_admin")?,
        room_join: flag("room_join")?,
        room: dict.get_item("room")?.map(|v| v.extract()).transpose()?.unwrap_or_default(),
        can_publish: option("can_publish")?,
        can_subscribe: option("can_subscribe")?,
        can_publish_data: option("can_publish_data")?,
        can_update_own_metadata: option("can_update_own_metadata")?,
        hidden: flag("hidden")?,
        agent: flag("agent")?,
        ..Default::default()
    })
}

/// Signs a participant token.
#[pyfunction]
#[pyo3(signature = (api_key, api_secret, identity, name, metadata, attributes, grants, ttl_seconds, kind=None))]
#[allow(clippy::too_many_arguments)]
pub fn encode_token(
    api_key: &str,
    api_secret: &str,
    identity: &str,
    name: &str,
    metadata: &str,
    attributes: HashMap<String, String>,
    grants: &Bound<'_, PyDict>,
    ttl_seconds: f64,
    kind: Option<&str>,
) -> PyResult<String> {
    let ttl = Duration::try_from_secs_f64(ttl_seconds)
        .map_err(|_| to_py(Error::InvalidArgument(format!("ttl must be positive seconds, got {ttl_seconds}"))))?;
    let mut token = AccessToken::with_api_key(api_key, api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_metadata(metadata)
        .with_attributes(attributes)
        .with_ttl(ttl)
        .with_grants(grants_from(grants)?);
    if let Some(kind) = kind {
        token = token.with_kind(kind);
    }
    token.to_jwt().py()
}

/// Verifies a token's signature and expiry; returns its identity and room grant.
#[pyfunction]
pub fn verify_token<'py>(
    py: Python<'py>,
    api_key: &str,
    api_secret: &str,
    token: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let claims = TokenVerifier::with_api_key(api_key, api_secret).verify(token).py()?;
    let dict = PyDict::new(py);
    dict.set_item("identity", claims.sub)?;
    dict.set_item("name", claims.name)?;
    dict.set_item("metadata", claims.metadata)?;
    dict.set_item("room", claims.video.room)?;
    dict.set_item("room_join", claims.video.room_join)?;
    dict.set_item("room_admin", claims.video.room_admin)?;
    Ok(dict)
}

fn room_dict<'py>(py: Python<'py>, room: &proto::Room) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("sid", &room.sid)?;
    dict.set_item("name", &room.name)?;
    dict.set_item("metadata", &room.metadata)?;
    dict.set_item("num_participants", room.num_participants)?;
    dict.set_item("empty_timeout", room.empty_timeout)?;
    dict.set_item("max_participants", room.max_participants)?;
    Ok(dict)
}

fn participant_dict<'py>(py: Python<'py>, p: &proto::ParticipantInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("sid", &p.sid)?;
    dict.set_item("identity", &p.identity)?;
    dict.set_item("name", &p.name)?;
    dict.set_item("metadata", &p.metadata)?;
    dict.set_item("attributes", &p.attributes)?;
    Ok(dict)
}

#[pyclass(frozen, module = "livekit_core._native")]
pub struct NativeRoomService {
    client: Arc<RoomClient>,
}

#[pymethods]
impl NativeRoomService {
    #[new]
    fn new(url: &str, api_key: &str, api_secret: &str) -> Self {
        let http = livekit_core::api::http_url(url);
        Self { client: Arc::new(RoomClient::with_api_key(&http, api_key, api_secret)) }
    }

    #[pyo3(signature = (name, empty_timeout=0, max_participants=0, metadata=String::new()))]
    fn create_room<'py>(
        &self,
        py: Python<'py>,
        name: String,
        empty_timeout: u32,
        max_participants: u32,
        metadata: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        let options = CreateRoomOptions { empty_timeout, max_participants, metadata, ..Default::default() };
        awaitable(py, async move {
            let room = client.create_room(&name, options).await.map_err(|e| to_py(e.into()))?;
            Ok(Lazy::new(move |py| room_dict(py, &room).map(Bound::into_any)))
        })
    }

    #[pyo3(signature = (names=Vec::new()))]
    fn list_rooms<'py>(&self, py: Python<'py>, names: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        awaitable(py, async move {
            let rooms = client.list_rooms(names).await.map_err(|e| to_py(e.into()))?;
            Ok(Lazy::new(move |py| list_of(py, rooms.iter().map(|r| room_dict(py, r)))))
        })
    }

    fn delete_room<'py>(&self, py: Python<'py>, room: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        awaitable(py, async move { client.delete_room(&room).await.map_err(|e| to_py(e.into())) })
    }

    fn update_room_metadata<'py>(
        &self,
        py: Python<'py>,
        room: String,
        metadata: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        awaitable(py, async move {
            let room = client.update_room_metadata(&room, &metadata).await.map_err(|e| to_py(e.into()))?;
            Ok(Lazy::new(move |py| room_dict(py, &room).map(Bound::into_any)))
        })
    }

    fn list_participants<'py>(&self, py: Python<'py>, room: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        awaitable(py, async move {
            let list = client.list_participants(&room).await.map_err(|e| to_py(e.into()))?;
            Ok(Lazy::new(move |py| list_of(py, list.iter().map(|p| participant_dict(py, p)))))
        })
    }

    fn get_participant<'py>(&self, py: Python<'py>, room: String, identity: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        awaitable(py, async move {
            let p = client.get_participant(&room, &identity).await.map_err(|e| to_py(e.into()))?;
            Ok(Lazy::new(move |py| participant_dict(py, &p).map(Bound::into_any)))
        })
    }

    #[pyo3(signature = (room, identity, metadata=String::new(), attributes=HashMap::new(), name=String::new(), permission=None))]
    #[allow(clippy::too_many_arguments)]
    fn update_participant<'py>(
        &self,
        py: Python<'py>,
        room: String,
        identity: String,
        metadata: String,
        attributes: HashMap<String, String>,
        name: String,
        permission: Option<HashMap<String, bool>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        let permission = permission.map(|p| {
            let flag = |key: &str| p.get(key).copied().unwrap_or(false);
            proto::ParticipantPermission {
                can_subscribe: flag("can_subscribe"),
                can_publish: flag("can_publish"),
                can_publish_data: flag("can_publish_data"),
                can_update_metadata: flag("can_update_metadata"),
                hidden: flag("hidden"),
                ..Default::default()
            }
        });
        let options = UpdateParticipantOptions { metadata, attributes, name, permission };
        awaitable(py, async move {
            let p = client.update_participant(&room, &identity, options).await.map_err(|e| to_py(e.into()))?;
            Ok(Lazy::new(move |py| participant_dict(py, &p).map(Bound::into_any)))
        })
    }

    fn remove_participant<'py>(&self, py: Python<'py>, room: String, identity: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        awaitable(py, async move { client.remove_participant(&room, &identity).await.map_err(|e| to_py(e.into())) })
    }

    #[pyo3(signature = (room, data, reliable=true, destination_identities=Vec::new(), topic=None))]
    fn send_data<'py>(
        &self,
        py: Python<'py>,
        room: String,
        data: Vec<u8>,
        reliable: bool,
        destination_identities: Vec<String>,
        topic: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client.clone();
        let kind = if reliable { proto::data_packet::Kind::Reliable } else { proto::data_packet::Kind::Lossy };
        let options = SendDataOptions { kind, destination_identities, topic, ..Default::default() };
        awaitable(py, async move { client.send_data(&room, data, options).await.map_err(|e| to_py(e.into())) })
    }
}
