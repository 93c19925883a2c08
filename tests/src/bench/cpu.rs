//! Where the CPU went while a pipeline ran: the service, the broker, PostgreSQL, the rest.

#![allow(clippy::float_arithmetic)]

use super::*;

/// CPU seconds per group of processes over one phase (Linux `/proc`; zeros elsewhere).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// Wall-clock seconds of the phase.
    pub wall: f64,
    /// RabbitMQ (`beam.smp`).
    pub broker: f64,
    /// PostgreSQL (every `postgres` process still alive at the end).
    pub postgres: f64,
    /// The service under test (or `bench-letters`), all its threads.
    pub service: f64,
    /// This process: the load generator and the counters.
    pub bench: f64,
    /// Everything else that ran meanwhile (other builds and test suites on the machine).
    pub other: f64,
    /// Seconds the cores were idle (or waiting for I/O).
    pub idle: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct CpuSnapshot {
    broker: u64,
    postgres: u64,
    service: u64,
    bench: u64,
    busy: u64,
    idle: u64,
}

/// Clock ticks per second of `/proc` times (`USER_HZ`, 100 on every Linux platform we run).
const TICKS: f64 = 100.0;

fn snapshot(service: Option<u32>) -> CpuSnapshot {
    let mut s = CpuSnapshot::default();
    if let Ok(stat) = std::fs::read_to_string("/proc/stat")
        && let Some(line) = stat.lines().find(|l| l.starts_with("cpu "))
    {
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal …
        let total: u64 = v.iter().take(8).sum();
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        s.idle = idle;
        s.busy = total.saturating_sub(idle);
    }
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return s;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After the command: state (field 3) … utime (14), stime (15).
        let ticks = fields
            .get(11)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        if Some(pid) == service {
            s.service += ticks;
        } else if pid == me {
            s.bench += ticks;
        } else if comm == "beam.smp" {
            s.broker += ticks;
        } else if comm.starts_with("postgres") {
            s.postgres += ticks;
        }
    }
    s
}

/// Measures [`CpuUse`] from its creation to [`CpuMeter::stop`].
#[derive(Debug)]
pub struct CpuMeter {
    service: Option<u32>,
    start: CpuSnapshot,
    started: Instant,
}

impl CpuMeter {
    /// Starts measuring; `service` is the pid of the process under test, if any.
    pub fn start(service: Option<u32>) -> Self {
        Self {
            service,
            start: snapshot(service),
            started: Instant::now(),
        }
    }

    /// The CPU used since [`CpuMeter::start`].
    pub fn stop(&self) -> CpuUse {
        let end = snapshot(self.service);
        let d = |a: u64, b: u64| a.saturating_sub(b) as f64 / TICKS;
        let broker = d(end.broker, self.start.broker);
        let postgres = d(end.postgres, self.start.postgres);
        let service = d(end.service, self.start.service);
        let bench = d(end.bench, self.start.bench);
        let busy = d(end.busy, self.start.busy);
        CpuUse {
            wall: self.started.elapsed().as_secs_f64(),
            broker,
            postgres,
            service,
            bench,
            other: (busy - broker - postgres - service - bench).max(0.0),
            idle: d(end.idle, self.start.idle),
        }
    }
}
