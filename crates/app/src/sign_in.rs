//! Signing in with the municipality's own login (OpenID Connect).
//!
//! The authorization code flow with PKCE, `state` and `nonce`; the ID token's signature,
//! issuer, audience, expiry and nonce checked by `openidconnect`. The provider's
//! discovery document and keys are kept for an hour, fetched again after that or when a
//! token is signed with a key they do not hold (the provider rotated its keys). The HTTP
//! client follows no redirects (a provider that answers with one is not followed to
//! wherever it points).
//!
//! What a person may do is not the provider's to say: their address is looked up in the
//! organisation at every request (leader of these units, manager above those, by
//! [`crate::Core::session`]); the group claim says only whether they are the
//! secretariat.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::url;
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
    UserInfoClaims,
};
use serde::{Deserialize, Serialize};

/// How long the provider's discovery document and keys are used before they are fetched
/// again.
const KEEP_DISCOVERY: Duration = Duration::from_secs(60 * 60);
/// How long hjul waits for the provider at most, per request.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// After the provider failed to answer, how long hjul does not ask it again: meanwhile
/// the kept copy serves, or people are told at once that it does not answer (rather than
/// each waiting for the timeout, and a crowd of them for each other).
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// `[auth.oidc]` in `hjul.toml`, checked.
#[derive(Clone)]
pub struct OidcSettings {
    /// The provider's issuer (its discovery document is `ISSUER/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// Read from a file or `HJUL__AUTH__OIDC__CLIENT_SECRET`; `None` for a public client.
    pub client_secret: Option<String>,
    /// Asked for besides `openid` (default `email`, `profile`).
    pub scopes: Vec<String>,
    /// The claim that holds the person's e-mail address (default `email`).
    pub email_claim: String,
    /// The claim that holds the person's groups or roles (default `groups`).
    pub groups_claim: String,
    /// The group (or role) that makes a person the secretariat; `None`: no one is the
    /// secretariat by sign-in.
    pub secretariat_group: Option<String>,
    /// The municipality's name on the sign-in button ("Log ind med Skovby Kommune").
    pub name: String,
    /// hjul's address for the provider's answer: `WEB_URL/login/oidc/callback`.
    pub redirect_url: String,
    /// Where the provider sends a person after signing out: `WEB_URL/login`.
    pub post_logout_url: String,
}

/// Without the client secret: settings may be logged.
impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("scopes", &self.scopes)
            .field("email_claim", &self.email_claim)
            .field("groups_claim", &self.groups_claim)
            .field("secretariat_group", &self.secretariat_group)
            .finish_non_exhaustive()
    }
}

/// Every claim beside the standard ones, by name: the groups claim and an address in a
/// claim of the municipality's choosing are read from here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    all: HashMap<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type Fields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a sign-in through the provider did not give a person.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The provider could not be reached, or answered with nonsense: the operator's to
    /// look at (the log has the cause); the person is told to try again or use a token.
    #[error("the sign-in provider at {issuer} cannot be used: {cause}")]
    Unreachable { issuer: String, cause: String },
    /// It failed to answer less than a minute ago and is not asked again yet.
    #[error("the sign-in provider at {issuer} did not answer a moment ago")]
    StillDown { issuer: String },
    /// The answer did not belong to this browser's sign-in (an old tab, a link followed
    /// twice, a forged answer), or the provider refused the person or the code.
    #[error("the sign-in was not completed: {0}")]
    NotCompleted(String),
    /// The provider says who they are but gives no usable address in the claim hjul is
    /// set to read.
    #[error("the provider gave no e-mail address in the claim `{0}`")]
    NoAddress(String),
    /// The provider says the address is not verified: it may be anyone's to type.
    #[error("the provider says the address {0} is not verified")]
    Unverified(String),
}

impl SignInError {
    /// The provider could not be asked (now, or a moment ago).
    pub fn is_down(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::StillDown { .. })
    }
}

/// What the browser keeps (in a short-lived cookie) between being sent to the provider
/// and coming back: the `state` to compare, the PKCE verifier, the nonce, and where to
/// go afterwards. Only this browser can finish its own sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub state: String,
    pub verifier: String,
    pub nonce: String,
    /// A path on this site.
    pub next: String,
}

