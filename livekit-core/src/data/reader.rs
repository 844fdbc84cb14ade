//! Incoming stream readers: the official readers of `livekit-data-stream`, each with a meter
//! that counts what the app has read, so the stream guard bounds the bytes received but not yet
//! read instead of the bytes received (docs/security.md).
//!
//! Why our own type: the official reader keeps its chunks in an unbounded channel and nothing
//! outside it can see how much it still holds. These wrappers have the same methods (the
//! official `StreamReader` trait, `Stream`, `progress_stream`, `closer`, `write_to_file`), so
//! code written against the official readers reads them unchanged.
//!
//! What counts as read: a chunk handed to the app by `next()` (and so by `write_to_file`, which
//! writes each chunk as it comes). `read_all` gathers the whole stream in memory before it
//! returns, so the bytes it holds still count as unread: a stream read with `read_all` is held
//! to `MAX_UNREAD_STREAM_BYTES` as before. A dropped reader reads nothing more.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use livekit_data_stream::api::{
    self as official, ByteStreamInfo, StreamCloser, StreamError, StreamProgress, StreamReader, StreamResult,
    TextStreamInfo,
};

/// What the app has done with one stream's bytes, shared by the guard and the stream's reader.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    /// Bytes the app has taken from the reader.
    consumed: AtomicU64,
    /// The reader was dropped: whatever it held is freed and no more will be read.
    dropped: AtomicBool,
}

impl Meter {
    /// Of `produced` bytes handed to the official manager for this stream (decompressed), how
    /// many are still held for the app: in the manager's queue or in the reader.
    pub fn unread(&self, produced: u64) -> u64 {
        if self.dropped.load(Ordering::Acquire) {
            return 0;
        }
        produced.saturating_sub(self.consumed.load(Ordering::Acquire))
    }

    /// The reader is gone.
    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    pub fn consume(&self, bytes: usize) {
        self.consumed.fetch_add(bytes as u64, Ordering::AcqRel);
    }

    /// What dropping the reader does, for tests of the guard alone.
    #[cfg(test)]
    pub fn reader_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }
}

/// The reader's side of a meter: counts what is read, and marks the reader gone when dropped.
#[derive(Debug)]
struct MeterHandle(Arc<Meter>);

impl Drop for MeterHandle {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::Release);
    }
}

/// Reader for an incoming byte stream (see the module doc): the official reader with a meter.
/// Dropping it closes the stream.
#[derive(Debug)]
pub struct ByteStreamReader {
    inner: official::ByteStreamReader,
    meter: MeterHandle,
}

/// Reader for an incoming text stream (see the module doc): the official reader with a meter.
/// Dropping it closes the stream.
#[derive(Debug)]
pub struct TextStreamReader {
    inner: official::TextStreamReader,
    meter: MeterHandle,
}

impl ByteStreamReader {
    pub(crate) fn new(inner: official::ByteStreamReader, meter: Arc<Meter>) -> Self {
        Self { inner, meter: MeterHandle(meter) }
    }

    /// Like [`StreamReader::progress`], but the stream does not borrow the reader, so it can be
    /// polled while the reader is read or after the reader is consumed.
    pub fn progress_stream(&self) -> impl Stream<Item = StreamProgress> + Send + Unpin + 'static {
        self.inner.progress_stream()
    }

    /// Returns a handle that ends this stream from outside the reader (see `StreamCloser`).
    pub fn closer(&self) -> StreamCloser {
        self.inner.closer()
    }

    /// Reads the stream into a file as it arrives (so a file of any size takes little memory):
    /// in `directory` (the system's temporary one if `None`) under the stream's name or
    /// `name_override`. Returns the file's path. Fails with `StreamError::InvalidFileName` when
    /// the name is not a plain file name (a path, `..`, absolute or empty): the name comes
    /// from the sender.
    pub async fn write_to_file(
        mut self,
        directory: Option<impl AsRef<std::path::Path>>,
        name_override: Option<&str>,
    ) -> StreamResult<std::path::PathBuf> {
        use tokio::io::AsyncWriteExt;
        let directory = directory.map(|d| d.as_ref().to_path_buf()).unwrap_or_else(std::env::temp_dir);
        let name = name_override.unwrap_or(&self.inner.info().name);
        let mut components = std::path::Path::new(name).components();
        if !matches!(components.next(), Some(std::path::Component::Normal(_))) || components.next().is_some() {
            return Err(StreamError::InvalidFileName);
        }
        let path = directory.join(name);
        let mut file = tokio::fs::File::create(&path).await.map_err(StreamError::Io)?;
        while let Some(chunk) = self.next().await {
            file.write_all(&chunk?).await.map_err(StreamError::Io)?;
        }
        file.flush().await.map_err(StreamError::Io)?;
        Ok(path)
    }
}

impl TextStreamReader {
    pub(crate) fn new(inner: official::TextStreamReader, meter: Arc<Meter>) -> Self {
        Self { inner, meter: MeterHandle(meter) }
    }

    /// Like [`StreamReader::progress`], but the stream does not borrow the reader, so it can be
    /// polled while the reader is read or after the reader is consumed.
    pub fn progress_stream(&self) -> impl Stream<Item = StreamProgress> + Send + Unpin + 'static {
        self.inner.progress_stream()
    }

    /// Returns a handle that ends this stream from outside the reader (see `StreamCloser`).
    pub fn closer(&self) -> StreamCloser {
        self.inner.closer()
    }
}

impl StreamReader for ByteStreamReader {
    type Output = Bytes;
    type Info = ByteStreamInfo;

    fn info(&self) -> &ByteStreamInfo {
        self.inner.info()
    }

    fn progress(&self) -> impl Stream<Item = StreamProgress> {
        self.inner.progress_stream()
    }

    /// The whole stream once it closes normally. Held in memory until then, so counted as
    /// unread: a stream over `MAX_UNREAD_STREAM_BYTES` fails here; read it chunk by chunk or
    /// with `write_to_file` instead.
    async fn read_all(self) -> StreamResult<Bytes> {
        let Self { inner, meter } = self;
        let all = inner.read_all().await;
        drop(meter);
        all
    }
}

impl StreamReader for TextStreamReader {
    type Output = String;
    type Info = TextStreamInfo;

    fn info(&self) -> &TextStreamInfo {
        self.inner.info()
    }

    fn progress(&self) -> impl Stream<Item = StreamProgress> {
        self.inner.progress_stream()
    }

    /// The whole text once the stream closes normally; counted as unread until then (see
    /// `ByteStreamReader::read_all`).
    async fn read_all(self) -> StreamResult<String> {
        let Self { inner, meter } = self;
        let all = inner.read_all().await;
        drop(meter);
        all
    }
}

impl Stream for ByteStreamReader {
    type Item = StreamResult<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let next = this.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &next {
            this.meter.0.consume(chunk.len());
        }
        next
    }
}

impl Stream for TextStreamReader {
    type Item = StreamResult<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let next = this.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(Ok(text))) = &next {
            this.meter.0.consume(text.len());
        }
        next
    }
}
