//! The service loop: tick and dispatch on the cron cadence until told to stop. A stop
//! is honoured between rounds, so the mail in flight is finished first.

use std::future::Future;

use chrono::{DateTime, Utc};
use hjul_mail::Sender;

use crate::{Scheduler, SchedulerError};

/// Where "now" comes from: the system, or a test's own clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
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
            Err(e) => tracing::error!(error = %e, "round failed; trying again at the next tick"),
        }
        let after = clock.now();
        let next = scheduler
            .settings()
            .tick
            .after(&after)
            .next()
            .unwrap_or(after + chrono::Duration::minutes(1));
        let wait = (next - after).to_std().unwrap_or_default();
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
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
