//! Links webrtc 0.21 the way the probe uses it: default codecs and interceptors, an audio
//! track and a data channel, an offer, and a remote description from stdin.
use std::sync::Arc;

use rtc21::interceptor::Registry;
use rtc21::media_stream::MediaStreamTrack;
use rtc21::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc21::peer_connection::configuration::media_engine::MediaEngine;
use rtc21::rtp_transceiver::rtp_sender::RtpCodecKind;
use webrtc21::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc21::peer_connection::{PeerConnection, PeerConnectionBuilder, RTCSessionDescription};

#[tokio::main]
async fn main() {
    let mut engine = MediaEngine::default();
    engine.register_default_codecs().unwrap();
    let registry = register_default_interceptors(Registry::new(), &mut engine).unwrap();
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await
        .unwrap();
    let track = MediaStreamTrack::new("s".into(), "t".into(), "l".into(), RtpCodecKind::Audio, vec![]);
    pc.add_track(Arc::new(TrackLocalStaticRTP::new(track))).await.unwrap();
    let _dc = pc.create_data_channel("_reliable", None).await.unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer.clone()).await.unwrap();
    println!("{}", offer.sdp);
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).unwrap();
    pc.set_remote_description(RTCSessionDescription::answer(answer).unwrap()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
}
