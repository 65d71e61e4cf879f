//! Reading what is on record: where the units stand, a unit's story, its data, the
//! patterns, the mail queue, the audit log, the tokens, the drafts and the reports.
//!
//! Each read takes the person asking and answers only with what they see: a unit
//! outside it is [`Denied::NotFound`](crate::Denied::NotFound), the secretariat's lists
//! are [`Denied::SecretariatOnly`](crate::Denied::SecretariatOnly). This is the one place
//! a front end reads personal data through, so a log of who read what has one place to go.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::NaiveDate;
use hjul_report::{Report, Request, Scope, Sheet};
use hjul_store::{
    AuditEntry, CorrectionRow, CurrentWheel, Cycle, Directory, Draft, DraftKind, ItemId,
    KeptReport, MilestoneView, OutboxItem, OutboxState, Over, SentWords, StatusRow, Timeline,
    Token,
};
use hjul_wheel::data::{AreaPattern, DataGap, MeasureView, Proposal};
use hjul_wheel::{Agreement, Area, EventKind, GoalDraft, Language, UnitId, Warning};

use crate::{Actor, Attempt, Core, CoreError, View};

/// The rows of where every unit stands on a day, as one person sees them: shared with
/// every other reader of the same day (kept by the store until something changes), and
/// filtered as they are read, so a page copies only its own rows.
pub struct Seen<'a> {
    rows: Arc<Vec<StatusRow>>,
    actor: &'a Actor,
}

impl Seen<'_> {
    /// The rows they see, in the order of the status (level, then unit id).
    pub fn rows(&self) -> impl Iterator<Item = &StatusRow> {
        self.rows.iter().filter(|r| self.actor.sees(&r.unit_id))
    }
}

/// A unit's agreement in force as recorded (its revision), with the grades hjul
/// proposes for its goals with numeric criteria (by title).
pub type InForce = (u32, Agreement, BTreeMap<String, Proposal>);

/// Which event a kind of draft becomes once handed in: whose it is to write is asked of
/// the wheel by it.
fn drafts_event(kind: DraftKind) -> EventKind {
    match kind {
        DraftKind::Agreement => EventKind::AgreementSubmitted,
        DraftKind::Midway => EventKind::MidwayGiven,
    }
}

impl Core {
    /// The wheel's definition and the indicator catalogue in force (configuration, not
    /// anyone's data).
    pub fn wheel(&self) -> &CurrentWheel {
        self.store().wheel()
    }

    /// The privacy threshold: a value resting on fewer respondents is never shown
    /// (hjul.toml `[data] min_responses`).
    pub fn min_responses(&self) -> u32 {
        self.store().min_responses()
    }

