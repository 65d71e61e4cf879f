//! Errors as `application/problem+json` (RFC 9457): what was wrong, which field, and
//! never a 500 for a client's mistake. Bodies, query strings and path parameters are
//! read by extractors that answer a problem report naming what was wrong, with the
//! right status: 400 for a value, 413 for a body over the limit, 415 for a body that is
//! not what the endpoint takes.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hjul_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// The most problems one answer lists.
const MAX_ITEMS: usize = hjul_wheel::limits::MAX_PROBLEMS + 1;

/// A problem report. Its `title` is the status's reason phrase, written when it is
/// serialised; its schema in the OpenAPI document is [`ProblemSchema`]'s.
#[derive(Debug, Clone)]
pub struct Problem {
    /// A short name of the kind of problem.
    pub kind: &'static str,
    pub status: u16,
    /// What exactly was wrong, and what to do.
    pub detail: String,
    /// The request field that was wrong, when there is one.
    pub field: Option<String>,
    /// Every problem found, for a file with several (line, key, message).
    pub errors: Vec<ProblemItem>,
    /// The same problems for people, in their language: where a form shows them.
    pub texts: Vec<FieldText>,
    /// Already on record in the audit log (the application core puts its refusals
    /// there): a front end does not record it again.
    pub audited: bool,
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.kind)?;
        m.serialize_entry("title", self.title())?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("detail", &self.detail)?;
        if let Some(f) = &self.field {
            m.serialize_entry("field", f)?;
        }
        if !self.errors.is_empty() {
            m.serialize_entry("errors", &self.errors)?;
        }
        m.end()
    }
}

/// What the OpenAPI document says a problem report is: exactly what [`Problem`]'s
/// `Serialize` writes (`title` is written, `field` and `errors` only when there are).
#[derive(ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)]
struct ProblemSchema {
    /// A short name of the kind of problem: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `refused`, `conflict`, `invalid_input`, `invalid_file`,
    /// `too_large`, `unsupported_media_type`, `database_unavailable`, `busy` (others
    /// were writing: nothing was written; send it again after `Retry-After`)…
    #[schema(rename = "type")]
    kind: String,
    /// The status's reason phrase.
    title: String,
    status: u16,
    /// What exactly was wrong, and what to do.
    detail: String,
    /// The request field that was wrong, when there is one.
    #[schema(required = false, nullable = false)]
    field: Option<String>,
    /// Every problem found, for a file with several (line, key, message).
    #[schema(required = false)]
    errors: Vec<ProblemItem>,
}

/// The error answers an operation can give, by its method: every endpoint takes a
/// token (401), reads a database that may be away (503), and has parameters or a
/// body to get wrong; writes can also be refused by the wheel (409), be too large
/// (413), come in the wrong media type (415) or hold wrong content (422).
fn problem_statuses(write: bool) -> &'static [StatusCode] {
    const READ: &[StatusCode] = &[
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
        StatusCode::FORBIDDEN,
        StatusCode::NOT_FOUND,
        StatusCode::SERVICE_UNAVAILABLE,
    ];
    const WRITE: &[StatusCode] = &[
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
        StatusCode::FORBIDDEN,
        StatusCode::NOT_FOUND,
        StatusCode::CONFLICT,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::UNPROCESSABLE_ENTITY,
        StatusCode::SERVICE_UNAVAILABLE,
    ];
    if write { WRITE } else { READ }
}

