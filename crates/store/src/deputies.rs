//! Deputies (stedfortrædere) on record: named for a unit and a period, ended early or
//! at the period's end. Each change is one transaction with its audit row, and moves
//! the organisation's version, so the directory the dispatcher and the access rules
//! read knows the deputy at once on every instance.

use hjul_wheel::deputy::{Period, check_name};
use hjul_wheel::{Date, Email, Language, Text, UnitId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::entity::{deputy, person, unit};
use crate::{Stamp, Store, StoreError};

/// A deputy as the pages, the API and the command line show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Deputy {
    pub id: Uuid,
    pub unit_id: String,
    pub email: String,
    pub name: String,
    pub language: Language,
    /// The first day they stand in (none: from when they were named).
    pub starts_on: Option<Date>,
    /// The last day (none: until ended).
    pub ends_on: Option<Date>,
    pub named_by: String,
    pub named_at: chrono::DateTime<chrono::Utc>,
}

impl Deputy {
    pub fn period(&self) -> Period {
        Period::new(self.starts_on, self.ends_on)
    }

    fn of(m: deputy::Model) -> Self {
        Self {
            id: m.id,
            unit_id: m.unit_id,
            email: m.email,
            name: m.name,
            language: m.language,
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            named_by: m.named_by,
            named_at: m.named_at,
        }
    }
}

/// A deputy to name: who, in which language they read their mail, and when.
#[derive(Debug, Clone)]
pub struct NewDeputy {
    pub email: Email,
    pub name: String,
    pub language: Language,
    pub period: Period,
}

#[derive(Serialize)]
struct DeputyRecord<'a> {
    email: &'a str,
    name: &'a str,
    starts_on: Option<Date>,
    ends_on: Option<Date>,
}

/// A period in words, for a refusal: "01.05.2026 – 15.05.2026".
fn period_words(p: Period) -> String {
    let day =
        |d: Option<Date>| d.map_or_else(|| "…".to_owned(), |d| d.format("%d.%m.%Y").to_string());
    format!("{} – {}", day(p.starts), day(p.ends))
}

