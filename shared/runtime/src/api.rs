//! The kit every service API is built with: one error type answered as problem details, the
//! token checks with audited refusals, and the id rule.
//!
//! **Errors** ([`ApiError`]) are RFC 9457 problem details, `Content-Type:
//! application/problem+json`:
//!
//! ```json
//! {"type": "about:blank", "title": "Not Found", "status": 404,
//!  "detail": "dunning has no such claim", "error": "dunning has no such claim"}
//! ```
//!
//! `type` is `about:blank` (the status says what kind of problem it is) and `title` is the
//! status phrase. `error` carries the same text as `detail`; it is **kept for compatibility**
//! with clients written before problem details (the `restance` CLI, scripts reading
//! `{"error": "…"}`) and goes when they have moved to `detail`. A 400 about fields carries
//! `problems: [{"path", "message"}]`; a service may add members of its own
//! ([`ApiError::with_member`]). `detail` is written by the service and never carries personal
//! data (national ids, names, addresses, phone numbers).
//!
//! **Access** ([`Gate`]): reads need a known bearer token whose role is one of the service's
//! read roles ([`Reader`], [`Gate::reader`], [`crate::api_auth`]) — when no tokens are
//! configured a service's reads are open (invoicing, dunning, notifications, reporting) or
//! closed (agreements), as it chooses; writes need a role ([`Need`], [`Gate::writer`]) and are
//! refused when no tokens are configured. Every refused write is audited through
//! [`RefusalAudit`], which each service implements over its own audit table. A token limited to
//! municipalities sees only theirs: handlers ask [`Reader::sees`] / [`Caller::sees`] and answer
//! an object of another municipality as not found ([`out_of_scope`] for writes, audited).
//!
//! **Query strings** ([`Query`]) that cannot be read are a problem-details 400 too.

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use serde_json::{Map, Value, json};

use crate::api_auth::{ApiTokens, Caller};

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `type` of every problem: the status code says which kind it is (RFC 9457 §4.2.1).
pub const PROBLEM_TYPE: &str = "about:blank";

/// The refusal of a request without a known token.
pub const TOKEN_REQUIRED: &str = "a valid bearer token is required";

/// The refusal of a write when no tokens are configured.
pub const NO_TOKENS_FOR_WRITES: &str =
    "writes are refused: no api.tokens are configured (RESTANCE__API__TOKENS)";

/// The detail of every database failure (503).
pub const DATABASE_UNAVAILABLE: &str = "the database is not available; try again";

/// Who the audit trail records for a request without a known token, and its role.
pub const ANONYMOUS: (&str, &str) = ("anonymous", "-");

/// The longest audit target recorded (characters); a longer one is cut.
pub const MAX_AUDIT_TARGET: usize = 200;

/// The longest id accepted in a path or query (characters): the contracts' limit.
pub const MAX_ID: usize = 100;

/// An id in a path or query: 1–[`MAX_ID`] characters, no whitespace or control characters
/// (the rule of the message contracts, so every id that exists passes).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= MAX_ID
        && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// One field a 400 (or 422) is about.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    /// Where: `reason`, `claim_ids[2]`, `query`.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldProblem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> FieldProblem {
        FieldProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// An API error, answered as problem details (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    members: Map<String, Value>,
}