/// Writes every error answer into the OpenAPI document once, the same for every
/// operation, as `application/problem+json` with the [`ProblemSchema`]: the handlers'
/// own `responses(...)` list only their successes, so no endpoint can forget one.
pub fn document_problems(spec: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    for (path, item) in spec.paths.paths.iter_mut() {
        // A report is laid out on request: one per caller on the way (429), and text in
        // the record the layout cannot take is named (409).
        let report = path.contains("/report");
        let ops = [
            (false, item.get.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (true, item.delete.as_mut()),
        ];
        for (write, op) in ops {
            let Some(op) = op else { continue };
            let extra: &[StatusCode] = if report {
                &[StatusCode::CONFLICT, StatusCode::TOO_MANY_REQUESTS]
            } else {
                &[]
            };
            for status in problem_statuses(write).iter().chain(extra) {
                let response = ResponseBuilder::new()
                    .description(status.canonical_reason().unwrap_or("Error"))
                    .content("application/problem+json", content.clone())
                    .build();
                op.responses
                    .responses
                    .insert(status.as_str().to_owned(), response.into());
            }
        }
    }
    let components = spec.components.get_or_insert_with(Default::default);
    let mut schemas = Vec::new();
    <ProblemSchema as ToSchema>::schemas(&mut schemas);
    schemas.push((
        "Problem".to_owned(),
        <ProblemSchema as utoipa::PartialSchema>::schema(),
    ));
    components.schemas.extend(schemas);
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

/// A problem as a form shows it: the goal or grade (1-based) and field it belongs to,
/// and what to tell people.
#[derive(Debug, Clone)]
pub struct FieldText {
    pub item: Option<usize>,
    pub field: Option<String>,
    pub line: Option<usize>,
    pub text: hjul_wheel::Text,
}

impl Problem {
    /// A file's refusal: `detail` for the log, each problem with its line and field for
    /// the API's readers (`errors`) and for the page, in its language (`texts`).
    pub fn of_rows(detail: String, rows: Vec<hjul_wheel::RowError>) -> Self {
        let mut p = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_file", detail);
        for r in rows {
            p.errors.push(ProblemItem {
                line: r.line,
                message: r.message(),
                field: r.field.clone(),
            });
            let text = match &r.field {
                Some(f) => hjul_wheel::Text::new("organisation.field")
                    .arg("field", f.as_str())
                    .arg("problem", r.text),
                None => r.text,
            };
            p.texts.push(FieldText {
                item: None,
                field: r.field,
                line: r.line,
                text,
            });
        }
        p
    }

    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            texts: Vec::new(),
            audited: false,
        }
    }

    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// A problem with what people are told in their language.
    #[must_use]
    /// The problem told in other words (a page's own, for the form it shows).
    pub fn retext(mut self, text: hjul_wheel::Text) -> Self {
        self.texts.clear();
        self.text(text)
    }

    pub fn text(mut self, text: hjul_wheel::Text) -> Self {
        self.texts.push(FieldText {
            item: None,
            field: self.field.clone(),
            line: None,
            text,
        });
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

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the body is larger than the {} hjul accepts here",
                size(limit)
            ),
        )
    }

    pub fn unsupported(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the body as `Content-Type: {expected}`"),
        )
    }

    /// The status's reason phrase (`Bad Request`).
    pub fn title(&self) -> &'static str {
        self.status_code().canonical_reason().unwrap_or("Error")
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// `4 MiB`, `512 KiB`.
/// The words for a body over `limit` bytes: which limit, and what to do.
pub fn too_large_text(limit: usize) -> hjul_wheel::Text {
    hjul_wheel::Text::new("error.too_large").arg("limit", size(limit))
}

pub fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (
            status,
            [
                (header::CONTENT_TYPE, "application/problem+json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let Some(seconds) = self.retry_after() {
            r.headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        r
    }
}

/// Path parameters, read strictly: a value that cannot be read (bad percent-encoding,
/// say) is a 400 problem report, not the framework's text.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|_| {
                Problem::bad_request("a part of the address cannot be read: check the path")
                    .field("path")
            })
    }
}

/// `/api/…` that is no endpoint: a problem report, like every answer of the API.
pub async fn no_endpoint() -> Problem {
    Problem::not_found("there is no such endpoint: /api/openapi.json lists them")
}

/// A method an endpoint does not take.
pub async fn wrong_method() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this address does not take that method: /api/openapi.json lists what it takes",
    )
}

