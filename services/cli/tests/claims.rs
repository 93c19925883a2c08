//! `restance claims` against a stand-in for invoicing's API that answers one request with a
//! canned response and hands back the request it saw.

use std::path::PathBuf;
use std::process::Output;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one HTTP response; returns the base URL and a handle yielding the request's head.
async fn one_response(
    status: &str,
    body: &str,
) -> (String, tokio::task::JoinHandle<std::io::Result<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let handle = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await?;
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        socket.write_all(response.as_bytes()).await?;
        socket.shutdown().await?;
        Ok(String::from_utf8_lossy(&request).into_owned())
    });
    (url, handle)
}

async fn claims(args: &[&str]) -> Output {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_restance"))
        .arg("claims")
        .args(args)
        .env("RESTANCE_CONFIG", config)
        .env_remove("RESTANCE_TOKEN")
        .output()
        .await
        .expect("runs")
}

const VIEW: &str = r#"{"debtor_id":"P-77","claims":[
 {"claim_id":"0b6f…","invoice_id":"DAY-2026-12-000123","source":"/billing/daycare","municipality":"0746",
  "office":"main","category":"daycare","currency":"DKK","amount":"2150.00","principal":"2150.00",
  "fees":"250.00","interest":"21.50","total":"2421.50","issue_date":"2026-12-01",
  "due_date":"2026-12-15","state":"open","ocr_line":"+71<000000067097535+85412345<",
  "direct_debit":false,"settled_date":null},
 {"claim_id":"7c1d…","invoice_id":"WAT-2026-11-000007","source":"/billing/water","municipality":"0746",
  "office":"main","category":"water","currency":"DKK","amount":"900.00","principal":"0.00",
  "fees":"0.00","interest":"0.00","total":"0.00","issue_date":"2026-11-01",
  "due_date":"2026-11-15","state":"settled","ocr_line":"+71<000000000000018+85412345<",
  "direct_debit":true,"settled_date":"2026-11-14"}],
 "open_total":"2421.50"}"#;

#[tokio::test]
async fn a_debtors_claims_are_shown_as_a_table_with_the_open_total() {
    let (url, seen) = one_response("200 OK", VIEW).await;
    let out = claims(&[
        "P-77",
        "--municipality",
        "0746",
        "--url",
        &url,
        "--token",
        "t0k",
    ])
    .await;
    let request = seen.await.expect("served").expect("request");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        request.starts_with("GET /api/v1/debtors/P-77/claims?municipality=0746 HTTP/1.1"),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer t0k"),
        "{request}"
    );
    for expected in [
        "DAY-2026-12-000123",
        "daycare",
        "2026-12-15",
        "2150.00",
        "250.00",
        "21.50",
        "2421.50",
        "open",
        "+71<000000067097535+85412345<",
        "settled",
        "open total: 2421.50 DKK",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
}

#[tokio::test]
async fn a_debtor_without_claims_is_said_plainly() {
    let (url, _seen) =
        one_response("404 Not Found", r#"{"error":"no claims for this debtor"}"#).await;
    let out = claims(&["P-404", "--url", &url]).await;
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no claims for debtor P-404\n"
    );
}

#[tokio::test]
async fn a_refused_token_says_what_to_do() {
    let (url, _seen) = one_response(
        "401 Unauthorized",
        r#"{"error":"a valid bearer token is required"}"#,
    )
    .await;
    let out = claims(&["P-77", "--url", &url]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--token") && err.contains("RESTANCE_TOKEN"),
        "{err}"
    );
}
