//! Drafts: what a leader has typed into the agreement editor or the midway form, kept on
//! the server per unit until it is submitted, so a refused submit, a closed tab or an
//! ended session loses nothing.

use chrono::{DateTime, Utc};
use hjul_wheel::UnitId;
use sea_orm::{ActiveValue::Set, EntityTrait, sea_query::OnConflict};

use crate::entity::draft;
use crate::{Stamp, Store, StoreError};

/// The largest draft kept, in bytes (a whole agreement at its limits fits).
pub const MAX_DRAFT_BYTES: usize = 512 * 1024;

/// Which form a draft belongs to.
#[derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftKind {
    Agreement,
    Midway,
}

impl DraftKind {
    pub fn key(self) -> &'static str {
        match self {
            Self::Agreement => "agreement",
            Self::Midway => "midway",
        }
    }
}

/// A draft as kept.
#[derive(Debug, Clone)]
pub struct Draft {
    pub cycle: i32,
    /// The form, as JSON.
    pub content: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl Store {
    /// Keeps a unit's draft (replacing the one before).
    pub async fn save_draft(
        &self,
        unit: &UnitId,
        kind: DraftKind,
        cycle: i32,
        content: &str,
        stamp: &Stamp,
    ) -> Result<(), StoreError> {
        let unit_id = unit.as_str();
        if content.len() > MAX_DRAFT_BYTES {
            return Err(StoreError::DraftTooLarge {
                kb: content.len() / 1024,
            });
        }
        let turn = self.turn().await?;
        draft::Entity::insert(draft::ActiveModel {
            unit_id: Set(unit_id.to_owned()),
            kind: Set(kind),
            cycle: Set(cycle),
            content: Set(content.to_owned()),
            updated_at: Set(stamp.at),
            updated_by: Set(stamp.actor.clone()),
        })
        .on_conflict(
            OnConflict::columns([draft::Column::UnitId, draft::Column::Kind])
                .update_columns([
                    draft::Column::Cycle,
                    draft::Column::Content,
                    draft::Column::UpdatedAt,
                    draft::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        drop(turn);
        Ok(())
    }

    /// A unit's draft of `kind`, if one is kept.
    pub async fn draft(&self, unit: &UnitId, kind: DraftKind) -> Result<Option<Draft>, StoreError> {
        let unit_id = unit.as_str();
        Ok(draft::Entity::find_by_id((unit_id.to_owned(), kind))
            .one(&self.db)
            .await?
            .map(|d| Draft {
                cycle: d.cycle,
                content: d.content,
                updated_at: d.updated_at,
                updated_by: d.updated_by,
            }))
    }

    /// Drops a unit's draft once what it held is on record.
    pub async fn drop_draft(&self, unit: &UnitId, kind: DraftKind) -> Result<(), StoreError> {
        let unit_id = unit.as_str();
        let _turn = self.turn().await?;
        draft::Entity::delete_by_id((unit_id.to_owned(), kind))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