fn file_problem(status: StatusCode, detail: String, err: hjul_wheel::ConfigError) -> Problem {
    let mut p = Problem::new(status, "invalid_file", detail);
    for x in err.problems.into_iter().take(MAX_ITEMS) {
        let field = (!x.key.is_empty()).then(|| x.key.clone());
        if let Some(text) = &x.text {
            p.texts.push(FieldText {
                item: x.item,
                field: x.field.map(str::to_owned),
                line: x.line,
                text: text.clone(),
            });
        }
        p.errors.push(ProblemItem {
            line: x.line,
            field,
            message: x.message,
        });
    }
    p
}

impl From<hjul_report::ReportError> for Problem {
    fn from(e: hjul_report::ReportError) -> Self {
        use hjul_report::ReportError as R;
        match e {
            R::Store(e) => e.into(),
            R::NoCycle(_) | R::Cycle(_) => {
                Problem::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            R::UnknownUnit(_) => Problem::not_found(e.to_string()),
            // Text in the record the layout cannot take: named, for the secretariat to
            // correct; not the server's failure.
            R::Text { ref near, .. } => {
                let text = hjul_wheel::Text::new("report.text_unfit").arg("near", near.as_str());
                Problem::new(StatusCode::CONFLICT, "conflict", e.to_string()).text(text)
            }
            // A changed template that does not work: the operator's to fix, logged.
            R::Template { .. } | R::MarkdownNotUtf8 | R::StoredDefinition { .. } | R::Layout(_) => {
                tracing::error!(error = %e, "the report could not be made");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            }
        }
    }
}

impl Problem {
    /// The seconds after which the same request may well succeed, for an answer that is
    /// about the server's state, not the request: another writer in the way, or the
    /// database away.
    pub fn retry_after(&self) -> Option<u32> {
        match self.kind {
            BUSY => Some(2),
            REPORT_QUEUED => Some(10),
            "database_unavailable" | "database" => Some(60),
            _ => None,
        }
    }

    /// Whether the request was turned away because others were writing: nothing was
    /// written, and it may be sent again as it was.
    pub fn is_busy(&self) -> bool {
        self.kind == BUSY
    }
}

/// The kind of a problem report answering a write that found the database busy.
pub const BUSY: &str = "busy";

/// The kind of a problem report answering a report asked for while the same person's
/// last is still on its way.
pub const REPORT_QUEUED: &str = "report_queued";

impl From<hjul_app::Denied> for Problem {
    /// A unit one does not see is as if it did not exist (404); one seen but not one's
    /// to change, or a secretariat's task, is 403.
    fn from(d: hjul_app::Denied) -> Self {
        use hjul_app::Denied as D;
        let text = d.text();
        let p = match &d {
            D::NotFound(unit) => Problem::not_found(format!(
                "there is no unit `{}` you can see",
                hjul_wheel::limits::clip(unit, 64)
            )),
            D::MayNot { .. } | D::Milestone(_) | D::SecretariatOnly { .. } => {
                Problem::forbidden(d.to_string())
            }
        };
        p.text(text)
    }
}

impl From<hjul_app::CoreError> for Problem {
    /// Marked as on record: the core put its refusal in the audit log.
    fn from(e: hjul_app::CoreError) -> Self {
        use hjul_app::CoreError as C;
        let mut p = match e {
            C::Denied(d) => d.into(),
            C::Store(e) => e.into(),
            C::Report(e) => e.into(),
            C::ReportBusy => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                BUSY,
                "another report is being made right now: try again in a minute",
            )
            .text(hjul_wheel::Text::new("report.busy")),
            C::ReportQueued => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                REPORT_QUEUED,
                "you already have a report on its way: wait until it is done, then ask for the next",
            )
            .text(hjul_wheel::Text::new("report.queued")),
            C::TokensNeeded => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "token sign-in cannot be turned off while the municipality's login is not set up",
            )
            .text(hjul_wheel::Text::new("access.tokens_needed")),
            C::ReportStopped => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the report could not be made",
            ),
        };
        p.audited = true;
        p
    }
}

