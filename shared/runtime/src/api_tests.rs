use super::*;
use secrecy::SecretString;
use std::sync::Mutex;

async fn answer(e: ApiError) -> (StatusCode, Option<String>, Value) {
    let r = e.into_response();
    let status = r.status();
    let ct = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, ct, serde_json::from_slice(&bytes).expect("JSON"))
}

#[tokio::test]
async fn an_error_is_problem_details_with_the_compatibility_member() {
    let (status, ct, body) = answer(ApiError::not_found("dunning has no such claim")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    assert_eq!(
        body,
        json!({
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "dunning has no such claim",
            "error": "dunning has no such claim",
        })
    );
}

#[tokio::test]
async fn every_kind_has_its_status_and_title() {
    for (e, status, title) in [
        (ApiError::bad_request("x"), 400, "Bad Request"),
        (ApiError::unauthorized(TOKEN_REQUIRED), 401, "Unauthorized"),
        (ApiError::forbidden("x"), 403, "Forbidden"),
        (ApiError::not_found("x"), 404, "Not Found"),
        (ApiError::conflict("x"), 409, "Conflict"),
        (ApiError::unprocessable("x"), 422, "Unprocessable Entity"),
        (ApiError::internal("x"), 500, "Internal Server Error"),
    ] {
        let detail = e.detail().to_owned();
        let (s, ct, body) = answer(e).await;
        assert_eq!(s.as_u16(), status);
        assert_eq!(ct.as_deref(), Some(PROBLEM_JSON));
        assert_eq!(body["status"], status);
        assert_eq!(body["title"], title);
        assert_eq!(body["type"], PROBLEM_TYPE);
        assert_eq!(body["detail"], detail.as_str());
        assert_eq!(body["error"], body["detail"]);
    }
}

#[tokio::test]
async fn a_database_failure_says_only_that_it_is_unavailable() {
    let err = DbErr::Custom("connection refused to 10.0.0.7:5432".into());
    let (status, _, body) = answer(ApiError::from(err)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["title"], "Service Unavailable");
    assert_eq!(body["detail"], DATABASE_UNAVAILABLE);
    assert!(!body.to_string().contains("10.0.0.7"), "{body}");
}

#[tokio::test]
async fn a_bad_field_names_its_path_and_members_are_added() {
    let (status, _, body) = answer(ApiError::bad_request_at(
        "reason",
        "must be 1–500 characters",
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "reason: must be 1–500 characters");
    assert_eq!(
        body["problems"],
        json!([{"path": "reason", "message": "must be 1–500 characters"}])
    );
    let e = ApiError::unprocessable("2 problem(s); nothing imported")
        .with_member("total", json!(2))
        .with_member("detail", json!("not this"))
        .with_problems([]);
    let (_, _, body) = answer(e).await;
    assert_eq!(body["total"], 2);
    assert_eq!(body["detail"], "2 problem(s); nothing imported");
    assert_eq!(body["problems"], json!([]));
}

#[test]
fn ids_follow_the_contract_rule() {
    assert!(valid_id("clm-0746-1"));
    assert!(valid_id(&"æ".repeat(100)));
    for bad in ["", "a b", "a\tb", "a\u{0}b", &"a".repeat(101)] {
        assert!(!valid_id(bad), "{bad:?}");
    }
}

#[test]
fn an_audit_target_is_bounded() {
    assert_eq!(bounded_target("claim:1"), "claim:1");
    let long = format!("claim:{}", "ø".repeat(500));
    assert_eq!(bounded_target(&long).chars().count(), MAX_AUDIT_TARGET);
}

#[derive(Default)]
struct Trail(Mutex<Vec<String>>);

impl RefusalAudit for Trail {
    async fn record_refusal(&self, r: Refusal<'_>) -> Result<(), DbErr> {
        self.0.lock().expect("trail").push(format!(
            "{}|{}|{}|{}|{}",
            r.caller, r.role, r.action, r.target, r.why
        ));
        Ok(())
    }
}

fn headers(token: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(t) = token {
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {t}").parse().expect("header"),
        );
    }
    h
}

fn tokens(spec: &str) -> Arc<ApiTokens> {
    Arc::new(ApiTokens::parse(Some(&SecretString::from(spec.to_owned()))).expect("tokens"))
}

#[tokio::test]
async fn writes_need_the_role_and_refusals_are_audited() {
    let gate = Gate::open_without_tokens(tokens(
        "cccccccccccccccc1:caseworker:mhj,aaaaaaaaaaaaaaaa2:admin,rrrrrrrrrrrrrrrr3:reader",
    ));
    let trail = Trail::default();
    let ok = gate
        .writer(
            &headers(Some("cccccccccccccccc1")),
            Need::Caseworker,
            &trail,
            "a",
            "t",
        )
        .await
        .expect("caseworker");
    assert_eq!(ok.name, "mhj");
    let e = gate
        .writer(
            &headers(Some("aaaaaaaaaaaaaaaa2")),
            Need::Caseworker,
            &trail,
            "approve",
            "write_off:1",
        )
        .await
        .expect_err("admin is not a caseworker");
    assert_eq!(e.status(), StatusCode::FORBIDDEN);
    gate.writer(
        &headers(Some("aaaaaaaaaaaaaaaa2")),
        Need::CaseworkerOrAdmin,
        &trail,
        "a",
        "t",
    )
    .await
    .expect("admin may");
    let e = gate
        .writer(
            &headers(None),
            Need::Admin,
            &trail,
            "import_history",
            "history",
        )
        .await
        .expect_err("no token");
    assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
    let long = format!("claim:{}", "x".repeat(1000));
    gate.writer(
        &headers(Some("rrrrrrrrrrrrrrrr3")),
        Need::Admin,
        &trail,
        "open",
        &long,
    )
    .await
    .expect_err("reader");
    let rows = trail.0.lock().expect("trail").clone();
    assert_eq!(
        rows[..2],
        [
            "token#2(unnamed-admin)|admin|approve|write_off:1|this needs a token with the caseworker role",
            "anonymous|-|import_history|history|a valid bearer token is required",
        ]
    );
    assert_eq!(rows.len(), 3);
    assert!(rows[2].starts_with("token#3(unnamed-reader)|reader|open|claim:xxx"));
    assert!(rows[2].len() < 300, "{}", rows[2]);
}

#[tokio::test]
async fn without_tokens_writes_are_refused_and_reads_as_the_gate_says() {
    let none = Arc::new(ApiTokens::default());
    let trail = Trail::default();
    let open = Gate::open_without_tokens(none.clone());
    assert_eq!(open.reader(&headers(None)), Ok(None));
    let e = open
        .writer(
            &headers(Some("whatever-token-0001")),
            Need::Caseworker,
            &trail,
            "a",
            "t",
        )
        .await
        .expect_err("refused");
    assert_eq!(
        (e.status(), e.detail()),
        (StatusCode::FORBIDDEN, NO_TOKENS_FOR_WRITES)
    );
    assert_eq!(
        trail.0.lock().expect("trail")[0],
        format!("anonymous|-|a|t|{NO_TOKENS_FOR_WRITES}")
    );
    let closed = Gate::closed_without_tokens(none, "the API is closed");
    let e = closed.reader(&headers(None)).expect_err("closed");
    assert_eq!(
        (e.status(), e.detail()),
        (StatusCode::FORBIDDEN, "the API is closed")
    );
    // with tokens: any known token reads, others are 401
    let gate = Gate::closed_without_tokens(tokens("rrrrrrrrrrrrrrrr3:reader"), "closed");
    assert!(
        gate.reader(&headers(Some("rrrrrrrrrrrrrrrr3")))
            .is_ok_and(|c| c.is_some())
    );
    let e = gate
        .reader(&headers(Some("rrrrrrrrrrrrrrrr")))
        .expect_err("unknown");
    assert_eq!(
        (e.status(), e.detail()),
        (StatusCode::UNAUTHORIZED, TOKEN_REQUIRED)
    );
}

#[tokio::test]
async fn the_reader_extractor_uses_the_gate_of_the_state() {
    #[derive(Clone)]
    struct State(Gate);
    impl FromRef<State> for Gate {
        fn from_ref(s: &State) -> Gate {
            s.0.clone()
        }
    }
    let state = State(Gate::open_without_tokens(tokens(
        "rrrrrrrrrrrrrrrr3:reader",
    )));
    let (mut parts, ()) = axum::http::Request::builder()
        .uri("/x")
        .header("authorization", "Bearer nope-nope-nope-nope")
        .body(())
        .expect("request")
        .into_parts();
    let e = Reader::from_request_parts(&mut parts, &state)
        .await
        .expect_err("unknown token");
    assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unreadable_query_is_a_problem_not_plain_text() {
    #[derive(Debug, serde::Deserialize)]
    struct Q {
        #[allow(dead_code)]
        state: Option<String>,
    }
    let (mut parts, ()) = axum::http::Request::builder()
        .uri("/x?state=a&state=b")
        .body(())
        .expect("request")
        .into_parts();
    let e = Query::<Q>::from_request_parts(&mut parts, &())
        .await
        .expect_err("duplicate");
    let (status, ct, body) = answer(e).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(ct.as_deref(), Some(PROBLEM_JSON));
    assert_eq!(body["problems"][0]["path"], "query");
    let (mut parts, ()) = axum::http::Request::builder()
        .uri("/x?state=open")
        .body(())
        .expect("request")
        .into_parts();
    let Query(q) = Query::<Q>::from_request_parts(&mut parts, &())
        .await
        .expect("readable");
    assert_eq!(q.state.as_deref(), Some("open"));
}

#[tokio::test]
async fn reads_need_a_read_role_and_a_scoped_token_sees_its_municipalities() {
    let gate = Gate::open_without_tokens(tokens(
        "cccccccccccccccc1:caseworker:mhj:0746,dddddddddddddddd2:reporting:dash,\
         rrrrrrrrrrrrrrrr3:reader:kim",
    ));
    let mhj = gate
        .reader(&headers(Some("cccccccccccccccc1")))
        .expect("caseworker reads");
    let mhj = Reader(mhj);
    assert!(mhj.sees("0746") && !mhj.sees("0751"));
    assert_eq!(mhj.municipalities(), Some(&["0746".to_owned()][..]));
    let kim = Reader(
        gate.reader(&headers(Some("rrrrrrrrrrrrrrrr3")))
            .expect("reader"),
    );
    assert!(kim.sees("0751") && kim.municipalities().is_none());
    let e = gate
        .reader(&headers(Some("dddddddddddddddd2")))
        .expect_err("reporting may not read this service");
    assert_eq!(e.status(), StatusCode::FORBIDDEN);
    assert!(e.detail().contains("caseworker, admin, reader"), "{e}");
    assert_eq!(
        gate.reader(&headers(Some("nobody-at-all-0001")))
            .expect_err("unknown")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // an open gate sees everything
    assert!(Reader(None).sees("0751") && Reader(None).municipalities().is_none());
    // a write outside the scope: answered as not found, audited as refused
    let trail = Trail::default();
    let caller = mhj.0.expect("caller");
    let e = out_of_scope(
        &trail,
        &caller,
        "approve",
        "write_off:9",
        ApiError::not_found("no such write-off"),
    )
    .await;
    assert_eq!(e, ApiError::not_found("no such write-off"));
    assert_eq!(
        trail.0.lock().expect("trail").as_slice(),
        [
            "mhj|caseworker|approve|write_off:9|outside the token's municipalities (0746); \
          answered: no such write-off"
        ]
    );
}
