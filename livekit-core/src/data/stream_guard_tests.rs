//! StreamGuard without a network: limits, unread-byte accounting, warnings naming the sender.

use super::*;
use livekit_test_harness::warning_log as test_log;

fn facts(total_length: Option<u64>, inline: bool) -> HeaderFacts<'static> {
    HeaderFacts { total_length, inline: inline.then_some(b"hello".as_slice()), ..HeaderFacts::default() }
}

fn zeros(len: usize) -> Vec<u8> {
    vec![0; len]
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_compressed_stream_may_arrive_larger_than_its_decompressed_announcement() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    let data = b"0123456789";
    let compressed = HeaderFacts { total_length: Some(10), compression: Compression::Deflate, ..Default::default() };
    assert_eq!(guard.on_header(now, "eve", "z", compressed), Verdict::Forward);
    let wire = deflate(data);
    assert!(wire.len() > data.len(), "incompressible data arrives larger than announced");
    assert_eq!(guard.on_chunk(now, "eve", "z", 0, &wire), Verdict::Forward);
    assert_eq!(guard.unread_bytes(), 10, "counted as it inflates");
}

fn at(start: Instant, seconds: u64) -> Instant {
    start + Duration::from_secs(seconds)
}

#[test]
fn a_terabyte_announcement_is_refused_and_its_chunks_dropped() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    assert_eq!(guard.on_header(now, "eve", "s1", facts(Some(1 << 40), false)), Verdict::Drop);
    assert_eq!(guard.on_chunk(now, "eve", "s1", 0, &zeros(100)), Verdict::Drop);
    assert_eq!(guard.on_header(now, "eve", "s2", facts(Some(MAX_INCOMING_STREAM_BYTES), false)), Verdict::Forward);
    assert_eq!(guard.open_count(), 1);
}

#[test]
fn open_streams_are_limited_per_sender_and_in_total() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    for i in 0..MAX_OPEN_STREAMS_PER_SENDER {
        assert_eq!(guard.on_header(now, "eve", &format!("e{i}"), facts(None, false)), Verdict::Forward);
    }
    assert_eq!(guard.on_header(now, "eve", "one-more", facts(None, false)), Verdict::Drop);
    // Others are not held back by eve.
    assert_eq!(guard.on_header(now, "bob", "b0", facts(None, false)), Verdict::Forward);
    // Closing one of eve's makes room for another.
    assert_eq!(guard.on_trailer("eve", "e0"), Verdict::Forward);
    assert_eq!(guard.on_header(now, "eve", "one-more", facts(None, false)), Verdict::Forward);

    let mut guard = StreamGuard::new();
    let senders = MAX_OPEN_STREAMS / MAX_OPEN_STREAMS_PER_SENDER;
    for s in 0..senders {
        for i in 0..MAX_OPEN_STREAMS_PER_SENDER {
            assert_eq!(
                guard.on_header(now, &format!("p{s}"), &format!("{s}-{i}"), facts(None, false)),
                Verdict::Forward
            );
        }
    }
    assert_eq!(guard.on_header(now, "newcomer", "n0", facts(None, false)), Verdict::Drop);
    assert_eq!(guard.open_count(), MAX_OPEN_STREAMS);
}

#[test]
fn a_million_headers_keep_the_guard_small() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    for i in 0..1_000_000u32 {
        guard.on_header(now, "eve", &i.to_string(), facts(None, false));
    }
    assert_eq!(guard.open_count(), MAX_OPEN_STREAMS_PER_SENDER);
    assert!(guard.refusals.len() <= 1);
}

#[test]
fn chunks_in_order_go_on_repeats_are_dropped_and_gaps_abort() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    let ten = zeros(10);
    guard.on_header(now, "eve", "s", facts(None, false));
    assert_eq!(guard.on_chunk(now, "eve", "s", 0, &ten), Verdict::Forward);
    assert_eq!(guard.on_chunk(now, "eve", "s", 1, &ten), Verdict::Forward);
    assert_eq!(guard.on_chunk(now, "eve", "s", 1, &ten), Verdict::Drop);
    assert_eq!(guard.on_chunk(now, "eve", "s", 0, &ten), Verdict::Drop);
    assert!(matches!(guard.on_chunk(now, "eve", "s", u64::MAX, &ten), Verdict::Abort(_)));
    assert_eq!(guard.open_count(), 0);
    assert_eq!(guard.on_chunk(now, "eve", "s", 2, &ten), Verdict::Drop);
    assert_eq!(guard.unread_bytes(), 0);
}

