//! Signing in: who a token or a dashboard session is, as an [`Actor`] with the part of
//! the organisation they see. The one place a person becomes an actor, so another way
//! in (the municipality's own login) goes here too.

use hjul_store::Session;

use crate::{Actor, Core, CoreError};

/// A dashboard session just opened: the secret for the cookie (shown once), and the
/// session.
pub struct Opened {
    pub secret: String,
    pub session: Session,
}

impl Core {
    /// The person holding an API token (`None` for an unknown or revoked one).
    pub async fn token_actor(&self, token: &str) -> Result<Option<Actor>, CoreError> {
        match self.store().token_holder(token).await? {
            None => Ok(None),
            Some(holder) => Ok(Some(self.actor(holder).await?)),
        }
    }

    /// Opens a dashboard session for a valid token, and puts the sign-in on record;
    /// `None` for an unknown or revoked token.
    pub async fn open_session(&self, token: &str) -> Result<Option<Opened>, CoreError> {
        let now = self.now();
        let Some((secret, session)) = self.store().open_session(token, now).await? else {
            return Ok(None);
        };
        // The person is in either way: a sign-in the log missed is an operator's to see.
        if let Err(e) = self.store().audit_sign_in(&session.holder, now).await {
            tracing::error!(error = %e, "could not put a sign-in on record");
        }
        Ok(Some(Opened { secret, session }))
    }

    /// The session a cookie names while it is open (a request made with it keeps it
    /// from going idle), with its holder as an actor.
    pub async fn session(&self, secret: &str) -> Result<Option<(Session, Actor)>, CoreError> {
        let Some(session) = self.store().session(secret, self.now()).await? else {
            return Ok(None);
        };
        let actor = self.actor(session.holder.clone()).await?;
        Ok(Some((session, actor)))
    }

    /// A session that ran out less than `grace` ago, neither ended nor revoked: enough
    /// to keep a draft its holder was typing when it ran out, never to act.
    pub async fn lapsed_session(
        &self,
        secret: &str,
        grace: chrono::Duration,
    ) -> Result<Option<(Session, Actor)>, CoreError> {
        let Some(session) = self
            .store()
            .lapsed_session(secret, self.now(), grace)
            .await?
        else {
            return Ok(None);
        };
        let actor = self.actor(session.holder.clone()).await?;
        Ok(Some((session, actor)))
    }

    /// Ends the session a cookie names (signing out).
    pub async fn end_session(&self, secret: &str) -> Result<(), CoreError> {
        Ok(self.store().end_session(secret, self.now()).await?)
    }
}
