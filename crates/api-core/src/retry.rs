//! The one retry/wait module: every bounded poll and every retry of a slow-to-converge remote
//! state goes through [`until`]. Nothing else in the project sleeps.
//!
//! An attempt answers [`Step::Done`], [`Step::Retry`] (with the error that made it retry, kept
//! to be reported if time runs out) or [`Step::Fail`]. There is no sleep after the last attempt:
//! when the next sleep would end past the deadline, the wait ends with the last real error.
//!
//! Pauses follow the time waited, not the number of refusals ([`pause_after`]): a tenth of the
//! time waited so far, at least [`Wait::interval`] and at most [`Wait::max_interval`]. A
//! change that happens at an unknown moment is so noticed within a tenth of the time it took
//! (or one interval), and a 15-minute wait makes at most [`POLLS_PER_15_MINUTES`] attempts
//! with the default one-second interval. A `Retry-After` the service sends is taken as it is.
//!
//! Every wait reports its progress in one place, the way Terraform does: the first time it has
//! to wait again, and then at most every [`Wait::report_every`], it logs "still waiting for …
//! (1m0s elapsed), next check in 10s, giving up in 14m0s".

use std::future::Future;
use std::time::{Duration, Instant};

/// What an attempt concluded.
pub enum Step<T, E> {
    /// The desired state holds.
    Done(T),
    /// Not yet: try again, after `after` if the service said when.
    Retry { error: E, after: Option<Duration> },
    /// It will not converge by waiting.
    Fail(E),
}

impl<T, E> Step<T, E> {
    pub fn retry(error: E) -> Self {
        Self::Retry { error, after: None }
    }
}

/// How long and how often to try.
#[derive(Debug, Clone)]
pub struct Wait {
    /// What is being waited for, for messages ("role assignment to take effect").
    pub what: String,
    /// The total time allowed.
    pub timeout: Duration,
    /// The first (and shortest) pause between attempts.
    pub interval: Duration,
    /// The longest pause: later pauses are a tenth of the time waited, up to this.
    pub max_interval: Duration,
    /// The least time between two progress lines of this wait.
    pub report_every: Duration,
}

/// How often a long wait says it is still waiting, unless told otherwise.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

/// The longest pause of a wait, unless its interval is longer.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

/// A pause is the time waited so far divided by this (so a change is noticed within 10 %).
pub const PAUSE_DIVISOR: u32 = 10;

/// The most attempts a wait with a one-second interval makes in its first 15 minutes.
pub const POLLS_PER_15_MINUTES: usize = 60;

impl Wait {
    pub fn new(what: impl Into<String>, timeout: Duration, interval: Duration) -> Self {
        Self {
            what: what.into(),
            timeout,
            interval,
            max_interval: interval.max(MAX_PAUSE),
            report_every: REPORT_EVERY,
        }
    }

    /// Keeps a steady cadence instead of following the time waited.
    pub fn steady(mut self) -> Self {
        self.max_interval = self.interval;
        self
    }
}

/// The pause after an attempt that ended `elapsed` into the wait and was told no `Retry-After`:
/// a tenth of `elapsed`, within `[interval, max_interval]`.
pub fn pause_after(wait: &Wait, elapsed: Duration) -> Duration {
    (elapsed / PAUSE_DIVISOR)
        .min(wait.max_interval)
        .max(wait.interval)
}

/// How many attempts a wait that never succeeds makes within `window` (instant attempts).
pub fn attempts_within(wait: &Wait, window: Duration) -> usize {
    let mut elapsed = Duration::ZERO;
    let mut attempts = 0;
    while elapsed < window {
        attempts += 1;
        elapsed += pause_after(wait, elapsed);
    }
    attempts
}

/// The wait ended without the desired state.
#[derive(Debug, thiserror::Error)]
pub enum WaitError<E> {
    #[error("{0}")]
    Failed(E),
    #[error(
        "timed out after {elapsed:?} waiting for {what} ({attempts} attempts); last error: {last}"
    )]
    TimedOut {
        what: String,
        elapsed: Duration,
        attempts: u32,
        last: E,
    },
}

/// Progress of a wait, given to the attempt so it can report "elapsed, next check".
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub number: u32,
    pub elapsed: Duration,
}

