//! Signing in and out of the dashboard, the language switch, and who a request is from.
//!
//! Signing in takes an access token once and opens a session on the server; the cookie
//! holds only the session's random id (HttpOnly, SameSite=Strict, Secure behind HTTPS).
//! Every form carries the session's CSRF value. Failed sign-ins from one address are
//! slowed down: after a few, each further try waits longer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hjul_wheel::Text;
use serde::Deserialize;

use super::words::Lang;
use super::{Page, error_page, local_path, read_form};
use crate::AppState;
use crate::auth::{Principal, cookie_in};

pub const SESSION_COOKIE: &str = "hjul_session";
pub const LANG_COOKIE: &str = "hjul_lang";
const LOGIN_CSRF_COOKIE: &str = "hjul_login_csrf";

/// A signed-in visitor of the dashboard; anyone else is sent to the sign-in page.
pub struct Visitor {
    pub who: Principal,
    pub lang: Lang,
    /// The path and query of this request (to come back to).
    pub path: String,
    /// The value this session's forms carry.
    pub csrf: String,
}

/// The language of a request: the switch's cookie, else Danish.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie_in(headers, LANG_COOKIE).as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Da,
    }
}

fn path_of(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned()
}

/// The sign-in page, to come back to `path` afterwards.
pub fn to_login(path: &str) -> Response {
    let next = local_path(path).unwrap_or("/");
    Redirect::to(&format!("/login?next={}", super::percent_encode(next))).into_response()
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.headers);
        let path = path_of(parts);
        let Some(id) = cookie_in(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(&path));
        };
        match state.core().session(&id).await {
            Ok(Some((session, actor))) => Ok(Self {
                who: Principal(actor),
                lang,
                path,
                csrf: session.csrf,
            }),
            Ok(None) => Err(to_login(&path)),
            Err(e) => {
                let mut p = crate::problem::Problem::from(e);
                p.audited = false;
                Err(error_page(state, lang, None, p))
            }
        }
    }
}

/// Adds a cookie (`NAME=value; attributes`) to `response`. When the request came over
/// HTTPS through a reverse proxy (`X-Forwarded-Proto: https`) it is `Secure`, so the
/// browser never sends it over plain HTTP, and named `__Host-NAME` with `Path=/`: the
/// browser then takes it only from this very host, so another host of the same domain
/// cannot plant a session or a sign-in of its own (`cookie_in` reads that name only).
/// hjul itself speaks plain HTTP, for 127.0.0.1 or behind such a proxy.
pub fn set_cookie(response: &mut Response, request: &HeaderMap, cookie: &str) {
    let cookie = if crate::auth::over_https(request) {
        let (pair, attributes) = cookie.split_once(';').unwrap_or((cookie, ""));
        let kept: Vec<&str> = attributes
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty() && !a.to_ascii_lowercase().starts_with("path="))
            .collect();
        let mut out = format!("__Host-{}", pair.trim());
        for a in kept {
            out.push_str("; ");
            out.push_str(a);
        }
        out.push_str("; Path=/; Secure");
        out
    } else {
        cookie.to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Failed sign-ins per address: after [`FREE_TRIES`] within [`WINDOW`], each further try
/// must wait twice as long as the one before (up to [`LONGEST_WAIT`]).
#[derive(Default)]
pub struct SignInLimiter(Mutex<HashMap<IpAddr, (u32, Instant)>>);

const FREE_TRIES: u32 = 5;
const WINDOW: Duration = Duration::from_secs(15 * 60);
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered at most (the oldest are forgotten first).
const REMEMBERED: usize = 10_000;

impl SignInLimiter {
    /// How long `ip` must still wait before it may try again.
    pub fn wait(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (failures, last) = *map.get(&ip)?;
        if failures < FREE_TRIES || now.duration_since(last) > WINDOW {
            return None;
        }
        let wait = Duration::from_secs(1 << (failures - FREE_TRIES).min(10)).min(LONGEST_WAIT);
        let ready = last + wait;
        (ready > now).then(|| ready - now)
    }

    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= REMEMBERED
            && !map.contains_key(&ip)
            && let Some(oldest) = map.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        let entry = map.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) > WINDOW {
            entry.0 = 0;
        }
        entry.0 += 1;
        entry.1 = now;
    }

    pub fn succeeded(&self, ip: IpAddr) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(&ip);
    }
}