#[test]
fn only_the_sender_may_write_to_or_end_its_stream() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    guard.on_header(now, "bob", "s", facts(None, false));
    assert_eq!(guard.on_header(now, "eve", "s", facts(None, false)), Verdict::Drop);
    assert_eq!(guard.on_chunk(now, "eve", "s", 0, &zeros(10)), Verdict::Drop);
    assert_eq!(guard.on_trailer("eve", "s"), Verdict::Drop);
    assert_eq!(guard.on_chunk(now, "bob", "s", 0, &zeros(10)), Verdict::Forward);
    assert_eq!(guard.on_trailer("bob", "s"), Verdict::Forward);
    assert_eq!(guard.open_count(), 0);
}

/// Sends `mib` chunks of 1 MiB on a new stream; the verdict of each.
fn send_mib(guard: &mut StreamGuard, sender: &str, id: &str, mib: u64) -> Vec<Verdict> {
    let now = Instant::now();
    let chunk = zeros(1024 * 1024);
    guard.on_header(now, sender, id, facts(None, false));
    (0..mib).map(|i| guard.on_chunk(now, sender, id, i, &chunk)).collect()
}

#[test]
fn unread_bytes_are_limited_per_stream_per_sender_and_in_total() {
    let mib = 1024 * 1024;
    let mut guard = StreamGuard::new();
    let verdicts = send_mib(&mut guard, "eve", "big", MAX_UNREAD_STREAM_BYTES / mib + 1);
    assert!(verdicts[..verdicts.len() - 1].iter().all(|v| *v == Verdict::Forward));
    assert!(matches!(verdicts.last(), Some(Verdict::Abort(_))), "the chunk past the limit aborts");
    assert_eq!((guard.open_count(), guard.unread_bytes()), (0, 0));

    let now = Instant::now();
    guard.on_header(now, "eve", "short", facts(Some(10), false));
    assert!(matches!(guard.on_chunk(now, "eve", "short", 0, &zeros(11)), Verdict::Abort(_)));

    // Eve's open streams share one budget; bob's streams are not held back by hers.
    let half = MAX_UNREAD_BYTES_PER_SENDER / mib / 2;
    assert!(send_mib(&mut guard, "eve", "e1", half).iter().all(|v| *v == Verdict::Forward));
    assert!(send_mib(&mut guard, "eve", "e2", half).iter().all(|v| *v == Verdict::Forward));
    assert!(matches!(send_mib(&mut guard, "eve", "e3", 1)[0], Verdict::Abort(_)));
    assert!(send_mib(&mut guard, "bob", "b1", 1).iter().all(|v| *v == Verdict::Forward));

    // Several senders together are held to the total.
    let mut guard = StreamGuard::new();
    let per_sender = MAX_UNREAD_BYTES_PER_SENDER / mib;
    for s in 0..MAX_UNREAD_BYTES / MAX_UNREAD_BYTES_PER_SENDER {
        let verdicts = send_mib(&mut guard, &format!("p{s}"), &format!("s{s}"), per_sender);
        assert!(verdicts.iter().all(|v| *v == Verdict::Forward));
    }
    assert_eq!(guard.unread_bytes(), MAX_UNREAD_BYTES);
    assert!(matches!(send_mib(&mut guard, "late", "l", 1)[0], Verdict::Abort(_)));
}

#[test]
fn idle_streams_expire_and_free_their_place() {
    let mut guard = StreamGuard::new();
    let start = Instant::now();
    guard.on_header(start, "eve", "old", facts(None, false));
    guard.on_header(at(start, 20), "bob", "new", facts(None, false));
    assert!(guard.expire(at(start, 29)).is_empty());
    let expired = guard.expire(at(start, 31));
    assert_eq!(expired, vec![Expired { stream_id: "old".into(), sender: "eve".into() }]);
    assert_eq!(guard.open_count(), 1);
    // A chunk keeps a stream alive.
    assert_eq!(guard.on_chunk(at(start, 45), "bob", "new", 0, &zeros(1)), Verdict::Forward);
    assert!(guard.expire(at(start, 60)).is_empty());
    assert_eq!(guard.expire(at(start, 76)).len(), 1);
}

#[test]
fn inline_headers_and_departures_leave_nothing_behind() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    assert_eq!(guard.on_header(now, "eve", "inline", facts(Some(5), true)), Verdict::Forward);
    assert_eq!(guard.open_count(), 0);
    guard.on_header(now, "eve", "a", facts(None, false));
    guard.on_chunk(now, "eve", "a", 0, &zeros(100));
    guard.on_header(now, "bob", "b", facts(None, false));
    guard.forget_sender("eve");
    assert_eq!(guard.open_count(), 1);
    assert_eq!(guard.unread_bytes(), 0);
    assert!(!guard.per_sender.contains_key("eve"));
}