impl ApiError {
    /// An error with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: detail.into(),
            members: Map::new(),
        }
    }

    /// 400: the request cannot be read.
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 400 about one field: `detail` is `path: message` and `problems` names the field.
    pub fn bad_request_at(path: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::bad_request(format!("{path}: {message}"))
            .with_problems([FieldProblem::new(path, message)])
    }

    /// 401: no known bearer token ([`TOKEN_REQUIRED`] is the usual detail).
    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403: the token's role may not, or the operation is closed.
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409: the state does not allow it.
    pub fn conflict(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, detail)
    }

    /// 422: well formed, but the values cannot be used.
    pub fn unprocessable(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    /// 503 for a database failure, logged (the error's text: the driver's message, no row
    /// values); the answer says only [`DATABASE_UNAVAILABLE`].
    pub fn unavailable(err: &DbErr) -> ApiError {
        tracing::error!(error = %err, "an API request could not use the database");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE)
    }

    /// 500: something of ours is broken (log the cause where it is known).
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }

    /// Adds the member `problems`: the fields concerned (present even when empty).
    pub fn with_problems(self, problems: impl IntoIterator<Item = FieldProblem>) -> ApiError {
        let problems: Vec<FieldProblem> = problems.into_iter().collect();
        self.with_member("problems", json!(problems))
    }

    /// Adds an extension member (RFC 9457 §3.2). The standard members and `error` are the
    /// kit's: a `name` among them is ignored.
    pub fn with_member(mut self, name: &str, value: Value) -> ApiError {
        if !["type", "title", "status", "detail", "error", "instance"].contains(&name) {
            self.members.insert(name.to_owned(), value);
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The detail (also the compatibility member `error`).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The problem-details body.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), PROBLEM_TYPE.into());
        body.insert(
            "title".into(),
            self.status.canonical_reason().unwrap_or("Error").into(),
        );
        body.insert("status".into(), self.status.as_u16().into());
        body.insert("detail".into(), self.detail.clone().into());
        // kept for compatibility: clients written before problem details read `error`
        body.insert("error".into(), self.detail.clone().into());
        for (name, value) in &self.members {
            body.insert(name.clone(), value.clone());
        }
        Value::Object(body)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl std::error::Error for ApiError {}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> ApiError {
        ApiError::unavailable(&err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// The role a write needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `caseworker`.
    Caseworker,
    /// `caseworker` or `admin`.
    CaseworkerOrAdmin,
    /// `admin`.
    Admin,
}

impl Need {
    /// The roles that pass.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            Need::Caseworker => &["caseworker"],
            Need::CaseworkerOrAdmin => &["caseworker", "admin"],
            Need::Admin => &["admin"],
        }
    }

    /// Whether `caller` has one of the roles.
    pub fn admits(self, caller: &Caller) -> bool {
        self.roles().contains(&caller.role.as_str())
    }

    /// The refusal of a token with another role.
    pub fn refusal(self) -> &'static str {
        match self {
            Need::Caseworker => "this needs a token with the caseworker role",
            Need::CaseworkerOrAdmin => "this needs a token with the caseworker or admin role",
            Need::Admin => "this needs a token with the admin role",
        }
    }
}

/// One refused request, as the audit trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal<'a> {
    /// The token's name, or `anonymous`.
    pub caller: &'a str,
    /// The token's role, or `-`.
    pub role: &'a str,
    /// What was attempted (`approve_write_off`, `create_plan`, …).
    pub action: &'a str,
    /// On what (`claim:<id>`, `history`, …), at most [`MAX_AUDIT_TARGET`] characters.
    pub target: &'a str,
    /// Why it was refused: the answer's detail.
    pub why: &'a str,
}

/// A service's audit table, for refused requests. The service keeps its own table and rows;
/// the kit only says when and what.
pub trait RefusalAudit: Sync {
    /// Appends one refusal (outcome `refused`) to the service's audit table.
    fn record_refusal(
        &self,
        refusal: Refusal<'_>,
    ) -> impl Future<Output = Result<(), DbErr>> + Send;
}

/// `target` cut to [`MAX_AUDIT_TARGET`] characters.
pub fn bounded_target(target: &str) -> &str {
    match target.char_indices().nth(MAX_AUDIT_TARGET) {
        Some((end, _)) => &target[..end],
        None => target,
    }
}

