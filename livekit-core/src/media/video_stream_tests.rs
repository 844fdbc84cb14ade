//! The receive path of a `VideoStream` without a network: VP8 pictures from the real encoder,
//! one RTP packet each (descriptor + frame), through the broadcast the engine would fill.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::{broadcast, mpsc};

use super::*;
use crate::media::video_codec::{new_encoder, EncoderConfig};
use crate::media::I420Buffer;

/// `count` VP8 pictures of a grey that brightens, the first a keyframe, as RTP packets.
fn vp8_packets(count: u16) -> Vec<RtpPacket> {
    let config = EncoderConfig { bitrate_bps: 300_000, max_framerate: 30.0, screencast: false };
    let mut encoder = new_encoder(VideoCodec::Vp8, config).unwrap();
    (0..count)
        .map(|i| {
            let picture = I420Buffer::filled(64, 48, (40 + i as u8 * 8, 128, 128)).unwrap();
            let encoded = encoder.encode(&picture, i == 0).unwrap().expect("no frame dropped at this rate");
            let mut payload = BytesMut::from(&[0x10u8][..]); // start of partition 0
            payload.put_slice(&encoded.data);
            RtpPacket {
                sequence: 1000 + i,
                timestamp: 3000 * u32::from(i),
                marker: true,
                payload: payload.freeze(),
                arrival: Instant::now(),
            }
        })
        .collect()
}

/// A stream of the packets, and the keyframe requests it makes.
fn stream(packets: &broadcast::Sender<RtpPacket>) -> (VideoStream, mpsc::UnboundedReceiver<()>) {
    let (requests, requested) = mpsc::unbounded_channel();
    let request: RequestKeyframe = Arc::new(move || {
        let _ = requests.send(());
    });
    let stream = VideoStream::from_packets(packets.subscribe(), VideoCodec::Vp8, request, VideoFormat::I420).unwrap();
    (stream, requested)
}

async fn next(stream: &mut VideoStream) -> Option<VideoFrame> {
    tokio::time::timeout(Duration::from_secs(5), stream.recv()).await.expect("a picture or the end")
}

#[tokio::test]
async fn pictures_come_out_in_order_with_their_timestamps() {
    let (packets, _) = broadcast::channel(64);
    let (mut stream, mut requests) = stream(&packets);
    for packet in vp8_packets(4) {
        packets.send(packet).unwrap();
    }
    for i in 0..4u8 {
        let picture = next(&mut stream).await.expect("a picture");
        assert_eq!((picture.width(), picture.height()), (64, 48));
        assert_eq!(picture.timestamp_us, i64::from(i) * 3000 * 100 / 9, "90 kHz ticks in µs");
        let luma = picture.data()[0];
        assert!(luma.abs_diff(40 + i * 8) <= 4, "picture {i}: luma {luma}");
    }
    assert!(requests.try_recv().is_err(), "nothing was lost, nothing asked for");
    drop(packets);
    assert!(next(&mut stream).await.is_none(), "the stream ends with the track");
}

#[tokio::test]
async fn a_lost_picture_asks_for_a_keyframe_and_shows_nothing_until_one() {
    let (packets, _) = broadcast::channel(64);
    let (mut stream, mut requests) = stream(&packets);
    let sent = vp8_packets(4);
    packets.send(sent[0].clone()).unwrap();
    next(&mut stream).await.expect("the keyframe");
    // Picture 1 never arrives; 2 and 3 depend on it.
    packets.send(sent[2].clone()).unwrap();
    packets.send(sent[3].clone()).unwrap();
    let asked = tokio::time::timeout(Duration::from_secs(5), requests.recv()).await;
    assert!(matches!(asked, Ok(Some(()))), "a keyframe request once the hole has waited");
    let shown = tokio::time::timeout(Duration::from_millis(300), stream.recv()).await;
    assert!(shown.is_err(), "no picture decoded from a broken reference: {shown:?}");
}

#[tokio::test]
async fn a_stream_of_a_garbage_track_ends_cleanly_when_the_track_ends() {
    let (packets, _) = broadcast::channel(64);
    let (mut stream, mut requests) = stream(&packets);
    for sequence in 0..20u16 {
        let payload = Bytes::from(vec![0x10, sequence as u8, 0xff, 0x00, 0x9d]);
        let packet =
            RtpPacket { sequence, timestamp: u32::from(sequence), marker: true, payload, arrival: Instant::now() };
        packets.send(packet).unwrap();
    }
    drop(packets);
    assert!(next(&mut stream).await.is_none(), "garbage decodes to nothing, then the stream ends");
    assert!(requests.try_recv().is_ok(), "and it asked for a keyframe");
}
