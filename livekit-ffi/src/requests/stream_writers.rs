//! Outgoing streams: one-shot sends (text, bytes, a file) and writers. Each writer has one task
//! that runs its writes and its close in the order the requests came, even when the client
//! sends the next write before the last callback.

use std::collections::HashMap;
use std::future::Future;

use livekit_core::data::{ByteStreamWriter, StreamError, StreamWriter, TextStreamWriter};
use livekit_core::LocalParticipant;
use tokio::sync::mpsc;

use super::convert;
use super::stream_outcome::{self, StreamCallback};
use super::stream_readers::stream_error;
use crate::error::FfiResult;
use crate::events;
use crate::handles::FfiHandle;
use crate::proto::{self, ffi_event};
use crate::server::server;

type StreamResult<T> = Result<T, StreamError>;

/// One queued operation on a writer, with the async id its callback carries.
pub enum WriterOp<Chunk> {
    Write(u64, Chunk),
    Close { async_id: u64, reason: Option<String>, attributes: HashMap<String, String> },
}

/// What the handle table keeps for a writer: the queue of its task.
pub type WriterQueue<Chunk> = mpsc::UnboundedSender<WriterOp<Chunk>>;

/// The two core writers behind one interface, so one task runs either.
trait QueuedWriter: Send + Sync + 'static {
    type Chunk: Send + 'static;
    fn write_chunk(&self, chunk: &Self::Chunk) -> impl Future<Output = StreamResult<()>> + Send;
    fn finish(
        self,
        reason: Option<String>,
        attributes: HashMap<String, String>,
    ) -> impl Future<Output = StreamResult<()>> + Send;
}

impl QueuedWriter for ByteStreamWriter {
    type Chunk = Vec<u8>;
    async fn write_chunk(&self, chunk: &Vec<u8>) -> StreamResult<()> {
        self.write(chunk).await
    }
    async fn finish(self, reason: Option<String>, attributes: HashMap<String, String>) -> StreamResult<()> {
        self.close_with_options(reason.as_deref(), Some(attributes)).await
    }
}

impl QueuedWriter for TextStreamWriter {
    type Chunk = String;
    async fn write_chunk(&self, chunk: &String) -> StreamResult<()> {
        self.write(chunk).await
    }
    async fn finish(self, reason: Option<String>, attributes: HashMap<String, String>) -> StreamResult<()> {
        self.close_with_options(reason.as_deref(), Some(attributes)).await
    }
}

/// Callbacks of one writer kind: `(async_id, error)` to the event.
struct WriterCallbacks {
    written: fn(u64, Option<proto::StreamError>) -> ffi_event::Message,
    closed: fn(u64, Option<proto::StreamError>) -> ffi_event::Message,
}

fn start_writer<W: QueuedWriter>(writer: W, callbacks: WriterCallbacks) -> WriterQueue<W::Chunk> {
    let (queue, mut ops) = mpsc::unbounded_channel();
    server().spawn(async move {
        while let Some(op) = ops.recv().await {
            match op {
                WriterOp::Write(async_id, chunk) => {
                    let error = writer.write_chunk(&chunk).await.err().map(stream_error);
                    events::send((callbacks.written)(async_id, error));
                }
                WriterOp::Close { async_id, reason, attributes } => {
                    let error = writer.finish(reason, attributes).await.err().map(stream_error);
                    events::send((callbacks.closed)(async_id, error));
                    // Writes queued after the close get an error callback each.
                    while let Ok(op) = ops.try_recv() {
                        events::send(closed_already(&callbacks, op));
                    }
                    return;
                }
            }
        }
    });
    queue
}

fn closed_already<Chunk>(callbacks: &WriterCallbacks, op: WriterOp<Chunk>) -> ffi_event::Message {
    let error = Some(stream_error(StreamError::AlreadyClosed));
    match op {
        WriterOp::Write(async_id, _) => (callbacks.written)(async_id, error),
        WriterOp::Close { async_id, .. } => (callbacks.closed)(async_id, error),
    }
}

