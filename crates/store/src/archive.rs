//! A cycle's records for hand-over to the archive (Rigsarkivet or the municipality's
//! own), as open files: one CSV per kind of record (UTF-8, comma-separated, RFC 4180,
//! a header row), the wheel and the indicator catalogue the cycle ran under as their
//! TOML, the final report as kept (PDF and Markdown), and `manifest.json`, which names
//! each file with its size, rows and SHA-256, so the archive can check what it received.
//!
//! The files are made in memory: a cycle of 20,000 units is some megabytes of text.
//! Nothing is deleted by making them; deleting is the archive's call after it has them.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::entity::{
    agreement, correction, cycle, final_report, goal, grade, milestone, person, unit, unit_event,
};
use crate::reports::sha256;
use crate::{OnRecord, Store, StoreError};

/// One file of the archive.
#[derive(Debug, Clone)]
pub struct ArchiveFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A file as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ManifestEntry {
    pub name: String,
    pub bytes: u64,
    /// Data rows (a CSV's, without its header); none for other files.
    pub rows: Option<u64>,
    pub sha256: String,
    /// What it holds, in Danish (for the archivist).
    pub holds: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Manifest {
    pub cycle: i32,
    pub made_at: DateTime<Utc>,
    /// The hjul that made it.
    pub made_by: String,
    /// The final report's SHA-256 as kept with its milestone; none: none was made.
    pub final_report_sha256: Option<String>,
    pub files: Vec<ManifestEntry>,
}

/// A cycle's archive: its files, the manifest last.
#[derive(Debug, Clone)]
pub struct Archive {
    pub manifest: Manifest,
    pub files: Vec<ArchiveFile>,
}

/// A CSV being written: a header, then rows.
struct Csv {
    writer: csv_writer::Writer,
    rows: u64,
}

/// RFC 4180 by hand: a field with a comma, a quote or a line break is quoted, quotes
/// doubled; lines end in CRLF.
mod csv_writer {
    pub struct Writer(pub Vec<u8>);

    impl Writer {
        pub fn record<I: IntoIterator<Item = String>>(&mut self, fields: I) {
            for (i, f) in fields.into_iter().enumerate() {
                if i > 0 {
                    self.0.push(b',');
                }
                if f.contains([',', '"', '\n', '\r']) {
                    self.0.push(b'"');
                    self.0.extend_from_slice(f.replace('"', "\"\"").as_bytes());
                    self.0.push(b'"');
                } else {
                    self.0.extend_from_slice(f.as_bytes());
                }
            }
            self.0.extend_from_slice(b"\r\n");
        }
    }
}

impl Csv {
    fn new(header: &[&str]) -> Self {
        let mut writer = csv_writer::Writer(Vec::new());
        writer.record(header.iter().map(|h| (*h).to_owned()));
        Self { writer, rows: 0 }
    }

