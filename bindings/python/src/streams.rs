//! Byte and text streams: writers (`stream_bytes`/`stream_text`), one-shot sends (`send_text`,
//! `send_bytes`, `send_file`) and readers handed to Python handlers. Stream info crosses as a
//! dict the Python layer turns into `ByteStreamInfo`/`TextStreamInfo`.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::{FutureExt, StreamExt};
use livekit_core::data::{
    ByteStreamInfo, ByteStreamReader, ByteStreamWriter, SendByteOptions, SendTextOptions, StreamByteOptions,
    StreamReader, StreamTextOptions, StreamWriter, TextStreamInfo, TextStreamReader, TextStreamWriter,
};
use livekit_core::Error;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use tokio::sync::Mutex;

use crate::errors::{to_py, IntoPyResult};
use crate::participant::NativeParticipant;
use crate::runtime::{awaitable, Lazy};

/// A read returns what already arrived, up to this much, so Python wakes once per batch.
const MAX_READ_BYTES: usize = 1 << 20;

fn byte_info<'py>(py: Python<'py>, info: &ByteStreamInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("stream_id", &info.id)?;
    dict.set_item("topic", &info.topic)?;
    dict.set_item("timestamp", info.timestamp.timestamp_millis())?;
    dict.set_item("size", info.total_length)?;
    dict.set_item("mime_type", &info.mime_type)?;
    dict.set_item("attributes", info.attributes())?;
    dict.set_item("name", &info.name)?;
    Ok(dict)
}

fn text_info<'py>(py: Python<'py>, info: &TextStreamInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("stream_id", &info.id)?;
    dict.set_item("topic", &info.topic)?;
    dict.set_item("timestamp", info.timestamp.timestamp_millis())?;
    dict.set_item("size", info.total_length)?;
    dict.set_item("mime_type", &info.mime_type)?;
    dict.set_item("attributes", info.attributes())?;
    dict.set_item("attachments", &info.attached_stream_ids)?;
    Ok(dict)
}

/// Reader state behind one lock: the reader until `read_all` takes it, and an error met while
/// batching, kept until the chunks read before it have been returned.
struct ReadState<R> {
    reader: Option<R>,
    failed: Option<Error>,
}

impl<R> ReadState<R> {
    fn new(reader: R) -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self { reader: Some(reader), failed: None }))
    }
}

macro_rules! reader_class {
    ($class:ident, $reader:ty, $info:ident, $start:ident, $append:ident, $to_py:ident) => {
        #[pyclass(frozen, module = "livekit_core._native")]
        pub struct $class {
            info: <$reader as StreamReader>::Info,
            state: Arc<Mutex<ReadState<$reader>>>,
        }

        impl $class {
            pub fn new(reader: $reader) -> Self {
                Self { info: reader.info().clone(), state: ReadState::new(reader) }
            }
        }

        #[pymethods]
        impl $class {
            fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                $info(py, &self.info)
            }

            /// The next data (what arrived, batched), or `None` at the end of the stream.
            fn next_chunk<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let state = self.state.clone();
                awaitable(py, async move {
                    let mut state = state.lock().await;
                    if let Some(err) = state.failed.take() {
                        return Err(to_py(err));
                    }
                    let Some(reader) = state.reader.as_mut() else { return Ok(None) };
                    let mut data = match reader.next().await {
                        None => return Ok(None),
                        Some(Err(err)) => return Err(to_py(err.into())),
                        Some(Ok(chunk)) => $start(chunk),
                    };
                    let mut failed = None;
                    while data.len() < MAX_READ_BYTES {
                        match reader.next().now_or_never() {
                            Some(Some(Ok(chunk))) => $append(&mut data, chunk),
                            Some(Some(Err(err))) => {
                                failed = Some(err.into());
                                break;
                            }
                            _ => break,
                        }
                    }
                    state.failed = failed;
                    Ok(Some(Lazy::new(move |py| $to_py(py, data))))
                })
            }

            /// Everything until the end of the stream.
            fn read_all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let state = self.state.clone();
                awaitable(py, async move {
                    let mut state = state.lock().await;
                    if let Some(err) = state.failed.take() {
                        return Err(to_py(err));
                    }
                    let data = match state.reader.take() {
                        Some(reader) => $start(reader.read_all().await.py()?),
                        None => Default::default(),
                    };
                    Ok(Lazy::new(move |py| $to_py(py, data)))
                })
            }
        }
    };
}

