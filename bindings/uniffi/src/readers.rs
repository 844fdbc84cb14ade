//! Incoming stream readers as objects: read chunk by chunk, whole, or (bytes) into a file.
//! A reader is consumed by reading it whole; later calls fail with a typed error.

use std::sync::Arc;

use futures_util::StreamExt;
use livekit_core::data::{self as core, StreamReader, TakeCell};
use tokio::sync::Mutex;

use crate::error::{LiveKitError, Result};
use crate::streams::{ByteStreamInfo, TextStreamInfo};

/// A core reader that one call at a time may read, and one call may take.
struct Slot<R>(Mutex<Option<R>>);

impl<R: StreamReader + Unpin> Slot<R> {
    fn new(reader: Option<R>) -> Self {
        Self(Mutex::new(reader))
    }

    async fn take(&self) -> Result<R> {
        self.0.lock().await.take().ok_or_else(already_read)
    }

    async fn next(&self) -> Result<Option<R::Output>> {
        let mut guard = self.0.lock().await;
        let reader = guard.as_mut().ok_or_else(already_read)?;
        Ok(reader.next().await.transpose()?)
    }
}

fn already_read() -> LiveKitError {
    LiveKitError::Stream { reason: "this reader was already read to the end or taken".into() }
}

/// An incoming byte stream. Read it chunk by chunk, or whole, or into a file: one of the three.
#[derive(uniffi::Object)]
pub struct ByteStreamReader {
    info: Option<ByteStreamInfo>,
    slot: Slot<core::ByteStreamReader>,
}

impl ByteStreamReader {
    pub(crate) fn new(reader: core::ByteStreamReader) -> Arc<Self> {
        Arc::new(Self { info: Some(reader.info().into()), slot: Slot::new(Some(reader)) })
    }

    /// From an event: the first receiver takes the reader; a later one gets an empty reader
    /// whose calls fail.
    pub(crate) fn from_cell(cell: TakeCell<core::ByteStreamReader>) -> Arc<Self> {
        match cell.take() {
            Some(reader) => Self::new(reader),
            None => Arc::new(Self { info: None, slot: Slot::new(None) }),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl ByteStreamReader {
    pub fn info(&self) -> Result<ByteStreamInfo> {
        self.info.clone().ok_or_else(already_read)
    }

    /// The next chunk, or None at the end of the stream. Fails when the sender aborted it.
    pub async fn read_chunk(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.slot.next().await?.map(|chunk| chunk.to_vec()))
    }

    /// The rest of the stream, once it closed normally.
    pub async fn read_all(&self) -> Result<Vec<u8>> {
        Ok(self.slot.take().await?.read_all().await?.to_vec())
    }

    /// Writes the stream to `directory` (the system's temporary one by default) under the
    /// sender's name or `name_override`; returns the path. Names with a path are refused.
    pub async fn write_to_file(&self, directory: Option<String>, name_override: Option<String>) -> Result<String> {
        let path = self.slot.take().await?.write_to_file(directory, name_override.as_deref()).await?;
        Ok(path.to_string_lossy().into_owned())
    }

    /// Stops receiving; a read in progress fails. (Not `close`: Kotlin objects have one.)
    pub async fn cancel(&self) {
        if let Ok(reader) = self.slot.take().await {
            reader.closer().close();
        }
    }
}

/// An incoming text stream; chunks are whole UTF-8 text.
#[derive(uniffi::Object)]
pub struct TextStreamReader {
    info: Option<TextStreamInfo>,
    slot: Slot<core::TextStreamReader>,
}

impl TextStreamReader {
    pub(crate) fn new(reader: core::TextStreamReader) -> Arc<Self> {
        Arc::new(Self { info: Some(reader.info().into()), slot: Slot::new(Some(reader)) })
    }

    pub(crate) fn from_cell(cell: TakeCell<core::TextStreamReader>) -> Arc<Self> {
        match cell.take() {
            Some(reader) => Self::new(reader),
            None => Arc::new(Self { info: None, slot: Slot::new(None) }),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl TextStreamReader {
    pub fn info(&self) -> Result<TextStreamInfo> {
        self.info.clone().ok_or_else(already_read)
    }

    pub async fn read_chunk(&self) -> Result<Option<String>> {
        self.slot.next().await
    }

    pub async fn read_all(&self) -> Result<String> {
        Ok(self.slot.take().await?.read_all().await?)
    }

    pub async fn cancel(&self) {
        if let Ok(reader) = self.slot.take().await {
            reader.closer().close();
        }
    }
}
