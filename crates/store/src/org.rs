//! Importing the organisation: a checked file is written in one transaction. Units are
//! updated in place, a new leader takes over the unit (and its future mail), a unit no
//! longer in the file is deactivated with its history kept, and every change is logged.
//! A preview is the same import, rolled back: what it would change and hand over.

use std::collections::HashMap;

use hjul_wheel::org::OrgUnit;
use hjul_wheel::{Area, Language, Organisation};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::entity::{draft, organisation_version, person, unit};
use crate::facts::insert_chunked;
use crate::{FaultPoint, OnRecord, Stamp, Store, StoreError};

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub units_created: usize,
    pub units_updated: usize,
    pub units_unchanged: usize,
    pub units_deactivated: usize,
    pub units_reactivated: usize,
    pub people_created: usize,
    pub people_updated: usize,
    /// Units whose leader changed: (unit, old leader's address, new leader's address).
    pub new_leaders: Vec<(String, String, String)>,
    /// What passes from each leader who leaves a unit (replaced, or the unit closed).
    pub handovers: Vec<Handover>,
    /// The addresses of people who lead no active unit after it (their time before
    /// being anonymised starts).
    pub people_left: Vec<String>,
}

/// What moves when a leader leaves a unit: shown before an import is applied, and
/// said after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handover {
    pub unit_id: String,
    pub unit_name: String,
    /// The leader who leaves, as mail reached them.
    pub from: crate::Addressee,
    /// The new leader's address; none: the unit is closed.
    pub to: Option<String>,
    /// The open deadlines mail told them of, here and in the units under this one:
    /// the new leader is told they are theirs now (none for a closed unit), and the
    /// entries still ahead are cancelled in the old leader's calendar.
    pub deadlines: Vec<crate::outbox::Moving>,
    /// The unit's drafts (the agreement, the midway status): they stay with the unit,
    /// for the new leader to go on with.
    pub drafts: Vec<String>,
    /// Mail about these units waiting to go: it goes to whoever holds each deadline
    /// when it is sent.
    pub pending_mail: u64,
}

/// A unit as the audit log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct UnitRecord {
    name: String,
    level: i16,
    parent_id: Option<String>,
    area: Area,
    leader: String,
    active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct PersonRecord {
    email: String,
    name: String,
    language: Language,
}

impl Store {
    /// Writes a checked organisation. `progress(done, total)` is called as units are
    /// written.
    pub async fn import_organisation(
        &self,
        org: &Organisation,
        stamp: &Stamp,
        progress: impl FnMut(usize, usize),
    ) -> Result<ImportReport, StoreError> {
        self.import_or_preview(org, stamp, progress, true).await
    }

    /// What importing `org` would change and hand over, now: the import itself, rolled
    /// back, so the preview and the import cannot tell different stories.
    pub async fn preview_organisation(
        &self,
        org: &Organisation,
        stamp: &Stamp,
    ) -> Result<ImportReport, StoreError> {
        self.import_or_preview(org, stamp, |_, _| {}, false).await
    }

