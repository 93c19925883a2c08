//! Raising a fault, and the evidence that it happened.

use crate::flow::Rng;
use crate::scenarios::{Fault, SERVICES};
use crate::system::{System, count, queues_ready};
use std::time::Duration;

pub fn sh(cmd: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new(cmd)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {cmd}: {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{cmd} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn pg_cluster() -> anyhow::Result<(String, String)> {
    let out = sh("pg_lsclusters", &["-h"])?;
    let line = out
        .lines()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no PostgreSQL cluster"))?;
    let mut f = line.split_whitespace();
    Ok((
        f.next().unwrap_or("15").to_owned(),
        f.next().unwrap_or("main").to_owned(),
    ))
}

/// Raises the fault; returns the evidence that it happened (or why it did not).
///
/// `gate` is told the moment the fault is in effect (the process dead, the broker down, the
/// connections closed, the alarm raised, PostgreSQL going down): the rest of a phase's
/// messages is published from then on, so the phase is unfinished while the fault lasts.
#[allow(clippy::too_many_lines)] // one arm per kind of fault, each with the evidence it reports
pub async fn strike(
    sys: &mut System,
    fault: Fault,
    rng: &mut Rng,
    done_before: bool,
    gate: Option<tokio::sync::oneshot::Sender<()>>,
) -> anyhow::Result<String> {
    let open = |gate: Option<tokio::sync::oneshot::Sender<()>>| {
        if let Some(g) = gate {
            // The receiver publishes the rest; if it has gone, there is nothing to hold back.
            let _ = g.send(());
        }
    };
    match fault {
        Fault::Kill9(i, _) => {
            let r = pick(rng, sys.procs[i].len());
            let pid = sys.procs[i][r].pid().unwrap_or(0);
            sys.kill9(i, r).await?;
            open(gate);
            Ok(format!(
                "kill -9 of {} replica {r} of {} (pid {pid}) with its phase {}",
                SERVICES[i],
                sys.procs[i].len(),
                if done_before {
                    "already finished"
                } else {
                    "unfinished"
                }
            ))
        }
        Fault::Rolling(i, _) => {
            // As `kubectl rollout restart` with maxUnavailable 1: each replica in turn gets
            // SIGTERM (it drains and exits), is started again and is ready before the next.
            open(gate);
            let mut clean = 0;
            for r in 0..sys.procs[i].len() {
                let p = &mut sys.procs[i][r];
                if p.terminate(Duration::from_secs(30)).await.unwrap_or(false) {
                    clean += 1;
                }
                p.start_again().await?;
                p.wait_ready(Duration::from_secs(90)).await?;
                sys.restarts[i] += 1;
            }
            Ok(format!(
                "rolling restart of all {} {} replicas ({clean} exited cleanly on SIGTERM) with the phase {} when it began",
                sys.procs[i].len(),
                SERVICES[i],
                if done_before {
                    "already finished"
                } else {
                    "unfinished"
                }
            ))
        }
        Fault::CutReplica(i, _) => {
            let r = pick(rng, sys.procs[i].len());
            let pid = sys.procs[i][r].pid().unwrap_or(0);
            let (closed, others) = cut_connections(pid)?;
            open(gate);
            Ok(format!(
                "closed the {closed} broker connection(s) of {} replica {r} (pid {pid}); {others} other connection(s) left open; phase {}",
                SERVICES[i],
                if done_before {
                    "already finished"
                } else {
                    "unfinished"
                }
            ))
        }
        Fault::BrokerRestart(_) => {
            sh("rabbitmqctl", &["stop_app"])?;
            let down = queues_ready(&sys.exchange).await.is_none();
            open(gate);
            tokio::time::sleep(Duration::from_millis(rng.range(500, 3000))).await;
            sh("rabbitmqctl", &["start_app"])?;
            Ok(format!(
                "broker app stopped and started; observed down: {down}"
            ))
        }
        Fault::ConnectionDrop(_) => {
            let before = sh("rabbitmqctl", &["list_connections", "-q", "name"]).unwrap_or_default();
            sh("rabbitmqctl", &["close_all_connections", "fault suite"])?;
            open(gate);
            Ok(format!(
                "closed all {} broker connections",
                before.lines().filter(|l| !l.trim().is_empty()).count()
            ))
        }
        Fault::PostgresRestart(_) => {
            let before = count(
                &sys.conns[0],
                "SELECT CAST(EXTRACT(EPOCH FROM pg_postmaster_start_time()) AS BIGINT)",
            )
            .await
            .unwrap_or(0);
            let (version, cluster) = pg_cluster()?;
            // `restart` blocks until PostgreSQL is up again: the rest is published meanwhile.
            open(gate);
            sh(
                "pg_ctlcluster",
                &[&version, &cluster, "restart", "-m", "immediate"],
            )?;
            let mut after = 0;
            for _ in 0..100 {
                if let Ok(t) = count(
                    &sys.conns[0],
                    "SELECT CAST(EXTRACT(EPOCH FROM pg_postmaster_start_time()) AS BIGINT)",
                )
                .await
                {
                    after = t;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(format!(
                "PostgreSQL restarted -m immediate; postmaster start time changed: {}",
                after != before && after != 0
            ))
        }
        Fault::MemoryAlarm(_) => {
            let old = sh(
                "rabbitmqctl",
                &["eval", "vm_memory_monitor:get_vm_memory_high_watermark()."],
            )?;
            sh(
                "rabbitmqctl",
                &["set_vm_memory_high_watermark", "absolute", "1"],
            )?;
            tokio::time::sleep(Duration::from_millis(700)).await;
            let alarms =
                sh("rabbitmqctl", &["eval", "rabbit_alarm:get_alarms()."]).unwrap_or_default();
            open(gate);
            tokio::time::sleep(Duration::from_millis(rng.range(1000, 4000))).await;
            let old = old.trim();
            let old = if old.parse::<f64>().is_ok() {
                old
            } else {
                "0.4"
            };
            sh("rabbitmqctl", &["set_vm_memory_high_watermark", old])?;
            Ok(format!(
                "memory alarm raised (observed: {}) and cleared",
                alarms.contains("memory")
            ))
        }
        Fault::DiskAlarm(_) => {
            let old = sh(
                "rabbitmqctl",
                &["eval", "rabbit_disk_monitor:get_disk_free_limit()."],
            )?;
            sh("rabbitmqctl", &["set_disk_free_limit", "100000GB"])?;
            let mut seen = false;
            for _ in 0..20 {
                let alarms =
                    sh("rabbitmqctl", &["eval", "rabbit_alarm:get_alarms()."]).unwrap_or_default();
                if alarms.contains("disk") {
                    seen = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            open(gate);
            tokio::time::sleep(Duration::from_millis(rng.range(1000, 4000))).await;
            let old = old.trim();
            let old = if old.parse::<u64>().is_ok() {
                old
            } else {
                "50000000"
            };
            sh("rabbitmqctl", &["set_disk_free_limit", old])?;
            Ok(format!("disk alarm raised (observed: {seen}) and cleared"))
        }
        Fault::None | Fault::Crash(..) | Fault::RelayCrash => {
            open(gate);
            Ok(String::new())
        }
    }
}

/// A replica drawn at random.
fn pick(rng: &mut Rng, n: usize) -> usize {
    usize::try_from(rng.range(0, n.saturating_sub(1) as u64)).unwrap_or(0)
}

/// Closes, at the broker, every AMQP connection of the process `pid`: its sockets' local
/// ports (`ss -tnp`) are the connections' peer ports (`rabbitmqctl list_connections`).
/// Returns how many were closed and how many other connections the broker kept.
fn cut_connections(pid: u32) -> anyhow::Result<(usize, usize)> {
    let sockets = sh(
        "ss",
        &["-tnpH", "state", "established", "( dport = :5672 )"],
    )?;
    let tag = format!("pid={pid},");
    let ports: Vec<String> = sockets
        .lines()
        .filter(|l| l.contains(&tag))
        .filter_map(|l| {
            let local = l.split_whitespace().nth(2)?;
            Some(local.rsplit_once(':')?.1.to_owned())
        })
        .collect();
    let listed = sh(
        "rabbitmqctl",
        &["list_connections", "-q", "peer_port", "pid"],
    )?;
    let (mut closed, mut others) = (0, 0);
    for line in listed.lines() {
        let mut f = line.split_whitespace();
        let (Some(port), Some(conn)) = (f.next(), f.next()) else {
            continue;
        };
        if ports.iter().any(|p| p == port) {
            sh(
                "rabbitmqctl",
                &["close_connection", conn, "fault suite: one replica cut off"],
            )?;
            closed += 1;
        } else {
            others += 1;
        }
    }
    anyhow::ensure!(
        closed > 0,
        "no broker connection of pid {pid} found (ports {ports:?})"
    );
    Ok((closed, others))
}