/// Opens a stream and returns the meter its reader would count reads on.
fn open_metered(guard: &mut StreamGuard, sender: &str, id: &str, header: HeaderFacts<'_>) -> Arc<Meter> {
    assert_eq!(guard.on_header(Instant::now(), sender, id, header), Verdict::Forward);
    guard.claim(id).expect("the stream's meter")
}

#[test]
fn a_reader_that_keeps_up_takes_a_stream_far_past_the_unread_limit() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    let meter = open_metered(&mut guard, "alice", "big", facts(None, false));
    let chunk = zeros(1024 * 1024);
    let chunks = 5 * MAX_UNREAD_STREAM_BYTES / chunk.len() as u64; // 320 MiB
    for i in 0..chunks {
        assert_eq!(guard.on_chunk(now, "alice", "big", i, &chunk), Verdict::Forward, "chunk {i}");
        // The app reads each chunk as it arrives, one behind.
        if i > 0 {
            meter.consume(chunk.len());
        }
        assert!(guard.unread_bytes() <= 2 * chunk.len() as u64);
    }
    assert_eq!(guard.on_trailer("alice", "big"), Verdict::Forward);

    // A reader that falls behind by the limit fails, even on a stream of any length.
    let meter = open_metered(&mut guard, "alice", "slow", facts(None, false));
    let mut verdicts = Vec::new();
    for i in 0..3 * MAX_UNREAD_STREAM_BYTES / chunk.len() as u64 {
        let verdict = guard.on_chunk(now, "alice", "slow", i, &chunk);
        let aborted = verdict != Verdict::Forward;
        verdicts.push(verdict);
        if aborted {
            break;
        }
        if i % 2 == 0 {
            meter.consume(chunk.len()); // half the speed it arrives at
        }
    }
    assert!(matches!(verdicts.last(), Some(Verdict::Abort(why)) if why.contains("not yet read")), "{verdicts:?}");
    assert_eq!(verdicts.len() as u64, 2 * MAX_UNREAD_STREAM_BYTES / chunk.len() as u64 + 1);
}

#[test]
fn an_unread_stream_is_aborted_at_the_limit_with_a_line_naming_the_sender() {
    test_log::start();
    let mut guard = StreamGuard::new();
    let _meter = open_metered(&mut guard, "mallory-hoards", "hoard", facts(None, false));
    let verdicts = send_more(&mut guard, "mallory-hoards", "hoard", MAX_UNREAD_STREAM_BYTES / (1024 * 1024) + 1);
    assert!(verdicts[..verdicts.len() - 1].iter().all(|v| *v == Verdict::Forward));
    let Some(Verdict::Abort(why)) = verdicts.last() else { panic!("not aborted: {verdicts:?}") };
    assert!(why.contains("not yet read"), "{why}");
    let lines = test_log::lines_with("aborting stream hoard from mallory-hoards");
    assert!(lines.iter().any(|line| line.contains("not yet read")), "{lines:?}");
    assert_eq!((guard.open_count(), guard.unread_bytes()), (0, 0));
}

/// Chunks of 1 MiB on a stream already open, from index 0; the verdict of each.
fn send_more(guard: &mut StreamGuard, sender: &str, id: &str, mib: u64) -> Vec<Verdict> {
    let chunk = zeros(1024 * 1024);
    (0..mib).map(|i| guard.on_chunk(Instant::now(), sender, id, i, &chunk)).collect()
}