    async fn import_or_preview(
        &self,
        org: &Organisation,
        stamp: &Stamp,
        mut progress: impl FnMut(usize, usize),
        apply: bool,
    ) -> Result<ImportReport, StoreError> {
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            // Before anything is read: a cycle starting meanwhile computes its projection
            // from the tree this import leaves, or this import sees the cycle to refresh it.
            crate::standing::lock_unit_tree(&txn).await?;
            let mut report = ImportReport::default();
            let mut changes = Vec::new();

            // People, by address.
            let mut people: HashMap<String, person::Model> = person::Entity::find()
                .all(&txn)
                .await?
                .into_iter()
                .map(|p| (p.email.clone(), p))
                .collect();
            let mut new_people = Vec::new();
            for u in org.units() {
                let l = &u.leader;
                let record = PersonRecord {
                    email: l.email.to_string(),
                    name: l.name.clone(),
                    language: l.language,
                };
                match people.get(l.email.as_str()) {
                    Some(p) if p.name == l.name && p.language == l.language => {}
                    Some(p) => {
                        let before = PersonRecord {
                            email: p.email.clone(),
                            name: p.name.clone(),
                            language: p.language,
                        };
                        let mut am = p.clone().into_active_model();
                        am.name = Set(l.name.clone());
                        am.language = Set(l.language);
                        am.updated_at = Set(stamp.at);
                        let updated = am.update(&txn).await?;
                        changes.push(
                            Change::new("person.update", "person", updated.id.to_string())
                                .before(&before)
                                .after(&record),
                        );
                        people.insert(updated.email.clone(), updated);
                        report.people_updated += 1;
                    }
                    None => {
                        let p = person::Model {
                            id: Uuid::now_v7(),
                            email: l.email.to_string(),
                            name: l.name.clone(),
                            language: l.language,
                            created_at: stamp.at,
                            updated_at: stamp.at,
                            left_at: None,
                            anonymised_at: None,
                        };
                        changes.push(
                            Change::new("person.create", "person", p.id.to_string()).after(&record),
                        );
                        new_people.push(p.clone().into_active_model());
                        people.insert(p.email.clone(), p);
                        report.people_created += 1;
                    }
                }
            }
            insert_chunked::<person::Entity>(&txn, new_people).await?;

            // Units, parents before children (the file is a checked tree).
            let mut existing: HashMap<String, unit::Model> = unit::Entity::find()
                .all(&txn)
                .await?
                .into_iter()
                .map(|u| (u.id.clone(), u))
                .collect();
            let email_of: HashMap<Uuid, String> =
                people.values().map(|p| (p.id, p.email.clone())).collect();
            let total = org.units().len();
            let mut done = 0;
            // Level by level, so every parent is written before its children.
            for level in hjul_wheel::Level::ALL {
                let mut new_units = Vec::new();
                for u in org.units().iter().filter(|u| u.level == level) {
                    let leader_id = people
                        .get(u.leader.email.as_str())
                        .map(|p| p.id)
                        .ok_or_else(|| {
                            StoreError::OnRecord(OnRecord::Leader(u.leader.email.to_string()))
                        })?;
                    let record = UnitRecord {
                        name: u.name.clone(),
                        level: i16::from(u.level.number()),
                        parent_id: u.parent.as_ref().map(ToString::to_string),
                        area: u.area,
                        leader: u.leader.email.to_string(),
                        active: true,
                    };
                    match existing.remove(u.id.as_str()) {
                        Some(old) => {
                            let before = unit_record(&old, &email_of);
                            if before == record {
                                report.units_unchanged += 1;
                            } else {
                                if old.active {
                                    report.units_updated += 1;
                                } else {
                                    report.units_reactivated += 1;
                                }
                                if old.leader_id != leader_id {
                                    report.new_leaders.push((
                                        u.id.to_string(),
                                        before.leader.clone(),
                                        record.leader.clone(),
                                    ));
                                }
                                let mut am = old.into_active_model();
                                am.name = Set(record.name.clone());
                                am.level = Set(record.level);
                                am.parent_id = Set(record.parent_id.clone());
                                am.area = Set(record.area);
                                am.leader_id = Set(leader_id);
                                am.active = Set(true);
                                am.updated_at = Set(stamp.at);
                                am.update(&txn).await?;
                                changes.push(
                                    Change::new("unit.update", "unit", u.id.to_string())
                                        .before(&before)
                                        .after(&record),
                                );
                            }
                        }
                        None => {
                            new_units.push(new_unit(u, &record, leader_id, stamp));
                            changes.push(
                                Change::new("unit.create", "unit", u.id.to_string()).after(&record),
                            );
                            report.units_created += 1;
                        }
                    }
                    done += 1;
                    progress(done, total);
                }
                insert_chunked::<unit::Entity>(&txn, new_units).await?;
            }
            self.fault(FaultPoint::ImportAfterUnits, "import, after the units")?;

            // Units no longer in the file: deactivated, their history kept.
            let mut closed = Vec::new();
            for old in existing.into_values().filter(|u| u.active) {
                let before = unit_record(&old, &email_of);
                closed.push((old.id.clone(), before.leader.clone(), None));
                let after = UnitRecord {
                    active: false,
                    ..before.clone()
                };
                let id = old.id.clone();
                let mut am = old.into_active_model();
                am.active = Set(false);
                am.updated_at = Set(stamp.at);
                am.update(&txn).await?;
                changes.push(
                    Change::new("unit.deactivate", "unit", id)
                        .before(&before)
                        .after(&after),
                );
                report.units_deactivated += 1;
            }

            // Who leads no active unit now has left (the start of their time before
            // anonymising); who leads one again is back.
            let leading: std::collections::HashSet<Uuid> = org
                .units()
                .iter()
                .filter_map(|u| people.get(u.leader.email.as_str()).map(|p| p.id))
                .collect();
            for p in people.values_mut() {
                let left = !leading.contains(&p.id);
                if left == p.left_at.is_some() || p.anonymised_at.is_some() {
                    continue;
                }
                let mut am = p.clone().into_active_model();
                am.left_at = Set(left.then_some(stamp.at));
                *p = am.update(&txn).await?;
                let action = if left { "person.left" } else { "person.back" };
                changes.push(Change::new(action, "person", p.id.to_string()).after(
                    &serde_json::json!({
                        "email": p.email, "name": p.name,
                    }),
                ));
                if left {
                    report.people_left.push(p.email.clone());
                }
            }

            // The calendar entries of a leader who left a unit, or of a unit closed, are
            // cancelled with them; the new leader is told what is theirs now.
            let leaving = report
                .new_leaders
                .iter()
                .map(|(unit, old, new)| (unit.clone(), old.clone(), Some(new.clone())))
                .chain(closed);
            // Who got which entry went by the tree before this import.
            let dir = self.directory().await?;
            for (unit, email, to) in leaving {
                let Some(p) = people.get(&email) else {
                    continue;
                };
                let from = crate::Addressee {
                    email: p.email.clone(),
                    name: p.name.clone(),
                    language: p.language,
                };
                let why = format!("left-{}", stamp.at.timestamp_micros());
                // A new leader takes over the unit and what its leader holds below it. A
                // closed unit's deadlines are no one's: everyone mail told of them (the
                // superior who was to hold its dialogue, a deputy) has them cancelled.
                let (units, told) = match &to {
                    Some(_) => (dir.subtree_ids(&unit), vec![from.clone()]),
                    None => {
                        let mut told = vec![from.clone()];
                        for email in crate::outbox::told_about(&txn, &unit).await? {
                            if told.iter().any(|t| t.email == email) {
                                continue;
                            }
                            if let Some(a) = addressee_of(&txn, &people, &email).await? {
                                told.push(a);
                            }
                        }
                        (std::iter::once(unit.clone()).collect(), told)
                    }
                };
                let mut deadlines: Vec<crate::outbox::Moving> = Vec::new();
                for person in &told {
                    let moved = crate::outbox::move_entries_of(
                        &txn,
                        crate::outbox::Leaving {
                            units: &units,
                            from: person,
                            why: &why,
                            withdraw: true,
                            handed: to.is_some(),
                        },
                        &self.wheel.definition,
                        stamp,
                    )
                    .await?;
                    for d in moved {
                        if !deadlines.contains(&d) {
                            deadlines.push(d);
                        }
                    }
                }
                let deadlines = deadlines
                    .into_iter()
                    .map(|d| crate::outbox::Moving {
                        unit_name: dir.unit_name(&d.unit_id).unwrap_or(&d.unit_id).to_owned(),
                        ..d
                    })
                    .collect();
                let drafts = draft::Entity::find()
                    .filter(draft::Column::UnitId.eq(unit.as_str()))
                    .all(&txn)
                    .await?
                    .into_iter()
                    .map(|d| d.kind.key().to_owned())
                    .collect();
                let pending_mail = crate::outbox::pending_about(&txn, &units).await?;
                report.handovers.push(Handover {
                    unit_name: dir.unit_name(&unit).unwrap_or(&unit).to_owned(),
                    unit_id: unit,
                    from,
                    to,
                    deadlines,
                    drafts,
                    pending_mail,
                });
            }
            if !apply {
                txn.rollback().await?;
                return Ok(report);
            }

            let changed = !changes.is_empty();
            audit::log_all(&txn, stamp, changes).await?;
            // A unit's place in the tree, its level and whether it is active are in every
            // cycle's answer (who acts for it, whether it is shown): any changed unit
            // recomputes the cycles on record; an import that changes nothing does not.
            if report.units_created
                + report.units_updated
                + report.units_reactivated
                + report.units_deactivated
                > 0
            {
                crate::standing::refresh_recorded(&txn, crate::standing::Which::All).await?;
            }
            if changed {
                organisation_changed(&txn).await?;
                // The first import's units are the organisation every cycle then
                // running starts from, not late joiners.
                organisation_version::Entity::update_many()
                    .col_expr(
                        organisation_version::Column::FirstImportAt,
                        Expr::value(stamp.at),
                    )
                    .filter(organisation_version::Column::FirstImportAt.is_null())
                    .exec(&txn)
                    .await?;
            }
            txn.commit().await?;
            Ok(report)
        })
    }
}

