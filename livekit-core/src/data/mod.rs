//! Data between participants: user packets (`packet`), byte and text streams (`streams`, on the
//! official `livekit-data-stream` crate) and RPC (types from the official `livekit-rpc` crate).

#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod fuzzing;
mod packet;
mod reader;
pub mod rpc_guard;
pub mod stream_guard;
pub(crate) mod streams;
mod take_cell;

pub(crate) use packet::user_packet;
pub use packet::{DataOptions, MAX_DATA_PAYLOAD, MAX_IDENTITY_LENGTH};
pub use take_cell::TakeCell;

pub use livekit_common::ParticipantIdentity;
pub use livekit_data_stream::api::OperationType;
pub use livekit_data_stream::api::{
    ByteStreamInfo, ByteStreamWriter, SendByteOptions, SendTextOptions, StreamByteOptions, StreamCloser, StreamError,
    StreamProgress, StreamProgressCallback, StreamReader, StreamTextOptions, StreamWriter, TextStreamInfo,
    TextStreamWriter,
};
pub use livekit_rpc::api::{PerformRpcData, RpcError, RpcErrorCode, RpcInvocationData, MAX_V1_PAYLOAD_BYTES};
pub use reader::{ByteStreamReader, TextStreamReader};