type ByteChunk = <ByteStreamReader as StreamReader>::Output;

fn start_bytes(chunk: ByteChunk) -> Vec<u8> {
    chunk.to_vec()
}

fn append_bytes(data: &mut Vec<u8>, chunk: ByteChunk) {
    data.extend_from_slice(&chunk);
}

fn bytes_to_py(py: Python<'_>, data: Vec<u8>) -> PyResult<Bound<'_, PyAny>> {
    Ok(PyBytes::new(py, &data).into_any())
}

fn start_text(chunk: String) -> String {
    chunk
}

fn append_text(data: &mut String, chunk: String) {
    data.push_str(&chunk);
}

fn text_to_py(py: Python<'_>, text: String) -> PyResult<Bound<'_, PyAny>> {
    Ok(text.into_pyobject(py)?.into_any())
}

reader_class!(NativeByteReader, ByteStreamReader, byte_info, start_bytes, append_bytes, bytes_to_py);
reader_class!(NativeTextReader, TextStreamReader, text_info, start_text, append_text, text_to_py);

macro_rules! writer_class {
    ($class:ident, $writer:ty, $info:ident, $input:ty, $borrow:ident) => {
        #[pyclass(frozen, module = "livekit_core._native")]
        pub struct $class {
            writer: $writer,
        }

        #[pymethods]
        impl $class {
            fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                $info(py, self.writer.info())
            }

            fn write<'py>(&self, py: Python<'py>, data: $input) -> PyResult<Bound<'py, PyAny>> {
                let writer = self.writer.clone();
                awaitable(py, async move { writer.write(data.$borrow()).await.py() })
            }

            /// Ends the stream; a `reason` ends it abnormally (readers see a `StreamError`).
            #[pyo3(signature = (reason=None, attributes=None))]
            fn close<'py>(
                &self,
                py: Python<'py>,
                reason: Option<String>,
                attributes: Option<HashMap<String, String>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let writer = self.writer.clone();
                awaitable(py, async move {
                    writer.close_with_options(reason.as_deref().filter(|r| !r.is_empty()), attributes).await.py()
                })
            }
        }
    };
}

writer_class!(NativeByteWriter, ByteStreamWriter, byte_info, Vec<u8>, as_slice);
writer_class!(NativeTextWriter, TextStreamWriter, text_info, String, as_str);

fn identities(list: Option<Vec<String>>) -> Vec<livekit_common::ParticipantIdentity> {
    list.unwrap_or_default().into_iter().map(Into::into).collect()
}

#[pyfunction]
#[pyo3(signature = (participant, name, topic, total_size=None, mime_type=None, attributes=None, stream_id=None, destination_identities=None))]
#[allow(clippy::too_many_arguments)]
pub fn stream_bytes<'py>(
    py: Python<'py>,
    participant: &NativeParticipant,
    name: String,
    topic: String,
    total_size: Option<u64>,
    mime_type: Option<String>,
    attributes: Option<HashMap<String, String>>,
    stream_id: Option<String>,
    destination_identities: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let local = participant.local()?;
    let mut options = StreamByteOptions::new_with_topic(topic);
    options.name = Some(name);
    options.total_length = total_size;
    options.mime_type = mime_type;
    options.attributes = attributes.unwrap_or_default();
    options.id = stream_id;
    options.destination_identities = identities(destination_identities);
    awaitable(py, async move {
        let writer = local.stream_bytes(options).await.py()?;
        Ok(NativeByteWriter { writer })
    })
}