/// Who is who changed (a name, a leader, a deputy): kept answers and the dispatcher's
/// directory are out of date. Cycles in the order their writers lock them.
pub(crate) async fn organisation_changed(txn: &DatabaseTransaction) -> Result<(), StoreError> {
    for year in crate::facts::recorded_years(txn).await? {
        crate::standing::count_change(txn, year).await?;
    }
    organisation_version::Entity::update_many()
        .col_expr(
            organisation_version::Column::Version,
            Expr::col(organisation_version::Column::Version).add(1),
        )
        .exec(txn)
        .await?;
    Ok(())
}

/// Who an address is, as mail reached them: a person of the organisation, or a deputy
/// named by hand.
async fn addressee_of(
    db: &DatabaseTransaction,
    people: &HashMap<String, person::Model>,
    email: &str,
) -> Result<Option<crate::Addressee>, StoreError> {
    if let Some(p) = people.get(email) {
        return Ok(Some(crate::Addressee {
            email: p.email.clone(),
            name: p.name.clone(),
            language: p.language,
        }));
    }
    Ok(crate::entity::deputy::Entity::find()
        .filter(crate::entity::deputy::Column::Email.eq(email))
        .one(db)
        .await?
        .map(|d| crate::Addressee {
            email: d.email,
            name: d.name,
            language: d.language,
        }))
}

