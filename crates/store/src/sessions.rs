//! Sign-in sessions of the dashboard, kept on the server. The cookie holds a random id;
//! the database keeps its SHA-256, who the session is for (a token, or a person who
//! signed in with the municipality's login) and the session's own CSRF value. A session
//! ends when its holder signs out, when it has been idle or open too long, and when its
//! token is revoked.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use uuid::Uuid;

use crate::entity::{api_token, session};
use crate::tokens::{TokenHolder, hash};
use crate::{Store, StoreError};

/// How long a session lasts without a request.
pub const IDLE: Duration = Duration::hours(2);
/// How long a session lasts at most.
pub const LONGEST: Duration = Duration::hours(12);

/// Who a session is for.
#[derive(Debug, Clone)]
pub enum Holder {
    /// Signed in with a token: its holder, while the token is not revoked.
    Token(TokenHolder),
    /// Signed in with the municipality's login: their address, and whether the provider
    /// named them a member of the secretariat. What they may do is not kept: it is read
    /// from the organisation at each request.
    Person { email: String, secretariat: bool },
}

impl Holder {
    pub fn email(&self) -> &str {
        match self {
            Self::Token(t) => &t.email,
            Self::Person { email, .. } => email,
        }
    }
}

/// A session as a request finds it.
#[derive(Debug, Clone)]
pub struct Session {
    pub holder: Holder,
    /// The value every form of this session carries.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

fn secret() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Opens a session for a valid token: the secret for the cookie (shown once) and the
    /// session, or `None` for an unknown or revoked token.
    pub async fn open_session(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, Session)>, StoreError> {
        let Some(holder) = self.token_holder(token).await? else {
            return Ok(None);
        };
        let token_id = holder.token_id;
        self.insert_session(Holder::Token(holder), Some(token_id), None, now)
            .await
            .map(Some)
    }

    /// Opens a session for a person the municipality's login vouched for: the secret for
    /// the cookie and the session. `id_token` is the provider's, kept to end its session
    /// too when they sign out. Whether they may do anything is the caller's to have
    /// asked (the organisation, at each request).
    pub async fn open_person_session(
        &self,
        email: &hjul_wheel::Email,
        secretariat: bool,
        id_token: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, Session), StoreError> {
        let holder = Holder::Person {
            email: email.to_string(),
            secretariat,
        };
        self.insert_session(holder, None, Some(id_token), now).await
    }

