//! An API request continues the caller's W3C trace: the handler runs in a `request` span whose
//! trace is the `traceparent` header's (what it publishes carries it); a malformed header only
//! starts a new trace.

use axum::Router;
use axum::routing::get;
use restance_bus::Readiness;
use restance_bus::trace::TraceLayer;
use restance_runtime::api_guard::ApiLimits;
use tracing_subscriber::layer::SubscriberExt as _;

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async fn serve() -> anyhow::Result<String> {
    // What a handler publishing now would put in its messages' traceparent.
    let api = Router::new().route(
        "/api/v1/trace",
        get(|| async { restance_bus::trace::current_traceparent().unwrap_or_default() }),
    );
    let app = restance_runtime::http::router(
        Readiness::new(),
        restance_runtime::telemetry::metrics(),
        api,
        ApiLimits::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/trace", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

async fn traceparent_seen(url: &str, header: Option<&str>) -> anyhow::Result<String> {
    let mut request = reqwest::Client::new().get(url);
    if let Some(h) = header {
        request = request.header("traceparent", h);
    }
    Ok(request.send().await?.error_for_status()?.text().await?)
}

#[tokio::test(flavor = "current_thread")]
async fn an_api_request_continues_the_callers_trace() -> anyhow::Result<()> {
    restance_bus::tls::install_crypto_provider();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(TraceLayer::new()));
    let url = serve().await?;

    let seen = traceparent_seen(&url, Some(PARENT)).await?;
    assert!(
        seen.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{seen}"
    );
    assert!(
        !seen.contains("00f067aa0ba902b7"),
        "a span of its own: {seen}"
    );

    // No header, or a malformed one: a new trace each time, and the request is served.
    let fresh = traceparent_seen(&url, None).await?;
    let after_garbage = traceparent_seen(&url, Some("00-garbage")).await?;
    for new in [&fresh, &after_garbage] {
        assert_eq!(new.len(), 55, "{new}");
        assert!(!new.contains("4bf92f3577b34da6a3ce929d0e0e4736"), "{new}");
    }
    assert_ne!(fresh[3..35], after_garbage[3..35]);
    Ok(())
}
