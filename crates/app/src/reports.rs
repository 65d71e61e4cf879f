//! Laying a report out: one at a time, off the request threads, one per person in the
//! queue, the department's final report first.

use std::time::Duration;

use hjul_report::{ReportError, Templates};

use crate::{Actor, Core, CoreError};

/// How long a request waits for the report before it: then it is asked to come back.
pub const REPORT_WAIT: Duration = Duration::from_secs(30);

/// Which way a report waits for the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A report a person asked for: behind those before it.
    Request,
    /// The final report of `report_final`: before every request still waiting.
    First,
}

/// A person's place in the queue, given up when their report is done or abandoned.
struct Queued<'a> {
    core: &'a Core,
    key: String,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.core.queued().remove(&self.key);
    }
}

/// Marks a final report waiting, for as long as it waits.
struct FirstWaiting<'a>(&'a Core);

impl Drop for FirstWaiting<'_> {
    fn drop(&mut self) {
        self.0
            .0
            .first_waiting
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.0.slot_freed.notify_waiters();
    }
}

impl Core {
    /// Writes a report `actor` asked for off the request threads, one at a time. A
    /// department's PDF takes a core for seconds and its layout a few hundred MiB
    /// (docs/benchmarks.md): two at once on the request threads would stop every other
    /// page and answer, and many at once could take the machine's memory. Each person
    /// (each token) has one report in the queue at most, so one cannot keep the slot
    /// from the others ([`CoreError::ReportQueued`]); a request that waits more than
    /// [`REPORT_WAIT`] is [`CoreError::ReportBusy`].
    pub async fn render<T: Send + 'static>(
        &self,
        actor: &Actor,
        work: impl FnOnce(&Templates) -> Result<T, ReportError> + Send + 'static,
    ) -> Result<T, CoreError> {
        self.render_within(actor, Lane::Request, REPORT_WAIT, work)
            .await
    }

    /// Writes the final report: before every report people asked for, and outside the
    /// one-per-person queue (the secretariat may be waiting for a draft of its own).
    pub(crate) async fn render_first<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Templates) -> Result<T, ReportError> + Send + 'static,
    ) -> Result<T, CoreError> {
        self.laid_out(Lane::First, REPORT_WAIT, work).await
    }

    #[doc(hidden)]
    pub async fn render_within<T: Send + 'static>(
        &self,
        actor: &Actor,
        lane: Lane,
        wait: Duration,
        work: impl FnOnce(&Templates) -> Result<T, ReportError> + Send + 'static,
    ) -> Result<T, CoreError> {
        let key = actor
            .token_id
            .map_or_else(|| actor.recorded_as().to_owned(), |t| t.to_string());
        if !self.queued().insert(key.clone()) {
            return Err(CoreError::ReportQueued);
        }
        let _queued = Queued { core: self, key };
        self.laid_out(lane, wait, work).await
    }

    async fn laid_out<T: Send + 'static>(
        &self,
        lane: Lane,
        wait: Duration,
        work: impl FnOnce(&Templates) -> Result<T, ReportError> + Send + 'static,
    ) -> Result<T, CoreError> {
        let _slot = tokio::time::timeout(wait, self.slot(lane))
            .await
            .map_err(|_| CoreError::ReportBusy)?;
        let core = self.clone();
        tokio::task::spawn_blocking(move || work(core.report_templates()))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the report's layout stopped");
                CoreError::ReportStopped
            })?
            .map_err(CoreError::from)
    }

    /// The layout slot. A request that gets it while a final report waits gives it up
    /// and waits until none does: the semaphore hands it on in order, so the final
    /// report has it next.
    async fn slot(&self, lane: Lane) -> tokio::sync::SemaphorePermit<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        let inner = &self.0;
        let _first = (lane == Lane::First).then(|| {
            inner.first_waiting.fetch_add(1, SeqCst);
            FirstWaiting(self)
        });
        loop {
            let permit = match inner.report_slot.acquire().await {
                Ok(p) => p,
                // The semaphore is never closed.
                Err(_) => std::future::pending().await,
            };
            if lane == Lane::First || inner.first_waiting.load(SeqCst) == 0 {
                return permit;
            }
            let freed = inner.slot_freed.notified();
            drop(permit);
            if inner.first_waiting.load(SeqCst) > 0 {
                freed.await;
            }
        }
    }

    /// People whose report waits for the layout or is being laid out.
    pub(crate) fn report_queue_length(&self) -> usize {
        self.queued().len()
    }

    fn queued(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.0
            .report_queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};

    use super::*;

    async fn core(name: &str) -> (Core, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("hjul-app-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = hjul_store::Store::open(
            &hjul_store::Location::Sqlite(dir.join("hjul.db")),
            hjul_store::CurrentWheel::builtin(),
            true,
        )
        .await
        .unwrap();
        let core = Core::new(
            store,
            Arc::new(chrono::Utc::now),
            "s@x.dk".into(),
            Templates::load(None).unwrap(),
        );
        (core, dir)
    }

    fn person(name: &str) -> Actor {
        Actor::operator(name, "s@x.dk")
    }

    /// While a report is being laid out, the next waits its turn; past the wait it is
    /// asked to come back, and once the first is done it is made.
    #[tokio::test]
    async fn a_report_waits_its_turn_and_past_the_wait_is_asked_to_come_back() {
        let (core, dir) = core("slot").await;
        let first = core.0.report_slot.acquire().await.unwrap();
        let wait = Duration::from_millis(50);
        let anna = person("anna");
        let refused = core
            .render_within(&anna, Lane::Request, wait, |_| Ok(vec![1]))
            .await
            .unwrap_err();
        assert!(matches!(refused, CoreError::ReportBusy), "{refused:?}");
        // Said in the reader's language, with what to do.
        assert_eq!(
            refused.text().map(|t| t.key),
            Some("report.busy"),
            "{refused:?}"
        );
        drop(first);
        let made = core
            .render_within(&anna, Lane::Request, wait, |_| Ok(vec![1]))
            .await
            .unwrap();
        assert_eq!(made, [1]);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A person with a report on its way is asked to wait for it before the next; the
    /// others are not held up by it; once it is done, they may ask again.
    #[tokio::test]
    async fn one_report_per_person_in_the_queue() {
        let (core, dir) = core("queue").await;
        let held = core.0.report_slot.acquire().await.unwrap();
        let waiting = {
            let core = core.clone();
            tokio::spawn(async move {
                core.render_within(&person("bo"), Lane::Request, REPORT_WAIT, |_| Ok(1))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        let again = core
            .render_within(&person("bo"), Lane::Request, REPORT_WAIT, |_| Ok(2))
            .await
            .unwrap_err();
        assert!(matches!(again, CoreError::ReportQueued), "{again:?}");
        assert_eq!(again.text().map(|t| t.key), Some("report.queued"));
        drop(held);
        // Another person is answered; Bo's first is made, and then his next.
        let other = core
            .render_within(&person("cy"), Lane::Request, REPORT_WAIT, |_| Ok(3))
            .await
            .unwrap();
        assert_eq!(other, 3);
        assert_eq!(waiting.await.unwrap().unwrap(), 1);
        let next = core
            .render_within(&person("bo"), Lane::Request, REPORT_WAIT, |_| Ok(4))
            .await
            .unwrap();
        assert_eq!(next, 4);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The final report goes before every report people are waiting for.
    #[tokio::test]
    async fn the_final_report_goes_first() {
        let (core, dir) = core("first").await;
        let held = core.0.report_slot.acquire().await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for name in ["a", "b"] {
            let (core, order) = (core.clone(), Arc::clone(&order));
            waiting.push(tokio::spawn(async move {
                core.render_within(&person(name), Lane::Request, REPORT_WAIT, move |_| {
                    order.lock().unwrap().push(name);
                    Ok(())
                })
                .await
            }));
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let last = {
            let (core, order) = (core.clone(), Arc::clone(&order));
            tokio::spawn(async move {
                core.render_first(move |_| {
                    order.lock().unwrap().push("final");
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(held);
        last.await.unwrap().unwrap();
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order.first(), Some(&"final"), "{order:?}");
        assert_eq!(order.len(), 3, "{order:?}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
