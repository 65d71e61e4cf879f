//! The final quality report of a cycle, kept as the committee read it: written with the
//! `report_final` milestone, in its transaction, with its SHA-256, and never changed.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait, QuerySelect};
use sha2::{Digest, Sha256};

use crate::entity::final_report;
use crate::{Stamp, Store, StoreError};

/// The final report as made when `report_final` is recorded.
#[derive(Debug, Clone)]
pub struct FinalReportFile {
    pub pdf: Vec<u8>,
    pub markdown: String,
    pub language: hjul_wheel::Language,
    pub made_on: NaiveDate,
}

/// The final report as kept.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeptReport {
    pub cycle: i32,
    pub made_on: NaiveDate,
    pub language: hjul_wheel::Language,
    /// The PDF's SHA-256, in hex: what the committee read can be checked against it.
    pub sha256: String,
    #[serde(skip)]
    pub pdf: Vec<u8>,
    #[serde(skip)]
    pub markdown: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// A hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn row(year: i32, report: &FinalReportFile, stamp: &Stamp) -> final_report::ActiveModel {
    final_report::ActiveModel {
        cycle: Set(year),
        made_on: Set(report.made_on),
        language: Set(report.language),
        sha256: Set(sha256(&report.pdf)),
        pdf: Set(report.pdf.clone()),
        markdown: Set(report.markdown.clone()),
        created_at: Set(stamp.at),
        created_by: Set(stamp.actor.clone()),
    }
}

impl Store {
    /// Records `report_final` of cycle `year` with the final report, in one
    /// transaction: the report is kept exactly when the milestone is. Returns the
    /// report's SHA-256.
    pub async fn record_report_final(
        &self,
        year: i32,
        on: NaiveDate,
        report: FinalReportFile,
        stamp: &Stamp,
    ) -> Result<String, StoreError> {
        let hash = sha256(&report.pdf);
        self.milestone_with(
            year,
            hjul_wheel::Deadline::ReportFinal,
            on,
            None,
            Some(report),
            stamp,
        )
        .await?;
        Ok(hash)
    }

    /// Keeps the final report of cycle `year` made after its `report_final` was
    /// recorded without one (the layout failed then, and the secretariat made it
    /// again). Refused when the milestone is not on record or a report is kept: what
    /// the committee read is never replaced. Returns the report's SHA-256.
    pub async fn keep_final_report(
        &self,
        year: i32,
        report: FinalReportFile,
        stamp: &Stamp,
    ) -> Result<String, StoreError> {
        let hash = sha256(&report.pdf);
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let met = crate::facts::milestones_of(&txn, year, None)
                .await?
                .report_final;
            if met.is_none() {
                return Err(StoreError::Conflict(
                    hjul_wheel::Text::new("report.final_not_recorded").arg("cycle", year),
                ));
            }
            if final_report::Entity::find_by_id(year)
                .select_only()
                .column(final_report::Column::Cycle)
                .into_tuple::<i32>()
                .one(&txn)
                .await?
                .is_some()
            {
                return Err(StoreError::Conflict(
                    hjul_wheel::Text::new("report.final_kept").arg("cycle", year),
                ));
            }
            final_report::Entity::insert(row(year, &report, stamp))
                .exec_without_returning(&txn)
                .await?;
            crate::audit::log(
                &txn,
                stamp,
                crate::audit::Change::new(
                    "milestone.report_kept",
                    "milestone",
                    format!("{year}/report_final"),
                )
                .after(&serde_json::json!({
                    "cycle": year,
                    "made_on": report.made_on,
                    "report_sha256": hash,
                })),
            )
            .await?;
            txn.commit().await?;
            Ok(hash.clone())
        })
    }

    /// The SHA-256 of cycle `year`'s final report, when one is kept (without reading it).
    pub async fn final_report_sha256(&self, year: i32) -> Result<Option<String>, StoreError> {
        Ok(final_report::Entity::find_by_id(year)
            .select_only()
            .column(final_report::Column::Sha256)
            .into_tuple::<String>()
            .one(&self.db)
            .await?)
    }

    /// The final report of cycle `year`, when its `report_final` is recorded with one.
    pub async fn final_report(&self, year: i32) -> Result<Option<KeptReport>, StoreError> {
        let Some(m) = final_report::Entity::find_by_id(year).one(&self.db).await? else {
            return Ok(None);
        };
        let language = m.language;
        Ok(Some(KeptReport {
            cycle: m.cycle,
            made_on: m.made_on,
            language,
            sha256: m.sha256,
            pdf: m.pdf,
            markdown: m.markdown,
            created_at: m.created_at,
            created_by: m.created_by,
        }))
    }
}