#[test]
fn compressed_chunks_count_what_they_inflate_to() {
    test_log::start();
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    let compressed = HeaderFacts { compression: Compression::Deflate, ..Default::default() };

    // A bomb: 100 MiB of zeros in about 100 KB, in one chunk. It is counted as it inflates
    // and stops soon past the limit, and aborts the stream.
    let bomb = deflate(&zeros(100 * 1024 * 1024));
    assert!(bomb.len() < 200 * 1024);
    let _meter = open_metered(&mut guard, "mallory-zips", "bomb", compressed);
    let verdict = guard.on_chunk(now, "mallory-zips", "bomb", 0, &bomb);
    assert!(matches!(&verdict, Verdict::Abort(why) if why.contains("not yet read")), "{verdict:?}");
    assert!(!test_log::lines_with("aborting stream bomb from mallory-zips").is_empty());

    // Compressible data read as it arrives: 200 MiB inflated from a few hundred KB on the
    // wire, cut into chunks as a sender cuts its compressed output.
    let meter = open_metered(&mut guard, "alice", "logs", compressed);
    let block: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut index = 0;
    let mut send = |wire: &mut Vec<u8>, guard: &mut StreamGuard| {
        for piece in wire.chunks(15_000) {
            assert_eq!(guard.on_chunk(now, "alice", "logs", index, piece), Verdict::Forward);
            index += 1;
            meter.consume(guard.unread_bytes() as usize); // the app reads what arrived
        }
        wire.clear();
    };
    for _ in 0..200 {
        std::io::Write::write_all(&mut encoder, &block).unwrap();
        send(encoder.get_mut(), &mut guard);
    }
    let mut rest = encoder.finish().unwrap();
    send(&mut rest, &mut guard);
    assert_eq!(guard.unread_bytes(), 0);
    assert_eq!(guard.open["logs"].produced, 200 * 1024 * 1024, "every inflated byte counted");

    // Bytes that are not DEFLATE end the stream.
    let _meter = open_metered(&mut guard, "mallory-zips", "junk", compressed);
    let verdict = guard.on_chunk(now, "mallory-zips", "junk", 0, &[0xff; 64]);
    assert!(matches!(&verdict, Verdict::Abort(why) if why.contains("does not inflate")), "{verdict:?}");
}

#[test]
fn an_inline_payload_that_inflates_past_the_limit_is_refused() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    let bomb = deflate(&zeros(MAX_UNREAD_STREAM_BYTES as usize + 1));
    let header = HeaderFacts { inline: Some(&bomb), compression: Compression::Deflate, ..Default::default() };
    assert_eq!(guard.on_header(now, "eve", "inline-bomb", header), Verdict::Drop);
    let small = deflate(b"hello hello hello");
    let header = HeaderFacts { inline: Some(&small), compression: Compression::Deflate, ..Default::default() };
    assert_eq!(guard.on_header(now, "eve", "inline-ok", header), Verdict::Forward);
    assert_eq!(guard.open_count(), 0, "inline streams are not followed");
    assert!(guard.claim("inline-ok").is_none());
}

#[test]
fn headers_the_manager_would_drop_are_dropped_here() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    let no_kind = HeaderFacts { content_header: false, ..Default::default() };
    assert_eq!(guard.on_header(now, "eve", "a", no_kind), Verdict::Drop);
    let unknown = HeaderFacts { compression: Compression::Unknown, ..Default::default() };
    assert_eq!(guard.on_header(now, "eve", "b", unknown), Verdict::Drop);
    assert_eq!(guard.open_count(), 0);
    assert!(guard.unrouted.is_empty());
}

#[test]
fn a_dropped_reader_ends_its_stream_without_a_warning() {
    test_log::start();
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    let meter = open_metered(&mut guard, "alice-drops", "s", facts(None, false));
    assert_eq!(guard.on_chunk(now, "alice-drops", "s", 0, &zeros(10)), Verdict::Forward);
    meter.reader_dropped();
    assert_eq!(guard.unread_bytes(), 0, "a dropped reader holds nothing");
    assert!(matches!(guard.on_chunk(now, "alice-drops", "s", 1, &zeros(10)), Verdict::Abort(_)));
    assert_eq!(guard.open_count(), 0);
    assert!(test_log::lines_with("alice-drops").is_empty());
}

#[test]
fn each_reader_claims_the_meter_of_its_own_stream() {
    let mut guard = StreamGuard::new();
    let now = Instant::now();
    // A stream closed and its id reused before the first reader was routed: the readers
    // come in the order of the headers, and each gets its own stream's meter.
    guard.on_header(now, "eve", "x", facts(None, false));
    guard.on_chunk(now, "eve", "x", 0, &zeros(10));
    guard.on_trailer("eve", "x");
    guard.on_header(now, "eve", "x", facts(None, false));
    guard.on_header(now, "bob", "y", facts(None, false));
    let first = guard.claim("x").unwrap();
    let second = guard.claim("x").unwrap();
    assert!(!Arc::ptr_eq(&first, &second));
    second.consume(5);
    assert_eq!(guard.open["x"].meter.unread(10), 5, "the open x is the second one");
    assert!(guard.claim("unknown").is_none());
    assert!(guard.claim("y").is_some(), "an unknown id takes nothing from the queue");
    assert!(guard.unrouted.is_empty());
    // Forgetting everything keeps meters whose readers are still on their way.
    guard.on_header(now, "bob", "z", facts(None, false));
    guard.forget_all();
    assert!(guard.claim("z").is_some());
}