    fn row<I: IntoIterator<Item = String>>(&mut self, fields: I) {
        self.writer.record(fields);
        self.rows += 1;
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn key<T: ActiveEnum<Value = String>>(v: &T) -> String {
    v.to_value()
}

impl Store {
    /// The archive of cycle `year`, made at `now` by `made_by` (hjul and its version).
    pub async fn archive(
        &self,
        year: i32,
        now: DateTime<Utc>,
        made_by: &str,
    ) -> Result<Archive, StoreError> {
        let db = &self.db;
        let c = cycle::Entity::find_by_id(year)
            .one(db)
            .await?
            .ok_or(StoreError::OnRecord(OnRecord::Cycle(year)))?;
        let mut out: Vec<(ArchiveFile, Option<u64>, &str)> = Vec::new();
        let mut push = |name: String, csv: Csv, holds: &'static str| {
            out.push((
                ArchiveFile {
                    name,
                    bytes: csv.writer.0,
                },
                Some(csv.rows),
                holds,
            ));
        };

        // The organisation as on record: the units the cycle's records are about.
        let people: std::collections::HashMap<uuid::Uuid, person::Model> = person::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut units = Csv::new(&[
            "unit_id",
            "name",
            "level",
            "parent_id",
            "area",
            "leader_name",
            "leader_email",
            "active",
        ]);
        for u in unit::Entity::find()
            .order_by_asc(unit::Column::Level)
            .order_by_asc(unit::Column::Id)
            .all(db)
            .await?
        {
            let leader = people.get(&u.leader_id);
            units.row([
                u.id,
                u.name,
                u.level.to_string(),
                opt(u.parent_id),
                key(&u.area),
                opt(leader.map(|p| p.name.clone())),
                opt(leader.map(|p| p.email.clone())),
                u.active.to_string(),
            ]);
        }
        push(
            "units.csv".into(),
            units,
            "Enhederne og deres ledere, som de står registreret ved udtrækket",
        );

        let mut milestones =
            Csv::new(&["deadline", "met_on", "themes", "recorded_at", "recorded_by"]);
        for m in milestone::Entity::find()
            .filter(milestone::Column::Cycle.eq(year))
            .order_by_asc(milestone::Column::MetOn)
            .all(db)
            .await?
        {
            milestones.row([
                m.deadline.key().to_owned(),
                day(m.met_on),
                opt(m.themes),
                at(m.recorded_at),
                m.recorded_by,
            ]);
        }
        push(
            "milestones.csv".into(),
            milestones,
            "Forvaltningens milepæle: dato, fokustemaer, hvem registrerede",
        );

        let mut events = Csv::new(&[
            "event_id",
            "unit_id",
            "kind",
            "on",
            "revision",
            "notes",
            "for_report",
            "recorded_at",
            "recorded_by",
            "superseded_by",
        ]);
        for e in unit_event::Entity::find()
            .filter(unit_event::Column::Cycle.eq(year))
            .order_by_asc(unit_event::Column::UnitId)
            .order_by_asc(unit_event::Column::RecordedAt)
            .all(db)
            .await?
        {
            events.row([
                e.id.to_string(),
                e.unit_id,
                e.kind.key().to_owned(),
                day(e.on),
                opt(e.revision),
                opt(e.notes),
                e.for_report.to_string(),
                at(e.recorded_at),
                e.recorded_by,
                opt(e.superseded_by),
            ]);
        }
        push(
            "events.csv".into(),
            events,
            "Enhedernes hændelser: kvalitetssamtaler, aftaler, underskrifter, midtvejsstatus (også de rettede)",
        );

        let agreements_of_cycle = agreement::Entity::find()
            .filter(agreement::Column::Cycle.eq(year))
            .order_by_asc(agreement::Column::UnitId)
            .order_by_asc(agreement::Column::Revision)
            .all(db)
            .await?;
        let ids: Vec<uuid::Uuid> = agreements_of_cycle.iter().map(|a| a.id).collect();
        let mut agreements = Csv::new(&[
            "agreement_id",
            "unit_id",
            "revision",
            "submitted_on",
            "signed_on",
            "source",
        ]);
        for a in agreements_of_cycle {
            agreements.row([
                a.id.to_string(),
                a.unit_id,
                a.revision.to_string(),
                day(a.submitted_on),
                opt(a.signed_on.map(day)),
                a.source,
            ]);
        }
        push(
            "agreements.csv".into(),
            agreements,
            "Sammenhængsaftalerne, hver revision",
        );

        let mut goals = Csv::new(&[
            "goal_id",
            "agreement_id",
            "position",
            "title",
            "dimension",
            "kind",
            "horizon",
            "weight",
            "indicator",
            "baseline",
            "partly_met",
            "fully_met",
            "activities",
            "target_date",
        ]);
        for chunk in ids.chunks(500) {
            for g in goal::Entity::find()
                .filter(goal::Column::AgreementId.is_in(chunk.to_vec()))
                .order_by_asc(goal::Column::AgreementId)
                .order_by_asc(goal::Column::Position)
                .all(db)
                .await?
            {
                goals.row([
                    g.id.to_string(),
                    g.agreement_id.to_string(),
                    g.position.to_string(),
                    g.title,
                    key(&g.dimension),
                    key(&g.kind),
                    key(&g.horizon),
                    g.weight.to_string(),
                    opt(g.indicator),
                    g.baseline,
                    g.partly_met,
                    g.fully_met,
                    g.activities,
                    day(g.target_date),
                ]);
            }
        }
        push(
            "goals.csv".into(),
            goals,
            "Aftalernes mål med vægt, kriterier og måldato",
        );

        let mut grades = Csv::new(&[
            "grade_id",
            "agreement_id",
            "goal_id",
            "grade",
            "note",
            "given_on",
            "proposed",
            "evidence",
        ]);
        for chunk in ids.chunks(500) {
            for g in grade::Entity::find()
                .filter(grade::Column::AgreementId.is_in(chunk.to_vec()))
                .order_by_asc(grade::Column::AgreementId)
                .all(db)
                .await?
            {
                grades.row([
                    g.id.to_string(),
                    g.agreement_id.to_string(),
                    g.goal_id.to_string(),
                    key(&g.grade),
                    opt(g.note),
                    day(g.given_on),
                    opt(g.proposed),
                    opt(g.evidence),
                ]);
            }
        }
        push(
            "grades.csv".into(),
            grades,
            "Midtvejsstatus: vurderingen af hvert mål",
        );

        let mut corrections = Csv::new(&[
            "correction_id",
            "unit_id",
            "event_id",
            "action",
            "new_event_id",
            "reason",
            "recorded_at",
            "recorded_by",
        ]);
        for r in correction::Entity::find()
            .filter(correction::Column::Cycle.eq(year))
            .order_by_asc(correction::Column::RecordedAt)
            .all(db)
            .await?
        {
            corrections.row([
                r.id.to_string(),
                r.unit_id,
                r.event_id.to_string(),
                key(&r.action),
                opt(r.new_event_id),
                r.reason,
                at(r.recorded_at),
                r.recorded_by,
            ]);
        }
        push(
            "corrections.csv".into(),
            corrections,
            "Rettelser af hændelser med begrundelse",
        );

        let mut files: Vec<(ArchiveFile, Option<u64>, &str)> = out;
        files.push((
            ArchiveFile {
                name: "wheel.toml".into(),
                bytes: c.definition_toml.into_bytes(),
            },
            None,
            "Hjulets faser, frister og regler, som cyklussen kørte efter",
        ));
        files.push((
            ArchiveFile {
                name: "indicators.toml".into(),
                bytes: c.catalogue_toml.into_bytes(),
            },
            None,
            "Indikatorkataloget, som cyklussen kørte efter",
        ));
        let kept = final_report::Entity::find_by_id(year).one(db).await?;
        let final_report_sha256 = kept.as_ref().map(|r| r.sha256.clone());
        if let Some(r) = kept {
            files.push((
                ArchiveFile {
                    name: format!("kvalitetsrapport-{year}.pdf"),
                    bytes: r.pdf,
                },
                None,
                "Den endelige kvalitetsrapport, som den blev gemt med milepælen",
            ));
            files.push((
                ArchiveFile {
                    name: format!("kvalitetsrapport-{year}.md"),
                    bytes: r.markdown.into_bytes(),
                },
                None,
                "Den endelige kvalitetsrapports tekst (Markdown)",
            ));
        }
        let manifest = Manifest {
            cycle: year,
            made_at: now,
            made_by: made_by.to_owned(),
            final_report_sha256,
            files: files
                .iter()
                .map(|(f, rows, holds)| ManifestEntry {
                    name: f.name.clone(),
                    bytes: f.bytes.len() as u64,
                    rows: *rows,
                    sha256: sha256(&f.bytes),
                    holds: (*holds).to_owned(),
                })
                .collect(),
        };
        Ok(Archive {
            manifest,
            files: files.into_iter().map(|(f, _, _)| f).collect(),
        })
    }
}

impl Archive {
    /// `manifest.json`'s bytes (pretty, for a person to read).
    pub fn manifest_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&self.manifest).unwrap_or_default()
    }
}
