//! Bearer tokens for the HTTP API and the dashboard. A token is shown once, when it is
//! made; only its SHA-256 is kept, so the database cannot give it away.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::entity::{api_token, person};
use crate::{Stamp, Store, StoreError};

/// The fewest characters of a token's id that `revoke_token` takes.
pub const MIN_ID_PREFIX: usize = 8;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and does everything.
    Secretariat,
    /// Sees the subtree of the units they lead; signs the agreements directly below.
    Manager,
    /// Sees their units and those below; records their own units' steps.
    Leader,
}

impl Role {
    pub const ALL: [Role; 3] = [Self::Secretariat, Self::Manager, Self::Leader];

    pub fn key(self) -> &'static str {
        match self {
            Self::Secretariat => "secretariat",
            Self::Manager => "manager",
            Self::Leader => "leader",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == text)
    }
}

/// A token as the program sees it after checking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenHolder {
    pub token_id: Uuid,
    pub role: Role,
    pub email: String,
    /// The person's name as the organisation file gives it (the address when they lead
    /// no unit, such as the secretariat's).
    pub name: String,
    /// The active units this person leads.
    pub leads: Vec<String>,
}

/// The hex SHA-256 of a token.
pub fn hash(token: &str) -> String {
    crate::reports::sha256(token.as_bytes())
}

fn new_token() -> String {
    // Two v4 UUIDs from the operating system's random source: 244 random bits.
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("hjul_{hex}")
}

#[derive(Serialize)]
struct TokenRecord<'a> {
    role: &'a str,
    email: &'a str,
    note: Option<&'a str>,
}

impl Store {
    /// Makes a token; returns it (to show once) and its record. A manager or leader
    /// token must belong to someone who leads an active unit.
    pub async fn create_token(
        &self,
        role: Role,
        email: &str,
        note: Option<&str>,
        stamp: &Stamp,
    ) -> Result<(String, api_token::Model), StoreError> {
        let email = hjul_wheel::Email::parse(email)
            .map_err(StoreError::BadAddress)?
            .to_string();
        // A named deputy may get one too: what they may do is asked at each request
        // (as a deputy, only while their period is in force).
        if role != Role::Secretariat
            && self.units_led_by(&email).await?.is_empty()
            && !self.directory().await?.is_named_deputy(&email)
        {
            return Err(StoreError::LeadsNothing { email, role });
        }
        let token = new_token();
        let model = api_token::Model {
            id: Uuid::now_v7(),
            hash: hash(&token),
            role: role.key().to_owned(),
            email: email.clone(),
            note: note.map(str::to_owned),
            created_at: stamp.at,
            revoked_at: None,
        };
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            api_token::Entity::insert(model.clone().into_active_model())
                .exec_without_returning(&txn)
                .await?;
            audit::log(
                &txn,
                stamp,
                Change::new("token.create", "api_token", model.id.to_string()).after(
                    &TokenRecord {
                        role: role.key(),
                        email: &email,
                        note,
                    },
                ),
            )
            .await?;
            txn.commit().await?;
            Ok((token.clone(), model.clone()))
        })
    }

    /// Revokes a token by its id, or the start of its id (at least
    /// [`MIN_ID_PREFIX`] characters, so a slip of the finger cannot revoke someone else's).
    pub async fn revoke_token(
        &self,
        id: &str,
        stamp: &Stamp,
    ) -> Result<api_token::Model, StoreError> {
        let wanted = id.trim().to_lowercase();
        if wanted.chars().count() < MIN_ID_PREFIX {
            return Err(StoreError::TokenIdTooShort(wanted));
        }
        let matches: Vec<api_token::Model> = self
            .tokens()
            .await?
            .into_iter()
            .filter(|t| t.revoked_at.is_none() && t.id.to_string().starts_with(&wanted))
            .collect();
        let token = match matches.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(StoreError::NoSuchToken(wanted));
            }
            _ => {
                return Err(StoreError::AmbiguousToken {
                    start: wanted,
                    count: matches.len(),
                });
            }
        };
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let mut am = token.clone().into_active_model();
            am.revoked_at = Set(Some(stamp.at));
            let revoked = am.update(&txn).await?;
            // Whoever is signed in with it is signed out.
            crate::entity::session::Entity::update_many()
                .col_expr(
                    crate::entity::session::Column::EndedAt,
                    sea_orm::sea_query::Expr::value(stamp.at),
                )
                .filter(crate::entity::session::Column::TokenId.eq(token.id))
                .filter(crate::entity::session::Column::EndedAt.is_null())
                .exec(&txn)
                .await?;
            audit::log(
                &txn,
                stamp,
                Change::new("token.revoke", "api_token", token.id.to_string()).before(
                    &TokenRecord {
                        role: &token.role,
                        email: &token.email,
                        note: token.note.as_deref(),
                    },
                ),
            )
            .await?;
            txn.commit().await?;
            Ok(revoked)
        })
    }

    pub async fn tokens(&self) -> Result<Vec<api_token::Model>, StoreError> {
        // Made in the same second, the ids (time-ordered) still tell which came first.
        Ok(api_token::Entity::find()
            .order_by_asc(api_token::Column::CreatedAt)
            .order_by_asc(api_token::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The holder of a token, if the token is known and not revoked.
    pub async fn token_holder(&self, token: &str) -> Result<Option<TokenHolder>, StoreError> {
        let Some(t) = api_token::Entity::find()
            .filter(api_token::Column::Hash.eq(hash(token)))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        self.holder_of(t).await
    }

    pub(crate) async fn holder_of(
        &self,
        t: api_token::Model,
    ) -> Result<Option<TokenHolder>, StoreError> {
        let Some(role) = Role::parse(&t.role) else {
            return Ok(None);
        };
        let leads = self.units_led_by(&t.email).await?;
        let name = person::Entity::find()
            .filter(person::Column::Email.eq(t.email.as_str()))
            .one(&self.db)
            .await?
            .map_or_else(|| t.email.clone(), |p| p.name);
        Ok(Some(TokenHolder {
            token_id: t.id,
            role,
            email: t.email,
            name,
            leads,
        }))
    }

    /// The active units a person leads.
    pub async fn units_led_by(&self, email: &str) -> Result<Vec<String>, StoreError> {
        // From the kept directory: every request of a leader or manager asks this.
        let mut ids = self.directory().await?.led_by(email).to_vec();
        ids.sort();
        Ok(ids)
    }
}

impl Store {
    /// The units `email` leads (active ones) and every unit below them, each with its
    /// parent and level: what a manager's or leader's token sees. Walked in the directory
    /// the store keeps until the organisation changes, so a request costs one read of
    /// the organisation's version and the subtree's own size, not a query of the tree.
    pub async fn subtree_led_by(&self, email: &str) -> Result<Vec<SubtreeUnit>, StoreError> {
        Ok(self.directory().await?.subtree_led_by(email))
    }
}

/// A unit in the part of the organisation a token's holder sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtreeUnit {
    pub id: String,
    pub parent: Option<String>,
    pub level: i16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with("hjul_") && a.len() == 5 + 64);
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Role::parse("manager"), Some(Role::Manager));
        assert_eq!(Role::parse("admin"), None);
    }
}