const BYTE_WRITER: WriterCallbacks = WriterCallbacks {
    written: |async_id, error| {
        ffi_event::Message::ByteStreamWriterWrite(proto::ByteStreamWriterWriteCallback { async_id, error })
    },
    closed: |async_id, error| {
        ffi_event::Message::ByteStreamWriterClose(proto::ByteStreamWriterCloseCallback { async_id, error })
    },
};

const TEXT_WRITER: WriterCallbacks = WriterCallbacks {
    written: |async_id, error| {
        ffi_event::Message::TextStreamWriterWrite(proto::TextStreamWriterWriteCallback { async_id, error })
    },
    closed: |async_id, error| {
        ffi_event::Message::TextStreamWriterClose(proto::TextStreamWriterCloseCallback { async_id, error })
    },
};

/// Queues an op; if the writer's task is gone, answers at once with an error.
fn enqueue<Chunk>(queue: &WriterQueue<Chunk>, op: WriterOp<Chunk>, callbacks: &WriterCallbacks) {
    if let Err(mpsc::error::SendError(op)) = queue.send(op) {
        events::send(closed_already(callbacks, op));
    }
}

fn local_participant(handle: u64) -> FfiResult<LocalParticipant> {
    server().handles.local_participant(handle)
}

pub fn byte_stream_open(request: proto::ByteStreamOpenRequest) -> FfiResult<proto::ByteStreamOpenResponse> {
    let participant = local_participant(request.local_participant_handle)?;
    let async_id = server().async_id(request.request_async_id);
    use proto::byte_stream_open_callback::Result as Outcome;
    let options = convert::stream_byte_options(request.options);
    let open = async move {
        let writer = participant.stream_bytes(options).await.map_err(|e| e.to_string())?;
        let info = convert::byte_stream_info(writer.info());
        let handle = server().handles.insert(FfiHandle::ByteWriter(start_writer(writer, BYTE_WRITER)));
        Ok(proto::OwnedByteStreamWriter { handle: proto::FfiOwnedHandle { id: handle }, info })
    };
    stream_outcome::spawn(
        async_id,
        open,
        StreamCallback {
            success: Outcome::Writer,
            failure: Outcome::Error,
            event: |async_id, result| {
                ffi_event::Message::ByteStreamOpen(proto::ByteStreamOpenCallback { async_id, result: Some(result) })
            },
        },
    );
    Ok(proto::ByteStreamOpenResponse { async_id })
}

pub fn text_stream_open(request: proto::TextStreamOpenRequest) -> FfiResult<proto::TextStreamOpenResponse> {
    let participant = local_participant(request.local_participant_handle)?;
    let async_id = server().async_id(request.request_async_id);
    use proto::text_stream_open_callback::Result as Outcome;
    let options = convert::stream_text_options(request.options);
    let open = async move {
        let writer = participant.stream_text(options).await.map_err(|e| e.to_string())?;
        let info = convert::text_stream_info(writer.info());
        let handle = server().handles.insert(FfiHandle::TextWriter(start_writer(writer, TEXT_WRITER)));
        Ok(proto::OwnedTextStreamWriter { handle: proto::FfiOwnedHandle { id: handle }, info })
    };
    stream_outcome::spawn(
        async_id,
        open,
        StreamCallback {
            success: Outcome::Writer,
            failure: Outcome::Error,
            event: |async_id, result| {
                ffi_event::Message::TextStreamOpen(proto::TextStreamOpenCallback { async_id, result: Some(result) })
            },
        },
    );
    Ok(proto::TextStreamOpenResponse { async_id })
}

pub fn byte_stream_write(
    request: proto::ByteStreamWriterWriteRequest,
) -> FfiResult<proto::ByteStreamWriterWriteResponse> {
    let queue = server().handles.byte_writer(request.writer_handle)?;
    let async_id = server().async_id(request.request_async_id);
    enqueue(&queue, WriterOp::Write(async_id, request.bytes), &BYTE_WRITER);
    Ok(proto::ByteStreamWriterWriteResponse { async_id })
}

