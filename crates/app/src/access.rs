//! Signing in: who a token or a dashboard session is, as an [`Actor`] with the part of
//! the organisation they see. The one place a person becomes an actor, whether they came
//! in with a token or with the municipality's own login.

use hjul_store::{Holder, Session, Stamp, StoreError};

use crate::sign_in::Identity;
use crate::{Actor, Attempt, Core, CoreError};

/// A dashboard session just opened: the secret for the cookie (shown once), and the
/// session.
pub struct Opened {
    pub secret: String,
    pub session: Session,
}

/// What a sign-in through the municipality's login came to.
pub enum PersonSignIn {
    Opened(Opened),
    /// The organisation does not know them (they lead no active unit) and the provider
    /// did not name them the secretariat: no session, and the refusal is on record.
    Unknown {
        email: String,
    },
}

/// How the audit log names a person who signed in with the municipality's login.
fn recorded_as(email: &str) -> String {
    format!("oidc:{email}")
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
    /// `None` for an unknown or revoked token, or when people may not sign in with
    /// tokens here.
    pub async fn open_session(&self, token: &str) -> Result<Option<Opened>, CoreError> {
        let refused = || {
            self.metrics().sign_in_refused(hjul_metrics::Refusal::Token);
            Ok(None)
        };
        // Longer than any token hjul makes: not looked up.
        if token.len() > 200 || !self.token_sign_in().await {
            return refused();
        }
        let now = self.now();
        let Some((secret, session)) = self.store().open_session(token, now).await? else {
            return refused();
        };
        self.audit_sign_in(&session.holder, None).await;
        Ok(Some(Opened { secret, session }))
    }

    /// Opens a dashboard session for a person the municipality's login vouched for,
    /// when the organisation knows them (they lead an active unit, or stand in for a
    /// leader today as a deputy) or the provider named
    /// them the secretariat; otherwise the refusal is put on record and they are told
    /// whom to ask. What they may do is read from the organisation at each request, so
    /// an import that changes a leader changes their rights at their next click.
    pub async fn open_person_session(&self, who: Identity) -> Result<PersonSignIn, CoreError> {
        let now = self.now();
        let refuse = |email: String, why: &'static str| async move {
            let stamp = Stamp {
                actor: recorded_as(&email),
                at: now,
                today: self.today_at(now),
            };
            let attempt = Attempt {
                what: "sign in",
                entity: "person",
                id: &email,
            };
            self.audit_refusal(stamp, &attempt, why, false).await;
            self.metrics()
                .sign_in_refused(hjul_metrics::Refusal::UnknownPerson);
            Ok(PersonSignIn::Unknown { email })
        };
        let Ok(email) = hjul_wheel::Email::parse(&who.email) else {
            let shown = hjul_wheel::limits::clip(&who.email, 120);
            return refuse(shown, "the provider's address is not one").await;
        };
        let known = who.secretariat
            || !self.store().units_led_by(email.as_str()).await?.is_empty()
            || !self
                .store()
                .directory()
                .await?
                .stands_in_for(email.as_str(), self.today())
                .is_empty();
        if !known {
            return refuse(
                email.to_string(),
                "leads no active unit and is not in the secretariat's group",
            )
            .await;
        }
        let (secret, session) = self
            .store()
            .open_person_session(&email, who.secretariat, &who.id_token, now)
            .await?;
        self.audit_sign_in(&session.holder, Some((&who.issuer, &who.subject)))
            .await;
        Ok(PersonSignIn::Opened(Opened { secret, session }))
    }

    async fn audit_sign_in(&self, holder: &Holder, via: Option<(&str, &str)>) {
        // The person is in either way: a sign-in the log missed is an operator's to see.
        if let Err(e) = self.store().audit_sign_in(holder, via, self.now()).await {
            tracing::error!(error = %e, "could not put a sign-in on record");
        }
    }

    /// Puts a sign-in through the provider that did not come to a person on record:
    /// an answer that belongs to no sign-in of this browser, a code or token the
    /// provider or hjul refused, a provider that did not answer.
    pub async fn audit_failed_sign_in(&self, why: &str) {
        self.metrics().sign_in_refused(hjul_metrics::Refusal::Login);
        let now = self.now();
        let stamp = Stamp {
            actor: "oidc:-".into(),
            at: now,
            today: self.today_at(now),
        };
        let attempt = Attempt {
            what: "sign in",
            entity: "session",
            id: "-",
        };
        self.audit_refusal(stamp, &attempt, why, false).await;
    }

    /// The session a cookie names while it is open (a request made with it keeps it
    /// from going idle), with its holder as an actor; `None` also for a person the
    /// organisation no longer knows.
    pub async fn session(&self, secret: &str) -> Result<Option<(Session, Actor)>, CoreError> {
        let Some(session) = self.store().session(secret, self.now()).await? else {
            return Ok(None);
        };
        Ok(self
            .holder_actor(&session.holder)
            .await?
            .map(|actor| (session, actor)))
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
        Ok(self
            .holder_actor(&session.holder)
            .await?
            .map(|actor| (session, actor)))
    }

    /// Who a session's holder is now: a token's holder as the token says; a person as
    /// the organisation says today (the secretariat as the provider said at sign-in).
    async fn holder_actor(&self, holder: &Holder) -> Result<Option<Actor>, CoreError> {
        match holder {
            // With token sign-in turned off, a session opened with a token ends too.
            Holder::Token(_) if !self.token_sign_in().await => Ok(None),
            Holder::Token(t) => Ok(Some(self.actor(t.clone()).await?)),
            Holder::Person {
                email,
                secretariat: true,
            } => Ok(Some(Actor::secretariat_person(email, recorded_as(email)))),
            Holder::Person { email, .. } => {
                match self.person_recorded_as(email, recorded_as(email)).await {
                    Ok(actor) => Ok(Some(actor)),
                    Err(CoreError::Store(StoreError::LeadsNothing { .. })) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Ends the session a cookie names (signing out). When it was a person's and the
    /// provider offers it, where to send the browser to end the provider's session too.
    pub async fn sign_out(
        &self,
        secret: &str,
    ) -> Result<Option<openidconnect::url::Url>, CoreError> {
        let id_token = self.store().end_session(secret, self.now()).await?;
        match (self.oidc(), id_token) {
            (Some(oidc), Some(token)) => Ok(oidc.sign_out_url(Some(&token)).await),
            _ => Ok(None),
        }
    }
}
