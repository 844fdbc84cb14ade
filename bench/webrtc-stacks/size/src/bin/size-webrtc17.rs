//! Links webrtc 0.17 the way the probe uses it: default codecs and interceptors, an audio
//! track and a data channel, an offer, and a remote description from stdin.
use std::sync::Arc;

use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_OPUS};
use webrtc::api::APIBuilder;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::rtp_transceiver::rtp_codec::RTCRtpCodecCapability;
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;

#[tokio::main]
async fn main() {
    let mut engine = MediaEngine::default();
    engine.register_default_codecs().unwrap();
    let registry = register_default_interceptors(Registry::new(), &mut engine).unwrap();
    let api = APIBuilder::new().with_media_engine(engine).with_interceptor_registry(registry).build();
    let pc = api.new_peer_connection(RTCConfiguration::default()).await.unwrap();
    let codec = RTCRtpCodecCapability {
        mime_type: MIME_TYPE_OPUS.into(),
        clock_rate: 48000,
        channels: 2,
        ..Default::default()
    };
    pc.add_track(Arc::new(TrackLocalStaticRTP::new(codec, "t".into(), "s".into()))).await.unwrap();
    let _dc = pc.create_data_channel("_reliable", None).await.unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer.clone()).await.unwrap();
    println!("{}", offer.sdp);
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).unwrap();
    pc.set_remote_description(RTCSessionDescription::answer(answer).unwrap()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
}
