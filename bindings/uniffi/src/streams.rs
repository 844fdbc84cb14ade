//! Byte and text streams: sending (writers, whole sends), options and infos as records, and
//! the foreign traits that receive streams and hear send progress. All logic is the core's.

use std::collections::HashMap;
use std::sync::Arc;

use livekit_core::data::{self as core, StreamWriter as _};

use crate::drop_in_runtime::DropInRuntime;
use crate::error::Result;
use crate::participant::LocalParticipant;
use crate::readers::{ByteStreamReader, TextStreamReader};

/// Receives the byte streams of one topic. Called on a runtime thread: start the reading
/// elsewhere (a coroutine, a Task) and return.
#[uniffi::export(with_foreign)]
pub trait ByteStreamHandler: Send + Sync {
    fn on_stream(&self, reader: Arc<ByteStreamReader>, participant_identity: String);
}

/// Receives the text streams of one topic (see `ByteStreamHandler`).
#[uniffi::export(with_foreign)]
pub trait TextStreamHandler: Send + Sync {
    fn on_stream(&self, reader: Arc<TextStreamReader>, participant_identity: String);
}

/// Hears the progress of a send, from 0 to all bytes.
#[uniffi::export(with_foreign)]
pub trait StreamProgressListener: Send + Sync {
    fn on_progress(&self, bytes_processed: u64, bytes_total: Option<u64>);
}

#[derive(Clone, uniffi::Record)]
pub struct ByteStreamInfo {
    pub id: String,
    pub topic: String,
    /// Milliseconds since the Unix epoch, as the sender stamped it.
    pub timestamp_ms: i64,
    pub total_length: Option<u64>,
    pub mime_type: String,
    pub name: String,
    pub attributes: HashMap<String, String>,
}

impl From<&core::ByteStreamInfo> for ByteStreamInfo {
    fn from(info: &core::ByteStreamInfo) -> Self {
        Self {
            id: info.id.clone(),
            topic: info.topic.clone(),
            timestamp_ms: info.timestamp.timestamp_millis(),
            total_length: info.total_length,
            mime_type: info.mime_type.clone(),
            name: info.name.clone(),
            attributes: info.attributes(),
        }
    }
}

#[derive(Clone, uniffi::Record)]
pub struct TextStreamInfo {
    pub id: String,
    pub topic: String,
    pub timestamp_ms: i64,
    pub total_length: Option<u64>,
    pub mime_type: String,
    pub attributes: HashMap<String, String>,
    pub reply_to_stream_id: Option<String>,
    pub attached_stream_ids: Vec<String>,
    pub generated: bool,
}

impl From<&core::TextStreamInfo> for TextStreamInfo {
    fn from(info: &core::TextStreamInfo) -> Self {
        Self {
            id: info.id.clone(),
            topic: info.topic.clone(),
            timestamp_ms: info.timestamp.timestamp_millis(),
            total_length: info.total_length,
            mime_type: info.mime_type.clone(),
            attributes: info.attributes(),
            reply_to_stream_id: info.reply_to_stream_id.clone(),
            attached_stream_ids: info.attached_stream_ids.clone(),
            generated: info.generated,
        }
    }
}

/// Options of a whole send (`send_file`, `send_bytes`): compressed when every receiver
/// supports it, unless `compress` is false.
#[derive(uniffi::Record)]
pub struct SendByteOptions {
    pub topic: String,
    #[uniffi(default = None)]
    pub name: Option<String>,
    #[uniffi(default = None)]
    pub mime_type: Option<String>,
    #[uniffi(default)]
    pub attributes: HashMap<String, String>,
    #[uniffi(default)]
    pub destination_identities: Vec<String>,
    #[uniffi(default = None)]
    pub compress: Option<bool>,
}

#[derive(uniffi::Record)]
pub struct SendTextOptions {
    pub topic: String,
    #[uniffi(default)]
    pub attributes: HashMap<String, String>,
    #[uniffi(default)]
    pub destination_identities: Vec<String>,
    #[uniffi(default = None)]
    pub compress: Option<bool>,
}

/// Options of an incremental writer (`stream_bytes`, `stream_text`); never compressed.
#[derive(uniffi::Record)]
pub struct StreamOptions {
    pub topic: String,
    /// Byte streams only: the name receivers see (a file name).
    #[uniffi(default = None)]
    pub name: Option<String>,
    #[uniffi(default = None)]
    pub mime_type: Option<String>,
    #[uniffi(default = None)]
    pub total_length: Option<u64>,
    #[uniffi(default)]
    pub attributes: HashMap<String, String>,
    #[uniffi(default)]
    pub destination_identities: Vec<String>,
}

fn progress_callback(listener: Option<Arc<dyn StreamProgressListener>>) -> Option<core::StreamProgressCallback> {
    listener.map(|l| core::StreamProgressCallback::new(move |p| l.on_progress(p.bytes_processed(), p.bytes_total())))
}

