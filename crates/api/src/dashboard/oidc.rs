//! Signing in with the municipality's own login: the dashboard's two addresses for it.
//!
//! `GET /login/oidc` sends the browser to the provider, with what it must bring back
//! kept in a short-lived cookie; `GET /login/oidc/callback` is where the provider sends
//! it back. Everything else — the protocol, who the person is in the organisation, the
//! session, the audit — is the core's.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hjul_app::{Flow, PersonSignIn, SignInError};
use hjul_wheel::Text;
use serde::Deserialize;

use super::sessions::{SESSION_COOKIE, lang_of, set_cookie};
use super::{Page, error_page, local_path};
use crate::AppState;
use crate::auth::cookie_in;
use crate::problem::Problem;

/// Holds the sign-in's `state`, PKCE verifier, nonce and where to go afterwards, from
/// leaving for the provider until coming back. `SameSite=Lax`: the provider's answer is
/// a navigation from another site, on which a `Strict` cookie would not be sent.
const FLOW_COOKIE: &str = "hjul_oidc";
/// Minutes a person has at the provider before the sign-in must start again.
const FLOW_MINUTES: i64 = 15;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `GET /login/oidc`: to the provider.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let lang = lang_of(&headers);
    let Some(oidc) = state.core().oidc() else {
        return error_page(&state, lang, None, no_oidc());
    };
    let next = q.next.as_deref().and_then(local_path).unwrap_or("/");
    match oidc.begin(next).await {
        Ok((url, flow)) => {
            let mut r = Redirect::to(url.as_str()).into_response();
            set_cookie(
                &mut r,
                &headers,
                &format!(
                    "{FLOW_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/login/oidc; Max-Age={}",
                    flow.to_cookie(),
                    FLOW_MINUTES * 60
                ),
            );
            r
        }
        Err(e) => {
            // On record when it was asked and failed now: at most once a minute (a
            // provider that failed is not asked again sooner), so a crowd at a dead
            // provider, or anyone at all, cannot fill the log.
            if matches!(e, SignInError::Unreachable { .. }) {
                state.core().audit_failed_sign_in(&e.to_string()).await;
            }
            provider_down(&state, &headers, &e).await
        }
    }
}

#[derive(Deserialize)]
pub struct Answer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /login/oidc/callback`: the provider's answer.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(answer): Query<Answer>,
) -> Response {
    let lang = lang_of(&headers);
    let Some(oidc) = state.core().oidc() else {
        return error_page(&state, lang, None, no_oidc());
    };
    let flow = cookie_in(&headers, FLOW_COOKIE).and_then(|c| Flow::from_cookie(&c));
    let under_way = flow.is_some();
    let (Some(flow), Some(code), Some(answered)) = (flow, answer.code, answer.state) else {
        // The provider said no (the person cancelled, or is not let in), or this is an
        // old tab, a bookmark of the answer, or the cookie ran out.
        // On record only when this browser had a sign-in under way (its cookie): anyone
        // can call this address, and the log is kept for good.
        if under_way {
            let why = match &answer.error {
                Some(error) => format!(
                    "the provider answered {}: {}",
                    hjul_wheel::limits::clip(error, 100),
                    hjul_wheel::limits::clip(
                        answer.error_description.as_deref().unwrap_or(""),
                        300
                    )
                ),
                None => "an answer without a code or state".into(),
            };
            state.core().audit_failed_sign_in(&why).await;
        } else {
            tracing::info!(
                error = answer.error.as_deref().unwrap_or(""),
                "an answer from the sign-in provider with no sign-in of this browser to finish (no or an old cookie)"
            );
        }
        return again(&state, &headers, Text::new("login.oidc_again")).await;
    };
    let who = match oidc.finish(&flow, &answered, &code).await {
        Ok(who) => who,
        Err(e) => {
            if !matches!(e, SignInError::StillDown { .. }) {
                state.core().audit_failed_sign_in(&e.to_string()).await;
            }
            return if e.is_down() {
                provider_down(&state, &headers, &e).await
            } else {
                again(&state, &headers, Text::new("login.oidc_again")).await
            };
        }
    };
    match state.core().open_person_session(who).await {
        Ok(PersonSignIn::Opened(opened)) => {
            let next = local_path(&flow.next).unwrap_or("/");
            // A page that goes on by itself, not a redirect: the session cookie is
            // `SameSite=Strict`, and a redirect that is still part of the provider's
            // navigation would arrive without it.
            let mut r = going_on(
                Page::new(&state, lang, "signed_in.html", "login.signed_in")
                    .at("/login")
                    .render(GoingOn {
                        to: next,
                        name: oidc.settings().name.clone(),
                    }),
                next,
            );
            set_cookie(
                &mut r,
                &headers,
                &format!(
                    "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                    opened.secret,
                    hjul_store::sessions::LONGEST.num_seconds()
                ),
            );
            forget_flow(&mut r, &headers);
            r
        }
        Ok(PersonSignIn::Unknown { email }) => {
            let mut r = Page::new(&state, lang, "unknown_person.html", "login.unknown_person")
                .at("/login")
                .status(StatusCode::FORBIDDEN)
                .render(UnknownPerson {
                    email,
                    secretariat: state.secretariat_email().to_owned(),
                });
            forget_flow(&mut r, &headers);
            r
        }
        Err(e) => error_page(&state, lang, None, e.into()),
    }
}

/// The municipality's login is not set up here (`[auth.oidc]`): no such page.
fn no_oidc() -> Problem {
    Problem::not_found("the municipality's sign-in is not set up here")
        .text(Text::new("error.no_page"))
}

fn forget_flow(r: &mut Response, headers: &HeaderMap) {
    set_cookie(
        r,
        headers,
        &format!("{FLOW_COOKIE}=; HttpOnly; SameSite=Lax; Path=/login/oidc; Max-Age=0"),
    );
}

/// The sign-in page again, with why.
async fn again(state: &AppState, headers: &HeaderMap, why: Text) -> Response {
    super::sessions::show_login(state, headers, None, Some(why), StatusCode::BAD_REQUEST).await
}

/// The provider does not answer: say so in the person's words, and offer the token.
async fn provider_down(state: &AppState, headers: &HeaderMap, e: &SignInError) -> Response {
    tracing::warn!(error = %e, "the sign-in provider cannot be used");
    super::sessions::show_login(
        state,
        headers,
        None,
        Some(Text::new("login.oidc_down")),
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await
}

/// What `signed_in.html` and `signed_out.html` show while the browser goes on `to`
/// (the page signed in for, or the provider's sign-out), with a link in case it does not.
#[derive(serde::Serialize)]
pub(super) struct GoingOn<'a> {
    pub to: &'a str,
    /// The municipality's login, by name.
    pub name: String,
}

/// `page`, which the browser leaves for `to` at once (`Refresh: 0`): a navigation of
/// this site's own page, so the `SameSite=Strict` session cookie goes with it, and no
/// form leads off the site.
pub(super) fn going_on(mut page: Response, to: &str) -> Response {
    // Header bytes are read as Latin-1: a letter beyond ASCII in `to` (`?q=æ`) goes
    // percent-encoded, as a browser would have sent it.
    let to: String = to
        .bytes()
        .map(|b| {
            if b.is_ascii() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("0; url={to}")) {
        page.headers_mut()
            .insert(axum::http::HeaderName::from_static("refresh"), v);
    }
    page
}

/// What `unknown_person.html` shows: who signed in, and whom to ask.
#[derive(serde::Serialize)]
struct UnknownPerson {
    email: String,
    secretariat: String,
}
