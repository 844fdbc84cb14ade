//! The figures, as children send them (one JSON line) and as the table prints them.

use serde::{Deserialize, Serialize};

use crate::measure::HOLD_PARTICIPANTS;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub p95: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        if n == 0 {
            return Self { n, median: f64::NAN, p95: f64::NAN, min: f64::NAN, max: f64::NAN };
        }
        let median = if n % 2 == 1 { samples[n / 2] } else { (samples[n / 2 - 1] + samples[n / 2]) / 2.0 };
        // Nearest-rank percentile.
        let p95 = samples[((0.95 * n as f64).ceil() as usize).clamp(1, n) - 1];
        Self { n, median, p95, min: samples[0], max: samples[n - 1] }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConnectFigures {
    pub signal_ms: Summary,
    pub publisher_ms: Summary,
    pub subscriber_ms: Summary,
    /// Each join's figures, in order (the first pays one-time costs).
    pub publisher_runs_ms: Vec<f64>,
    pub subscriber_runs_ms: Vec<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataFigures {
    pub rtt_ms: Summary,
    pub throughput_mb_s: Summary,
    /// Each round's MB/s, in order.
    pub throughput_rounds: Vec<f64>,
    /// CPU time of the process (A and B together) per MB moved during the bulk rounds.
    pub bulk_cpu_ms_per_mb: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryFigures {
    pub before_kib: u64,
    pub after_first_kib: u64,
    pub after_all_kib: u64,
}

impl MemoryFigures {
    /// The figure: growth with all participants held, divided by their number.
    pub fn per_participant_kib(&self) -> f64 {
        self.after_all_kib.saturating_sub(self.before_kib) as f64 / HOLD_PARTICIPANTS as f64
    }

    /// Growth per participant after the first, which also pays one-time costs.
    pub fn marginal_kib(&self) -> f64 {
        self.after_all_kib.saturating_sub(self.after_first_kib) as f64 / (HOLD_PARTICIPANTS - 1) as f64
    }
}

/// What a child prints on its last line.
#[derive(Debug, Serialize, Deserialize)]
pub enum Outcome<T> {
    Ok(T),
    Err(String),
}

/// Everything measured for one stack.
pub struct StackResult {
    pub stack: &'static str,
    pub connect: Outcome<ConnectFigures>,
    pub data: Outcome<DataFigures>,
    pub memory: Outcome<MemoryFigures>,
}

fn cell<T>(outcome: &Outcome<T>, f: impl Fn(&T) -> String) -> String {
    match outcome {
        Outcome::Ok(v) => f(v),
        Outcome::Err(_) => "failed".into(),
    }
}

/// Prints the results as a Markdown table, then the errors in full.
pub fn print_table(results: &[StackResult], signal_only: &Outcome<MemoryFigures>) {
    println!(
        "| stack | signal join ms (median) | offer → our `_reliable` open ms (median / max) | offer → server `_reliable` open ms (median / max) | RTT ms (median / p95, n={}) | A → B MB/s ({} MB in {} B; median (rounds)) | CPU ms per MB (A+B) | RSS KiB per participant (10 held) | marginal KiB (2nd-10th) |",
        crate::measure::RTT_SAMPLES,
        crate::measure::BULK_BYTES / 1_000_000,
        crate::measure::BULK_PAYLOAD,
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in results {
        let throughput = |d: &DataFigures| {
            let rounds: Vec<String> = d.throughput_rounds.iter().map(|t| format!("{t:.1}")).collect();
            format!("{:.1} ({})", d.throughput_mb_s.median, rounds.join(", "))
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.stack,
            cell(&r.connect, |c| format!("{:.1}", c.signal_ms.median)),
            cell(&r.connect, |c| format!("{:.1} / {:.1}", c.publisher_ms.median, c.publisher_ms.max)),
            cell(&r.connect, |c| format!("{:.1} / {:.1}", c.subscriber_ms.median, c.subscriber_ms.max)),
            cell(&r.data, |d| format!("{:.3} / {:.3}", d.rtt_ms.median, d.rtt_ms.p95)),
            cell(&r.data, throughput),
            cell(&r.data, |d| format!("{:.1}", d.bulk_cpu_ms_per_mb)),
            cell(&r.memory, |m| format!("{:.0}", m.per_participant_kib())),
            cell(&r.memory, |m| format!("{:.0}", m.marginal_kib())),
        );
    }
    match signal_only {
        Outcome::Ok(m) => println!(
            "\nSignalling alone (no peer connections), included in every RSS figure above: {:.0} KiB per participant, marginal {:.0} KiB.",
            m.per_participant_kib(),
            m.marginal_kib()
        ),
        Outcome::Err(err) => println!("\nSignalling-alone memory failed: {err}"),
    }
    for r in results {
        if let Outcome::Ok(c) = &r.connect {
            let runs = |v: &[f64]| v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(", ");
            println!(
                "\n{} joins, ms: ours {}; server's {}",
                r.stack,
                runs(&c.publisher_runs_ms),
                runs(&c.subscriber_runs_ms)
            );
        }
    }
    for r in results {
        for (what, err) in [("connect", error(&r.connect)), ("data", error(&r.data)), ("memory", error(&r.memory))] {
            if let Some(err) = err {
                println!("\n{} {what} failed: {err}", r.stack);
            }
        }
    }
}

fn error<T>(outcome: &Outcome<T>) -> Option<&str> {
    match outcome {
        Outcome::Err(e) => Some(e),
        Outcome::Ok(_) => None,
    }
}
