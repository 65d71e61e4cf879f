//! Deputies (stedfortrædere): the secretariat, a unit's leader or a manager above it
//! names a person who stands in for the unit's leader for a period, and ends them
//! early if plans change. Who may is the actor's rule; the period's and the name's
//! rules are the wheel's; the store keeps them with their audit rows.

use hjul_store::{Deputy, NewDeputy, StoreError};
use hjul_wheel::Language;
use hjul_wheel::deputy::Period;

use crate::{Actor, Attempt, Core, CoreError};

impl Core {
    /// Names `email` (called `name`, mailed in `language`) deputy for `unit` for
    /// `period`; from its first day they get the unit's mail and act as its leader.
    pub async fn name_deputy(
        &self,
        actor: &Actor,
        unit: &str,
        (email, name, language): (&str, &str, Language),
        period: Period,
    ) -> Result<Deputy, CoreError> {
        let attempt = Attempt {
            what: "name a deputy",
            entity: "unit",
            id: unit,
        };
        let result = async {
            let unit = actor.may_name_deputy(unit)?;
            let email = hjul_wheel::Email::parse(email).map_err(StoreError::BadAddress)?;
            let new = NewDeputy {
                email,
                name: name.to_owned(),
                language,
                period,
            };
            Ok(self
                .store()
                .name_deputy(&unit, &new, &self.stamp(actor))
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Ends deputy `id` of `unit` now.
    pub async fn end_deputy(
        &self,
        actor: &Actor,
        unit: &str,
        id: uuid::Uuid,
    ) -> Result<Deputy, CoreError> {
        let attempt = Attempt {
            what: "end a deputy",
            entity: "unit",
            id: unit,
        };
        let result = async {
            let unit = actor.may_name_deputy(unit)?;
            Ok(self
                .store()
                .end_deputy(&unit, id, &self.stamp(actor))
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// The deputies of `unit` (not ended, not past), for whoever sees the unit, and
    /// whether the actor may name or end them.
    pub async fn deputies(
        &self,
        actor: &Actor,
        unit: &str,
    ) -> Result<(Vec<Deputy>, bool), CoreError> {
        let unit = actor.may_see(unit)?;
        let may_name = actor.may_name_deputy(unit.as_str()).is_ok();
        let deputies = self.store().deputies(&unit, self.today()).await?;
        self.log_read(actor, crate::View::Deputies, Some(unit.as_str()), &[])
            .await;
        Ok((deputies, may_name))
    }

    /// Every deputy in force or ahead of a unit the actor sees (all of them, for the
    /// secretariat), by unit.
    pub async fn all_deputies(&self, actor: &Actor) -> Result<Vec<Deputy>, CoreError> {
        let deputies = self
            .store()
            .all_deputies(self.today())
            .await?
            .into_iter()
            .filter(|d| actor.may_see(&d.unit_id).is_ok())
            .collect();
        self.log_read(actor, crate::View::Deputies, None, &[]).await;
        Ok(deputies)
    }
}
