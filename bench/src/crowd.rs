//! The crowd figures: one process holding N data-only participants in one room.
//!
//! Our side is this binary's `crowd` subcommand, theirs `official_bench.py crowd`; both do the
//! same steps and print the same JSON:
//! 1. VmRSS before joining; N participants join, at most `JOIN_CONCURRENCY` at a time, each
//!    within `JOIN_DEADLINE` of the start (those that fail or miss it are counted, not fatal).
//! 2. A quiet `SETTLE` (the server's batched join notices go out), then the idle window:
//!    CPU of the whole process over `IDLE_WINDOW`; then VmRSS, threads and open descriptors.
//! 3. Fan-out: the first participant publishes `FANOUT_MESSAGES` reliable messages, one after
//!    another; each time from before its publish call to each other participant's receipt.
//! 4. The busy window: every participant sends one reliable message per second to the next one
//!    (a ring, so the load grows with N, not N²); CPU over `BUSY_WINDOW`, and how many arrived.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use livekit_core::{DataOptions, Room, RoomEvent};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{timeout_at, Instant};

use crate::audio::cpu_seconds;
use crate::hold::status_kb;
use crate::report::{Figure, Metric};
use crate::{ours, Group, Plan, ServerInfo};

/// Joins in flight at once, on both sides.
pub const JOIN_CONCURRENCY: usize = 10;
/// Every join must have finished this long after the first started (the 500-participant target).
pub const JOIN_DEADLINE: Duration = Duration::from_secs(120);
const SETTLE: Duration = Duration::from_secs(5);
const IDLE_WINDOW: Duration = Duration::from_secs(10);
const BUSY_WINDOW: Duration = Duration::from_secs(10);
const FANOUT_MESSAGES: usize = 3;
/// How long one fan-out message may take to reach everyone before the rest count as missed.
const FANOUT_TIMEOUT: Duration = Duration::from_secs(5);
const FANOUT_TOPIC: &str = "crowd-fanout";
const BUSY_TOPIC: &str = "crowd-busy";

/// The `crowd` subcommand: `<url> <key> <secret> <room> <count>`.
pub async fn run_crowd(args: &[String]) -> anyhow::Result<()> {
    let [url, key, secret, room, count] = args else {
        bail!("usage: livekit-bench crowd <url> <key> <secret> <room> <count>");
    };
    let count: usize = count.parse().context("count must be a number")?;
    if count < 2 {
        bail!("count must be at least 2");
    }
    let info = ServerInfo { url: url.clone(), key: key.clone(), secret: secret.clone() };
    let baseline_kb = status_kb("VmRSS")?;

    let start = Instant::now();
    let (rooms, failed) = join_all(&info, room, count, start + JOIN_DEADLINE).await;
    let join_seconds = start.elapsed().as_secs_f64();
    if rooms.len() < 2 {
        bail!("only {} of {count} participants joined", rooms.len());
    }
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
    let busy_received = Arc::new(AtomicU64::new(0));
    let mut identities = Vec::with_capacity(rooms.len());
    let mut handles = Vec::with_capacity(rooms.len());
    for (identity, room, events) in rooms {
        tokio::spawn(read_events(events, arrivals_tx.clone(), busy_received.clone()));
        identities.push(identity);
        handles.push(Arc::new(room));
    }

    tokio::time::sleep(SETTLE).await; // a bench pause: the server's batched notices go out
    let idle_cpu = cpu_percent_over(IDLE_WINDOW).await?;
    let (total_kb, anon_kb) = (status_kb("VmRSS")?, status_kb("RssAnon")?);
    let (threads, fds) = (status_kb("Threads")?, open_descriptors()?);

    let mut fanout_ms = Vec::new();
    let mut fanout_missed = 0;
    for index in 0..FANOUT_MESSAGES {
        let sent = Instant::now();
        let options = DataOptions::reliable().with_topic(FANOUT_TOPIC);
        handles[0].local_participant().publish_data(vec![index as u8], options).await?;
        let mut got = 0;
        let deadline = sent + FANOUT_TIMEOUT;
        while got < handles.len() - 1 {
            match timeout_at(deadline, arrivals.recv()).await {
                Ok(Some((i, at))) if i == index => {
                    got += 1;
                    fanout_ms.push((at - sent).as_secs_f64() * 1000.0);
                }
                Ok(Some(_)) => continue, // a late one of an earlier message
                Ok(None) | Err(_) => break,
            }
        }
        fanout_missed += handles.len() - 1 - got;
    }

    let (busy_sent, busy_cpu) = busy_window(&handles, &identities).await?;
    let received = busy_received.load(Ordering::SeqCst);

    let mut leaving = JoinSet::new();
    for room in handles {
        leaving.spawn(async move { room.disconnect().await });
    }
    while leaving.join_next().await.is_some() {}

    let report = json!({
        "participants": count,
        "joined": identities.len(),
        "join_failed": failed,
        "join_seconds": join_seconds,
        "baseline_kb": baseline_kb,
        "total_kb": total_kb,
        "anon_kb": anon_kb,
        "threads": threads,
        "fds": fds,
        "idle_cpu_percent": idle_cpu,
        "busy_cpu_percent": busy_cpu,
        "busy_sent": busy_sent,
        "busy_received": received,
        "fanout_ms": fanout_ms,
        "fanout_missed": fanout_missed,
    });
    println!("{report}");
    Ok(())
}

