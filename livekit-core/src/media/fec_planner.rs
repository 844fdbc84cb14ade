//! How much loss the Opus encoder plans in-band FEC for, from the loss the server reports.
//!
//! FEC is not free: at any planned loss above 0 libopus encodes each packet's speech twice (the
//! second, coarser copy rides in the next packet), which costs CPU and bits. So the plan starts
//! at 0 and follows the fraction lost in the server's RTCP receiver reports: smoothed over a few
//! seconds (one bad report is not a lossy link), then rounded down to a few levels with some
//! hysteresis, so a link hovering around a level does not retune the encoder every report.

use std::time::{Duration, Instant};

/// The levels the plan moves between, in percent.
const LEVELS: [u8; 5] = [0, 1, 5, 10, 20];
/// Half of the smoothed value is forgotten after this long.
const HALF_LIFE: Duration = Duration::from_secs(3);
/// Moving up to a level needs the smoothed loss this far (in percent points) above it; moving
/// down to a lower level needs it this far below the current one.
const MARGIN_PERCENT: f32 = 0.5;

/// Turns receiver reports into the encoder's expected loss. Plain type: time is passed in.
#[derive(Debug, Clone)]
pub(crate) struct FecPlanner {
    /// Smoothed loss in percent.
    smoothed: f32,
    last_report: Option<Instant>,
    planned: u8,
}

impl Default for FecPlanner {
    fn default() -> Self {
        FecPlanner { smoothed: 0.0, last_report: None, planned: 0 }
    }
}

impl FecPlanner {
    /// The loss (percent) the encoder should plan for now.
    pub(crate) fn planned_percent(&self) -> u8 {
        self.planned
    }

    /// Takes one report's fraction lost (0..=1, as RTCP carries it) received at `now`; returns
    /// the new plan when it changed.
    pub(crate) fn observe(&mut self, now: Instant, fraction_lost: f32) -> Option<u8> {
        let percent = if fraction_lost.is_finite() { fraction_lost.clamp(0.0, 1.0) * 100.0 } else { 0.0 };
        self.smoothed = match self.last_report {
            // The first report stands for the time before it too: nothing was known then.
            None => percent,
            Some(last) => {
                let elapsed = now.saturating_duration_since(last).as_secs_f32();
                let keep = 0.5f32.powf(elapsed / HALF_LIFE.as_secs_f32());
                self.smoothed * keep + percent * (1.0 - keep)
            }
        };
        self.last_report = Some(now);
        let level = self.level_for(self.smoothed);
        (level != self.planned).then(|| {
            self.planned = level;
            level
        })
    }

    /// The highest level `smoothed` reaches: a level above the plan only once the loss is
    /// `MARGIN_PERCENT` past it, the plan and those below it until the loss is that far under.
    fn level_for(&self, smoothed: f32) -> u8 {
        let reaches = |level: u8| {
            let margin = if level > self.planned { MARGIN_PERCENT } else { -MARGIN_PERCENT };
            smoothed >= f32::from(level) + margin
        };
        LEVELS.into_iter().filter(|&level| reaches(level)).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds one report a second for `seconds`, returning the plan after each.
    fn feed(planner: &mut FecPlanner, start: Instant, from_second: u64, seconds: u64, fraction: f32) -> Vec<u8> {
        (from_second..from_second + seconds)
            .map(|s| {
                planner.observe(start + Duration::from_secs(s), fraction);
                planner.planned_percent()
            })
            .collect()
    }

    #[test]
    fn no_loss_plans_no_fec() {
        let mut planner = FecPlanner::default();
        assert_eq!(planner.planned_percent(), 0);
        let plans = feed(&mut planner, Instant::now(), 0, 30, 0.0);
        assert!(plans.iter().all(|&p| p == 0), "{plans:?}");
    }

    #[test]
    fn steady_loss_settles_on_the_level_below_it() {
        for (fraction, level) in [(0.03, 1), (0.05 + 0.01, 5), (0.12, 10), (0.30, 20), (1.0, 20)] {
            let mut planner = FecPlanner::default();
            let plans = feed(&mut planner, Instant::now(), 0, 30, fraction);
            assert_eq!(*plans.last().unwrap(), level, "loss {fraction}: {plans:?}");
        }
    }

    #[test]
    fn one_bad_report_on_a_clean_link_is_smoothed_away() {
        let mut planner = FecPlanner::default();
        let start = Instant::now();
        feed(&mut planner, start, 0, 10, 0.0);
        // One report of 20 % loss after ten clean ones lifts the average to about 4 %.
        planner.observe(start + Duration::from_secs(10), 0.20);
        assert!(planner.planned_percent() <= 1, "{}", planner.planned_percent());
        let plans = feed(&mut planner, start, 11, 20, 0.0);
        assert_eq!(*plans.last().unwrap(), 0, "{plans:?}");
    }

    #[test]
    fn the_plan_follows_loss_up_and_back_down() {
        let mut planner = FecPlanner::default();
        let start = Instant::now();
        let up = feed(&mut planner, start, 0, 20, 0.10 + 0.02);
        assert_eq!(*up.last().unwrap(), 10, "{up:?}");
        let down = feed(&mut planner, start, 20, 30, 0.0);
        assert_eq!(*down.last().unwrap(), 0, "{down:?}");
        // On the way down it passed through the lower levels rather than jumping.
        assert!(down.contains(&5) || down.contains(&1), "{down:?}");
    }

    #[test]
    fn loss_hovering_at_a_level_does_not_flap() {
        let mut planner = FecPlanner::default();
        let start = Instant::now();
        feed(&mut planner, start, 0, 20, 0.06);
        assert_eq!(planner.planned_percent(), 5);
        // Reports alternating around 5 % keep the plan at 5.
        let changes = (20..80)
            .filter(|&s| {
                planner.observe(start + Duration::from_secs(s), if s % 2 == 0 { 0.052 } else { 0.047 }).is_some()
            })
            .count();
        assert_eq!((changes, planner.planned_percent()), (0, 5));
    }

    #[test]
    fn odd_reports_are_clamped() {
        let mut planner = FecPlanner::default();
        let now = Instant::now();
        assert_eq!(planner.observe(now, f32::NAN), None);
        assert_eq!(planner.observe(now, -1.0), None);
        assert_eq!(planner.observe(now + Duration::from_secs(60), 7.0), Some(20));
    }
}
