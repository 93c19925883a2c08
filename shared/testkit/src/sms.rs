//! A fake SMS gateway speaking GatewayAPI's REST dialect at the HTTP level, for tests.
//!
//! `POST /rest/mtsms` with `{sender, message, recipients: [{msisdn}], userref}` answers
//! `{"ids": [n], "usage": {…}}`; every request is recorded (with its `Authorization` header). It
//! checks what GatewayAPI checks that matters here: a sender, a message, at least one
//! recipient with a digits-only MSISDN (number or string) — anything else is a 400 with
//! GatewayAPI's error JSON (`code`, `message`, `incident_uuid`, `variables`). With a token set
//! ([`FakeSmsGateway::start_with_token`]) a request without `Authorization: Token <token>`
//! gets 401.
//!
//! Tests script answers: [`FakeSmsGateway::fail_next`] makes the next requests fail
//! transiently (HTTP 503 or 429), permanently (a 4xx with GatewayAPI's error JSON) or answer
//! slowly (a send in flight, for shutdown tests), and
//! [`FakeSmsGateway::post_status`] plays the gateway's delivery-status callback.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// TCP with a TLS handshake per connection; a failed handshake (a client that does not trust
/// the certificate) is dropped and the next connection taken.
struct TlsListener {
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// How the fake answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 200 with a new message id.
    Accept,
    /// 200 with a new message id, after this long (a request in flight).
    Slow(Duration),
    /// A transient failure with this status (503, 500, 429 …) and no id.
    Transient(u16),
    /// A permanent failure: this 4xx status with GatewayAPI's error JSON.
    Permanent {
        /// e.g. 400.
        status: u16,
        /// GatewayAPI's error code, e.g. `0x0216`.
        code: String,
        /// Its message.
        message: String,
    },
}

