//! Signing in with the municipality's login, hjul's half, against a provider the test
//! words: a real HTTP server on 127.0.0.1 (discovery, keys, token endpoint) whose ID
//! tokens are signed with a key it never published, made for another nonce, expired, or
//! from another issuer, whose codes are good once, whose keys rotate while hjul runs, and
//! which stops answering. Each is refused with the sign-in page's words and a row in the
//! audit log. (The provider's own sign-in page, and a whole sign-in in Chromium through a
//! certified provider, are the browser test's: `browser.rs`.)
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use hjul_app::{Flow, OidcSettings};
use hjul_store::{CurrentWheel, Store};
use hjul_tests::{TestDb, skovby_with_themes, stories};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use tower::ServiceExt;

stories!(
    a_sign_in_is_checked_before_it_opens_a_session,
    a_provider_that_does_not_answer_is_said_so,
    with_token_sign_in_off_a_token_opens_the_api_but_not_the_dashboard,
    a_leader_replaced_in_the_organisation_has_no_rights_at_the_next_click,
);

const KEY_1: &str = include_str!("../fixtures/oidc-test-key-1.pem");
const KEY_2: &str = include_str!("../fixtures/oidc-test-key-2.pem");

/// What the provider's next ID token gets wrong, if anything.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Twist {
    None,
    /// Signed with a key the provider never published.
    UnknownKey,
    /// Made for another sign-in's nonce.
    OtherNonce,
    /// Its time ran out an hour ago.
    Expired,
    /// Says another provider made it.
    OtherIssuer,
    /// Its claims changed after it was signed.
    Tampered,
    /// The provider says the address is not verified.
    Unverified,
}

struct Provider {
    issuer: String,
    /// The keys it publishes (their PEM and id), and the one it signs with (by index).
    published: Vec<(&'static str, &'static str)>,
    signs_with: usize,
    twist: Twist,
    /// The nonce and address of the next token (the test reads the nonce from hjul's
    /// cookie, as the real provider reads it from the sign-in request).
    nonce: String,
    email: String,
    codes_used: HashSet<String>,
}

type Shared = Arc<Mutex<Provider>>;

fn key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into()))).unwrap()
}

async fn discovery(State(p): State<Shared>) -> impl IntoResponse {
    let issuer = p.lock().unwrap().issuer.clone();
    axum::Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(p): State<Shared>) -> impl IntoResponse {
    let keys = p
        .lock()
        .unwrap()
        .published
        .iter()
        .map(|(pem, kid)| key(pem, kid).as_verification_key())
        .collect();
    axum::Json(CoreJsonWebKeySet::new(keys))
}