impl Flow {
    /// The cookie's value: four fields, each URL-safe, between dots.
    pub fn to_cookie(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.state,
            self.verifier,
            self.nonce,
            hex(self.next.as_bytes())
        )
    }

    pub fn from_cookie(value: &str) -> Option<Self> {
        let mut parts = value.split('.');
        let (state, verifier, nonce, next) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || [state, verifier, nonce].iter().any(|p| p.is_empty()) {
            return None;
        }
        Some(Self {
            state: state.to_owned(),
            verifier: verifier.to_owned(),
            nonce: nonce.to_owned(),
            next: String::from_utf8(unhex(next)?).ok()?,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 4096 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    /// As the claim gave it (checked as an address by the core).
    pub email: String,
    pub name: Option<String>,
    /// Whether the groups claim holds the secretariat's group.
    pub secretariat: bool,
    /// The ID token as received, to end the provider's session at sign-out.
    pub id_token: String,
    /// Who vouched for them, and as whom (the token's `iss` and `sub`): on record with
    /// the sign-in.
    pub issuer: String,
    pub subject: String,
}

struct Discovered {
    client: Client,
    end_session: Option<url::Url>,
    at: Instant,
}

/// The relying party: one per service, shared by every request.
pub struct Oidc {
    settings: OidcSettings,
    http: openidconnect::reqwest::Client,
    /// What was fetched last; held only to read or replace it, never while fetching.
    discovered: std::sync::Mutex<Option<Arc<Discovered>>>,
    /// When fetching last failed.
    failed_at: std::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> Result<Self, SignInError> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following a redirect would let a provider's answer send hjul anywhere.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| SignInError::Unreachable {
                issuer: settings.issuer.clone(),
                cause: e.to_string(),
            })?;
        Ok(Self {
            settings,
            http,
            discovered: std::sync::Mutex::new(None),
            failed_at: std::sync::Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    fn unreachable(&self, cause: impl std::fmt::Display) -> SignInError {
        SignInError::Unreachable {
            issuer: self.settings.issuer.clone(),
            cause: cause.to_string(),
        }
    }

    /// The provider's metadata and keys: kept for an hour, or fetched now when `fresh`
    /// (a token signed with a key hjul has not seen). When fetching fails, what is kept
    /// still serves (a provider briefly down does not stop sign-in for people whose tokens
    /// its old keys sign), and the provider is not asked again for a minute.
    async fn discovered(&self, fresh: bool) -> Result<Arc<Discovered>, SignInError> {
        let kept = lock(&self.discovered).clone();
        if let Some(d) = &kept
            && !fresh
            && d.at.elapsed() < KEEP_DISCOVERY
        {
            return Ok(Arc::clone(d));
        }
        if lock(&self.failed_at).is_some_and(|t| t.elapsed() < RETRY_AFTER) {
            return kept.ok_or_else(|| SignInError::StillDown {
                issuer: self.settings.issuer.clone(),
            });
        }
        match self.discover().await {
            Ok(d) => {
                let d = Arc::new(d);
                *lock(&self.discovered) = Some(Arc::clone(&d));
                *lock(&self.failed_at) = None;
                Ok(d)
            }
            Err(e) => {
                *lock(&self.failed_at) = Some(Instant::now());
                match kept {
                    Some(old) => {
                        tracing::warn!(error = %e, "the sign-in provider's metadata could not be fetched again; the kept copy is used");
                        Ok(old)
                    }
                    None => Err(e),
                }
            }
        }
    }

    async fn discover(&self) -> Result<Discovered, SignInError> {
        let s = &self.settings;
        let issuer = IssuerUrl::new(s.issuer.clone()).map_err(|e| self.unreachable(e))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| self.unreachable(chain(&e)))?;
        let end_session = metadata
            .additional_metadata()
            .end_session_endpoint
            .as_ref()
            .map(|u| u.url().clone());
        let client = Client::from_provider_metadata(
            metadata,
            ClientId::new(s.client_id.clone()),
            s.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(
            RedirectUrl::new(s.redirect_url.clone()).map_err(|e| self.unreachable(e))?,
        );
        Ok(Discovered {
            client,
            end_session,
            at: Instant::now(),
        })
    }

    /// Where to send the browser to sign in, and what it must keep until it comes back.
    pub async fn begin(&self, next: &str) -> Result<(url::Url, Flow), SignInError> {
        let d = self.discovered(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = d.client.authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok((
            url,
            Flow {
                state: state.secret().clone(),
                verifier: verifier.secret().clone(),
                nonce: nonce.secret().clone(),
                next: next.to_owned(),
            },
        ))
    }

    /// The person the provider's answer names, when it answers this browser's `flow`:
    /// the code exchanged (with the PKCE verifier), the ID token checked (signature,
    /// issuer, audience, expiry, nonce), the address and groups read from it, or from
    /// the user-info endpoint when the ID token does not carry them.
    pub async fn finish(
        &self,
        flow: &Flow,
        state: &str,
        code: &str,
    ) -> Result<Identity, SignInError> {
        // Compared in constant time is not needed: `state` is no secret once it has
        // been in a URL; it binds the answer to this browser's cookie.
        if flow.state != state {
            return Err(SignInError::NotCompleted(
                "the answer belongs to another sign-in (state differs)".into(),
            ));
        }
        let d = self.discovered(false).await?;
        let tokens = d
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| self.unreachable(e))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::Request(_) => self.unreachable(chain(&e)),
                _ => SignInError::NotCompleted(chain(&e)),
            })?;
        let id_token = tokens.id_token().ok_or_else(|| {
            SignInError::NotCompleted("the provider's answer has no ID token".into())
        })?;
        let nonce = Nonce::new(flow.nonce.clone());
        // A token signed with a key hjul has not seen: the provider may have rotated its
        // keys within the hour; fetch them once more before refusing.
        let (d, claims) = match id_token.claims(&d.client.id_token_verifier(), &nonce) {
            Ok(c) => (Arc::clone(&d), c.clone()),
            Err(first @ openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let again = self.discovered(true).await?;
                let c = id_token
                    .claims(&again.client.id_token_verifier(), &nonce)
                    .map_err(|_| SignInError::NotCompleted(chain(&first)))?
                    .clone();
                (again, c)
            }
            Err(e) => return Err(SignInError::NotCompleted(chain(&e))),
        };
        // An address the provider says it has not verified may be anyone's to type (a
        // profile people edit themselves): never taken as the person's.
        let mut unverified = claims.email_verified() == Some(false);
        let mut email = self.claim_text(
            &self.settings.email_claim,
            claims.email().map(|e| e.as_str()),
            claims.preferred_username().map(|u| u.as_str()),
            &claims.additional_claims().all,
        );
        let mut groups = claims
            .additional_claims()
            .all
            .get(&self.settings.groups_claim)
            .cloned();
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned());
        // Some providers put the address and groups in the user-info answer only.
        if (email.is_none() || (groups.is_none() && self.settings.secretariat_group.is_some()))
            && let Ok(request) = d.client.user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
        {
            let info: Result<UserInfoClaims<OtherClaims, CoreGenderClaim>, _> =
                request.request_async(&self.http).await;
            match info {
                Ok(info) => {
                    if email.is_none() {
                        unverified = info.email_verified() == Some(false);
                    }
                    email = email.or_else(|| {
                        self.claim_text(
                            &self.settings.email_claim,
                            info.email().map(|e| e.as_str()),
                            info.preferred_username().map(|u| u.as_str()),
                            &info.additional_claims().all,
                        )
                    });
                    groups = groups.or_else(|| {
                        info.additional_claims()
                            .all
                            .get(&self.settings.groups_claim)
                            .cloned()
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %chain(&e), "the provider's user info could not be read");
                }
            }
        }
        let email =
            email.ok_or_else(|| SignInError::NoAddress(self.settings.email_claim.clone()))?;
        if unverified && self.settings.email_claim == "email" {
            return Err(SignInError::Unverified(email));
        }
        let secretariat = self
            .settings
            .secretariat_group
            .as_deref()
            .is_some_and(|wanted| in_groups(groups.as_ref(), wanted));
        Ok(Identity {
            email,
            name,
            secretariat,
            id_token: id_token.to_string(),
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
        })
    }

    fn claim_text(
        &self,
        claim: &str,
        email: Option<&str>,
        preferred_username: Option<&str>,
        others: &HashMap<String, serde_json::Value>,
    ) -> Option<String> {
        match claim {
            "email" => email.map(str::to_owned),
            "preferred_username" => preferred_username.map(str::to_owned),
            other => others
                .get(other)
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        }
        .filter(|t| !t.trim().is_empty())
    }

    /// Where to send the browser to end the provider's session too, when the provider
    /// offers it (RP-initiated logout); `None`: hjul's own sign-out is all.
    pub async fn sign_out_url(&self, id_token: Option<&str>) -> Option<url::Url> {
        let d = self.discovered(false).await.ok()?;
        let mut url = d.end_session.clone()?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(hint) = id_token {
                q.append_pair("id_token_hint", hint);
            }
            q.append_pair("client_id", &self.settings.client_id);
            q.append_pair("post_logout_redirect_uri", &self.settings.post_logout_url);
        }
        Some(url)
    }

    /// Whether the provider answers its discovery document now (for `hjul config check`).
    pub async fn check(&self) -> Result<(), SignInError> {
        self.discover().await.map(|_| ())
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether a groups claim (a list, or one text) holds `wanted`.
fn in_groups(groups: Option<&serde_json::Value>, wanted: &str) -> bool {
    match groups {
        Some(serde_json::Value::Array(list)) => list.iter().any(|g| g.as_str() == Some(wanted)),
        Some(serde_json::Value::String(one)) => one == wanted,
        _ => false,
    }
}

/// An error with its causes, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_survives_its_cookie_and_nothing_else_passes_for_one() {
        let flow = Flow {
            state: "s-1_x".into(),
            verifier: "v".into(),
            nonce: "n".into(),
            next: "/units/dt-nord-1?x=æ".into(),
        };
        assert_eq!(Flow::from_cookie(&flow.to_cookie()), Some(flow));
        for bad in ["", "a.b.c", "a.b.c.d.e", ".b.c.2f", "a.b.c.zz", "a.b.c.2"] {
            assert_eq!(Flow::from_cookie(bad), None, "{bad}");
        }
    }

    #[test]
    fn groups_are_a_list_or_one_name() {
        let list = serde_json::json!(["a", "hjul-sekretariat"]);
        assert!(in_groups(Some(&list), "hjul-sekretariat"));
        assert!(!in_groups(Some(&list), "hjul"));
        assert!(in_groups(Some(&serde_json::json!("x")), "x"));
        assert!(!in_groups(Some(&serde_json::json!(7)), "7"));
        assert!(!in_groups(None, "x"));
    }
}