type Joined = (String, Room, mpsc::UnboundedReceiver<RoomEvent>);

/// Joins `h0`..`h{count-1}`, `JOIN_CONCURRENCY` at a time; returns those that made it by
/// `deadline`, in order, and how many did not.
async fn join_all(info: &ServerInfo, room: &str, count: usize, deadline: Instant) -> (Vec<Joined>, usize) {
    let permits = Arc::new(Semaphore::new(JOIN_CONCURRENCY));
    let mut joins = JoinSet::new();
    for i in 0..count {
        let (info, room, permits) = (info.clone(), room.to_string(), permits.clone());
        joins.spawn(async move {
            let _permit = permits.acquire_owned().await.ok()?;
            let identity = format!("h{i}");
            let joined = timeout_at(deadline, ours::join(&info, &room, &identity)).await;
            match joined {
                Ok(Ok((room, events))) => Some((i, (identity, room, events))),
                Ok(Err(err)) => {
                    eprintln!("crowd: {identity}: {err:#}");
                    None
                }
                Err(_) => None,
            }
        });
    }
    let mut joined = Vec::with_capacity(count);
    while let Some(result) = joins.join_next().await {
        if let Ok(Some(one)) = result {
            joined.push(one);
        }
    }
    joined.sort_by_key(|(i, _)| *i);
    let failed = count - joined.len();
    (joined.into_iter().map(|(_, one)| one).collect(), failed)
}

/// Drains one participant's events (an unread stream would grow), noting fan-out arrivals and
/// counting busy messages.
async fn read_events(
    mut events: mpsc::UnboundedReceiver<RoomEvent>,
    arrivals: mpsc::UnboundedSender<(usize, Instant)>,
    busy_received: Arc<AtomicU64>,
) {
    while let Some(event) = events.recv().await {
        if let RoomEvent::DataReceived { payload, topic, .. } = event {
            match topic.as_deref() {
                Some(FANOUT_TOPIC) => {
                    let index = payload.first().copied().unwrap_or(u8::MAX) as usize;
                    let _ = arrivals.send((index, Instant::now()));
                }
                Some(BUSY_TOPIC) => {
                    busy_received.fetch_add(1, Ordering::SeqCst);
                }
                _ => {}
            }
        }
    }
}

