//! Incoming streams. Each reader request consumes the reader handle: the client never drops it.
//! Chunks that arrived before the request wait in the reader and go out after it.

use std::collections::HashMap;

use futures_util::StreamExt;
use livekit_core::data::{StreamError, StreamReader};

use super::stream_outcome::{self, StreamCallback};
use crate::error::FfiResult;
use crate::events;
use crate::proto::{self, ffi_event};
use crate::server::server;

/// Sends every chunk as an event keyed by the reader handle, then `eos` with the trailer's
/// attributes or the error that ended the stream.
async fn forward_chunks<R>(
    mut reader: R,
    attributes: impl Fn(&R) -> HashMap<String, String>,
    chunk_event: impl Fn(R::Output) -> ffi_event::Message,
    eos_event: impl Fn(Option<proto::StreamError>, HashMap<String, String>) -> ffi_event::Message,
) where
    R: StreamReader + Unpin,
{
    let mut error = None;
    while let Some(chunk) = reader.next().await {
        match chunk {
            Ok(chunk) => events::send(chunk_event(chunk)),
            Err(failure) => {
                error = Some(stream_error(failure));
                break;
            }
        }
    }
    events::send(eos_event(error, attributes(&reader)));
}

pub fn stream_error(error: StreamError) -> proto::StreamError {
    proto::StreamError { description: error.to_string() }
}

pub fn byte_read_incremental(
    request: proto::ByteStreamReaderReadIncrementalRequest,
) -> FfiResult<proto::ByteStreamReaderReadIncrementalResponse> {
    let reader_handle = request.reader_handle;
    let reader = server().handles.take_byte_reader(reader_handle)?;
    let event = move |detail| {
        ffi_event::Message::ByteStreamReaderEvent(proto::ByteStreamReaderEvent { reader_handle, detail: Some(detail) })
    };
    use proto::byte_stream_reader_event::Detail;
    server().spawn(forward_chunks(
        reader,
        |reader| reader.info().attributes(),
        move |content| event(Detail::ChunkReceived(proto::ByteStreamReaderChunkReceived { content: content.to_vec() })),
        move |error, attributes| event(Detail::Eos(proto::ByteStreamReaderEos { error, attributes })),
    ));
    Ok(proto::ByteStreamReaderReadIncrementalResponse {})
}

pub fn text_read_incremental(
    request: proto::TextStreamReaderReadIncrementalRequest,
) -> FfiResult<proto::TextStreamReaderReadIncrementalResponse> {
    let reader_handle = request.reader_handle;
    let reader = server().handles.take_text_reader(reader_handle)?;
    let event = move |detail| {
        ffi_event::Message::TextStreamReaderEvent(proto::TextStreamReaderEvent { reader_handle, detail: Some(detail) })
    };
    use proto::text_stream_reader_event::Detail;
    server().spawn(forward_chunks(
        reader,
        |reader| reader.info().attributes(),
        move |content| event(Detail::ChunkReceived(proto::TextStreamReaderChunkReceived { content })),
        move |error, attributes| event(Detail::Eos(proto::TextStreamReaderEos { error, attributes })),
    ));
    Ok(proto::TextStreamReaderReadIncrementalResponse {})
}

pub fn byte_read_all(
    request: proto::ByteStreamReaderReadAllRequest,
) -> FfiResult<proto::ByteStreamReaderReadAllResponse> {
    let reader = server().handles.take_byte_reader(request.reader_handle)?;
    let async_id = server().async_id(request.request_async_id);
    use proto::byte_stream_reader_read_all_callback::Result as Outcome;
    let read = async move { reader.read_all().await.map(|content| content.to_vec()).map_err(|e| e.to_string()) };
    stream_outcome::spawn(
        async_id,
        read,
        StreamCallback {
            success: Outcome::Content,
            failure: Outcome::Error,
            event: |async_id, result| {
                ffi_event::Message::ByteStreamReaderReadAll(proto::ByteStreamReaderReadAllCallback {
                    async_id,
                    result: Some(result),
                })
            },
        },
    );
    Ok(proto::ByteStreamReaderReadAllResponse { async_id })
}

pub fn text_read_all(
    request: proto::TextStreamReaderReadAllRequest,
) -> FfiResult<proto::TextStreamReaderReadAllResponse> {
    let reader = server().handles.take_text_reader(request.reader_handle)?;
    let async_id = server().async_id(request.request_async_id);
    use proto::text_stream_reader_read_all_callback::Result as Outcome;
    let read = async move { reader.read_all().await.map_err(|e| e.to_string()) };
    stream_outcome::spawn(
        async_id,
        read,
        StreamCallback {
            success: Outcome::Content,
            failure: Outcome::Error,
            event: |async_id, result| {
                ffi_event::Message::TextStreamReaderReadAll(proto::TextStreamReaderReadAllCallback {
                    async_id,
                    result: Some(result),
                })
            },
        },
    );
    Ok(proto::TextStreamReaderReadAllResponse { async_id })
}

/// Writes the stream into a file; the stream's name must be a plain file name (no path).
pub fn byte_write_to_file(
    request: proto::ByteStreamReaderWriteToFileRequest,
) -> FfiResult<proto::ByteStreamReaderWriteToFileResponse> {
    let reader = server().handles.take_byte_reader(request.reader_handle)?;
    let async_id = server().async_id(request.request_async_id);
    use proto::byte_stream_reader_write_to_file_callback::Result as Outcome;
    let write = async move {
        let written = reader.write_to_file(request.directory, request.name_override.as_deref()).await;
        written.map(|path| path.to_string_lossy().into_owned()).map_err(|e| e.to_string())
    };
    stream_outcome::spawn(
        async_id,
        write,
        StreamCallback {
            success: Outcome::FilePath,
            failure: Outcome::Error,
            event: |async_id, result| {
                ffi_event::Message::ByteStreamReaderWriteToFile(proto::ByteStreamReaderWriteToFileCallback {
                    async_id,
                    result: Some(result),
                })
            },
        },
    );
    Ok(proto::ByteStreamReaderWriteToFileResponse { async_id })
}
