//! The API bounds as a client meets them, over HTTP: a client over its rate gets 429 with
//! `Retry-After` while another token is served; a request past the time limit gets 503; with
//! every slot in flight taken the next is shed with 503; the probes are never limited.

use axum::Router;
use axum::routing::get;
use restance_bus::Readiness;
use restance_runtime::api_guard::ApiLimits;
use restance_runtime::{http, telemetry};
use std::time::Duration;

async fn serve(limits: ApiLimits) -> anyhow::Result<String> {
    restance_bus::tls::install_crypto_provider();
    let api = Router::new()
        .route("/api/v1/fast", get(|| async { "fast" }))
        .route(
            "/api/v1/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "slow"
            }),
        );
    let app = http::router(Readiness::new(), telemetry::metrics(), api, limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

#[tokio::test]
async fn a_client_over_its_rate_is_told_when_to_come_back_and_others_are_served()
-> anyhow::Result<()> {
    let url = serve(ApiLimits {
        rate_per_second: 1,
        burst: 3,
        ..ApiLimits::default()
    })
    .await?;
    let client = reqwest::Client::new();
    let get = |token: &'static str| {
        client
            .get(format!("{url}/api/v1/fast"))
            .bearer_auth(token)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(get("token-a-0123456789").await?.status(), 200);
    }
    let refused = get("token-a-0123456789").await?;
    assert_eq!(refused.status(), 429);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(
        refused
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let body: serde_json::Value = refused.json().await?;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("retry after 1 s"),
        "{body}"
    );
    assert_eq!(
        get("token-b-0123456789").await?.status(),
        200,
        "another token is served"
    );
    for _ in 0..20 {
        assert_eq!(
            client.get(format!("{url}/readyz")).send().await?.status(),
            503
        );
        assert_eq!(
            client.get(format!("{url}/healthz")).send().await?.status(),
            200
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_request_past_the_time_limit_is_stopped_and_answered_503() -> anyhow::Result<()> {
    let url = serve(ApiLimits {
        request_timeout_ms: 200,
        ..ApiLimits::default()
    })
    .await?;
    let started = std::time::Instant::now();
    let r = reqwest::get(format!("{url}/api/v1/slow")).await?;
    assert_eq!(r.status(), 503);
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "answered at the limit"
    );
    let body: serde_json::Value = r.json().await?;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("200 ms"),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn with_every_slot_in_flight_the_next_request_is_shed() -> anyhow::Result<()> {
    let url = serve(ApiLimits {
        max_in_flight: 1,
        ..ApiLimits::default()
    })
    .await?;
    let slow = tokio::spawn(reqwest::get(format!("{url}/api/v1/slow")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shed = reqwest::get(format!("{url}/api/v1/fast")).await?;
    assert_eq!(shed.status(), 503);
    assert_eq!(
        shed.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(slow.await??.status(), 200, "the one in flight finishes");
    assert_eq!(
        reqwest::get(format!("{url}/api/v1/fast")).await?.status(),
        200
    );
    Ok(())
}