/// Audits a refusal of `caller` (`None`: anonymous); a failure to audit is logged, not
/// answered (the refusal stands).
pub async fn audit_refusal<A: RefusalAudit + ?Sized>(
    audit: &A,
    caller: Option<&Caller>,
    action: &str,
    target: &str,
    why: &str,
) {
    let (name, role) = caller.map_or(ANONYMOUS, |c| (c.name.as_str(), c.role.as_str()));
    let refusal = Refusal {
        caller: name,
        role,
        action,
        target: bounded_target(target),
        why,
    };
    if let Err(e) = audit.record_refusal(refusal).await {
        tracing::error!(error = %e, action, "an API refusal could not be audited");
    }
}

/// The tokens and what the service does with reads when none are configured.
#[derive(Debug, Clone)]
pub struct Gate {
    tokens: Arc<ApiTokens>,
    /// `None`: reads are open without tokens; `Some(why)`: they are refused (403).
    closed_without_tokens: Option<&'static str>,
}

impl Gate {
    /// Reads open when no tokens are configured (the service warns at start).
    pub fn open_without_tokens(tokens: Arc<ApiTokens>) -> Gate {
        Gate {
            tokens,
            closed_without_tokens: None,
        }
    }

    /// Every request refused (403, `why`) when no tokens are configured.
    pub fn closed_without_tokens(tokens: Arc<ApiTokens>, why: &'static str) -> Gate {
        Gate {
            tokens,
            closed_without_tokens: Some(why),
        }
    }

    /// The configured tokens.
    pub fn tokens(&self) -> &ApiTokens {
        &self.tokens
    }

    /// A read: a known token (401 otherwise) whose role may read this service (403 otherwise)
    /// when tokens are configured. Without tokens the read is open (`Ok(None)`) or refused, as
    /// the gate was made. Not audited.
    pub fn reader(&self, headers: &HeaderMap) -> Result<Option<Caller>, ApiError> {
        if self.tokens.is_empty() {
            return match self.closed_without_tokens {
                None => Ok(None),
                Some(why) => Err(ApiError::forbidden(why)),
            };
        }
        match self.tokens.authenticate(headers) {
            Some(caller) if self.tokens.may_read(caller) => Ok(Some(caller.clone())),
            Some(_) => Err(ApiError::forbidden(self.tokens.read_refusal())),
            None => Err(ApiError::unauthorized(TOKEN_REQUIRED)),
        }
    }

    /// A write: a known token with a role `need` admits. Refused when no tokens are configured
    /// (403), without a known token (401) or with another role (403); every refusal is audited
    /// as `action` on `target`.
    pub async fn writer<A: RefusalAudit + ?Sized>(
        &self,
        headers: &HeaderMap,
        need: Need,
        audit: &A,
        action: &str,
        target: &str,
    ) -> Result<Caller, ApiError> {
        let (caller, refusal) = match self.check(headers, need) {
            Ok(caller) => return Ok(caller),
            Err(refused) => *refused,
        };
        audit_refusal(audit, caller.as_ref(), action, target, refusal.detail()).await;
        Err(refusal)
    }

    /// The role check without an audit: the caller, or who was refused and the answer.
    pub fn check(
        &self,
        headers: &HeaderMap,
        need: Need,
    ) -> Result<Caller, Box<(Option<Caller>, ApiError)>> {
        if self.tokens.is_empty() {
            return Err(Box::new((None, ApiError::forbidden(NO_TOKENS_FOR_WRITES))));
        }
        match self.tokens.authenticate(headers) {
            None => Err(Box::new((None, ApiError::unauthorized(TOKEN_REQUIRED)))),
            Some(c) if !need.admits(c) => Err(Box::new((
                Some(c.clone()),
                ApiError::forbidden(need.refusal()),
            ))),
            Some(c) => Ok(c.clone()),
        }
    }
}

/// Extractor for a read: a known token with a read role (see [`Gate::reader`]); `None` when
/// the gate is open without tokens. The service's state gives the [`Gate`] through `FromRef`.
#[derive(Debug, Clone)]
pub struct Reader(pub Option<Caller>);

impl Reader {
    /// Whether the reader may see data of `municipality` (always, on an open gate).
    pub fn sees(&self, municipality: &str) -> bool {
        self.0.as_ref().is_none_or(|c| c.sees(municipality))
    }