fn unit_record(u: &unit::Model, email_of: &HashMap<Uuid, String>) -> UnitRecord {
    UnitRecord {
        name: u.name.clone(),
        level: u.level,
        parent_id: u.parent_id.clone(),
        area: u.area,
        leader: email_of.get(&u.leader_id).cloned().unwrap_or_default(),
        active: u.active,
    }
}

fn new_unit(u: &OrgUnit, record: &UnitRecord, leader_id: Uuid, stamp: &Stamp) -> unit::ActiveModel {
    unit::ActiveModel {
        id: Set(u.id.to_string()),
        name: Set(record.name.clone()),
        level: Set(record.level),
        parent_id: Set(record.parent_id.clone()),
        area: Set(record.area),
        leader_id: Set(leader_id),
        active: Set(true),
        created_at: Set(stamp.at),
        updated_at: Set(stamp.at),
        joined_on: Set(Some(stamp.today)),
        comes_on: Set(None),
    }
}

/// Where a unit that joined the running cycle late stands: the cycle, and the day it
/// comes along (the next cycle's first day while it sits the running one out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Joining {
    pub unit_id: String,
    pub cycle: i32,
    pub joined: Option<hjul_wheel::Date>,
    /// Whether it sits the cycle out and takes part from the next.
    pub sits_out: bool,
}

