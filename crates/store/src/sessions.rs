//! Sign-in sessions of the dashboard, kept on the server. The cookie holds a random id;
//! the database keeps its SHA-256, the token it was opened with and the session's own
//! CSRF value. A session ends when its holder signs out, when it has been idle or open
//! too long, and when its token is revoked.

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

/// A session as a request finds it.
#[derive(Debug, Clone)]
pub struct Session {
    pub holder: TokenHolder,
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
        let id = secret();
        let csrf = secret();
        let expires_at = now + LONGEST;
        let _turn = self.turn().await?;
        session::Entity::insert(session::ActiveModel {
            id: Set(hash(&id)),
            token_id: Set(holder.token_id),
            csrf: Set(csrf.clone()),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(expires_at),
            ended_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(Some((
            id,
            Session {
                holder,
                csrf,
                expires_at,
            },
        )))
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
        let Some(holder) = self.live_holder(row.token_id).await? else {
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
        Ok(self.live_holder(row.token_id).await?.map(|holder| Session {
            holder,
            csrf: row.csrf,
            expires_at: row.expires_at,
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

    /// Puts a sign-in on record.
    pub async fn audit_sign_in(
        &self,
        holder: &TokenHolder,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let stamp = crate::Stamp {
            actor: format!("dashboard:{}", holder.email),
            at: now,
            today: now.date_naive(),
        };
        let _turn = self.turn().await?;
        crate::audit::log(
            &self.db,
            &stamp,
            crate::audit::Change::new("session.open", "api_token", holder.token_id.to_string()),
        )
        .await
    }

    /// Ends the session a cookie names (signing out).
    pub async fn end_session(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
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
        Ok(())
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
