//! Errors as `application/problem+json` (RFC 9457): what was wrong, which field, and
//! never a 500 for a client's mistake.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hjul_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// A problem report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A short name of the kind of problem.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    /// What exactly was wrong, and what to do.
    pub detail: String,
    /// The request field that was wrong, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem found, for a file with several (line, key, message).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
        }
    }

    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "no valid token: send `Authorization: Bearer <token>` (made with `hjul token create`)",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        let detail = e.to_string();
        if e.is_unavailable() {
            tracing::warn!(error = %detail, "the database does not answer");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database does not answer just now; try again in a minute",
            );
        }
        match e {
            StoreError::Refused(_) => Problem::new(StatusCode::CONFLICT, "refused", detail),
            StoreError::UnknownUnit(_) => Problem::not_found(detail),
            StoreError::InactiveUnit(_)
            | StoreError::CycleNotStarted { .. }
            | StoreError::CycleAlreadyStarted { .. } => {
                Problem::new(StatusCode::CONFLICT, "conflict", detail)
            }
            StoreError::NoCycle(_) => Problem::not_found(detail).field("year"),
            StoreError::File(err) => {
                let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_file", detail);
                p.errors = err
                    .problems
                    .into_iter()
                    .map(|x| ProblemItem {
                        line: x.line,
                        field: (!x.key.is_empty()).then_some(x.key),
                        message: x.message,
                    })
                    .collect();
                p
            }
            StoreError::Invalid(_) => Problem::bad_request(detail),
            StoreError::Input(_) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
            }
            StoreError::NotMigrated(_)
            | StoreError::SchemaBehind(_)
            | StoreError::SchemaAhead(_)
            | StoreError::NoDatabase { .. } => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "database", detail)
            }
            StoreError::Db(_)
            | StoreError::StoredDefinition { .. }
            | StoreError::InjectedFault(_) => {
                tracing::error!(error = %detail, "request failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on the server; it is in the log",
                )
            }
        }
    }
}

/// A JSON body read strictly: unknown fields and wrong values are a 400 naming the
/// field, a body over the limit a 413.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_problem(&e.to_string()))?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn body_problem(message: &str) -> Problem {
    if message.contains("length limit") {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the body is larger than the 1 MiB hjul accepts",
        )
    } else {
        Problem::bad_request(format!("the body could not be read: {message}"))
    }
}

/// Parses JSON, naming the field that was wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde names an unknown field in its message, not in the path.
        // The path names the field, an unknown one too; at the top, the message does.
        let field = (path != ".").then_some(path).or_else(|| {
            message
                .strip_prefix("unknown field `")
                .and_then(|m| m.split('`').next())
                .map(str::to_owned)
        });
        let p = Problem::bad_request(format!("the JSON body is not right: {message}"));
        match field {
            Some(f) => p.field(f),
            None => p,
        }
    })
}

/// Query parameters read strictly, with the parameter that was wrong.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = message
                    .strip_prefix("unknown field `")
                    .and_then(|m| m.split('`').next())
                    .map(str::to_owned)
                    .or_else(|| (path != ".").then_some(path));
                let p = Problem::bad_request(format!("the query is not right: {message}"));
                match field {
                    Some(f) => p.field(f),
                    None => p,
                }
            })
    }
}