    async fn insert_session(
        &self,
        holder: Holder,
        token_id: Option<Uuid>,
        id_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(String, Session), StoreError> {
        let id = secret();
        let csrf = secret();
        let expires_at = now + LONGEST;
        let (email, secretariat) = match &holder {
            Holder::Token(_) => (None, false),
            Holder::Person { email, secretariat } => (Some(email.clone()), *secretariat),
        };
        let _turn = self.turn().await?;
        session::Entity::insert(session::ActiveModel {
            id: Set(hash(&id)),
            token_id: Set(token_id),
            email: Set(email),
            secretariat: Set(secretariat),
            id_token: Set(id_token.map(str::to_owned)),
            csrf: Set(csrf.clone()),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(expires_at),
            ended_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok((
            id,
            Session {
                holder,
                csrf,
                expires_at,
            },
        ))
    }

    /// The session a cookie names, if it is still open; a request made with it keeps it
    /// from going idle.
    pub async fn session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let Some(row) = session::Entity::find_by_id(hash(id)).one(&self.db).await? else {
            return Ok(None);
        };
        if row.ended_at.is_some() || now >= row.expires_at || now - row.last_seen_at >= IDLE {
            return Ok(None);
        }
        let Some(holder) = self.holder_of_session(&row).await? else {
            return Ok(None);
        };
        // One write a minute at most, not one per request.
        if now - row.last_seen_at >= Duration::minutes(1) {
            let mut am = row.clone().into_active_model();
            am.last_seen_at = Set(now);
            let _turn = self.turn().await?;
            am.update(&self.db).await?;
        }
        Ok(Some(Session {
            holder,
            csrf: row.csrf,
            expires_at: row.expires_at,
        }))
    }

    /// A session that ran out of time (idle or open too long) less than `grace` ago, and
    /// was neither ended nor had its token revoked: enough to keep a draft its holder was
    /// typing when it ran out, never to act.
    pub async fn lapsed_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> Result<Option<Session>, StoreError> {
        let Some(row) = session::Entity::find_by_id(hash(id)).one(&self.db).await? else {
            return Ok(None);
        };
        let lapsed_at = row.expires_at.min(row.last_seen_at + IDLE);
        if row.ended_at.is_some() || now < lapsed_at || now - lapsed_at > grace {
            return Ok(None);
        }
        Ok(self.holder_of_session(&row).await?.map(|holder| Session {
            holder,
            csrf: row.csrf,
            expires_at: row.expires_at,
        }))
    }

    /// Who a session is for: a token's holder while the token is not revoked, or the
    /// person who signed in.
    async fn holder_of_session(&self, row: &session::Model) -> Result<Option<Holder>, StoreError> {
        if let Some(token_id) = row.token_id {
            return Ok(self.live_holder(token_id).await?.map(Holder::Token));
        }
        Ok(row.email.clone().map(|email| Holder::Person {
            email,
            secretariat: row.secretariat,
        }))
    }

    /// Who a session's token belongs to, while the token is not revoked.
    async fn live_holder(&self, token_id: Uuid) -> Result<Option<TokenHolder>, StoreError> {
        let Some(token) = api_token::Entity::find_by_id(token_id)
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        self.holder_of(token).await
    }

    /// Puts a sign-in on record: a token's on the token, a person's on their address,
    /// with which way they came (`via`: the provider's issuer and their subject there).
    pub async fn audit_sign_in(
        &self,
        holder: &Holder,
        via: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        #[derive(serde::Serialize)]
        struct Via<'a> {
            issuer: &'a str,
            subject: &'a str,
        }
        let (actor, entity, id) = match holder {
            Holder::Token(t) => (
                format!("dashboard:{}", t.email),
                "api_token",
                t.token_id.to_string(),
            ),
            Holder::Person { email, .. } => (format!("oidc:{email}"), "person", email.clone()),
        };
        let stamp = crate::Stamp {
            actor,
            at: now,
            today: now.date_naive(),
        };
        let _turn = self.turn().await?;
        let mut change = crate::audit::Change::new("session.open", entity, id);
        if let Some((issuer, subject)) = via {
            change = change.after(&Via { issuer, subject });
        }
        crate::audit::log(&self.db, &stamp, change).await
    }

    /// Ends every open session of the person at `email`, however they signed in (their
    /// own login, or any token of theirs), in one transaction with its audit row: the
    /// number ended.
    pub async fn end_sessions_of(
        &self,
        email: &hjul_wheel::Email,
        stamp: &crate::Stamp,
    ) -> Result<u64, StoreError> {
        use sea_orm::TransactionTrait;
        use sea_orm::sea_query::{Expr, Query};
        #[derive(serde::Serialize)]
        struct Ended {
            sessions: u64,
        }
        let _turn = self.turn().await?;
        let txn = self.db.begin().await?;
        let tokens = Query::select()
            .column(api_token::Column::Id)
            .from(api_token::Entity)
            .and_where(sea_orm::sea_query::ExprTrait::eq(
                Expr::col(api_token::Column::Email),
                email.as_str(),
            ))
            .to_owned();
        let ended = session::Entity::update_many()
            .col_expr(session::Column::EndedAt, Expr::value(stamp.at))
            .filter(session::Column::EndedAt.is_null())
            .filter(
                sea_orm::Condition::any()
                    .add(session::Column::Email.eq(email.as_str()))
                    .add(session::Column::TokenId.in_subquery(tokens)),
            )
            .exec(&txn)
            .await?
            .rows_affected;
        crate::audit::log(
            &txn,
            stamp,
            crate::audit::Change::new("session.end_all", "person", email.as_str())
                .after(&Ended { sessions: ended }),
        )
        .await?;
        txn.commit().await?;
        Ok(ended)
    }

    /// Ends the session a cookie names (signing out); the provider's ID token when it
    /// was a person's, to end the provider's session too.
    pub async fn end_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let id_token = session::Entity::find_by_id(hash(id))
            .one(&self.db)
            .await?
            .and_then(|row| row.id_token);
        let _turn = self.turn().await?;
        session::Entity::update_many()
            .col_expr(
                session::Column::EndedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(session::Column::Id.eq(hash(id)))
            .filter(session::Column::EndedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(id_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_long_and_random() {
        let (a, b) = (secret(), secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }
}