impl Reply {
    /// GatewayAPI's answer to an invalid recipient.
    pub fn invalid_recipient() -> Self {
        Reply::Permanent {
            status: 400,
            code: "0x0216".to_owned(),
            message: "Invalid recipient(s)".to_owned(),
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct SmsRequest {
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The W3C `traceparent` header, if any.
    pub traceparent: Option<String>,
    /// The JSON body as sent.
    pub body: Value,
    /// `sender`.
    pub sender: String,
    /// `message`.
    pub message: String,
    /// Each recipient's MSISDN, as text.
    pub msisdns: Vec<String>,
    /// `userref`.
    pub userref: Option<String>,
    /// The status the fake answered.
    pub status: u16,
    /// The id it gave, when it accepted.
    pub id: Option<u64>,
}

#[derive(Debug, Default)]
struct GatewayState {
    requests: Vec<SmsRequest>,
    script: VecDeque<Reply>,
    next_id: u64,
    token: Option<String>,
    in_flight: usize,
    /// Where delivery reports go (GatewayAPI's status webhook) and the bearer token they carry.
    /// The status webhook's URLs (any of them reaches the service) and token.
    callback: Option<(Vec<String>, Option<String>)>,
}

/// A running fake gateway on a free loopback port; stops when dropped.
#[derive(Debug)]
pub struct FakeSmsGateway {
    /// `http://127.0.0.1:<port>` — what `RESTANCE__SMS__URL` is set to.
    pub url: String,
    state: Arc<Mutex<GatewayState>>,
    stop: Arc<Notify>,
}

impl Drop for FakeSmsGateway {
    fn drop(&mut self) {
        self.stop.notify_one();
    }
}

impl FakeSmsGateway {
    /// Starts a gateway that accepts any (or no) token.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_inner(None).await
    }

    /// Starts a gateway that requires `Authorization: Token <token>`.
    pub async fn start_with_token(token: &str) -> anyhow::Result<Self> {
        Self::start_inner(Some(token.to_owned())).await
    }

    /// Starts a gateway that serves `https://127.0.0.1:<port>` with `pki`'s server certificate
    /// (the service trusts it through `RESTANCE__TLS__CA_FILE`) and requires `token`.
    pub async fn start_https(token: &str, pki: &crate::tls::TestPki) -> anyhow::Result<Self> {
        let tcp = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("https://{}", tcp.local_addr()?);
        let listener = TlsListener {
            tcp,
            acceptor: tokio_rustls::TlsAcceptor::from(crate::tls::server_config(pki)?),
        };
        Ok(Self::serve(listener, url, Some(token.to_owned())))
    }

    async fn start_inner(token: Option<String>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        Ok(Self::serve(listener, url, token))
    }

    fn serve<L>(listener: L, url: String, token: Option<String>) -> Self
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        restance_bus::tls::install_crypto_provider();
        let state = Arc::new(Mutex::new(GatewayState {
            next_id: 1_000_000,
            token,
            ..GatewayState::default()
        }));
        let app = Router::new()
            .route("/rest/mtsms", post(mtsms))
            .with_state(state.clone());
        let stop = Arc::new(Notify::new());
        let s = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { s.notified().await })
                .await;
        });
        Self { url, state, stop }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut GatewayState) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Sends a DELIVERED report for every accepted SMS to `callback_url` (the service's
    /// `/api/v1/sms/status`), as GatewayAPI does with a status webhook configured.
    pub fn report_to(&self, callback_url: &str, token: Option<&str>) {
        self.report_to_any(&[callback_url.to_owned()], token);
    }

    /// [`Self::report_to`] a service with several replicas: each report goes to one of
    /// `callback_urls` and, while it is not answered 2xx, to the next — as a Kubernetes Service
    /// in front of the replicas would route it to one that is up.
    pub fn report_to_any(&self, callback_urls: &[String], token: Option<&str>) {
        let callback =
            (!callback_urls.is_empty()).then(|| (callback_urls.to_vec(), token.map(str::to_owned)));
        self.with_state(|s| s.callback = callback);
    }

    /// The next `times` requests get `reply` (after any replies scripted before).
    pub fn answer_next(&self, reply: Reply, times: usize) {
        self.with_state(|s| s.script.extend(std::iter::repeat_n(reply, times)));
    }

    /// The next `times` requests fail with `reply` ([`Reply::Transient`] or [`Reply::Permanent`]).
    pub fn fail_next(&self, reply: Reply, times: usize) {
        self.answer_next(reply, times);
    }

    /// Requests being answered slowly right now ([`Reply::Slow`]).
    pub fn in_flight(&self) -> usize {
        self.with_state(|s| s.in_flight)
    }

    /// Every request so far, accepted or not (a slow one once it was answered).
    pub fn requests(&self) -> Vec<SmsRequest> {
        self.with_state(|s| s.requests.clone())
    }

    /// The requests it accepted (gave an id to).
    pub fn accepted(&self) -> Vec<SmsRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.id.is_some())
            .collect()
    }

    /// Waits until at least `n` requests were accepted; returns them.
    pub async fn wait_for_accepted(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<SmsRequest>> {
        self.wait_until(timeout, |reqs| reqs.iter().filter(|r| r.id.is_some()).count() >= n)
            .await
            .map(|_| self.accepted())
            .map_err(|_| {
                anyhow::anyhow!(
                    "the fake SMS gateway accepted {} of {n} SMS within {timeout:?} ({} requests in all)",
                    self.accepted().len(),
                    self.requests().len()
                )
            })
    }

    /// Waits until at least `n` requests arrived (accepted or not); returns them.
    pub async fn wait_for_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<SmsRequest>> {
        self.wait_until(timeout, |reqs| reqs.len() >= n)
            .await
            .map(|_| self.requests())
            .map_err(|_| {
                anyhow::anyhow!(
                    "the fake SMS gateway got {} of {n} requests within {timeout:?}",
                    self.requests().len()
                )
            })
    }

    async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[SmsRequest]) -> bool,
    ) -> Result<(), ()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.with_state(|s| done(&s.requests)) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Plays GatewayAPI's delivery-status callback: `POST callback_url` with `{id, msisdn,
    /// time, status, userref, error?}` and `Authorization: Bearer <token>` when a token is
    /// given; returns the HTTP status the service answered.
    pub async fn post_status(
        callback_url: &str,
        token: Option<&str>,
        request: &SmsRequest,
        status: &str,
        error: Option<&str>,
    ) -> anyhow::Result<u16> {
        let mut body = json!({
            "id": request.id,
            "msisdn": request.msisdns.first().and_then(|m| m.parse::<u64>().ok()),
            "time": chrono::Utc::now().timestamp(),
            "status": status,
            "userref": request.userref,
            "charge_status": "NOCHARGE",
        });
        if let Some(e) = error {
            body["error"] = json!(e);
            body["code"] = json!("0x0300");
        }
        let mut req = reqwest::Client::new().post(callback_url).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        Ok(req.send().await?.status().as_u16())
    }
}