impl Store {
    /// Puts a unit that joined the running cycle late into the next cycle instead
    /// (`sit_out`), or back into the running one. Sitting out, it owes none of the
    /// running cycle's deadlines: what waited to be mailed about them is voided and the
    /// calendar entries mail put them in are cancelled, in the transaction that says so.
    /// Back in, it owes what a late joiner owes (`join_grace_days`), mailed by the next
    /// tick. Refused for a unit there from the cycle's start.
    pub async fn sit_out_cycle(
        &self,
        unit_id: &hjul_wheel::UnitId,
        sit_out: bool,
        stamp: &Stamp,
    ) -> Result<Joining, StoreError> {
        let def = self.wheel.definition.clone();
        let year = def.cycles.cycle_containing(stamp.today).year();
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let Some(u) = unit::Entity::find_by_id(unit_id.as_str()).one(&txn).await? else {
                return Err(StoreError::UnknownUnit(unit_id.to_string()));
            };
            if !u.active {
                return Err(StoreError::InactiveUnit(unit_id.to_string()));
            }
            let started = crate::facts::started_at(&txn, year).await?;
            let joined = crate::facts::joined(&u, started, &def);
            let next = def.sits_out(year, joined).map_err(StoreError::Refused)?;
            let comes_on = sit_out.then_some(next);
            if u.comes_on == comes_on {
                return Ok(Joining {
                    unit_id: u.id.clone(),
                    cycle: year,
                    joined,
                    sits_out: sit_out,
                });
            }
            if sit_out {
                // Before its deadlines stop being its: those are what the entries were.
                let units: std::collections::HashSet<String> =
                    std::iter::once(u.id.clone()).collect();
                let why = format!("sits-out-{}", stamp.at.timestamp_micros());
                let people: HashMap<String, person::Model> = person::Entity::find()
                    .all(&txn)
                    .await?
                    .into_iter()
                    .map(|p| (p.email.clone(), p))
                    .collect();
                for email in crate::outbox::told_about(&txn, &u.id).await? {
                    if let Some(from) = addressee_of(&txn, &people, &email).await? {
                        let leaving = crate::outbox::Leaving {
                            units: &units,
                            from: &from,
                            why: &why,
                            withdraw: true,
                            handed: false,
                        };
                        crate::outbox::move_entries_of(&txn, leaving, &def, stamp).await?;
                    }
                }
                crate::outbox::void_pending_of_unit(&txn, year, &u.id).await?;
            }
            let before = serde_json::json!({ "joined": joined, "comes_on": u.comes_on });
            let id = u.id.clone();
            let mut am = u.into_active_model();
            am.comes_on = Set(comes_on);
            let u = am.update(&txn).await?;
            let now = crate::facts::joined(&u, started, &def);
            let after = serde_json::json!({ "joined": now, "comes_on": comes_on });
            let mut am = u.into_active_model();
            am.updated_at = Set(stamp.at);
            am.update(&txn).await?;
            audit::log_all(
                &txn,
                stamp,
                vec![
                    Change::new("unit.joins", "unit", id.clone())
                        .before(&before)
                        .after(&after),
                ],
            )
            .await?;
            crate::standing::refresh(
                &txn,
                year,
                crate::standing::Which::Units(std::slice::from_ref(&id)),
            )
            .await?;
            txn.commit().await?;
            Ok(Joining {
                unit_id: id,
                cycle: year,
                joined: now,
                sits_out: sit_out,
            })
        })
    }
}
