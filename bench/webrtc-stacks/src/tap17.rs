//! An interceptor for webrtc 0.17 registered first, so it wraps the socket side of the chain:
//! it counts RTP and RTCP both ways (retransmissions and generated reports included) and drops
//! every `drop_every`th outgoing RTP packet for the NACK test.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use webrtc::interceptor::stream_info::StreamInfo;
use webrtc::interceptor::{Attributes, Interceptor, InterceptorBuilder, RTCPReader, RTCPWriter, RTPReader, RTPWriter};
use webrtc::rtcp::packet::Packet as RtcpPacket;

type Result<T> = std::result::Result<T, webrtc::interceptor::Error>;

#[derive(Default)]
pub struct TapCounts {
    pub drop_every: AtomicU32,
    rtp_out: AtomicU64,
    rtp_dropped: AtomicU64,
    rtp_in: AtomicU64,
    /// Index: RTCP packet type - 200 (SR, RR, SDES, BYE, APP, RTPFB, PSFB).
    rtcp_out: [AtomicU64; 7],
    rtcp_in: [AtomicU64; 7],
}

impl TapCounts {
    pub fn lines(&self, who: &str) -> Vec<(String, String)> {
        const NAMES: [&str; 7] = ["SR", "RR", "SDES", "BYE", "APP", "RTPFB", "PSFB"];
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let rtcp = |counts: &[AtomicU64; 7]| {
            let named: Vec<String> = counts
                .iter()
                .zip(NAMES)
                .filter(|(n, _)| load(n) > 0)
                .map(|(n, name)| format!("{name} {}", load(n)))
                .collect();
            named.join(", ")
        };
        vec![
            (
                format!("{who} RTP out / dropped / in"),
                format!("{} / {} / {}", load(&self.rtp_out), load(&self.rtp_dropped), load(&self.rtp_in)),
            ),
            (format!("{who} RTCP out (per packet)"), rtcp(&self.rtcp_out)),
            (format!("{who} RTCP in (per packet)"), rtcp(&self.rtcp_in)),
        ]
    }
}

fn count_rtcp(counts: &[AtomicU64; 7], packets: &[Box<dyn RtcpPacket + Send + Sync>]) {
    for packet in packets {
        let kind = packet.header().packet_type as u8;
        if (200..207).contains(&kind) {
            counts[(kind - 200) as usize].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The builder and the interceptor in one: the registry builds it once per connection.
pub struct Tap(pub Arc<TapCounts>);

impl InterceptorBuilder for Tap {
    fn build(&self, _id: &str) -> Result<Arc<dyn Interceptor + Send + Sync>> {
        Ok(Arc::new(Tap(self.0.clone())))
    }
}

struct Wrap<T: ?Sized> {
    counts: Arc<TapCounts>,
    inner: Arc<T>,
}

#[async_trait::async_trait]
impl Interceptor for Tap {
    async fn bind_rtcp_reader(&self, reader: Arc<dyn RTCPReader + Send + Sync>) -> Arc<dyn RTCPReader + Send + Sync> {
        Arc::new(Wrap { counts: self.0.clone(), inner: reader })
    }

    async fn bind_rtcp_writer(&self, writer: Arc<dyn RTCPWriter + Send + Sync>) -> Arc<dyn RTCPWriter + Send + Sync> {
        Arc::new(Wrap { counts: self.0.clone(), inner: writer })
    }

    async fn bind_local_stream(
        &self,
        _info: &StreamInfo,
        writer: Arc<dyn RTPWriter + Send + Sync>,
    ) -> Arc<dyn RTPWriter + Send + Sync> {
        Arc::new(Wrap { counts: self.0.clone(), inner: writer })
    }

    async fn unbind_local_stream(&self, _info: &StreamInfo) {}

    async fn bind_remote_stream(
        &self,
        _info: &StreamInfo,
        reader: Arc<dyn RTPReader + Send + Sync>,
    ) -> Arc<dyn RTPReader + Send + Sync> {
        Arc::new(Wrap { counts: self.0.clone(), inner: reader })
    }

    async fn unbind_remote_stream(&self, _info: &StreamInfo) {}

    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait::async_trait]
impl RTPWriter for Wrap<dyn RTPWriter + Send + Sync> {
    async fn write(&self, pkt: &webrtc::rtp::packet::Packet, attributes: &Attributes) -> Result<usize> {
        let n = self.counts.rtp_out.fetch_add(1, Ordering::Relaxed) + 1;
        let every = self.counts.drop_every.load(Ordering::Relaxed) as u64;
        if every > 0 && n % every == 0 {
            self.counts.rtp_dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(0);
        }
        self.inner.write(pkt, attributes).await
    }
}

#[async_trait::async_trait]
impl RTPReader for Wrap<dyn RTPReader + Send + Sync> {
    async fn read(&self, buf: &mut [u8], a: &Attributes) -> Result<(webrtc::rtp::packet::Packet, Attributes)> {
        let read = self.inner.read(buf, a).await?;
        self.counts.rtp_in.fetch_add(1, Ordering::Relaxed);
        Ok(read)
    }
}

#[async_trait::async_trait]
impl RTCPWriter for Wrap<dyn RTCPWriter + Send + Sync> {
    async fn write(&self, pkts: &[Box<dyn RtcpPacket + Send + Sync>], attributes: &Attributes) -> Result<usize> {
        count_rtcp(&self.counts.rtcp_out, pkts);
        self.inner.write(pkts, attributes).await
    }
}

#[async_trait::async_trait]
impl RTCPReader for Wrap<dyn RTCPReader + Send + Sync> {
    async fn read(
        &self,
        buf: &mut [u8],
        a: &Attributes,
    ) -> Result<(Vec<Box<dyn RtcpPacket + Send + Sync>>, Attributes)> {
        let read = self.inner.read(buf, a).await?;
        count_rtcp(&self.counts.rtcp_in, &read.0);
        Ok(read)
    }
}
