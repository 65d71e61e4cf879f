//! A copy of the records into another store, for `hjul simulate`, which runs the
//! scheduler on a scratch copy and leaves the real database as it was.

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryOrder};

use crate::entity::{
    agreement, cycle, deputy, goal, grade, milestone, outbox_item, person, unit, unit_event,
    unit_standing,
};
use crate::{Store, StoreError};

async fn copy_all<E>(to: &impl ConnectionTrait, models: Vec<E::Model>) -> Result<(), StoreError>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let mut rows = models
        .into_iter()
        .map(IntoActiveModel::into_active_model)
        .peekable();
    while rows.peek().is_some() {
        let chunk: Vec<E::ActiveModel> = rows.by_ref().take(200).collect();
        E::insert_many(chunk).exec_without_returning(to).await?;
    }
    Ok(())
}

impl Store {
    /// Copies everything but the audit log into `target`, an empty store with the
    /// schema in place.
    pub async fn copy_to(&self, target: &Store) -> Result<(), StoreError> {
        let src = &self.db;
        let (txn, _turn) = target.write().await?;
        copy_all::<person::Entity>(&txn, person::Entity::find().all(src).await?).await?;
        // Parents before children, for the foreign key.
        copy_all::<unit::Entity>(
            &txn,
            unit::Entity::find()
                .order_by_asc(unit::Column::Level)
                .all(src)
                .await?,
        )
        .await?;
        copy_all::<cycle::Entity>(&txn, cycle::Entity::find().all(src).await?).await?;
        // Deputies too: whom a leader's mail goes to while one stands in.
        copy_all::<deputy::Entity>(&txn, deputy::Entity::find().all(src).await?).await?;
        // The standing projection too, or every status on the copy would fold.
        copy_all::<unit_standing::Entity>(&txn, unit_standing::Entity::find().all(src).await?)
            .await?;
        copy_all::<milestone::Entity>(&txn, milestone::Entity::find().all(src).await?).await?;
        copy_all::<unit_event::Entity>(&txn, unit_event::Entity::find().all(src).await?).await?;
        copy_all::<agreement::Entity>(&txn, agreement::Entity::find().all(src).await?).await?;
        copy_all::<goal::Entity>(&txn, goal::Entity::find().all(src).await?).await?;
        copy_all::<grade::Entity>(&txn, grade::Entity::find().all(src).await?).await?;
        copy_all::<outbox_item::Entity>(&txn, outbox_item::Entity::find().all(src).await?).await?;
        txn.commit().await?;
        Ok(())
    }
}