async fn token(State(p): State<Shared>, body: String) -> axum::response::Response {
    let code = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let mut p = p.lock().unwrap();
    if !p.codes_used.insert(code) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "invalid_grant", "error_description": "code already used"})),
        )
            .into_response();
    }
    let now = Utc::now();
    let (issuer, expires) = match p.twist {
        Twist::OtherIssuer => (
            "https://login.another.example".to_owned(),
            now + Duration::minutes(5),
        ),
        Twist::Expired => (p.issuer.clone(), now - Duration::hours(1)),
        _ => (p.issuer.clone(), now + Duration::minutes(5)),
    };
    let nonce = match p.twist {
        Twist::OtherNonce => "another-sign-in".to_owned(),
        _ => p.nonce.clone(),
    };
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(issuer).unwrap(),
        vec![Audience::new("hjul".into())],
        expires,
        now - Duration::minutes(1),
        StandardClaims::new(SubjectIdentifier::new(format!("sub-{}", p.email)))
            .set_email(Some(EndUserEmail::new(p.email.clone())))
            .set_email_verified(Some(p.twist != Twist::Unverified)),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce)));
    let signer = match p.twist {
        Twist::UnknownKey => key(KEY_2, "never-published"),
        _ => {
            let (pem, kid) = p.published[p.signs_with];
            key(pem, kid)
        }
    };
    let mut id_token = CoreIdToken::new(
        claims,
        &signer,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .unwrap()
    .to_string();
    if p.twist == Twist::Tampered {
        // The payload re-encoded with another address; the signature left as it was.
        let parts: Vec<&str> = id_token.split('.').collect();
        let payload = String::from_utf8(base64_url_decode(parts[1])).unwrap();
        let changed = payload.replace(&p.email, "dorte.holm@skovby.dk");
        id_token = format!(
            "{}.{}.{}",
            parts[0],
            base64_url_encode(changed.as_bytes()),
            parts[2]
        );
    }
    axum::Json(serde_json::json!({
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_url_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = B64.iter().position(|b| *b == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

fn base64_url_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64[((v >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The provider on a free port, publishing key 1.
async fn provider() -> (Shared, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let shared = Arc::new(Mutex::new(Provider {
        issuer,
        published: vec![(KEY_1, "k1")],
        signs_with: 0,
        twist: Twist::None,
        nonce: String::new(),
        email: "bo.nielsen@skovby.dk".into(),
        codes_used: HashSet::new(),
    }));
    let app = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(Arc::clone(&shared));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (shared, server)
}

/// The provider, and the service signing people in with it (tokens offered too).
async fn signing_in(db: &TestDb) -> (Shared, tokio::task::JoinHandle<()>, axum::Router) {
    let (p, server) = provider().await;
    let issuer = p.lock().unwrap().issuer.clone();
    let app = hjul_tests::service_with(
        db,
        CurrentWheel::builtin(),
        now,
        Some(settings(&issuer)),
        true,
    )
    .await
    .router();
    (p, server, app)
}

fn settings(issuer: &str) -> OidcSettings {
    OidcSettings {
        issuer: issuer.to_owned(),
        client_id: "hjul".into(),
        client_secret: Some("hemmelig".into()),
        scopes: vec!["email".into()],
        email_claim: "email".into(),
        groups_claim: "groups".into(),
        secretariat_group: None,
        name: "Skovby Kommune".into(),
        redirect_url: "http://hjul.test/login/oidc/callback".into(),
        post_logout_url: "http://hjul.test/login".into(),
    }
}

fn now() -> DateTime<Utc> {
    hjul_tests::eight("2026-05-15") + Duration::hours(2)
}

struct Answer {
    status: StatusCode,
    cookies: Vec<String>,
    location: String,
    body: String,
}

async fn get_page(app: &axum::Router, path: &str, cookie: Option<&str>) -> Answer {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

/// A request's answer, read.
async fn send(app: &axum::Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        cookies,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// `name=value` of the cookie `name` an answer sets.
fn cookie(a: &Answer, name: &str) -> Option<String> {
    a.cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// A dashboard session opened with a token: its cookie.
async fn sign_in_with_token(app: &axum::Router, token: &str) -> String {
    let page = get_page(app, "/login", None).await;
    let csrf = cookie(&page, "hjul_login_csrf").unwrap();
    let value = csrf.split_once('=').unwrap().1.to_owned();
    let a = post_form(
        app,
        "/login",
        &csrf,
        &format!("csrf={value}&token={token}&next=/"),
    )
    .await;
    cookie(&a, "hjul_session").expect("a session")
}

async fn post_form(app: &axum::Router, path: &str, cookie: &str, body: &str) -> Answer {
    let req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    send(app, req).await
}

/// The value of the field `name` in the form `id` of a page.
fn form_value(html: &str, id: &str, name: &str) -> String {
    let form = &html[html.find(&format!("id=\"{id}\"")).unwrap()..];
    let at = form.find(&format!("name=\"{name}\" value=\"")).unwrap();
    let rest = &form[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Leaves hjul for the provider: the flow hjul's cookie holds, and the cookie.
async fn leave(app: &axum::Router, p: &Shared) -> (Flow, String) {
    let a = get_page(app, "/login/oidc?next=/units/dt-nord-1", None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let issuer = p.lock().unwrap().issuer.clone();
    assert!(
        a.location.starts_with(&format!("{issuer}/auth?")),
        "{}",
        a.location
    );
    assert!(
        a.location.contains("code_challenge_method=S256"),
        "{}",
        a.location
    );
    let c = cookie(&a, "hjul_oidc").expect("the flow's cookie");
    let flow = Flow::from_cookie(c.split_once('=').unwrap().1).unwrap();
    assert!(a.location.contains(&format!("state={}", flow.state)));
    p.lock().unwrap().nonce = flow.nonce.clone();
    (flow, c)
}

/// Comes back from the provider with `code` for `state`.
async fn back(app: &axum::Router, cookie: Option<&str>, code: &str, state: &str) -> Answer {
    get_page(
        app,
        &format!("/login/oidc/callback?code={code}&state={state}"),
        cookie,
    )
    .await
}

/// The refusals of sign-ins on record, newest first.
async fn refused(store: &Store) -> Vec<String> {
    store
        .audit_log(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "refused" && e.actor.starts_with("oidc:"))
        .map(|e| e.after.unwrap_or_default())
        .collect()
}

/// Refused with the sign-in page's words, a new row on record saying `why`, no session.
async fn is_refused(store: &Store, a: &Answer, before: usize, why: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(
        a.body.contains("Log-ind blev ikke gennemført"),
        "{}",
        a.body
    );
    assert!(cookie(a, "hjul_session").is_none(), "a session came of it");
    let rows = refused(store).await;
    assert_eq!(rows.len(), before + 1, "{rows:?}");
    assert!(
        rows[0].to_lowercase().contains(why),
        "`{why}` not in {}",
        rows[0]
    );
}

async fn a_sign_in_is_checked_before_it_opens_a_session(db: TestDb) {
    let store = skovby_with_themes(&db, "2026-05-15").await;
    let (p, _server, app) = signing_in(&db).await;

    // Bo comes back with a good code: a session, on record with who vouched for him.
    let (flow, c) = leave(&app, &p).await;
    let a = back(&app, Some(&c), "code-1", &flow.state).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("Du er logget ind"), "{}", a.body);
    let session = cookie(&a, "hjul_session").expect("a session");
    let page = get_page(&app, "/units/dt-nord-1", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Børnehuset Mariehønen"), "{}", page.body);
    let opened = store
        .audit_log(None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "session.open")
        .unwrap();
    assert_eq!(opened.actor, "oidc:bo.nielsen@skovby.dk");
    let via = opened.after.unwrap();
    let issuer = p.lock().unwrap().issuer.clone();
    assert!(
        via.contains(&issuer) && via.contains("sub-bo.nielsen@skovby.dk"),
        "{via}"
    );

    // The secretariat signs Bo out everywhere (a lost laptop): his session ends.
    let (secretariat, _) = store
        .create_token(
            hjul_store::Role::Secretariat,
            "sekretariat@skovby.dk",
            None,
            &hjul_tests::stamp("2026-05-15"),
        )
        .await
        .unwrap();
    let hers = sign_in_with_token(&app, &secretariat).await;
    let tokens_page = get_page(&app, "/admin/tokens", Some(&hers)).await;
    let csrf = form_value(&tokens_page.body, "sign-out-form", "csrf");
    let a = post_form(
        &app,
        "/admin/sessions/end",
        &hers,
        &format!("csrf={csrf}&email=Bo.Nielsen%40skovby.dk"),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let after = get_page(&app, &a.location, Some(&hers)).await;
    assert!(
        after
            .body
            .contains("logget ud alle steder (afsluttede sessioner: 1)"),
        "{}",
        after.body
    );
    let page = get_page(&app, "/units/dt-nord-1", Some(&session)).await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "Bo's session still works"
    );
    assert!(page.location.starts_with("/login"), "{}", page.location);

    // The same code again (a replayed answer): the provider refuses it.
    let n = refused(&store).await.len();
    let a = back(&app, Some(&c), "code-1", &flow.state).await;
    is_refused(&store, &a, n, "invalid_grant").await;

    // An answer for another sign-in (the state differs), and one with no cookie at all
    // (an old tab, a link followed twice).
    let (flow, c) = leave(&app, &p).await;
    let a = back(&app, Some(&c), "code-2", "someone-elses-state").await;
    is_refused(&store, &a, n + 1, "state differs").await;
    let a = back(&app, None, "code-3", &flow.state).await;
    // Refused, and not on record: anyone can call this address without a sign-in under
    // way, and the log is kept for good.
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(
        a.body.contains("Log-ind blev ikke gennemført"),
        "{}",
        a.body
    );
    assert_eq!(refused(&store).await.len(), n + 2);

    // Tokens the provider got wrong, or someone changed on the way.
    let n = refused(&store).await.len();
    for (i, (twist, why)) in [
        (Twist::OtherNonce, "nonce"),
        (Twist::Expired, "expired"),
        (Twist::OtherIssuer, "issuer"),
        (Twist::UnknownKey, "signature"),
        (Twist::Tampered, "signature"),
        (Twist::Unverified, "not verified"),
    ]
    .into_iter()
    .enumerate()
    {
        let (flow, c) = leave(&app, &p).await;
        p.lock().unwrap().twist = twist;
        let a = back(&app, Some(&c), &format!("code-t{i}"), &flow.state).await;
        is_refused(&store, &a, n + i, why).await;
    }
    p.lock().unwrap().twist = Twist::None;

    // The provider rotates its keys while hjul runs: the next token, signed with the new
    // key, still signs in (hjul fetches the keys again), without a restart.
    {
        let mut p = p.lock().unwrap();
        p.published = vec![(KEY_1, "k1"), (KEY_2, "k2")];
        p.signs_with = 1;
    }
    let (flow, c) = leave(&app, &p).await;
    let a = back(&app, Some(&c), "code-rotated", &flow.state).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(cookie(&a, "hjul_session").is_some());
}

async fn a_provider_that_does_not_answer_is_said_so(db: TestDb) {
    let store = skovby_with_themes(&db, "2026-05-15").await;
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let app = hjul_tests::service_with(
        &db,
        CurrentWheel::builtin(),
        now,
        Some(settings(&format!("http://{closed}"))),
        true,
    )
    .await
    .router();
    let a = get_page(&app, "/login/oidc", None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert!(
        a.body.contains("Kommunens log-ind svarer ikke lige nu"),
        "{}",
        a.body
    );
    // The token form is still offered beside it.
    assert!(a.body.contains("id=\"token\""), "{}", a.body);
    let rows = refused(&store).await;
    assert!(
        rows.first().is_some_and(|r| r.contains("cannot be used")),
        "{rows:?}"
    );
    // Asked again at once: told at once (the provider is not asked again for a minute),
    // and not put on record again.
    let started = std::time::Instant::now();
    let a = get_page(&app, "/login/oidc", None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(refused(&store).await.len(), rows.len());
}

async fn with_token_sign_in_off_a_token_opens_the_api_but_not_the_dashboard(db: TestDb) {
    let store = skovby_with_themes(&db, "2026-05-15").await;
    let token = |role, email: &'static str| {
        let store = store.clone();
        async move {
            store
                .create_token(role, email, None, &hjul_tests::stamp("2026-05-15"))
                .await
                .unwrap()
                .0
        }
    };
    let secretariat = token(hjul_store::Role::Secretariat, "sekretariat@skovby.dk").await;
    let anna = token(hjul_store::Role::Manager, "anna.bech@skovby.dk").await;

    // Without the municipality's login, tokens are the only way in: they cannot be
    // turned off (a form posted anyway is refused, and nothing changes).
    let plain = hjul_tests::service(&db, CurrentWheel::builtin(), now)
        .await
        .router();
    let hers = sign_in_with_token(&plain, &secretariat).await;
    let page = get_page(&plain, "/admin/tokens", Some(&hers)).await;
    assert!(!page.body.contains("token-sign-in-form"), "{}", page.body);
    let csrf = form_value(&page.body, "sign-out-form", "csrf");
    let a = post_form(
        &plain,
        "/admin/sign-in/tokens",
        &hers,
        &format!("csrf={csrf}&turn=off"),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.body.contains("kan ikke slås fra"), "{}", a.body);
    assert_eq!(store.setting("token_sign_in").await.unwrap(), None);

    // With it, the secretariat turns tokens off on the tokens page.
    let (_provider, _server, app) = signing_in(&db).await;
    let hers = sign_in_with_token(&app, &secretariat).await;
    let annas = sign_in_with_token(&app, &anna).await;
    let page = get_page(&app, "/admin/tokens", Some(&hers)).await;
    let csrf = form_value(&page.body, "token-sign-in-form", "csrf");
    let a = post_form(
        &app,
        "/admin/sign-in/tokens",
        &hers,
        &format!("csrf={csrf}&turn=off"),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(
        store.setting("token_sign_in").await.unwrap().as_deref(),
        Some("off")
    );
    let log = store.audit_log(None, 5).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "setting.change" && e.actor == "api:sekretariat@skovby.dk")
    );
    // Sessions opened with a token end: Anna's next click asks her to sign in.
    let page = get_page(&app, "/", Some(&annas)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.starts_with("/login"), "{}", page.location);

    // The sign-in page offers the municipality's login only.
    let page = get_page(&app, "/login", None).await;
    assert!(
        page.body.contains("Log ind med Skovby Kommune"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("id=\"token\""), "{}", page.body);
    // A token posted anyway (an old page) opens no session.
    let csrf = cookie(&page, "hjul_login_csrf").unwrap();
    let value = csrf.split_once('=').unwrap().1.to_owned();
    let a = post_form(
        &app,
        "/login",
        &csrf,
        &format!("csrf={value}&token={anna}&next=/"),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(cookie(&a, "hjul_session").is_none());
    assert!(a.body.contains("adgangsnøgle er slået fra"), "{}", a.body);
    // The API still takes it.
    let req = Request::get("/api/v1/status")
        .header(header::AUTHORIZATION, format!("Bearer {anna}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::OK);
}

async fn a_leader_replaced_in_the_organisation_has_no_rights_at_the_next_click(db: TestDb) {
    let store = skovby_with_themes(&db, "2026-05-15").await;
    let (p, _server, app) = signing_in(&db).await;
    let sign_in_as = |email: &'static str, code: &'static str| {
        let (app, p) = (app.clone(), Arc::clone(&p));
        async move {
            p.lock().unwrap().email = email.into();
            let (flow, c) = leave(&app, &p).await;
            back(&app, Some(&c), code, &flow.state).await
        }
    };
    let a = sign_in_as("bo.nielsen@skovby.dk", "code-bo").await;
    let bos = cookie(&a, "hjul_session").expect("a session");
    assert_eq!(
        get_page(&app, "/units/dt-nord-1", Some(&bos)).await.status,
        StatusCode::OK
    );

    // The organisation file names a new leader for Bo's house; nothing else is done.
    let csv = hjul_tests::ORGANISATION.replace(
        "Bo Nielsen,bo.nielsen@skovby.dk",
        "Sara Holm,sara.holm@skovby.dk",
    );
    let org = hjul_wheel::Organisation::from_csv(&csv, |_| {}).unwrap();
    store
        .import_organisation(&org, &hjul_tests::stamp("2026-05-15"), |_, _| {})
        .await
        .unwrap();

    // Bo's next click: his session gives him nothing, and signing in again says why.
    let page = get_page(&app, "/units/dt-nord-1", Some(&bos)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.starts_with("/login"), "{}", page.location);
    let a = sign_in_as("bo.nielsen@skovby.dk", "code-bo-2").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert!(a.body.contains("Du er ikke i hjul endnu"), "{}", a.body);
    // Sara, the new leader, signs in to the house at once: no token, nothing to set up.
    let a = sign_in_as("sara.holm@skovby.dk", "code-sara").await;
    let saras = cookie(&a, "hjul_session").expect("a session");
    let page = get_page(&app, "/units/dt-nord-1", Some(&saras)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Børnehuset Mariehønen"), "{}", page.body);
}
