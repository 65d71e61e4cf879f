//! The log of reads (opslagslog): every read of a unit's or a person's data through the
//! core is put on record with who, when, which view, whose data and the terms of a
//! filter. A read costs the answer a push onto a list: the list is written in batches
//! (when it is long, and by [`Core::flush_reads`], which the service calls every second
//! and the command line after each command), never while the person waits.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use hjul_store::{NewRead, ReadEntry, ReadFilter};

use crate::{Actor, Core, CoreError};

/// What kind of view a read was: the purpose a person who asks for access is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Where the units stand (the overview, the API's status, the command line's).
    Status,
    /// The status as a file (Excel, CSV).
    Export,
    /// A unit's page, its story or its calendar.
    Unit,
    /// A unit's indicator data.
    Data,
    /// A unit's data sheet for its dialogue.
    Sheet,
    /// The quality report.
    Report,
    /// The pre-analysis' patterns.
    Patterns,
    /// Who stands in for whom.
    Deputies,
    /// The audit log of changes.
    AuditLog,
    /// The mail queue.
    Outbox,
    /// One mail of the queue, with the words that went.
    Mail,
    /// A draft kept for a form.
    Draft,
    /// This log.
    ReadLog,
    /// Everything about one person, for their access request.
    Person,
    /// A cycle's records for the archive.
    Archive,
}

impl View {
    pub fn key(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Export => "export",
            Self::Unit => "unit",
            Self::Data => "data",
            Self::Sheet => "sheet",
            Self::Report => "report",
            Self::Patterns => "patterns",
            Self::Deputies => "deputies",
            Self::AuditLog => "audit_log",
            Self::Outbox => "outbox",
            Self::Mail => "mail",
            Self::Draft => "draft",
            Self::ReadLog => "read_log",
            Self::Person => "person",
            Self::Archive => "archive",
        }
    }
}

/// A batch is written as soon as this many reads wait.
const BATCH: usize = 256;

/// Reads waiting past this many (the database has not taken them for a long while) are
/// the oldest dropped, with an error in the log: memory is bounded, and the operator
/// told.
const MOST_WAITING: usize = 100_000;

/// The reads waiting to be written, and whether reads are logged at all (the benchmark's
/// baseline turns it off).
pub(crate) struct Pending {
    reads: Mutex<Vec<NewRead>>,
    on: AtomicBool,
    /// Each read written as it is made (the command line: one command, then the
    /// process ends).
    at_once: AtomicBool,
}

impl Default for Pending {
    fn default() -> Self {
        Self {
            reads: Mutex::new(Vec::new()),
            on: AtomicBool::new(true),
            at_once: AtomicBool::new(false),
        }
    }
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<NewRead>> {
        self.reads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Core {
    /// Puts on record that `actor` read `view`, of `unit` when it is one unit's, with
    /// the `terms` of a search or filter. Whose data it was is the unit's leader when the
    /// read is written (within a second).
    pub async fn log_read(
        &self,
        actor: &Actor,
        view: View,
        unit: Option<&str>,
        terms: &[(&str, String)],
    ) {
        let pending = self.pending_reads();
        if !pending.on.load(Ordering::Relaxed) {
            return;
        }
        let terms = (!terms.is_empty()).then(|| {
            let map: serde_json::Map<String, serde_json::Value> = terms
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(v.as_str())))
                .collect();
            serde_json::Value::Object(map).to_string()
        });
        let read = NewRead {
            at: self.now(),
            actor: actor.recorded_as().to_owned(),
            actor_email: Some(actor.email.clone()),
            view: view.key(),
            unit_id: unit.map(str::to_owned),
            // Named when the batch is written (one look at the organisation for all of
            // it, not a database round trip per read).
            person_email: None,
            terms,
        };
        let full = {
            let mut reads = pending.lock();
            reads.push(read);
            reads.len() >= BATCH
        };
        if pending.at_once.load(Ordering::Relaxed) {
            self.flush_reads().await;
        } else if full {
            let core = self.clone();
            tokio::spawn(async move { core.flush_reads().await });
        }
    }

    /// Writes the reads waiting. One that the database does not take stays waiting for
    /// the next time (at most [`MOST_WAITING`]).
    pub async fn flush_reads(&self) {
        let pending = self.pending_reads();
        let mut batch = std::mem::take(&mut *pending.lock());
        if batch.is_empty() {
            return;
        }
        // Whose data each unit's read was: its leader, as the organisation is now.
        match self.store().directory().await {
            Ok(dir) => {
                for r in batch.iter_mut().filter(|r| r.person_email.is_none()) {
                    r.person_email = r
                        .unit_id
                        .as_deref()
                        .and_then(|u| dir.leader(u, 0))
                        .map(|l| l.email);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the read log could not name whose data was read");
            }
        }
        if let Err(e) = self.store().write_reads(&batch).await {
            tracing::error!(error = %e, reads = batch.len(), "the read log could not be written; it is tried again");
            let mut reads = pending.lock();
            let newer = std::mem::take(&mut *reads);
            reads.extend(batch);
            reads.extend(newer);
            let over = reads.len().saturating_sub(MOST_WAITING);
            if over > 0 {
                tracing::error!(
                    dropped = over,
                    "the read log was not written for too long; the oldest reads waiting are dropped"
                );
                reads.drain(..over);
            }
        }
    }

    /// Turns the read log off or on (the benchmark's baseline: the same answers without
    /// it). It is on unless turned off.
    pub fn log_reads(&self, on: bool) {
        self.pending_reads().on.store(on, Ordering::Relaxed);
    }

    /// Writes each read as it is made, not in batches: for the command line, whose
    /// process ends with its command.
    #[must_use]
    pub fn reads_written_at_once(self) -> Self {
        self.pending_reads().at_once.store(true, Ordering::Relaxed);
        self
    }

    /// The reads on record that `filter` names, newest first (secretariat): what is
    /// waiting is written first, so the list is complete to this moment. Reading the
    /// log is a read too.
    pub async fn read_log(
        &self,
        actor: &Actor,
        filter: &ReadFilter,
    ) -> Result<Vec<ReadEntry>, CoreError> {
        actor.require_secretariat("the log of reads")?;
        let mut terms = Vec::new();
        if let Some(units) = &filter.units {
            terms.push(("units", units.join(",")));
        }
        for (k, v) in [("person", &filter.person), ("actor", &filter.actor)] {
            if let Some(v) = v {
                terms.push((k, v.clone()));
            }
        }
        for (k, v) in [("from", filter.from), ("to", filter.to)] {
            if let Some(v) = v {
                terms.push((k, v.to_string()));
            }
        }
        self.log_read(actor, View::ReadLog, None, &terms).await;
        self.flush_reads().await;
        Ok(self.store().reads(filter).await?)
    }
}