fn peer(parts_extensions: &axum::http::Extensions) -> IpAddr {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<Next>,
) -> Response {
    show_login(&state, &headers, q.next.as_deref(), None, StatusCode::OK).await
}

pub(super) async fn show_login(
    state: &AppState,
    headers: &HeaderMap,
    next: Option<&str>,
    error: Option<Text>,
    status: StatusCode,
) -> Response {
    let lang = lang_of(headers);
    let tokens = state.core().token_sign_in().await;
    let csrf = uuid::Uuid::new_v4().simple().to_string();
    let next = next.and_then(local_path).unwrap_or("/");
    let mut response = Page::new(state, lang, "login.html", "login.title")
        .at("/login")
        .error(error.map(|t| state.words().text(lang, &t)))
        .status(status)
        .render(LoginPage {
            csrf: csrf.clone(),
            next,
            next_encoded: super::percent_encode(next),
            oidc_name: state.core().oidc().map(|o| o.settings().name.clone()),
            tokens,
        });
    set_cookie(
        &mut response,
        headers,
        &format!("{LOGIN_CSRF_COOKIE}={csrf}; HttpOnly; SameSite=Strict; Path=/login"),
    );
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

pub async fn login(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers.clone();
    let ip = peer(&parts.extensions);
    let req = axum::extract::Request::from_parts(parts, body);
    let form: LoginForm = match read_form(req, 16 * 1024).await {
        Ok(f) => f,
        Err(p) => return error_page(&state, lang_of(&headers), None, p),
    };
    let now = Instant::now();
    let wait = state.sign_in().wait(ip, now);
    let expected = cookie_in(&headers, LOGIN_CSRF_COOKIE);
    if form.csrf.is_empty() || expected.as_deref() != Some(form.csrf.as_str()) {
        return show_login(
            &state,
            &headers,
            Some(&form.next),
            Some(Text::new("login.stale")),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if !state.core().token_sign_in().await {
        return show_login(
            &state,
            &headers,
            Some(&form.next),
            Some(Text::new("login.tokens_off")),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let token = form.token.trim();
    let opened = state.core().open_session(token).await;
    // While an address waits, a wrong token is answered "wait" and not counted; a right
    // one still signs in: behind a proxy every sign-in shares the proxy's address, and a
    // token (244 random bits) is not guessed by trying, so one person's mistakes must not
    // lock everyone out.
    if let (Some(wait), Ok(None)) = (wait, &opened) {
        state
            .core()
            .metrics()
            .sign_in_refused(hjul_metrics::Refusal::Throttled);
        let mut r = show_login(
            &state,
            &headers,
            Some(&form.next),
            Some(Text::new("login.wait").arg("seconds", wait.as_secs().max(1))),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    match opened {
        Ok(Some(hjul_app::Opened { secret: id, .. })) => {
            state.sign_in().succeeded(ip);
            let next = local_path(&form.next).unwrap_or("/");
            let mut r = Redirect::to(next).into_response();
            set_cookie(
                &mut r,
                &headers,
                &format!(
                    "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
                    hjul_store::sessions::LONGEST.num_seconds()
                ),
            );
            r
        }
        Ok(None) => {
            state.sign_in().failed(ip, now);
            tracing::info!(%ip, "a sign-in with an unknown or revoked token");
            show_login(
                &state,
                &headers,
                Some(&form.next),
                Some(Text::new("login.unknown")),
                StatusCode::UNAUTHORIZED,
            )
            .await
        }
        Err(e) => error_page(&state, lang_of(&headers), None, e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    v: Visitor,
    req: axum::extract::Request,
) -> Response {
    let headers = req.headers().clone();
    let form: CsrfForm = match read_form(req, 4 * 1024).await {
        Ok(f) => f,
        Err(p) => return super::refuse(&state, &v, "sign out", ("session", "-"), p).await,
    };
    if !super::fresh(&v, &form.csrf) {
        return super::refuse(
            &state,
            &v,
            "sign out",
            ("session", "-"),
            super::stale_problem(),
        )
        .await;
    }
    // A person who came in with the municipality's login is signed out there too,
    // when the provider offers it; it sends them back to the sign-in page.
    let provider = match cookie_in(&headers, SESSION_COOKIE) {
        Some(id) => state.core().sign_out(&id).await.ok().flatten(),
        None => None,
    };
    let mut r = match provider {
        // A page that goes on to the provider, not a redirect: the sign-out button's
        // page allows its forms to lead only to this site (`form-action 'self'`).
        Some(url) => super::oidc::going_on(
            Page::new(&state, v.lang, "signed_out.html", "login.signed_out")
                .at("/login")
                .render(super::oidc::GoingOn {
                    to: url.as_str(),
                    name: state
                        .core()
                        .oidc()
                        .map(|o| o.settings().name.clone())
                        .unwrap_or_default(),
                }),
            url.as_str(),
        ),
        None => Redirect::to("/login").into_response(),
    };
    set_cookie(
        &mut r,
        &headers,
        &format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    r
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

pub async fn set_lang(
    Path(lang): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(b): axum::extract::Query<Back>,
) -> Response {
    let lang = if lang == "en" { "en" } else { "da" };
    let back = b.back.as_deref().and_then(local_path).unwrap_or("/");
    let mut r = Redirect::to(back).into_response();
    set_cookie(
        &mut r,
        &headers,
        &format!("{LANG_COOKIE}={lang}; SameSite=Lax; Path=/; Max-Age=31536000"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_sign_ins_are_slowed_down() {
        let l = SignInLimiter::default();
        let ip = IpAddr::from([10, 0, 0, 1]);
        let t0 = Instant::now();
        for _ in 0..FREE_TRIES {
            assert_eq!(l.wait(ip, t0), None);
            l.failed(ip, t0);
        }
        assert_eq!(l.wait(ip, t0), Some(Duration::from_secs(1)));
        l.failed(ip, t0);
        assert_eq!(l.wait(ip, t0), Some(Duration::from_secs(2)));
        // Another address is not held up.
        assert_eq!(l.wait(IpAddr::from([10, 0, 0, 2]), t0), None);
        // After the window, the slate is clean.
        assert_eq!(l.wait(ip, t0 + WINDOW + Duration::from_secs(1)), None);
        l.succeeded(ip);
        assert_eq!(l.wait(ip, t0), None);
    }

    #[test]
    fn cookies_are_secure_behind_an_https_proxy_only() {
        let cookie_of = |proto: Option<&str>| {
            let mut request = HeaderMap::new();
            if let Some(p) = proto {
                request.insert("x-forwarded-proto", HeaderValue::from_str(p).unwrap());
            }
            let mut response = Redirect::to("/").into_response();
            set_cookie(&mut response, &request, "a=b; HttpOnly; Path=/login");
            response.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(cookie_of(None), "a=b; HttpOnly; Path=/login");
        assert_eq!(cookie_of(Some("http")), "a=b; HttpOnly; Path=/login");
        assert_eq!(
            cookie_of(Some("HTTPS")),
            "__Host-a=b; HttpOnly; Path=/; Secure"
        );
        // Over HTTPS only the host's own name is read: a planted plain one is not.
        let read = |proto: Option<&str>, cookies: &str| {
            let mut request = HeaderMap::new();
            if let Some(p) = proto {
                request.insert("x-forwarded-proto", HeaderValue::from_str(p).unwrap());
            }
            request.insert(header::COOKIE, HeaderValue::from_str(cookies).unwrap());
            cookie_in(&request, "a")
        };
        assert_eq!(
            read(Some("https"), "a=planted; __Host-a=own").as_deref(),
            Some("own")
        );
        assert_eq!(read(Some("https"), "a=planted"), None);
        assert_eq!(read(None, "a=plain").as_deref(), Some("plain"));
    }
}

/// What the sign-in page (`login.html`) shows: its own CSRF value (no session yet) and
/// where to go once signed in.
#[derive(serde::Serialize)]
struct LoginPage<'a> {
    csrf: String,
    next: &'a str,
    /// `next` for a link's query.
    next_encoded: String,
    /// The municipality's login on the button, when it is set up.
    oidc_name: Option<String>,
    /// Whether the token form is offered.
    tokens: bool,
}