impl Store {
    /// Names a deputy for `unit` (active, seen by the caller's access check): refused
    /// for the unit's own leader, for a period that is backwards or past, and for one
    /// that overlaps another deputy's of the unit.
    pub async fn name_deputy(
        &self,
        unit_id: &UnitId,
        new: &NewDeputy,
        stamp: &Stamp,
    ) -> Result<Deputy, StoreError> {
        let name = new.name.trim().to_owned();
        check_name(&name).map_err(StoreError::Input)?;
        new.period.check(stamp.today).map_err(StoreError::Input)?;
        // "From now" is from today: an open start would reach back over deputies past.
        let period = Period::new(
            Some(new.period.starts.unwrap_or(stamp.today)),
            new.period.ends,
        );
        let email = new.email.to_string();
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            // Two people naming deputies for one unit at once on PostgreSQL: one after
            // the other, so the second sees the first's period (SQLite writes one at a
            // time anyway). Deputies change rarely; the tree's lock does.
            crate::standing::lock_unit_tree(&txn).await?;
            let Some(u) = unit::Entity::find_by_id(unit_id.as_str()).one(&txn).await? else {
                return Err(StoreError::UnknownUnit(unit_id.to_string()));
            };
            if !u.active {
                return Err(StoreError::InactiveUnit(unit_id.to_string()));
            }
            let leader = person::Entity::find_by_id(u.leader_id).one(&txn).await?;
            if leader.as_ref().is_some_and(|l| l.email == email) {
                return Err(StoreError::Input(
                    Text::new("deputy.is_leader").arg("name", name.clone()),
                ));
            }
            let others = deputy::Entity::find()
                .filter(deputy::Column::UnitId.eq(unit_id.as_str()))
                .filter(deputy::Column::EndedAt.is_null())
                .all(&txn)
                .await?;
            if let Some(clash) = others
                .iter()
                // Those whose period has passed stand in for no one any more.
                .filter(|d| d.ends_on.is_none_or(|e| e >= stamp.today))
                .find(|d| Period::new(d.starts_on, d.ends_on).overlaps(&period))
            {
                return Err(StoreError::Conflict(
                    Text::new("deputy.overlaps")
                        .arg("name", clash.name.clone())
                        .arg(
                            "period",
                            period_words(Period::new(clash.starts_on, clash.ends_on)),
                        ),
                ));
            }
            let model = deputy::Model {
                id: Uuid::now_v7(),
                unit_id: unit_id.to_string(),
                email: email.clone(),
                name: name.clone(),
                language: new.language,
                starts_on: period.starts,
                ends_on: period.ends,
                named_at: stamp.at,
                named_by: stamp.actor.clone(),
                ended_at: None,
                ended_by: None,
            };
            deputy::Entity::insert(model.clone().into_active_model())
                .exec_without_returning(&txn)
                .await?;
            audit::log(
                &txn,
                stamp,
                Change::new("deputy.name", "unit", unit_id.as_str()).after(&DeputyRecord {
                    email: &email,
                    name: &name,
                    starts_on: period.starts,
                    ends_on: period.ends,
                }),
            )
            .await?;
            crate::org::organisation_changed(&txn).await?;
            txn.commit().await?;
            Ok(Deputy::of(model))
        })
    }

    /// Ends a deputy of `unit` now, before their period's end: from today they stand in
    /// for no one. The row stays, for the history of who stood in when.
    pub async fn end_deputy(
        &self,
        unit_id: &UnitId,
        id: Uuid,
        stamp: &Stamp,
    ) -> Result<Deputy, StoreError> {
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            crate::standing::lock_unit_tree(&txn).await?;
            let Some(d) = deputy::Entity::find_by_id(id)
                .filter(deputy::Column::UnitId.eq(unit_id.as_str()))
                .one(&txn)
                .await?
            else {
                return Err(StoreError::NoEvent(Text::new("deputy.no_such")));
            };
            if d.ended_at.is_some() {
                return Err(StoreError::Conflict(Text::new("deputy.already_ended")));
            }
            let before = Deputy::of(d.clone());
            let mut active = d.into_active_model();
            active.ended_at = Set(Some(stamp.at));
            active.ended_by = Set(Some(stamp.actor.clone()));
            deputy::Entity::update(active).exec(&txn).await?;
            audit::log(
                &txn,
                stamp,
                Change::new("deputy.end", "unit", unit_id.as_str()).before(&DeputyRecord {
                    email: &before.email,
                    name: &before.name,
                    starts_on: before.starts_on,
                    ends_on: before.ends_on,
                }),
            )
            .await?;
            crate::org::organisation_changed(&txn).await?;
            txn.commit().await?;
            Ok(before)
        })
    }

    /// Moves the calendar entries of deputies' turns that began or ended in the last
    /// week. As a deputy steps in, they are told which of the unit's open deadlines are
    /// theirs now (and, when leaders get no copy of their deputies' mail, `leader_keeps`
    /// false, the leader's entries are cancelled). As the turn ends (at its period's end,
    /// or ended early), the deputy's entries are cancelled and the leader is told what is
    /// theirs again. Once each (the keys name the turn): the scheduler asks it at every
    /// tick. The number of deadlines moved.
    pub async fn move_deputies_entries(
        &self,
        leader_keeps: bool,
        stamp: &Stamp,
    ) -> Result<u64, StoreError> {
        let today = stamp.today;
        let week_ago = today - chrono::Days::new(7);
        let recent = |d: Date| week_ago <= d && d <= today;
        let zone = self.wheel.definition.mail_time.zone;
        // (units, who leaves the part, why, whether their entries are cancelled)
        let mut turns: Vec<(
            std::collections::HashSet<String>,
            crate::Addressee,
            String,
            bool,
        )> = Vec::new();
        let dir = self.directory().await?;
        for d in deputy::Entity::find().all(&self.db).await? {
            let ended = d.ended_at.map(|t| t.with_timezone(&zone).date_naive());
            let steps_in = d.starts_on.unwrap_or(today);
            let ends = match (d.ends_on, ended) {
                (Some(e), Some(x)) => Some(e.min(x - chrono::Days::new(1))),
                (e, x) => e.or(x.map(|x| x - chrono::Days::new(1))),
            };
            if let Some(last) = ends
                && recent(last + chrono::Days::new(1))
                && steps_in <= last
            {
                let from = crate::Addressee {
                    email: d.email.clone(),
                    name: d.name.clone(),
                    language: d.language,
                };
                turns.push((
                    dir.subtree_ids(&d.unit_id),
                    from,
                    format!("deputy-{}-out", d.id),
                    true,
                ));
            }
            if ended.is_none_or(|x| x > steps_in)
                && recent(steps_in)
                && ends.is_none_or(|last| last >= today)
                && let Some(leader) = dir.leader(&d.unit_id, 0)
            {
                turns.push((
                    dir.subtree_ids(&d.unit_id),
                    leader,
                    format!("deputy-{}-in", d.id),
                    !leader_keeps,
                ));
            }
        }
        if turns.is_empty() {
            return Ok(0);
        }
        let def = self.wheel.definition.clone();
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let mut moved = 0;
            for (units, from, why, withdraw) in &turns {
                let leaving = crate::outbox::Leaving {
                    units,
                    from,
                    why,
                    withdraw: *withdraw,
                    handed: true,
                };
                moved += crate::outbox::move_entries_of(&txn, leaving, &def, stamp)
                    .await?
                    .len() as u64;
            }
            txn.commit().await?;
            Ok(moved)
        })
    }

    /// Every deputy not ended whose period has not passed by `today`, by unit, the first
    /// to start first: the secretariat's overview.
    pub async fn all_deputies(&self, today: Date) -> Result<Vec<Deputy>, StoreError> {
        Ok(deputy::Entity::find()
            .filter(deputy::Column::EndedAt.is_null())
            .order_by_asc(deputy::Column::UnitId)
            .order_by_asc(deputy::Column::StartsOn)
            .order_by_asc(deputy::Column::NamedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|d| d.ends_on.is_none_or(|e| e >= today))
            .map(Deputy::of)
            .collect())
    }

    /// The deputies of `unit` not ended, whose period has not passed by `today`, the
    /// first to start first.
    pub async fn deputies(&self, unit_id: &UnitId, today: Date) -> Result<Vec<Deputy>, StoreError> {
        Ok(deputy::Entity::find()
            .filter(deputy::Column::UnitId.eq(unit_id.as_str()))
            .filter(deputy::Column::EndedAt.is_null())
            .order_by_asc(deputy::Column::StartsOn)
            .order_by_asc(deputy::Column::NamedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|d| d.ends_on.is_none_or(|e| e >= today))
            .map(Deputy::of)
            .collect())
    }
}