/// Runs `attempt` until it is done, fails, or the deadline would be passed.
pub async fn until<T, E, F, Fut>(wait: &Wait, mut attempt: F) -> Result<T, WaitError<E>>
where
    F: FnMut(Attempt) -> Fut,
    Fut: Future<Output = Step<T, E>>,
{
    let started = Instant::now();
    let deadline = started + wait.timeout;
    let mut number = 0;
    let mut last_report: Option<Instant> = None;
    loop {
        number += 1;
        let step = attempt(Attempt {
            number,
            elapsed: started.elapsed(),
        })
        .await;
        match step {
            Step::Done(value) => return Ok(value),
            Step::Fail(error) => return Err(WaitError::Failed(error)),
            Step::Retry { error, after } => {
                let now = Instant::now();
                let pause = after
                    .unwrap_or_else(|| pause_after(wait, now - started))
                    .max(Duration::from_millis(1));
                if now + pause > deadline {
                    return Err(WaitError::TimedOut {
                        what: wait.what.clone(),
                        elapsed: started.elapsed(),
                        attempts: number,
                        last: error,
                    });
                }
                if last_report.is_none_or(|reported| now - reported >= wait.report_every) {
                    last_report = Some(now);
                    tracing::info!(
                        "{}",
                        progress_line(&wait.what, now - started, pause, deadline - now)
                    );
                }
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// One progress line of a wait: "still waiting for {what} (1m0s elapsed), next check in 10s,
/// giving up in 14m0s".
pub fn progress_line(
    what: &str,
    elapsed: Duration,
    next_check: Duration,
    giving_up_in: Duration,
) -> String {
    format!(
        "still waiting for {what} ({} elapsed), next check in {}, giving up in {}",
        short_duration(elapsed),
        short_duration(next_check),
        short_duration(giving_up_in)
    )
}

/// A duration as people read it in a log: `250ms`, `10s`, `1m0s`, `1h2m3s` (whole seconds
/// from one second on).
pub fn short_duration(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        return format!("{}ms", duration.as_millis());
    }
    let seconds = duration.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m{seconds}s"),
        _ => format!("{hours}h{minutes}m{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_like_terraform() {
        assert_eq!(
            progress_line(
                "the peering connection to become ACTIVE",
                Duration::from_secs(60),
                Duration::from_secs(10),
                Duration::from_secs(14 * 60)
            ),
            "still waiting for the peering connection to become ACTIVE (1m0s elapsed), next check in 10s, giving up in 14m0s"
        );
        assert_eq!(short_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(short_duration(Duration::from_millis(10_900)), "10s");
        assert_eq!(short_duration(Duration::from_secs(3723)), "1h2m3s");
    }

    #[test]
    fn pauses_follow_the_time_waited_within_the_polling_budget() {
        let wait = Wait::new("x", Duration::from_secs(30 * 60), Duration::from_secs(1));
        assert_eq!(pause_after(&wait, Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            pause_after(&wait, Duration::from_secs(5)),
            Duration::from_secs(1)
        );
        assert_eq!(
            pause_after(&wait, Duration::from_secs(40)),
            Duration::from_secs(4)
        );
        assert_eq!(pause_after(&wait, Duration::from_secs(3600)), MAX_PAUSE);
        let fifteen_minutes = Duration::from_secs(15 * 60);
        let attempts = attempts_within(&wait, fifteen_minutes);
        assert!(attempts <= POLLS_PER_15_MINUTES, "{attempts} attempts");
        assert!(
            attempts >= 40,
            "{attempts} attempts: the budget is used to notice early"
        );
        let steady = Wait::new("x", fifteen_minutes, Duration::from_secs(15)).steady();
        assert_eq!(attempts_within(&steady, fifteen_minutes), 60);
    }

    #[tokio::test]
    async fn returns_the_last_error_without_sleeping_past_the_deadline() {
        let wait = Wait::new(
            "nothing",
            Duration::from_millis(50),
            Duration::from_millis(20),
        );
        let started = Instant::now();
        let result: Result<(), _> = until(&wait, |attempt| async move {
            Step::retry(format!("attempt {}", attempt.number))
        })
        .await;
        assert!(started.elapsed() < Duration::from_millis(50));
        match result {
            Err(WaitError::TimedOut { last, attempts, .. }) => {
                assert_eq!(last, format!("attempt {attempts}"));
            }
            _ => panic!("expected a time-out"),
        }
    }

    #[tokio::test]
    async fn stops_at_the_first_success_or_failure() {
        let wait = Wait::new("x", Duration::from_secs(5), Duration::from_millis(1));
        let value = until(&wait, |attempt| async move {
            if attempt.number < 3 {
                Step::retry("not yet")
            } else {
                Step::Done(attempt.number)
            }
        })
        .await;
        assert_eq!(value.unwrap(), 3);
        let failed: Result<(), _> = until(&wait, |_| async { Step::Fail("broken") }).await;
        assert!(matches!(failed, Err(WaitError::Failed("broken"))));
    }
}