fn gateway_error(status: u16, code: &str, message: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({
            "code": code,
            "message": message,
            "incident_uuid": uuid::Uuid::new_v4().to_string(),
            "variables": [],
        })),
    )
}

#[allow(clippy::too_many_lines)] // GatewayAPI's checks of a request in the order it applies them, then the scripted answer
async fn mtsms(
    State(state): State<Arc<Mutex<GatewayState>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, Json<Value>) {
    let authorization = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |k: &str| {
        parsed
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let msisdns: Vec<String> = parsed
        .get("recipients")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| match r.get("msisdn") {
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::String(s)) => s.clone(),
                    _ => String::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut request = SmsRequest {
        authorization: authorization.clone(),
        traceparent: headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: parsed.clone(),
        sender: text("sender"),
        message: text("message"),
        msisdns: msisdns.clone(),
        userref: parsed
            .get("userref")
            .and_then(Value::as_str)
            .map(str::to_owned),
        status: 0,
        id: None,
    };
    let (expected, reply) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let reply = s.script.pop_front().unwrap_or(Reply::Accept);
        if matches!(reply, Reply::Slow(_)) {
            s.in_flight += 1;
        }
        (s.token.as_ref().map(|t| format!("Token {t}")), reply)
    };
    if let Reply::Slow(wait) = reply {
        tokio::time::sleep(wait).await;
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if matches!(reply, Reply::Slow(_)) {
        s.in_flight -= 1;
    }
    let answer = if expected.is_some() && authorization != expected {
        gateway_error(401, "0x0101", "Unauthorized: missing or invalid API token")
    } else if request.sender.is_empty() || request.message.is_empty() {
        gateway_error(400, "0x0201", "sender and message are required")
    } else if msisdns.is_empty()
        || msisdns
            .iter()
            .any(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()))
    {
        gateway_error(400, "0x0216", "Invalid recipient(s)")
    } else {
        match reply {
            Reply::Accept | Reply::Slow(_) => {
                s.next_id += 1;
                request.id = Some(s.next_id);
                (
                    StatusCode::OK,
                    Json(json!({
                        "ids": [s.next_id],
                        "usage": {"total_cost": 0, "currency": "DKK",
                                  "countries": {"DK": msisdns.len()}},
                    })),
                )
            }
            Reply::Transient(status) => (
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                Json(
                    json!({"code": "0x0500", "message": "Service temporarily unavailable",
                            "incident_uuid": uuid::Uuid::new_v4().to_string(), "variables": []}),
                ),
            ),
            Reply::Permanent {
                status,
                code,
                message,
            } => gateway_error(status, &code, &message),
        }
    };
    request.status = answer.0.as_u16();
    if let (Some((urls, token)), Some(_)) = (s.callback.clone(), request.id) {
        // Like GatewayAPI with a status webhook: DELIVERED shortly after accepting, with the
        // userref the sender gave; retried while the receiver does not answer 2xx (every 50 ms,
        // then less often, for about two minutes), each time at the next of the URLs.
        let accepted = request.clone();
        let first = usize::try_from(request.id.unwrap_or(0)).unwrap_or(0);
        tokio::spawn(async move {
            for attempt in 0..200usize {
                let pause = if attempt < 100 { 50 } else { 1000 };
                tokio::time::sleep(Duration::from_millis(pause)).await;
                let url = &urls[(first + attempt) % urls.len().max(1)];
                if let Ok(status) =
                    FakeSmsGateway::post_status(url, token.as_deref(), &accepted, "DELIVERED", None)
                        .await
                    && (200..300).contains(&status)
                {
                    break;
                }
            }
        });
    }
    s.requests.push(request);
    answer
}
