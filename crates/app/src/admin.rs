//! The secretariat's work on the whole: starting a cycle, importing the organisation
//! and the indicator data, the access tokens.

use hjul_store::{
    Cycle, DataImportReport, ImportReport, Joining, Role, StandingDifference, StoreError, Token,
};
use hjul_wheel::Organisation;
use hjul_wheel::data::Measurement;

use crate::{Actor, Attempt, Core, CoreError};

impl Core {
    /// The service's figures in the Prometheus text format, with the database's part read
    /// now (secretariat: a token made for the monitoring). Names no person, so the read
    /// is not logged.
    pub async fn monitoring(&self, actor: &Actor) -> Result<String, CoreError> {
        actor.require_secretariat("the service's figures")?;
        let now = self.now();
        let db = self.store().monitored(now).await?;
        let standing = hjul_metrics::Standing {
            mail: db.mail,
            due: db.due,
            oldest_due: db
                .oldest_due_at
                .and_then(|at| (now - at).to_std().ok())
                .unwrap_or_default(),
            leases: db.leases,
            report_queue: u64::try_from(self.report_queue_length()).unwrap_or(u64::MAX),
            pool_in_use: db.pool_in_use,
            pool_idle: db.pool_idle,
            pool_max: db.pool_max,
        };
        Ok(self.metrics().render(&standing))
    }

