//! `restance reporting import-history` against a stand-in for reporting's API that answers one
//! request with a canned response and hands back the request it saw.

use std::path::PathBuf;
use std::process::Output;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one HTTP response; returns the base URL and a handle yielding the whole request.
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
        let mut buf = [0u8; 4096];
        loop {
            let n = socket.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if rest.len() >= length {
                    break;
                }
            }
        }
        socket.write_all(response.as_bytes()).await?;
        socket.shutdown().await?;
        Ok(String::from_utf8_lossy(&request).into_owned())
    });
    (url, handle)
}

async fn import(args: &[&str]) -> Output {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_restance"))
        .args(["reporting", "import-history"])
        .args(args)
        .env("RESTANCE_CONFIG", config)
        .env_remove("RESTANCE_TOKEN")
        .output()
        .await
        .expect("runs")
}

const CSV: &str = "municipality;office;category;as_of;principal;fees;interest;claims;debtors\n\
                   0746;main;daycare;2026-01-31;1.234,50;0;0;3;3\n";

fn csv_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.csv");
    std::fs::write(&path, CSV).expect("write");
    (dir, path)
}

#[tokio::test]
async fn a_history_file_is_uploaded_and_the_dates_imported_are_shown() {
    let (url, seen) = one_response(
        "200 OK",
        r#"{"imported":1,"dates":{"0746":["2026-01-31"]}}"#,
    )
    .await;
    let (_dir, path) = csv_file();
    let out = import(&[
        &path.to_string_lossy(),
        "--url",
        &url,
        "--token",
        "admin-token-0000001",
    ])
    .await;
    let request = seen.await.expect("served").expect("request");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        request.starts_with("POST /api/v1/history HTTP/1.1"),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("authorization: bearer admin-token-0000001"),
        "{request}"
    );
    assert!(
        request.ends_with(CSV),
        "the file is sent as it is: {request}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("imported 1 row(s)"), "{text}");
    assert!(text.contains("0746: 1 month-end(s), 2026-01-31"), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 lines"),
        "progress names what is sent"
    );
}

#[tokio::test]
async fn every_bad_row_is_listed_and_the_exit_status_says_nothing_was_imported() {
    let (url, _seen) = one_response(
        "422 Unprocessable Entity",
        r#"{"error":"2 problem(s); nothing imported","total":2,"problems":[
            {"line":2,"message":"office: \"nuuk\" is not an office of municipality 0746"},
            {"line":2,"message":"as_of: 2026-01-30 is not the last day of a month"}]}"#,
    )
    .await;
    let (_dir, path) = csv_file();
    let out = import(&[&path.to_string_lossy(), "--url", &url]).await;
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("line 2: office: \"nuuk\""), "{text}");
    assert!(text.contains("line 2: as_of: 2026-01-30"), "{text}");
    assert!(text.contains("2 problem(s); nothing imported"), "{text}");
}

#[tokio::test]
async fn a_missing_admin_token_says_what_to_do() {
    let (url, _seen) = one_response(
        "403 Forbidden",
        r#"{"error":"this needs a token with the admin role"}"#,
    )
    .await;
    let (_dir, path) = csv_file();
    let out = import(&[&path.to_string_lossy(), "--url", &url]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("admin") && err.contains("RESTANCE_TOKEN"),
        "{err}"
    );
}