/// Every participant sends one reliable message per second to the next one for `BUSY_WINDOW`;
/// returns how many were sent and the process's CPU over the window.
async fn busy_window(rooms: &[Arc<Room>], identities: &[String]) -> anyhow::Result<(u64, f64)> {
    let sent = Arc::new(AtomicU64::new(0));
    let mut senders = JoinSet::new();
    for (i, room) in rooms.iter().enumerate() {
        let (room, sent) = (room.clone(), sent.clone());
        let next = identities[(i + 1) % identities.len()].clone();
        // Spread over the second, so the load is steady rather than one burst a second.
        let offset = Duration::from_secs(1).mul_f64(i as f64 / rooms.len() as f64);
        senders.spawn(async move {
            let mut tick = tokio::time::interval_at(Instant::now() + offset, Duration::from_secs(1));
            loop {
                tick.tick().await;
                let options = DataOptions::reliable().with_topic(BUSY_TOPIC).with_destinations([next.clone()]);
                if room.local_participant().publish_data(b"tick".to_vec(), options).await.is_ok() {
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    }
    let cpu = cpu_percent_over(BUSY_WINDOW).await;
    senders.abort_all();
    Ok((sent.load(Ordering::SeqCst), cpu?))
}

/// User+system CPU of the whole process over `window`, in percent of one core.
async fn cpu_percent_over(window: Duration) -> anyhow::Result<f64> {
    let (user0, system0) = cpu_seconds()?;
    let start = Instant::now();
    tokio::time::sleep(window).await; // the measuring window itself
    let (user1, system1) = cpu_seconds()?;
    Ok((user1 - user0 + system1 - system0) / start.elapsed().as_secs_f64() * 100.0)
}

fn open_descriptors() -> anyhow::Result<u64> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count() as u64)
}

/// The official SDK's crowd at the plan's count, or the largest it reaches: after a failure
/// (the Python SDK's native library has aborted under hundreds of rooms) the count halves, down
/// to `MIN_RETRY_COUNT`, and each failure becomes a note.
pub async fn theirs(info: &ServerInfo, room: &str, plan: Plan, notes: &mut Vec<String>) -> Option<Value> {
    let mut count = plan.crowd;
    loop {
        let attempt = Plan { crowd: count, ..plan };
        match crate::official::measure(Group::Crowd, info, &format!("{room}-{count}"), attempt, None).await {
            Ok(raw) => return Some(raw),
            Err(err) => {
                let text = err.to_string();
                let head: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(2).collect();
                notes.push(format!("crowd, theirs at {count} participants: {}", head.join(" ")));
                eprintln!("crowd (official) at {count} failed: {err:#}");
            }
        }
        count /= 2;
        if count < MIN_RETRY_COUNT {
            return None;
        }
    }
}

/// The smallest count the official side is retried at.
const MIN_RETRY_COUNT: usize = 10;

/// The crowd group's rows from either side's JSON.
pub fn figures(raw: &Value) -> anyhow::Result<Vec<Figure>> {
    let number = |key: &str| raw[key].as_f64().with_context(|| format!("no {key:?} in {raw}"));
    let mut fanout: Vec<f64> =
        raw["fanout_ms"].as_array().context("no fanout_ms")?.iter().filter_map(Value::as_f64).collect();
    fanout.sort_by(f64::total_cmp);
    let joined = number("joined")?;
    let mib = |kb: f64| kb / 1024.0;
    let detail = format!(
        "{} of {} joined in {:.1} s ({} failed); RSS {:.1} MiB above a {:.1} MiB baseline (heap and stacks \
         {:.1}); {} threads, {} fds; CPU idle {:.1}%, busy {:.1}% of one core ({} of {} ring messages \
         arrived); fan-out of {} messages: median {:.1} ms, max {:.1} ms, {} missed",
        joined,
        number("participants")?,
        number("join_seconds")?,
        number("join_failed")?,
        mib(number("total_kb")? - number("baseline_kb")?),
        mib(number("baseline_kb")?),
        mib(number("anon_kb")?),
        number("threads")?,
        number("fds")?,
        number("idle_cpu_percent")?,
        number("busy_cpu_percent")?,
        number("busy_received")?,
        number("busy_sent")?,
        FANOUT_MESSAGES,
        crate::report::median(&fanout),
        fanout.last().copied().unwrap_or(f64::NAN),
        number("fanout_missed")?,
    );
    // The details go with the first row only: every row of the group comes from the same run.
    let figure = |metric, value| Figure::new(metric, value, "(the run of the row above)".into());
    Ok(vec![
        Figure::new(Metric::CrowdJoined, joined, detail),
        figure(Metric::CrowdJoinSeconds, number("join_seconds")?),
        figure(Metric::CrowdRss, mib(number("total_kb")? - number("baseline_kb")?) / joined),
        figure(Metric::CrowdThreads, number("threads")?),
        figure(Metric::CrowdFds, number("fds")?),
        figure(Metric::CrowdIdleCpu, number("idle_cpu_percent")?),
        figure(Metric::CrowdBusyCpu, number("busy_cpu_percent")?),
        // A message someone never got makes the row fail, whatever the others took.
        figure(
            Metric::CrowdFanout,
            match number("fanout_missed")? {
                0.0 => fanout.last().copied().unwrap_or(f64::INFINITY),
                _ => f64::INFINITY,
            },
        ),
    ])
}