    /// Starts cycle `year` before its first day (the secretariat's); it keeps the wheel
    /// in force now.
    pub async fn start_cycle(&self, actor: &Actor, year: i32) -> Result<Cycle, CoreError> {
        let id = year.to_string();
        let attempt = Attempt {
            what: "start a cycle",
            entity: "cycle",
            id: &id,
        };
        let result = async {
            actor.require_secretariat("starting a cycle")?;
            Ok(self.store().start_cycle(year, &self.stamp(actor)).await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Imports a checked organisation (the secretariat's): units, the tree and their
    /// leaders, in one transaction; `progress(done, total)` as it goes.
    pub async fn import_organisation(
        &self,
        actor: &Actor,
        org: &Organisation,
        progress: impl FnMut(usize, usize),
    ) -> Result<ImportReport, CoreError> {
        let attempt = Attempt {
            what: "import the organisation",
            entity: "organisation",
            id: "-",
        };
        let result = async {
            actor.require_secretariat("importing the organisation")?;
            Ok(self
                .store()
                .import_organisation(org, &self.stamp(actor), progress)
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// What importing `org` would change, and what would pass from each leader who
    /// leaves a unit (the secretariat's): nothing is written.
    pub async fn preview_organisation(
        &self,
        actor: &Actor,
        org: &Organisation,
    ) -> Result<ImportReport, CoreError> {
        actor.require_secretariat("importing the organisation")?;
        Ok(self
            .store()
            .preview_organisation(org, &self.stamp(actor))
            .await?)
    }

    /// Lets a unit that joined the running cycle late take part from the next cycle
    /// instead (`sit_out`), or brings it back into the running one (the secretariat's).
    pub async fn sit_out_cycle(
        &self,
        actor: &Actor,
        unit: &str,
        sit_out: bool,
    ) -> Result<Joining, CoreError> {
        let attempt = Attempt {
            what: if sit_out {
                "put a unit into the next cycle"
            } else {
                "put a unit back into the running cycle"
            },
            entity: "unit",
            id: unit,
        };
        let result = async {
            actor.require_secretariat("putting a unit into the next cycle")?;
            let unit = actor.may_see(unit)?;
            Ok(self
                .store()
                .sit_out_cycle(&unit, sit_out, &self.stamp(actor))
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Everything hjul holds about the person at `email`, for their access request (the
    /// secretariat's); the export is a read of their data too.
    pub async fn person_data(
        &self,
        actor: &Actor,
        email: &str,
    ) -> Result<hjul_store::PersonData, CoreError> {
        actor.require_secretariat("an access request's export")?;
        let email = hjul_wheel::Email::parse(email)
            .map_err(StoreError::BadAddress)?
            .to_string();
        // The reads waiting are written first: the answer is complete to this moment.
        self.flush_reads().await;
        let data = self.store().person_data(&email).await?;
        self.log_read(
            actor,
            crate::View::Person,
            None,
            &[("email", email.clone())],
        )
        .await;
        Ok(data)
    }

    /// What is past its time under `retention` (the secretariat's): counted, or deleted
    /// when `apply` (in batches, with one audit row saying how much went).
    pub async fn retention(
        &self,
        actor: &Actor,
        retention: &hjul_store::Retention,
        apply: bool,
    ) -> Result<hjul_store::RetentionCounts, CoreError> {
        actor.require_secretariat("the retention of records")?;
        let stamp = self.stamp(actor);
        Ok(if apply {
            let gone = self.store().apply_retention(retention, &stamp).await?;
            if gone.total() > 0 {
                tracing::info!(?gone, "records past their retention deleted");
            }
            gone
        } else {
            self.store()
                .retention_due(retention, stamp.at, stamp.today)
                .await?
        })
    }

    /// Anonymises a person who has left (the secretariat's), or says what it would
    /// change when `!apply`: refused while they lead or stand in for a unit or mail
    /// waits to them. The reads waiting are written first, so none keeps their address.
    pub async fn anonymise(
        &self,
        actor: &Actor,
        email: &str,
        apply: bool,
    ) -> Result<hjul_store::Anonymised, CoreError> {
        actor.require_secretariat("anonymising a person")?;
        let email = hjul_wheel::Email::parse(email)
            .map_err(StoreError::BadAddress)?
            .to_string();
        self.flush_reads().await;
        let done = self
            .store()
            .anonymise(&email, &self.stamp(actor), apply)
            .await?;
        if apply {
            tracing::info!(pseudonym = %done.pseudonym, "a departed person anonymised");
        }
        Ok(done)
    }

    /// Cycle `year`'s records for the archive, as open files with a manifest (the
    /// secretariat's): `made_by` names the program and its version in the manifest.
    /// Making them is a read of every unit's data, and on record.
    pub async fn archive(
        &self,
        actor: &Actor,
        year: i32,
        made_by: &str,
    ) -> Result<hjul_store::Archive, CoreError> {
        actor.require_secretariat("the archive export")?;
        let archive = self
            .store()
            .archive(year, self.stamp(actor).at, made_by)
            .await?;
        self.log_read(
            actor,
            crate::View::Archive,
            None,
            &[("cycle", year.to_string())],
        )
        .await;
        Ok(archive)
    }

    /// Imports a checked file of indicator data (the secretariat's) in one transaction;
    /// `file` names it in the audit log.
    pub async fn import_measurements(
        &self,
        actor: &Actor,
        file: &str,
        rows: &[Measurement],
        progress: impl FnMut(usize, usize),
    ) -> Result<DataImportReport, CoreError> {
        let attempt = Attempt {
            what: "import indicator data",
            entity: "measurement",
            id: file,
        };
        let result = async {
            actor.require_secretariat("importing indicator data")?;
            Ok(self
                .store()
                .import_measurements(file, rows, &self.stamp(actor), progress)
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Makes an access token for a person (the secretariat's). The token itself is
    /// returned once and never kept (only its hash).
    pub async fn create_token(
        &self,
        actor: &Actor,
        role: Role,
        email: &str,
        note: Option<&str>,
    ) -> Result<(String, Token), CoreError> {
        let attempt = Attempt {
            what: "create a token",
            entity: "api_token",
            id: email,
        };
        let result = async {
            actor.require_secretariat("making tokens")?;
            Ok(self
                .store()
                .create_token(role, email, note, &self.stamp(actor))
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Revokes a token by its id or the start of it (the secretariat's).
    pub async fn revoke_token(&self, actor: &Actor, id: &str) -> Result<Token, CoreError> {
        let attempt = Attempt {
            what: "revoke a token",
            entity: "api_token",
            id,
        };
        let result = async {
            actor.require_secretariat("revoking tokens")?;
            Ok(self.store().revoke_token(id, &self.stamp(actor)).await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Ends every open session of the person at `email` (the secretariat's: a lost
    /// laptop, someone who left): the number ended. Their tokens stay; revoke those
    /// apart.
    pub async fn end_sessions_of(&self, actor: &Actor, email: &str) -> Result<u64, CoreError> {
        let attempt = Attempt {
            what: "sign a person out everywhere",
            entity: "person",
            id: email,
        };
        let result = async {
            actor.require_secretariat("signing people out")?;
            let email = hjul_wheel::Email::parse(email).map_err(StoreError::BadAddress)?;
            Ok(self
                .store()
                .end_sessions_of(&email, &self.stamp(actor))
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Turns the dashboard's sign-in with tokens on or off (the secretariat's); off only
    /// while the municipality's login is set up, so people always have a way in. Off
    /// ends the sessions opened with tokens at their next request; the API's tokens work
    /// either way.
    pub async fn set_token_sign_in(&self, actor: &Actor, on: bool) -> Result<(), CoreError> {
        let attempt = Attempt {
            what: "turn token sign-in on or off",
            entity: "setting",
            id: hjul_store::settings::TOKEN_SIGN_IN,
        };
        let result = async {
            actor.require_secretariat("the sign-in's settings")?;
            if !on && self.oidc().is_none() {
                return Err(CoreError::TokensNeeded);
            }
            Ok(self
                .store()
                .set_setting(
                    hjul_store::settings::TOKEN_SIGN_IN,
                    if on { "on" } else { "off" },
                    &self.stamp(actor),
                )
                .await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }

    /// Where the kept standing of a unit differs from what its events say (the
    /// operator's check, `hjul doctor`).
    pub async fn check_standing(
        &self,
        actor: &Actor,
    ) -> Result<Vec<StandingDifference>, CoreError> {
        actor.require_secretariat("checking the kept standing")?;
        Ok(self.store().check_standing().await?)
    }

    /// Writes every unit's standing again from its events (`hjul doctor --rebuild`): the
    /// number of units written.
    pub async fn rebuild_standing(&self, actor: &Actor) -> Result<usize, CoreError> {
        let attempt = Attempt {
            what: "rebuild the standing",
            entity: "standing",
            id: "-",
        };
        let result = async {
            actor.require_secretariat("rebuilding the kept standing")?;
            Ok(self.store().rebuild_standing(&self.stamp(actor)).await?)
        }
        .await;
        self.audited(actor, &attempt, result).await
    }
}
