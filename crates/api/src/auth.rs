//! Who is asking, and what they may see and do.
//!
//! - A secretariat token sees and does everything.
//! - A manager sees the subtree of the units they lead (the director: all), signs the
//!   agreements of the units directly below them, and records their own units' steps.
//! - A leader sees their own units and those below, and records their own units'
//!   dialogue, agreement and midway status.
//!
//! A unit outside what one sees is answered 404 (its existence is private); one that is
//! seen but not theirs to change, 403.

use std::collections::{HashMap, HashSet};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use hjul_store::{Role, Stamp, TokenHolder};

use crate::AppState;
use crate::problem::Problem;

pub const SESSION_COOKIE: &str = "hjul_session";

/// The token a request carries: `Authorization: Bearer …`, or the dashboard's cookie.
pub fn token_of(parts: &Parts) -> Option<String> {
    if let Some(auth) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = auth.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_owned());
    }
    cookie(parts, SESSION_COOKIE)
}

pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    cookie_in(&parts.headers, name)
}

/// The value of cookie `name` among a request's headers.
pub fn cookie_in(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A signed-in token holder, with the part of the organisation they see.
#[derive(Debug, Clone)]
pub struct Principal {
    pub holder: TokenHolder,
    /// The token itself (to derive the dashboard's CSRF token); never logged.
    pub token: String,
    /// `None` for the secretariat: everything.
    visible: Option<HashSet<String>>,
    parents: HashMap<String, Option<String>>,
}

impl Principal {
    pub fn role(&self) -> Role {
        self.holder.role
    }

    pub fn email(&self) -> &str {
        &self.holder.email
    }

    /// The stamp of a change made by this person, now.
    pub fn stamp(&self, state: &AppState) -> Stamp {
        let at = state.now();
        Stamp {
            actor: format!("api:{}", self.holder.email),
            at,
            today: state.today_at(at),
        }
    }

    pub fn sees(&self, unit: &str) -> bool {
        self.visible.as_ref().is_none_or(|v| v.contains(unit))
    }

    pub fn require_secretariat(&self, what: &str) -> Result<(), Problem> {
        if self.role() == Role::Secretariat {
            Ok(())
        } else {
            Err(Problem::forbidden(format!("{what} is for the secretariat")))
        }
    }

    fn seen(&self, unit: &str) -> Result<(), Problem> {
        if self.sees(unit) {
            Ok(())
        } else {
            Err(Problem::not_found(format!(
                "there is no unit `{unit}` you can see"
            )))
        }
    }

    /// May record the unit's own steps (dialogue, agreement, midway status).
    pub fn may_record(&self, unit: &str) -> Result<(), Problem> {
        if self.role() == Role::Secretariat {
            return Ok(());
        }
        self.seen(unit)?;
        if self.holder.leads.iter().any(|u| u == unit) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "only the leader of `{unit}` (or the secretariat) records its steps"
            )))
        }
    }

    /// May sign the unit's agreement: a manager, for the units directly below theirs.
    pub fn may_sign(&self, unit: &str) -> Result<(), Problem> {
        if self.role() == Role::Secretariat {
            return Ok(());
        }
        self.seen(unit)?;
        let parent = self.parents.get(unit).cloned().flatten();
        let below_mine = parent.is_some_and(|p| self.holder.leads.contains(&p));
        if self.role() == Role::Manager && below_mine {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "the agreement of `{unit}` is signed by the manager of the unit above it"
            )))
        }
    }

    pub fn may_see(&self, unit: &str) -> Result<(), Problem> {
        self.seen(unit)
    }
}

/// Works out a token's holder and their view of the organisation.
pub async fn principal(state: &AppState, token: &str) -> Result<Option<Principal>, Problem> {
    let Some(holder) = state.store().token_holder(token).await? else {
        return Ok(None);
    };
    if holder.role == Role::Secretariat {
        // Sees and does everything: no need to read the organisation on every request.
        return Ok(Some(Principal {
            holder,
            token: token.to_owned(),
            visible: None,
            parents: HashMap::new(),
        }));
    }
    let subtree = state.store().subtree_led_by(&holder.email).await?;
    let visible = Some(subtree.iter().map(|(id, _)| id.clone()).collect());
    let parents = subtree.into_iter().collect();
    Ok(Some(Principal {
        holder,
        token: token.to_owned(),
        visible,
        parents,
    }))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = token_of(parts).ok_or_else(Problem::unauthorized)?;
        principal(state, &token)
            .await?
            .ok_or_else(Problem::unauthorized)
    }
}
