//! `fake-sms-gateway`: the test kit's GatewayAPI-style fake as a process, for `just demo`.
//!
//! Prints its URL on the first line of stdout (`url http://127.0.0.1:PORT`), then one line per
//! SMS it accepted: the `userref` (notification id), the sender and the text, with the phone
//! number masked to its last two digits. Stops on SIGTERM or Ctrl-C.

use restance_testkit::FakeSmsGateway;
use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    restance_bus::tls::install_crypto_provider();
    let gateway = FakeSmsGateway::start().await?;
    println!("url {}", gateway.url);
    std::io::stdout().flush()?;
    let mut seen = HashSet::new();
    let mut stop = Box::pin(restance_runtime_signal());
    loop {
        for r in gateway.accepted() {
            if let Some(id) = r.id
                && seen.insert(id)
            {
                let masked: Vec<String> = r
                    .msisdns
                    .iter()
                    .map(|m| format!("••••{}", &m[m.len().saturating_sub(2)..]))
                    .collect();
                println!(
                    "sms {id} to {} from {:?} userref {}: {}",
                    masked.join(","),
                    r.sender,
                    r.userref.as_deref().unwrap_or("-"),
                    r.message.replace('\n', " ")
                );
            }
        }
        std::io::stdout().flush()?;
        tokio::select! {
            _ = &mut stop => return Ok(()),
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

async fn restance_runtime_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
