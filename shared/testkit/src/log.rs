//! The log of this test process, captured: a global `tracing` subscriber (JSON lines, as the
//! services log in production, level `info`) writing into a buffer, so that a test can check
//! what a service logged — and that nothing personal was. It holds every test's lines of the
//! process (one test per process under nextest).

use std::sync::{Arc, Mutex, OnceLock};

fn buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    install(None)
}

// The services' own subscriber (restance_runtime::telemetry): JSON lines with `trace_id` and
// `span_id` inside traced spans, and an OTLP exporter when a test asks for one.
fn install(otlp_endpoint: Option<&str>) -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let log = restance_runtime::settings::LogSettings {
            format: "json".to_owned(),
            level: "info".to_owned(),
        };
        let telemetry = restance_runtime::settings::TelemetrySettings {
            otlp_endpoint: otlp_endpoint.map(str::to_owned),
        };
        // Another subscriber set first (a test's own) wins; the buffer then stays empty.
        restance_runtime::telemetry::init_service_with_writer(
            "test",
            &log,
            &telemetry,
            Sink(buffer.clone()),
        );
        buffer
    })
}

/// Starts capturing (once per process; [`crate::TestApp`] does it when it starts a service).
pub fn capture() {
    buffer();
}

/// Starts capturing and exports every finished span over OTLP to `endpoint` (a test's
/// receiver). Call it before anything else in the process logs: once capture has started, the
/// subscriber stays as it was (without an exporter).
pub fn capture_exporting_to(endpoint: &str) {
    install(Some(endpoint));
}

/// Everything logged in this process since [`capture`].
pub fn logs() -> String {
    String::from_utf8_lossy(&buffer().lock().map(|b| b.clone()).unwrap_or_default()).into_owned()
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = Sink;
    fn make_writer(&'a self) -> Sink {
        self.clone()
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
