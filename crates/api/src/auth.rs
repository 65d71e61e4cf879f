//! Who is asking, and what they may see and do.
//!
//! - A secretariat token sees and does everything.
//! - A manager sees the subtree of the units they lead (the director: all) and acts for
//!   the units there as the wheel's definition says: as the leader of their own units,
//!   as the superior of the units directly below (signing their agreements, holding their
//!   dialogues), and so on.
//! - A leader sees their own units and those below, and acts only as the leader of their
//!   own units (dialogue, agreement, midway status).
//!
//! Which party records which event is not decided here: it is asked of the wheel
//! (`WheelDefinition::may_record`), so the API, the dashboard and the command line
//! cannot disagree. A unit outside what one sees is answered 404 (its existence is
//! private); one that is seen but not theirs to change, 403.
//!
//! The API takes a bearer token only; the dashboard's session cookie is not accepted
//! there, so a page on another site cannot use a signed-in browser to call it.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use hjul_app::Actor;
use hjul_store::{Role, Stamp};
use hjul_wheel::{EventKind, UnitId};

use crate::AppState;
use crate::problem::Problem;

/// The bearer token of a request, if it has one.
pub fn bearer(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 200)
}

/// Whether a request came over HTTPS through a reverse proxy (`X-Forwarded-Proto:
/// https`).
pub fn over_https(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// The value of hjul's cookie `name` among a request's headers. Over HTTPS hjul's
/// cookies are named `__Host-NAME` (see `set_cookie`), and only that name is read: a
/// cookie of the plain name could have been planted by another host of the same domain.
pub fn cookie_in(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    let wanted = if over_https(headers) {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    };
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == wanted)
        .map(|(_, v)| v.to_owned())
}

/// A signed-in token holder, with the part of the organisation they see: the core's
/// [`Actor`], whose access rules every front end asks.
#[derive(Debug, Clone)]
pub struct Principal(pub Actor);

impl std::ops::Deref for Principal {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.0
    }
}

impl Principal {
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// The stamp of a change made by this person, now.
    pub fn stamp(&self, state: &AppState) -> Stamp {
        state.core().stamp(&self.0)
    }

    pub fn require_secretariat(&self, what: &'static str) -> Result<(), Problem> {
        Ok(self.0.require_secretariat(what)?)
    }

    /// The unit, as a typed id, when this person sees it: text that is no unit's id is
    /// answered as a unit they cannot see.
    pub fn may_see(&self, unit: &str) -> Result<UnitId, Problem> {
        Ok(self.0.may_see(unit)?)
    }

    /// May record an event of `kind` for the unit: asked of the wheel's definition.
    /// The unit, as a typed id, when this person may.
    pub fn may(&self, state: &AppState, kind: EventKind, unit: &str) -> Result<UnitId, Problem> {
        Ok(self.0.may(&state.core().wheel().definition, kind, unit)?)
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts) else {
            let cookie = cookie_in(&parts.headers, crate::dashboard::SESSION_COOKIE).is_some();
            return Err(if cookie {
                Problem::unauthorized().detail(
                    "the API takes a bearer token (`Authorization: Bearer <token>`); the dashboard's sign-in is not accepted here",
                )
            } else {
                Problem::unauthorized()
            });
        };
        let actor = state.core().token_actor(&token).await.map_err(|e| {
            let mut p = Problem::from(e);
            p.audited = false;
            p
        })?;
        Ok(Principal(actor.ok_or_else(Problem::unauthorized)?))
    }
}