impl SendByteOptions {
    fn into_core(self, progress: Option<Arc<dyn StreamProgressListener>>) -> core::SendByteOptions {
        let mut options = core::SendByteOptions::new_with_topic(self.topic).with_attributes(self.attributes);
        options.destination_identities = self.destination_identities.into_iter().map(Into::into).collect();
        options.name = self.name;
        options.mime_type = self.mime_type;
        options.compress = self.compress;
        options.on_progress = progress_callback(progress);
        options
    }
}

/// An outgoing byte stream opened with `stream_bytes`. Dropped unfinished, it ends normally.
#[derive(uniffi::Object)]
pub struct ByteStreamWriter(DropInRuntime<core::ByteStreamWriter>);

#[uniffi::export(async_runtime = "tokio")]
impl ByteStreamWriter {
    pub fn info(&self) -> ByteStreamInfo {
        self.0.info().into()
    }

    /// Sends the bytes in chunks of at most 15,000 bytes; waits while the channel is full.
    pub async fn write(&self, bytes: Vec<u8>) -> Result<()> {
        Ok(self.0.write(&bytes).await?)
    }

    /// Ends the stream normally. (Not `close`: Kotlin objects have one; the Swift layer
    /// offers `close()`.)
    pub async fn finish(&self) -> Result<()> {
        Ok((*self.0).clone().close().await?)
    }

    /// Aborts the stream: receivers' reads fail with `reason`.
    pub async fn abort(&self, reason: String) -> Result<()> {
        Ok((*self.0).clone().close_with_reason(&reason).await?)
    }
}

/// An outgoing text stream opened with `stream_text`.
#[derive(uniffi::Object)]
pub struct TextStreamWriter(DropInRuntime<core::TextStreamWriter>);

#[uniffi::export(async_runtime = "tokio")]
impl TextStreamWriter {
    pub fn info(&self) -> TextStreamInfo {
        self.0.info().into()
    }

    pub async fn write(&self, text: String) -> Result<()> {
        Ok(self.0.write(&text).await?)
    }

    pub async fn finish(&self) -> Result<()> {
        Ok((*self.0).clone().close().await?)
    }

    pub async fn abort(&self, reason: String) -> Result<()> {
        Ok((*self.0).clone().close_with_reason(&reason).await?)
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl LocalParticipant {
    /// Sends a file without loading it whole; name and MIME type default to the file's.
    pub async fn send_file(
        &self,
        path: String,
        options: SendByteOptions,
        progress: Option<Arc<dyn StreamProgressListener>>,
    ) -> Result<ByteStreamInfo> {
        Ok((&self.0.send_file(path, options.into_core(progress)).await?).into())
    }

    /// Sends bytes already in memory as one stream.
    pub async fn send_bytes(
        &self,
        data: Vec<u8>,
        options: SendByteOptions,
        progress: Option<Arc<dyn StreamProgressListener>>,
    ) -> Result<ByteStreamInfo> {
        Ok((&self.0.send_bytes(data, options.into_core(progress)).await?).into())
    }

    /// Sends a whole text as one stream.
    pub async fn send_text(&self, text: String, options: SendTextOptions) -> Result<TextStreamInfo> {
        let mut core_options = core::SendTextOptions::new_with_topic(options.topic).with_attributes(options.attributes);
        core_options.destination_identities = options.destination_identities.into_iter().map(Into::into).collect();
        core_options.compress = options.compress;
        Ok((&self.0.send_text(&text, core_options).await?).into())
    }

    /// Opens a byte stream to write incrementally.
    pub async fn stream_bytes(&self, options: StreamOptions) -> Result<Arc<ByteStreamWriter>> {
        let mut core_options =
            core::StreamByteOptions::new_with_topic(options.topic).with_attributes(options.attributes);
        core_options.destination_identities = options.destination_identities.into_iter().map(Into::into).collect();
        core_options.name = options.name;
        core_options.mime_type = options.mime_type;
        core_options.total_length = options.total_length;
        Ok(Arc::new(ByteStreamWriter(DropInRuntime::new(self.0.stream_bytes(core_options).await?))))
    }

    /// Opens a text stream to write incrementally; chunks split on UTF-8 boundaries.
    pub async fn stream_text(&self, options: StreamOptions) -> Result<Arc<TextStreamWriter>> {
        let mut core_options =
            core::StreamTextOptions::new_with_topic(options.topic).with_attributes(options.attributes);
        core_options.destination_identities = options.destination_identities.into_iter().map(Into::into).collect();
        core_options.total_length = options.total_length;
        Ok(Arc::new(TextStreamWriter(DropInRuntime::new(self.0.stream_text(core_options).await?))))
    }
}