impl From<StoreError> for Problem {
    /// The status by the error's kind; the words from the error's catalogue text
    /// ([`StoreError::text`]), never from reading its English.
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
        let text = e.text();
        let p = match e {
            StoreError::Refused(_) | StoreError::Conflict(_) => {
                Problem::new(StatusCode::CONFLICT, "refused", detail)
            }
            StoreError::UnknownUnit(_) | StoreError::NoEvent(_) => Problem::not_found(detail),
            StoreError::NoSuchItem(_) | StoreError::NoSuchToken(_) => {
                Problem::not_found(detail).field("id")
            }
            StoreError::InactiveUnit(_)
            | StoreError::CycleNotStarted { .. }
            | StoreError::CycleAlreadyStarted { .. } => {
                Problem::new(StatusCode::CONFLICT, "conflict", detail)
            }
            // The queue's state, not the request, is what is wrong.
            StoreError::ItemNotDead { .. } => {
                Problem::new(StatusCode::CONFLICT, "conflict", detail).field("id")
            }
            StoreError::NoCycle(_) => Problem::not_found(detail).field("year"),
            StoreError::File(err) => file_problem(StatusCode::UNPROCESSABLE_ENTITY, detail, err),
            // Well formed, and against the wheel's rule of which milestone takes themes.
            StoreError::ThemesRequired | StoreError::NoThemes | StoreError::TakesNoThemes(_) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
                    .field("themes")
            }
            StoreError::BadAddress(_) | StoreError::LeadsNothing { .. } => {
                Problem::bad_request(detail).field("email")
            }
            StoreError::TokenIdTooShort(_) | StoreError::AmbiguousToken { .. } => {
                Problem::bad_request(detail).field("id")
            }
            StoreError::DraftTooLarge { .. } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", detail)
            }
            StoreError::Input(_) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
            }
            StoreError::NotMigrated(_)
            | StoreError::SchemaBehind(_)
            | StoreError::SchemaAhead(_)
            | StoreError::NoDatabase { .. } => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "database", detail)
            }
            StoreError::Busy => {
                tracing::warn!("a write found the database busy past its wait; answered 503");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, BUSY, detail)
            }
            StoreError::Db(_)
            | StoreError::OnRecord(_)
            | StoreError::StoredDefinition { .. }
            | StoreError::Backup(_)
            | StoreError::InjectedFault(_) => {
                tracing::error!(error = %detail, "request failed");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on the server; it is in the log",
                )
            }
        };
        match text {
            Some(t) => p.text(t),
            None => p,
        }
    }
}

/// Whether a request's body is of the media type `expected` (`application/json`): the
/// type itself, compared exactly (`application/jsonfoo` is not JSON), with any
/// parameters (`; charset=utf-8`).
pub fn is_media_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(expected))
}

/// Reads a body of at most `limit` bytes, or the problem of one over it.
pub async fn body_of(req: Request, limit: usize) -> Result<Bytes, Problem> {
    let body = req.into_body();
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.to_string().contains("length limit"))
            || e.to_string().contains("length limit");
        if too_large {
            Problem::too_large(limit)
        } else {
            Problem::bad_request("the body could not be read")
        }
    })
}

/// The biggest JSON body the unit endpoints take: an agreement file at its limit, as a
/// JSON string.
pub const JSON_LIMIT: usize = 1 << 20;

/// A JSON body read strictly: unknown fields and wrong values are a 400 naming the
/// field, a body that is not `application/json` a 415, one over the limit a 413.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_media_type(req.headers(), "application/json") {
            return Err(Problem::unsupported("application/json"));
        }
        let bytes = body_of(req, JSON_LIMIT).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON, naming the field that was wrong. The message is about what was sent,
