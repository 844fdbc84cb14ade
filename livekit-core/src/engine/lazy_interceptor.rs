//! Interceptors whose timers start with the first media stream.
//!
//! webrtc-rs binds each interceptor's RTCP writer when the peer connection is created, and the
//! NACK generator, the TWCC receiver and the sender and receiver reports each start a ticker
//! there (100 ms, 100 ms, 1 s, 1 s) that runs for the connection's life, media or not. A
//! data-only participant never needs them, yet with one peer connection (or two) they woke its
//! runtime over 20 times a second: most of a 500-participant process's idle CPU. Wrapped here,
//! an interceptor gets its writer only once a stream is bound to it, so its ticker starts with
//! the first track sent or received, and everything else passes straight through.

use std::sync::Arc;

use async_trait::async_trait;
use webrtc::interceptor::stream_info::StreamInfo;
use webrtc::interceptor::{Interceptor, InterceptorBuilder, RTCPReader, RTCPWriter, RTPReader, RTPWriter};

type Writer = Arc<dyn RTCPWriter + Send + Sync>;

/// Builds `inner`'s interceptor, wrapped so its RTCP writer is bound with the first stream.
pub(crate) struct StartWithFirstStream<B>(pub B);

impl<B: InterceptorBuilder> InterceptorBuilder for StartWithFirstStream<B> {
    fn build(&self, id: &str) -> Result<Arc<dyn Interceptor + Send + Sync>, webrtc::interceptor::Error> {
        Ok(Arc::new(Lazy { inner: self.0.build(id)?, state: tokio::sync::Mutex::new(State::default()) }))
    }
}

#[derive(Default)]
struct State {
    /// The writer webrtc-rs gave at creation, until the inner interceptor gets it.
    writer: Option<Writer>,
    /// Whether a stream was bound (the writer may come first or second).
    streams: bool,
    started: bool,
}

struct Lazy {
    inner: Arc<dyn Interceptor + Send + Sync>,
    state: tokio::sync::Mutex<State>,
}

impl Lazy {
    /// Hands the writer to the inner interceptor once there is both a writer and a stream.
    /// The wrapped interceptors return the writer they are given, so the chain is unchanged.
    async fn start_if_ready(&self, state: &mut State) {
        if state.started || !state.streams {
            return;
        }
        if let Some(writer) = state.writer.take() {
            state.started = true;
            let _ = self.inner.bind_rtcp_writer(writer).await;
        }
    }

    async fn stream_bound(&self) {
        let mut state = self.state.lock().await;
        state.streams = true;
        self.start_if_ready(&mut state).await;
    }
}

#[async_trait]
impl Interceptor for Lazy {
    async fn bind_rtcp_reader(&self, reader: Arc<dyn RTCPReader + Send + Sync>) -> Arc<dyn RTCPReader + Send + Sync> {
        self.inner.bind_rtcp_reader(reader).await
    }

    async fn bind_rtcp_writer(&self, writer: Writer) -> Writer {
        let mut state = self.state.lock().await;
        state.writer = Some(writer.clone());
        self.start_if_ready(&mut state).await;
        writer
    }

    async fn bind_local_stream(
        &self,
        info: &StreamInfo,
        writer: Arc<dyn RTPWriter + Send + Sync>,
    ) -> Arc<dyn RTPWriter + Send + Sync> {
        self.stream_bound().await;
        self.inner.bind_local_stream(info, writer).await
    }

    async fn unbind_local_stream(&self, info: &StreamInfo) {
        self.inner.unbind_local_stream(info).await
    }

    async fn bind_remote_stream(
        &self,
        info: &StreamInfo,
        reader: Arc<dyn RTPReader + Send + Sync>,
    ) -> Arc<dyn RTPReader + Send + Sync> {
        self.stream_bound().await;
        self.inner.bind_remote_stream(info, reader).await
    }

    async fn unbind_remote_stream(&self, info: &StreamInfo) {
        self.inner.unbind_remote_stream(info).await
    }

    async fn close(&self) -> Result<(), webrtc::interceptor::Error> {
        self.inner.close().await
    }
}