#[pyfunction]
#[pyo3(signature = (participant, topic, destination_identities=None, attributes=None, stream_id=None, reply_to_id=None, total_size=None))]
#[allow(clippy::too_many_arguments)]
pub fn stream_text<'py>(
    py: Python<'py>,
    participant: &NativeParticipant,
    topic: String,
    destination_identities: Option<Vec<String>>,
    attributes: Option<HashMap<String, String>>,
    stream_id: Option<String>,
    reply_to_id: Option<String>,
    total_size: Option<u64>,
) -> PyResult<Bound<'py, PyAny>> {
    let local = participant.local()?;
    let mut options = StreamTextOptions::new_with_topic(topic);
    options.destination_identities = identities(destination_identities);
    options.attributes = attributes.unwrap_or_default();
    options.id = stream_id;
    options.reply_to_stream_id = reply_to_id;
    options.total_length = total_size;
    awaitable(py, async move {
        let writer = local.stream_text(options).await.py()?;
        Ok(NativeTextWriter { writer })
    })
}

#[pyfunction]
#[pyo3(signature = (participant, text, topic, destination_identities=None, attributes=None, reply_to_id=None, compress=true))]
#[allow(clippy::too_many_arguments)]
pub fn send_text<'py>(
    py: Python<'py>,
    participant: &NativeParticipant,
    text: String,
    topic: String,
    destination_identities: Option<Vec<String>>,
    attributes: Option<HashMap<String, String>>,
    reply_to_id: Option<String>,
    compress: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let local = participant.local()?;
    let mut options = SendTextOptions::new_with_topic(topic);
    options.destination_identities = identities(destination_identities);
    options.attributes = attributes.unwrap_or_default();
    options.reply_to_stream_id = reply_to_id;
    options.compress = Some(compress);
    awaitable(py, async move {
        let info = local.send_text(&text, options).await.py()?;
        Ok(Lazy::new(move |py| text_info(py, &info).map(Bound::into_any)))
    })
}

/// The options `send_bytes` and `send_file` share; name and MIME type default from the file.
fn byte_options(
    topic: String,
    destination_identities: Option<Vec<String>>,
    attributes: Option<HashMap<String, String>>,
    stream_id: Option<String>,
    compress: bool,
) -> SendByteOptions {
    let mut options = SendByteOptions::new_with_topic(topic);
    options.destination_identities = identities(destination_identities);
    options.attributes = attributes.unwrap_or_default();
    options.id = stream_id;
    options.compress = Some(compress);
    options
}

#[pyfunction]
#[pyo3(signature = (participant, data, topic, name=None, mime_type=None, destination_identities=None, attributes=None, stream_id=None, compress=true))]
#[allow(clippy::too_many_arguments)]
pub fn send_bytes<'py>(
    py: Python<'py>,
    participant: &NativeParticipant,
    data: Vec<u8>,
    topic: String,
    name: Option<String>,
    mime_type: Option<String>,
    destination_identities: Option<Vec<String>>,
    attributes: Option<HashMap<String, String>>,
    stream_id: Option<String>,
    compress: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let local = participant.local()?;
    let mut options = byte_options(topic, destination_identities, attributes, stream_id, compress);
    options.name = name;
    options.mime_type = mime_type;
    awaitable(py, async move {
        let info = local.send_bytes(&data, options).await.py()?;
        Ok(Lazy::new(move |py| byte_info(py, &info).map(Bound::into_any)))
    })
}

#[pyfunction]
#[pyo3(signature = (participant, file_path, topic, destination_identities=None, attributes=None, stream_id=None, compress=true))]
#[allow(clippy::too_many_arguments)]
pub fn send_file<'py>(
    py: Python<'py>,
    participant: &NativeParticipant,
    file_path: std::path::PathBuf,
    topic: String,
    destination_identities: Option<Vec<String>>,
    attributes: Option<HashMap<String, String>>,
    stream_id: Option<String>,
    compress: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let local = participant.local()?;
    let options = byte_options(topic, destination_identities, attributes, stream_id, compress);
    awaitable(py, async move {
        let info = local.send_file(&file_path, options).await.py()?;
        Ok(Lazy::new(move |py| byte_info(py, &info).map(Bound::into_any)))
    })
}