/// never longer than a line.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // Every body of this API is an object. serde would read a struct from an array too
    // (its fields in order), so `[]` would pass for a body whose fields all have
    // defaults: refused here, as the document says.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(Problem::bad_request(
            "the JSON body is not right: it must be an object, `{…}`, with the fields the API documents",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = hjul_wheel::limits::clip(&plain_message(&inner.to_string()), 300);
        // The path names the field, an unknown one too; at the top, the message does.
        let field = (path != ".").then_some(path).or_else(|| {
            message
                .strip_prefix("unknown field `")
                .and_then(|m| m.split('`').next())
                .map(str::to_owned)
        });
        let p = Problem::bad_request(format!("the JSON body is not right: {message}"));
        match field {
            Some(f) => p.field(hjul_wheel::limits::clip(&f, 100)),
            None => p,
        }
    })
}

/// A date, as people write it: the message for one that is not.
fn date_message(value: &str) -> String {
    format!(
        "`{}` is not a date: write it as YYYY-MM-DD",
        hjul_wheel::limits::clip(value, 40)
    )
}

/// Serde's message, said plainly where it is about a date ("premature end of input",
/// "trailing input" are the date parser's words for a value that is not one).
fn plain_message(message: &str) -> String {
    if message.contains("premature end of input")
        || message.contains("trailing input")
        || message.contains("input contains invalid characters")
        || message.contains("input is out of range")
        || message.contains("input is not enough for unique date")
    {
        "a date is not written as YYYY-MM-DD".to_owned()
    } else {
        message.to_owned()
    }
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
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
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
                let value = field
                    .as_ref()
                    .and_then(|f| pairs.iter().find(|(k, _)| k == f))
                    .map(|(_, v)| v.clone());
                let detail = match (&field, &value) {
                    (Some(f), Some(v)) if f == "at" => date_message(v),
                    _ => format!(
                        "the query is not right: {}",
                        hjul_wheel::limits::clip(&plain_message(&message), 300)
                    ),
                };
                let p = Problem::bad_request(detail);
                match field {
                    Some(f) => p.field(hjul_wheel::limits::clip(&f, 100)),
                    None => p,
                }
            })
    }
}

/// A path parameter parsed into `T`; one that does not parse is a 400 naming it.
pub fn path_param<T: std::str::FromStr>(name: &str, value: &str, what: &str) -> Result<T, Problem> {
    value.parse().map_err(|_| {
        Problem::bad_request(format!(
            "`{}` is not {what}",
            hjul_wheel::limits::clip(value, 64)
        ))
        .field(name)
    })
}

/// The first and last day any read may ask about: far enough for any cycle people keep,
/// near enough that a mistyped year is said to be one.
pub fn check_day(name: &str, at: chrono::NaiveDate) -> Result<chrono::NaiveDate, Problem> {
    use chrono::Datelike;
    if (2000..=2199).contains(&at.year()) {
        Ok(at)
    } else {
        Err(Problem::bad_request(format!(
            "{at} is outside the years hjul answers for (2000–2199): check the year"
        ))
        .field(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_compared_exactly() {
        let mut h = HeaderMap::new();
        for (value, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/jsonfoo", false),
            ("application/json-patch+json", false),
            ("text/plain", false),
        ] {
            h.insert(
                header::CONTENT_TYPE,
                value.parse().unwrap_or_else(|_| unreachable!()),
            );
            assert_eq!(is_media_type(&h, "application/json"), ok, "{value}");
        }
        assert_eq!(size(4 << 20), "4 MiB");
        assert_eq!(size(512 << 10), "512 KiB");
    }

    /// A struct whose fields all have defaults is not read from an array (serde would).
    #[test]
    fn a_body_is_an_object_never_an_array() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            #[serde(default)]
            on: Option<String>,
        }
        for bad in ["[]", " [\"2026-01-01\"]", "\"x\"", "1", "null"] {
            let e = parse_json::<Body>(bad.as_bytes()).unwrap_err();
            assert!(
                format!("{e:?}").contains("must be an object"),
                "{bad}: {e:?}"
            );
        }
        assert!(parse_json::<Body>(b" {}").is_ok());
        assert!(parse_json::<Body>(b"{\"on\": \"2026-01-01\"}").is_ok());
    }
}