    /// Where every active unit stands on `at`, as `actor` sees it, read through `view`
    /// with the `terms` of its filter (for the read log).
    pub async fn status<'a>(
        &self,
        actor: &'a Actor,
        at: NaiveDate,
        (view, terms): (View, &[(&str, String)]),
    ) -> Result<Seen<'a>, CoreError> {
        let rows = self
            .store()
            .status_all(at, Some(self.secretariat_email()))
            .await?;
        let mut terms = terms.to_vec();
        terms.push(("at", at.to_string()));
        self.log_read(actor, view, None, &terms).await;
        Ok(Seen { rows, actor })
    }

    /// The organisation as kept (units, leaders, addresses), for a person signed in:
    /// what of it they see is theirs to filter with [`Actor::sees`].
    pub async fn directory(&self, _actor: &Actor) -> Result<Arc<Directory>, CoreError> {
        Ok(self.store().directory().await?)
    }

    /// Each unit's area (the organisation's, not anyone's data): what a data file's rows
    /// are read against.
    pub async fn unit_areas(&self) -> Result<HashMap<String, Area>, CoreError> {
        Ok(self.store().unit_areas().await?)
    }

    /// One unit's story in the cycle running on `at`: events, deadlines met and open,
    /// milestones, agreements with goals and grades.
    pub async fn timeline(
        &self,
        actor: &Actor,
        unit: &str,
        at: NaiveDate,
    ) -> Result<Timeline, CoreError> {
        let unit = actor.may_see(unit)?;
        let t = self
            .store()
            .timeline(&unit, at, Some(self.secretariat_email()))
            .await?;
        self.log_read(
            actor,
            View::Unit,
            Some(unit.as_str()),
            &[("at", at.to_string())],
        )
        .await;
        Ok(t)
    }

    /// The corrections made to a unit's events in a cycle, oldest first.
    pub async fn corrections(
        &self,
        actor: &Actor,
        unit: &str,
        cycle: i32,
    ) -> Result<Vec<CorrectionRow>, CoreError> {
        let unit = actor.may_see(unit)?;
        Ok(self.store().corrections(&unit, cycle).await?)
    }

    /// A unit's indicator data: per measure of its area, the series, the verdict and
    /// the averages (a value from too few respondents is hidden).
    pub async fn data_sheet(
        &self,
        actor: &Actor,
        unit: &str,
    ) -> Result<(UnitId, Vec<MeasureView>), CoreError> {
        let unit = actor.may_see(unit)?;
        let sheet = self.store().data_sheet(&unit).await?;
        self.log_read(actor, View::Data, Some(unit.as_str()), &[])
            .await;
        Ok((unit, sheet))
    }

    /// The pre-analysis' patterns in the latest period that ended before `before`, over
    /// the units `actor` sees (the secretariat's: every unit, kept between requests).
    pub async fn patterns(
        &self,
        actor: &Actor,
        before: NaiveDate,
    ) -> Result<Arc<Vec<AreaPattern>>, CoreError> {
        let sees = |u: &str| actor.sees(u);
        let over = if actor.visible().is_none() {
            Over::Everyone
        } else {
            Over::Only(&sees)
        };
        let patterns = self.store().data_patterns(before, over).await?;
        self.log_read(
            actor,
            View::Patterns,
            None,
            &[("before", before.to_string())],
        )
        .await;
        Ok(patterns)
    }

    /// How far the data collection for the pre-analysis before `before` has come: per
    /// measure, the units still without a value (secretariat).
    pub async fn data_gaps(
        &self,
        actor: &Actor,
        before: NaiveDate,
    ) -> Result<Vec<DataGap>, CoreError> {
        actor.require_secretariat("the data collection's gaps")?;
        Ok(self.store().data_gaps(before).await?)
    }

    /// The cycles on record (when and by whom each was started, under which rules).
    pub async fn cycles(&self) -> Result<Vec<Cycle>, CoreError> {
        Ok(self.store().cycles().await?)
    }

    /// The department's milestones recorded in cycle `year`.
    pub async fn milestones(&self, year: i32) -> Result<Vec<MilestoneView>, CoreError> {
        Ok(self.store().milestones(year).await?)
    }

    /// Cycle `year`'s final report as kept with its milestone (the department's, for
    /// everyone signed in).
    pub async fn final_report(&self, year: i32) -> Result<Option<KeptReport>, CoreError> {
        Ok(self.store().final_report(year).await?)
    }

    /// Whether cycle `year`'s final report is kept: its hash, not the file.
    pub async fn final_report_kept(&self, year: i32) -> Result<bool, CoreError> {
        Ok(self.store().final_report_sha256(year).await?.is_some())
    }

    /// A draft of cycle `cycle`'s report over the units `asked` (the department, an
    /// area, a unit's subtree), as of the core's today. A person who is not the
    /// secretariat gets the units they see: the department's report is theirs, a
    /// subtree only below a unit they see, an area's only for the secretariat.
    pub async fn report_draft(
        &self,
        actor: &Actor,
        cycle: i32,
        asked: Scope,
        language: Language,
    ) -> Result<Report, CoreError> {
        let scope = match (actor.visible(), asked) {
            (None, asked) => asked,
            (Some(units), Scope::Department | Scope::Units(_)) => Scope::Units(units.clone()),
            (Some(_), Scope::Subtree(unit)) => Scope::Subtree(actor.may_see(&unit)?.to_string()),
            (Some(_), Scope::Area(_)) => {
                return Err(crate::Denied::SecretariatOnly {
                    what: "a report of an area",
                }
                .into());
            }
        };
        let terms = [
            ("cycle", cycle.to_string()),
            ("scope", format!("{scope:?}")),
        ];
        let request = Request {
            cycle,
            scope,
            language,
            today: self.today(),
            fin: None,
        };
        let report = hjul_report::build(self.store(), &request).await?;
        self.log_read(actor, View::Report, None, &terms).await;
        Ok(report)
    }

    /// The data sheet of a unit `actor` sees, for its quality dialogue.
    pub async fn sheet(
        &self,
        actor: &Actor,
        unit: &str,
        language: Language,
    ) -> Result<(UnitId, Sheet), CoreError> {
        let unit = actor.may_see(unit)?;
        let sheet = hjul_report::build_sheet(self.store(), &unit, language, self.today()).await?;
        self.log_read(actor, View::Sheet, Some(unit.as_str()), &[])
            .await;
        Ok((unit, sheet))
    }

    /// The mail queue: items in a state (all when `None`), newest first (secretariat).
    pub async fn outbox(
        &self,
        actor: &Actor,
        state: Option<OutboxState>,
        limit: u64,
    ) -> Result<Vec<OutboxItem>, CoreError> {
        actor.require_secretariat("the mail queue")?;
        let items = self.store().outbox(state, limit).await?;
        let terms: Vec<(&str, String)> = state
            .map(|s| ("state", s.key().to_owned()))
            .into_iter()
            .collect();
        self.log_read(actor, View::Outbox, None, &terms).await;
        Ok(items)
    }

    /// One item of the mail queue and, once it went, the words of the mail that carried
    /// it while they are kept (secretariat). A read of what a person was sent: logged.
    pub async fn outbox_item(
        &self,
        actor: &Actor,
        id: ItemId,
    ) -> Result<Option<(OutboxItem, Option<SentWords>)>, CoreError> {
        actor.require_secretariat("the mail queue")?;
        let Some(item) = self.store().outbox_item(id).await? else {
            return Ok(None);
        };
        let words = match &item.message_id {
            Some(m) => self.store().sent_words(m).await?,
            None => None,
        };
        let terms = [("item", id.0.to_string())];
        self.log_read(actor, View::Mail, item.unit_id.as_deref(), &terms)
            .await;
        Ok(Some((item, words)))
    }

    /// The audit log, newest first: of one kind of entity, one id, both, or all
    /// (secretariat).
    pub async fn audit_log(
        &self,
        actor: &Actor,
        entity: Option<&str>,
        entity_id: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AuditEntry>, CoreError> {
        actor.require_secretariat("the audit log")?;
        let entries = self
            .store()
            .audit_log_where(entity, entity_id, limit)
            .await?;
        let terms: Vec<(&str, String)> = [("entity", entity), ("entity_id", entity_id)]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?.to_owned())))
            .collect();
        self.log_read(actor, View::AuditLog, None, &terms).await;
        Ok(entries)
    }

    /// The audit log searched by unit, person and days, newest first (secretariat).
    pub async fn audit_search(
        &self,
        actor: &Actor,
        unit: Option<&str>,
        person: Option<&str>,
        days: (Option<NaiveDate>, Option<NaiveDate>),
        limit: u64,
    ) -> Result<Vec<AuditEntry>, CoreError> {
        actor.require_secretariat("the audit log")?;
        let entries = self
            .store()
            .audit_search(unit, person, days.0, days.1, limit)
            .await?;
        let terms: Vec<(&str, String)> = [
            ("unit", unit.map(str::to_owned)),
            ("person", person.map(str::to_owned)),
            ("from", days.0.map(|d| d.to_string())),
            ("to", days.1.map(|d| d.to_string())),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
        self.log_read(actor, View::AuditLog, unit, &terms).await;
        Ok(entries)
    }

    /// The audit log rows `filter` names, newest first (secretariat).
    pub async fn audit_where(
        &self,
        actor: &Actor,
        filter: &hjul_store::AuditFilter,
    ) -> Result<Vec<AuditEntry>, CoreError> {
        actor.require_secretariat("the audit log")?;
        let entries = self.store().audit_where(filter).await?;
        let mut terms: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("units", &filter.units),
            ("actors", &filter.actors),
            ("actions", &filter.actions),
        ] {
            if let Some(v) = v {
                terms.push((k, v.join(",")));
            }
        }
        for (k, v) in [("from", filter.from), ("to", filter.to)] {
            if let Some(v) = v {
                terms.push((k, v.to_string()));
            }
        }
        self.log_read(actor, View::AuditLog, None, &terms).await;
        Ok(entries)
    }

    /// The tokens made, oldest first (secretariat).
    pub async fn tokens(&self, actor: &Actor) -> Result<Vec<Token>, CoreError> {
        actor.require_secretariat("the tokens")?;
        Ok(self.store().tokens().await?)
    }

    /// A unit's draft of `kind`, if one is kept for the running cycle and the person may
    /// write it (a draft left from a cycle before is not where a new one starts).
    pub async fn draft(
        &self,
        actor: &Actor,
        unit: &str,
        kind: DraftKind,
    ) -> Result<Option<Draft>, CoreError> {
        let unit = actor.may(&self.wheel().definition, drafts_event(kind), unit)?;
        let running = self.running_cycle();
        let draft = self
            .store()
            .draft(&unit, kind)
            .await?
            .filter(|d| d.cycle == running);
        self.log_read(
            actor,
            View::Draft,
            Some(unit.as_str()),
            &[("kind", kind.key().to_owned())],
        )
        .await;
        Ok(draft)
    }

    /// The cycle running on the core's today: the one a draft is kept for.
    fn running_cycle(&self) -> i32 {
        self.wheel()
            .definition
            .cycles
            .cycle_containing(self.today())
            .year()
    }

    /// Keeps a unit's draft of `kind` (replacing the one before), for the cycle running
    /// on the core's today.
    pub async fn save_draft(
        &self,
        actor: &Actor,
        unit: &str,
        kind: DraftKind,
        content: &str,
    ) -> Result<(), CoreError> {
        let unit = actor.may(&self.wheel().definition, drafts_event(kind), unit)?;
        let cycle = self.running_cycle();
        let stamp = self.stamp_for(actor, unit.as_str());
        Ok(self
            .store()
            .save_draft(&unit, kind, cycle, content, &stamp)
            .await?)
    }

    /// Checks goals against the rules of a unit's cycle without recording anything
    /// (what the editor shows before the leader submits): the warnings when they pass.
    /// A refusal is put on record when it was a submission (`submitting`).
    pub async fn check_goals(
        &self,
        actor: &Actor,
        unit: &str,
        goals: &[GoalDraft],
        submitting: bool,
    ) -> Result<Vec<Warning>, CoreError> {
        let def = &self.wheel().definition;
        let checked = async {
            let id = actor.may(def, EventKind::AgreementSubmitted, unit)?;
            Ok(self
                .store()
                .check_goals(&id, goals, &self.stamp(actor))
                .await?)
        }
        .await;
        if !submitting {
            return checked;
        }
        let attempt = Attempt {
            what: "submit an agreement",
            entity: "unit",
            id: unit,
        };
        self.audited(actor, &attempt, checked).await
    }

    /// A unit's agreement in force, for the midway form (none while there is none).
    pub async fn agreement_in_force(
        &self,
        actor: &Actor,
        unit: &str,
    ) -> Result<Option<InForce>, CoreError> {
        let unit = actor.may_see(unit)?;
        Ok(self
            .store()
            .agreement_in_force(&unit, &self.stamp(actor))
            .await?)
    }
}
