//! Settings the secretariat changes on the dashboard, kept in the database so every
//! instance reads the same; a setting with no row is `hjul.toml`'s.

use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait, sea_query::OnConflict};

use crate::entity::setting;
use crate::{Stamp, Store, StoreError};

/// Whether people may sign in to the dashboard with a token: `on` or `off`.
pub const TOKEN_SIGN_IN: &str = "token_sign_in";

/// The day a demo database shows (`hjul demo` writes it): the command line and the
/// service then work as of that day on it, as the demo's dashboard does.
pub const DEMO_DAY: &str = "demo_day";

impl Store {
    /// A setting's value, if the secretariat set it.
    pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(setting::Entity::find_by_id(name.to_owned())
            .one(&self.db)
            .await?
            .map(|s| s.value))
    }

    /// Sets a setting, in one transaction with its audit row (before and after).
    pub async fn set_setting(
        &self,
        name: &str,
        value: &str,
        stamp: &Stamp,
    ) -> Result<(), StoreError> {
        #[derive(serde::Serialize)]
        struct Value<'a> {
            value: Option<&'a str>,
        }
        let _turn = self.turn().await?;
        let txn = self.db.begin().await?;
        let before = setting::Entity::find_by_id(name.to_owned())
            .one(&txn)
            .await?
            .map(|s| s.value);
        setting::Entity::insert(setting::ActiveModel {
            name: Set(name.to_owned()),
            value: Set(value.to_owned()),
            updated_at: Set(stamp.at),
            updated_by: Set(stamp.actor.clone()),
        })
        .on_conflict(
            OnConflict::column(setting::Column::Name)
                .update_columns([
                    setting::Column::Value,
                    setting::Column::UpdatedAt,
                    setting::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        crate::audit::log(
            &txn,
            stamp,
            crate::audit::Change::new("setting.change", "setting", name)
                .before(&Value {
                    value: before.as_deref(),
                })
                .after(&Value { value: Some(value) }),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