pub fn text_stream_write(
    request: proto::TextStreamWriterWriteRequest,
) -> FfiResult<proto::TextStreamWriterWriteResponse> {
    let queue = server().handles.text_writer(request.writer_handle)?;
    let async_id = server().async_id(request.request_async_id);
    enqueue(&queue, WriterOp::Write(async_id, request.text), &TEXT_WRITER);
    Ok(proto::TextStreamWriterWriteResponse { async_id })
}

pub fn byte_stream_close(
    request: proto::ByteStreamWriterCloseRequest,
) -> FfiResult<proto::ByteStreamWriterCloseResponse> {
    let queue = server().handles.take_byte_writer(request.writer_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let op = WriterOp::Close { async_id, reason: request.reason, attributes: request.attributes };
    enqueue(&queue, op, &BYTE_WRITER);
    Ok(proto::ByteStreamWriterCloseResponse { async_id })
}

pub fn text_stream_close(
    request: proto::TextStreamWriterCloseRequest,
) -> FfiResult<proto::TextStreamWriterCloseResponse> {
    let queue = server().handles.take_text_writer(request.writer_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let op = WriterOp::Close { async_id, reason: request.reason, attributes: request.attributes };
    enqueue(&queue, op, &TEXT_WRITER);
    Ok(proto::TextStreamWriterCloseResponse { async_id })
}

pub fn send_text(request: proto::StreamSendTextRequest) -> FfiResult<proto::StreamSendTextResponse> {
    let participant = local_participant(request.local_participant_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let options = convert::send_text_options(request.options);
    let send = async move {
        let info = participant.send_text(&request.text, options).await.map_err(|e| e.to_string())?;
        Ok(convert::text_stream_info(&info))
    };
    use proto::stream_send_text_callback::Result as Outcome;
    stream_outcome::spawn(
        async_id,
        send,
        StreamCallback {
            success: Outcome::Info,
            failure: Outcome::Error,
            event: |async_id, result| {
                ffi_event::Message::SendText(proto::StreamSendTextCallback { async_id, result: Some(result) })
            },
        },
    );
    Ok(proto::StreamSendTextResponse { async_id })
}

pub fn send_bytes(request: proto::StreamSendBytesRequest) -> FfiResult<proto::StreamSendBytesResponse> {
    let participant = local_participant(request.local_participant_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let options = convert::send_byte_options(request.options);
    let send = async move {
        let info = participant.send_bytes(&request.bytes, options).await.map_err(|e| e.to_string())?;
        Ok(convert::byte_stream_info(&info))
    };
    use proto::stream_send_bytes_callback::Result as Outcome;
    stream_outcome::spawn(
        async_id,
        send,
        StreamCallback {
            success: Outcome::Info,
            failure: Outcome::Error,
            event: |async_id, result| {
                ffi_event::Message::SendBytes(proto::StreamSendBytesCallback { async_id, result: Some(result) })
            },
        },
    );
    Ok(proto::StreamSendBytesResponse { async_id })
}

/// Sends a file the library opens itself, without loading it whole.
pub fn send_file(request: proto::StreamSendFileRequest) -> FfiResult<proto::StreamSendFileResponse> {
    let participant = local_participant(request.local_participant_handle)?;
    let async_id = server().async_id(request.request_async_id);
    let options = convert::send_byte_options(request.options);
    let send = async move {
        let info = participant.send_file(&request.file_path, options).await.map_err(|e| e.to_string())?;
        Ok(convert::byte_stream_info(&info))
    };
    use proto::stream_send_file_callback::Result as Outcome;
    stream_outcome::spawn(
        async_id,
        send,
        StreamCallback {
            success: Outcome::Info,
            failure: Outcome::Error,
            event: |async_id, result| {
                ffi_event::Message::SendFile(proto::StreamSendFileCallback { async_id, result: Some(result) })
            },
        },
    );
    Ok(proto::StreamSendFileResponse { async_id })
}
