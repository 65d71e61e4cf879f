//! Cycles on record: each keeps the wheel definition and the indicator catalogue it
//! started with, so a changed `wheel.toml` never moves the deadlines of a running cycle.

use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder};
use serde::Serialize;

use crate::audit::{self, Change};
use crate::entity::cycle::{self, StartedHow};
use crate::{OnRecord, Stamp, Store, StoreError};

#[derive(Serialize)]
struct CycleRecord<'a> {
    year: i32,
    started_by: &'a str,
    started_how: StartedHow,
    definition_version: &'a str,
    catalogue_version: &'a str,
}

impl Store {
    /// Starts cycle `year` by hand, even before its first day.
    pub async fn start_cycle(&self, year: i32, stamp: &Stamp) -> Result<cycle::Model, StoreError> {
        // Checks that the year names a cycle at all.
        self.wheel.definition.cycle(year)?;
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            if let Some(c) = cycle::Entity::find_by_id(year).one(&txn).await? {
                return Err(StoreError::CycleAlreadyStarted {
                    year,
                    on: c.started_at.date_naive(),
                });
            }
            let c = self
                .insert_cycle(&txn, year, StartedHow::Early, stamp)
                .await?;
            txn.commit().await?;
            Ok(c)
        })
    }

    /// Starts the cycle running today if its first day has come and nobody started it:
    /// cycles start on their own. Says whether this call started it.
    pub async fn ensure_current_cycle(
        &self,
        stamp: &Stamp,
    ) -> Result<(cycle::Model, bool), StoreError> {
        let year = self
            .wheel
            .definition
            .cycles
            .cycle_containing(stamp.today)
            .year();
        if let Some(c) = cycle::Entity::find_by_id(year).one(&self.db).await? {
            return Ok((c, false));
        }
        let (txn, _turn) = self.write().await?;
        // Another process may have started it meanwhile: the insert is then refused by
        // the primary key and this call reports what is on record.
        match self.cycle_for_event(&txn, year, stamp).await {
            Ok(c) => {
                txn.commit().await?;
                Ok((c, true))
            }
            Err(StoreError::Db(_)) => {
                drop(txn);
                let c = cycle::Entity::find_by_id(year)
                    .one(&self.db)
                    .await?
                    .ok_or(StoreError::OnRecord(OnRecord::Cycle(year)))?;
                Ok((c, false))
            }
            Err(e) => Err(e),
        }
    }

    /// The cycle `year` as recorded, started now if its first day has come.
    pub(crate) async fn cycle_for_event(
        &self,
        db: &impl ConnectionTrait,
        year: i32,
        stamp: &Stamp,
    ) -> Result<cycle::Model, StoreError> {
        if let Some(c) = cycle::Entity::find_by_id(year).one(db).await? {
            return Ok(c);
        }
        let starts = self.wheel.definition.cycle(year)?.cycle().starts();
        if starts > stamp.today {
            return Err(StoreError::CycleNotStarted { year, starts });
        }
        self.insert_cycle(db, year, StartedHow::OnFirstDay, stamp)
            .await
    }

    async fn insert_cycle(
        &self,
        db: &impl ConnectionTrait,
        year: i32,
        how: StartedHow,
        stamp: &Stamp,
    ) -> Result<cycle::Model, StoreError> {
        let w = &self.wheel;
        let model = cycle::Model {
            year,
            started_at: stamp.at,
            started_by: stamp.actor.clone(),
            started_how: how,
            definition_version: w.definition.version.clone(),
            definition_toml: w.definition_toml.clone(),
            catalogue_version: w.catalogue.version.clone(),
            catalogue_toml: w.catalogue_toml.clone(),
            standing_version: 0,
        };
        cycle::Entity::insert(cycle::ActiveModel {
            year: Set(model.year),
            started_at: Set(model.started_at),
            started_by: Set(model.started_by.clone()),
            started_how: Set(how),
            definition_version: Set(model.definition_version.clone()),
            definition_toml: Set(model.definition_toml.clone()),
            catalogue_version: Set(model.catalogue_version.clone()),
            catalogue_toml: Set(model.catalogue_toml.clone()),
            standing_version: Set(0),
        })
        .exec_without_returning(db)
        .await?;
        audit::log(
            db,
            stamp,
            Change::new("cycle.start", "cycle", year.to_string()).after(&CycleRecord {
                year,
                started_by: &model.started_by,
                started_how: how,
                definition_version: &model.definition_version,
                catalogue_version: &model.catalogue_version,
            }),
        )
        .await?;
        // Every unit stands somewhere from the cycle's first day, in the tree as an
        // import running meanwhile leaves it.
        crate::standing::lock_unit_tree(db).await?;
        crate::standing::refresh(db, year, crate::standing::Which::All).await?;
        Ok(model)
    }

    pub async fn cycles(&self) -> Result<Vec<cycle::Model>, StoreError> {
        Ok(cycle::Entity::find()
            .order_by_asc(cycle::Column::Year)
            .all(&self.db)
            .await?)
    }
}
