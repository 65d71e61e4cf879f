//! Laying a report out: one at a time, off the request threads.

use std::time::Duration;

use hjul_report::{ReportError, Templates};

use crate::{Core, CoreError};

/// How long a request waits for the report before it: then it is asked to come back.
pub const REPORT_WAIT: Duration = Duration::from_secs(30);

impl Core {
    /// Writes a report off the request threads, one at a time. A department's PDF
    /// takes a core for seconds and its layout a few hundred MiB (docs/benchmarks.md):
    /// two at once on the request threads would stop every other page and answer, and
    /// many at once could take the machine's memory. A request that waits more than
    /// [`REPORT_WAIT`] is [`CoreError::ReportBusy`].
    pub async fn render<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Templates) -> Result<T, ReportError> + Send + 'static,
    ) -> Result<T, CoreError> {
        self.render_within(REPORT_WAIT, work).await
    }

    #[doc(hidden)]
    pub async fn render_within<T: Send + 'static>(
        &self,
        wait: Duration,
        work: impl FnOnce(&Templates) -> Result<T, ReportError> + Send + 'static,
    ) -> Result<T, CoreError> {
        let _slot = tokio::time::timeout(wait, self.0.report_slot.acquire())
            .await
            .map_err(|_| CoreError::ReportBusy)?
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;

    /// While a report is being laid out, the next waits its turn; past the wait it is
    /// asked to come back, and once the first is done it is made.
    #[tokio::test]
    async fn a_report_waits_its_turn_and_past_the_wait_is_asked_to_come_back() {
        let dir = std::env::temp_dir().join(format!("hjul-app-slot-{}", std::process::id()));
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
        let first = core.0.report_slot.acquire().await.unwrap();
        let wait = Duration::from_millis(50);
        let refused = core.render_within(wait, |_| Ok(vec![1])).await.unwrap_err();
        assert!(matches!(refused, CoreError::ReportBusy), "{refused:?}");
        // Said in the reader's language, with what to do.
        assert_eq!(
            refused.text().map(|t| t.key),
            Some("report.busy"),
            "{refused:?}"
        );
        drop(first);
        let made = core.render_within(wait, |_| Ok(vec![1])).await.unwrap();
        assert_eq!(made, [1]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
