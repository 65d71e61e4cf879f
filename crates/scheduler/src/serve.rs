//! The service loop: tick and dispatch on the cron cadence until told to stop. A stop
//! is honoured between rounds, so the mail in flight is finished first.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use hjul_mail::Sender;

use crate::{Scheduler, SchedulerError};

/// Where "now" comes from: the system, or a test's own clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Returns once the clock shows `at` (the service's wait for its next round).
    fn wait_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = (at - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A function is a clock: a test's fixed instant (`|| at`) or one it moves.
impl<F> Clock for F
where
    F: Fn() -> DateTime<Utc> + Send + Sync,
{
    fn now(&self) -> DateTime<Utc> {
        self()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a chosen instant and runs at the real pace: for training,
/// demonstrations and tests of the service on a day of one's choosing.
pub struct ShiftedClock {
    start: std::time::Instant,
    at: DateTime<Utc>,
}

impl ShiftedClock {
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self {
            start: std::time::Instant::now(),
            at,
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        self.at + chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default()
    }
}

/// A clock that shows the instant written in a file (RFC 3339), for a harness that
/// moves several `hjul serve` processes through a cycle together: they run a round
/// whenever the file passes their next tick. An unreadable file reads as the last
/// instant read.
pub struct FileClock {
    path: PathBuf,
    last: std::sync::Mutex<DateTime<Utc>>,
}

impl FileClock {
    pub fn new(path: PathBuf) -> Result<Self, String> {
        let at = read_instant(&path)?;
        Ok(Self {
            path,
            last: std::sync::Mutex::new(at),
        })
    }
}

fn read_instant(path: &std::path::Path) -> Result<DateTime<Utc>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "{}: `{}` is not an RFC 3339 instant: {e}",
                path.display(),
                text.trim()
            )
        })
}

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The writer replaces the file by renaming; a read between is simply retried later.
        if let Ok(at) = read_instant(&self.path) {
            *last = at;
        }
        *last
    }

    fn wait_until(&self, at: DateTime<Utc>) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            while self.now() < at {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    }
}

/// Runs until `shutdown` completes. A failing round (the database away, say) is
/// logged and tried again at the next tick: the service never exits on its own.
pub async fn serve(
    scheduler: &Scheduler,
    sender: &Sender,
    clock: &dyn Clock,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SchedulerError> {
    tokio::pin!(shutdown);
    tracing::info!("scheduler running");
    loop {
        let now = clock.now();
        match scheduler.run_once(sender, now).await {
            Ok((tick, dispatch)) => {
                if let Some(cycle) = tick.started_cycle {
                    tracing::info!(cycle, "cycle started");
                }
                if !tick.created.is_empty()
                    || !dispatch.sent.is_empty()
                    || dispatch.retried + dispatch.dead > 0
                {
                    tracing::info!(
                        items = tick.created.len(),
                        mails = dispatch.sent.len(),
                        retried = dispatch.retried,
                        dead = dispatch.dead,
                        postponed = dispatch.postponed,
                        "round done"
                    );
                }
            }
            Err(e) => {
                scheduler.metrics().round_failed();
                tracing::error!(error = %e, "round failed; trying again at the next tick");
            }
        }
        // For a harness that waits until every instance has been round at an instant.
        tracing::debug!(at = %now.to_rfc3339(), "round");
        let after = clock.now();
        let next = scheduler
            .settings()
            .tick
            .after(&after)
            .next()
            .unwrap_or(after + chrono::Duration::minutes(1));
        tokio::select! {
            () = clock.wait_until(next) => {}
            () = &mut shutdown => break,
        }
    }
    if let Sender::Smtp(smtp) = sender {
        smtp.close().await;
    }
    // Another instance may tick at once instead of when this lease would run out.
    if let Err(e) = scheduler
        .store()
        .release_lease(crate::TICK_LEASE, scheduler.instance())
        .await
    {
        tracing::warn!(error = %e, "could not let go of the tick; another instance takes it when the lease runs out");
    }
    tracing::info!("scheduler stopped");
    Ok(())
}
