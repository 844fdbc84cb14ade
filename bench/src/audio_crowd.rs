//! The audio crowd: one process holding N participants that each subscribe to the same audio
//! track and read it through an `AudioStream` (issue 15: 50 of them, CPU and memory at most
//! 0.5x of the official SDK's).
//!
//! The track comes from our feeder in the bench process for both sides (`audio::cpu` drives
//! it), so both measured processes decode the very same Opus stream. Steps, the same on both
//! sides (`official_bench_crowd.py audio_crowd`): VmRSS before joining; N participants join, 10
//! at a time; each opens an `AudioStream` on the feeder's track; once every stream has
//! delivered 1 s of frames, user+system CPU of the process over `WINDOW`, then VmRSS.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use livekit_core::AudioStream;
use serde_json::{json, Value};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::audio::{count_frames, cpu_seconds, next_audio_track, wait_frames, RATE, STEADY_FRAMES, SUBSCRIBE_TIMEOUT};
use crate::crowd::JOIN_CONCURRENCY;
use crate::hold::status_kb;
use crate::report::{Figure, Metric};
use crate::{ours, ServerInfo};

/// The CPU window once every stream is steady.
const WINDOW: Duration = Duration::from_secs(10);

/// The `audio-crowd` subcommand: `<url> <key> <secret> <room> <count>`.
pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let [url, key, secret, room, count] = args else {
        bail!("usage: livekit-bench audio-crowd <url> <key> <secret> <room> <count>");
    };
    let count: usize = count.parse().context("count must be a number")?;
    let info = ServerInfo { url: url.clone(), key: key.clone(), secret: secret.clone() };
    let baseline_kb = status_kb("VmRSS")?;

    let permits = Arc::new(tokio::sync::Semaphore::new(JOIN_CONCURRENCY));
    let mut joins = JoinSet::new();
    for i in 0..count {
        let (info, room, permits) = (info.clone(), room.clone(), permits.clone());
        joins.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let (joined, mut events) = ours::join(&info, &room, &format!("s{i}")).await?;
            let (_, track) = next_audio_track(&mut events, Some("feeder"), SUBSCRIBE_TIMEOUT * 2).await?;
            // The rest of the events are drained, as an app would, so none pile up.
            tokio::spawn(async move { while events.recv().await.is_some() {} });
            let frames = Arc::new(AtomicUsize::new(0));
            let reader = count_frames(AudioStream::new(&track, RATE, 1)?, frames.clone());
            anyhow::Ok((joined, reader, frames))
        });
    }
    let mut subscribers = Vec::with_capacity(count);
    while let Some(result) = joins.join_next().await {
        subscribers.push(result??);
    }
    let counts: Vec<_> = subscribers.iter().map(|(_, _, frames)| frames.clone()).collect();
    wait_frames(&counts, STEADY_FRAMES, SUBSCRIBE_TIMEOUT * 2).await?;

    let frames_before: usize = counts.iter().map(|c| c.load(std::sync::atomic::Ordering::Relaxed)).sum();
    let (user0, system0) = cpu_seconds()?;
    let start = Instant::now();
    tokio::time::sleep(WINDOW).await; // the measuring window itself
    let (user1, system1) = cpu_seconds()?;
    let seconds = start.elapsed().as_secs_f64();
    let frames_after: usize = counts.iter().map(|c| c.load(std::sync::atomic::Ordering::Relaxed)).sum();
    let report = json!({
        "participants": count,
        "baseline_kb": baseline_kb,
        "total_kb": status_kb("VmRSS")?,
        "anon_kb": status_kb("RssAnon")?,
        "seconds": seconds,
        "cpu_seconds": user1 - user0 + system1 - system0,
        "frames": frames_after - frames_before,
    });
    for (room, reader, _) in subscribers {
        reader.abort();
        room.disconnect().await?;
    }
    println!("{report}");
    Ok(())
}

/// The audio crowd's rows from either side's JSON.
pub fn figures(raw: &Value) -> anyhow::Result<Vec<Figure>> {
    let number = |key: &str| raw[key].as_f64().with_context(|| format!("no {key:?} in {raw}"));
    let (participants, seconds) = (number("participants")?, number("seconds")?);
    let rss_mib = (number("total_kb")? - number("baseline_kb")?) / 1024.0;
    let cpu_percent = number("cpu_seconds")? / seconds * 100.0;
    let expected_frames = participants * seconds * 100.0;
    let detail = format!(
        "{participants} subscribers: RSS {rss_mib:.1} MiB above a {:.1} MiB baseline (heap and stacks {:.1}); \
         CPU {cpu_percent:.1}% of one core over {seconds:.1} s, {} frames read of {expected_frames:.0} due",
        number("baseline_kb")? / 1024.0,
        number("anon_kb")? / 1024.0,
        number("frames")?,
    );
    Ok(vec![
        Figure::new(Metric::AudioCrowdCpu, cpu_percent, detail),
        Figure::new(Metric::AudioCrowdRss, rss_mib, "(the run of the row above)".into()),
    ])
}