    /// The municipalities the reader is limited to; `None`: every one.
    pub fn municipalities(&self) -> Option<&[String]> {
        self.0.as_ref().and_then(|c| c.municipalities.as_deref())
    }
}

/// A write on an object of a municipality outside the caller's scope: audited as `action` on
/// `target` and answered with `not_found` — the answer a missing object gets, so a scoped token
/// cannot learn what other municipalities hold.
pub async fn out_of_scope<A: RefusalAudit + ?Sized>(
    audit: &A,
    caller: &Caller,
    action: &str,
    target: &str,
    not_found: ApiError,
) -> ApiError {
    let why = format!(
        "outside the token's municipalities ({}); answered: {}",
        caller.scope(),
        not_found.detail()
    );
    audit_refusal(audit, Some(caller), action, target, &why).await;
    not_found
}

impl<S> FromRequestParts<S> for Reader
where
    Gate: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Gate::from_ref(state).reader(&parts.headers).map(Reader)
    }
}

/// Extractor for a query string read as `T` (like `axum::extract::Query`) whose refusal is a
/// problem-details 400 at `query`, not axum's plain-text answer. The detail does not echo the
/// query (it may carry anything).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// The detail of a query string that cannot be read.
pub const QUERY_UNREADABLE: &str =
    "the query string cannot be read (a parameter given twice, or not URL-encoded)";

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(q)| Query(q))
            .map_err(|_| ApiError::bad_request_at("query", QUERY_UNREADABLE))
    }
}

/// A transaction for an API write that holds SQLite's write lock from its start (a no-op on
/// PostgreSQL, where row locks serialise writers; see [`restance_store::take_write_lock`]).
/// `table`.`column` is any table of the service; nothing is changed.
pub async fn write_transaction(
    db: &DatabaseConnection,
    table: &str,
    column: &str,
) -> Result<DatabaseTransaction, ApiError> {
    let tx = db.begin().await?;
    restance_store::take_write_lock(&tx, table, column).await?;
    Ok(tx)
}

/// A handler's error as the API's answer: the database unavailable → 503, anything else (a
/// rule of the handler) → 409 with its reason.
pub fn handler_error(e: restance_bus::HandlerError) -> ApiError {
    match e {
        restance_bus::HandlerError::Database(db) => ApiError::unavailable(&db),
        restance_bus::HandlerError::Other(why) => ApiError::conflict(why),
    }
}

/// A contract problem's path (`data.applicant.national_id`) as the request body's
/// (`applicant.national_id`): an API that takes a message's `data` as its body.
pub fn body_path(path: &str) -> String {
    path.strip_prefix("data.").unwrap_or(path).to_owned()
}

/// `?date=YYYY-MM-DD` of `GET /api/v1/retention/preview`.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct PreviewQuery {
    /// The day to preview; default the last business date.
    pub date: Option<chrono::NaiveDate>,
}

impl Gate {
    /// The start every service's `GET /api/v1/retention/preview` shares: an admin token (a
    /// refusal is audited as `retention_preview`), then the day previewed: the one asked for,
    /// else `last_business_date` (read only then), else today (UTC, before any day was opened).
    pub async fn retention_preview<A, F>(
        &self,
        headers: &HeaderMap,
        audit: &A,
        asked: Option<chrono::NaiveDate>,
        last_business_date: F,
    ) -> Result<(Caller, chrono::NaiveDate), ApiError>
    where
        A: RefusalAudit + ?Sized,
        F: Future<Output = Result<Option<chrono::NaiveDate>, DbErr>>,
    {
        let caller = self
            .writer(
                headers,
                Need::Admin,
                audit,
                "retention_preview",
                "retention",
            )
            .await?;
        let as_of = match asked {
            Some(date) => date,
            None => last_business_date
                .await?
                .unwrap_or_else(|| chrono::Utc::now().date_naive()),
        };
        Ok((caller, as_of))
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
