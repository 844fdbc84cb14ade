//! Links str0m the way the probe uses it: an offer with audio and a channel, then every
//! datagram from a socket into `handle_input` and out of `poll_output`.
use std::time::Instant;

use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input, Output, Rtc};

fn main() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = socket.local_addr().unwrap();
    let mut rtc = Rtc::builder().enable_bwe(None).build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    api.add_channel("_reliable".into());
    let (offer, _pending) = api.apply().unwrap();
    println!("{}", offer.to_sdp_string());
    let mut buf = vec![0u8; 2000];
    loop {
        match rtc.poll_output().unwrap() {
            Output::Timeout(_) => {}
            Output::Transmit(t) => {
                socket.send_to(&t.contents, t.destination).unwrap();
                continue;
            }
            Output::Event(e) => {
                println!("{e:?}");
                continue;
            }
        }
        let (n, source) = socket.recv_from(&mut buf).unwrap();
        let receive =
            Receive { proto: Protocol::Udp, source, destination: local, contents: buf[..n].try_into().unwrap() };
        rtc.handle_input(Input::Receive(Instant::now(), receive)).unwrap();
    }
}
