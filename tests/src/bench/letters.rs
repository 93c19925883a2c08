//! Letters rendered by `bench-letters`.

#![allow(clippy::float_arithmetic)]

use super::*;

/// What [`letters`] measured (parsed from `bench-letters`' output).
#[derive(Debug, Clone)]
pub struct LettersRun {
    /// Letters rendered on all cores.
    pub letters: usize,
    /// Threads used.
    pub threads: usize,
    /// Seconds of the run on all cores (letters / rate).
    pub secs: f64,
    /// Letters per second on all cores.
    pub rate: f64,
    /// Letters per second on one thread.
    pub single_rate: f64,
    /// Peak RSS of `bench-letters`.
    pub rss_kib: u64,
    /// Where the CPU went during the whole `bench-letters` process.
    pub cpu: CpuUse,
    /// Personal data of the letters' recipients found in `bench-letters`' output (none
    /// expected).
    pub personal_data: Vec<&'static str>,
}

/// Runs the release `bench-letters` binary (next to this one, or in `RESTANCE_BIN_DIR`) from
/// the workspace root: `count` `reminder_1` letters on all cores after `single` on one thread.
pub async fn letters(count: usize, single: usize) -> anyhow::Result<LettersRun> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut child = tokio::process::Command::new(restance_testkit::binary("bench-letters")?)
        .current_dir(&root)
        .args([
            "--count",
            &count.to_string(),
            "--single",
            &single.to_string(),
            "--templates",
            "templates",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let cpu = CpuMeter::start(child.id());
    let stdout = child.stdout.take();
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut out = Vec::new();
        if let Some(s) = stdout {
            let mut lines = tokio::io::BufReader::new(s).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("  bench-letters: {line}");
                out.push(line);
            }
        }
        out
    });
    // Sample the CPU just before the process ends: afterwards its times are gone.
    let mut last_cpu = cpu.stop();
    while child.try_wait()?.is_none() {
        last_cpu = cpu.stop();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = child.wait().await?;
    let lines = reader.await?;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        e.read_to_string(&mut stderr).await.ok();
    }
    anyhow::ensure!(status.success(), "bench-letters failed: {stderr}");
    // The recipients' street (bench-letters' sample data) and the fixtures' personal data.
    let output = format!("{}\n{stderr}", lines.join("\n"));
    let personal_data = personal_data_in(&output, &["Skolevej"]);
    parse_letters(&lines, last_cpu, personal_data)
        .ok_or_else(|| anyhow::anyhow!("cannot read bench-letters' output:\n{}", lines.join("\n")))
}

/// The rate before ` letters/s` on a line.
fn rate_on(line: &str) -> Option<f64> {
    line.strip_suffix(" letters/s")?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

fn parse_letters(
    lines: &[String],
    cpu: CpuUse,
    personal_data: Vec<&'static str>,
) -> Option<LettersRun> {
    let single_rate = lines
        .iter()
        .find(|l| l.starts_with("single thread:"))
        .and_then(|l| rate_on(l))
        .unwrap_or(0.0);
    // "2 threads: 10000 letters (10413 pages, 393 MB of PDF) in 45.20s = 221.2 letters/s"
    let all = lines
        .iter()
        .find(|l| l.contains(" threads: ") && l.ends_with(" letters/s"))?;
    let (threads, rest) = all.split_once(" threads: ")?;
    let threads: usize = threads.trim().parse().ok()?;
    let letters: usize = rest.split(' ').next()?.parse().ok()?;
    let rate = rate_on(all)?;
    // "peak RSS (VmHWM): 120592 kB"
    let rss_kib = lines
        .iter()
        .find_map(|l| l.strip_prefix("peak RSS (VmHWM):"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(LettersRun {
        letters,
        threads,
        secs: if rate > 0.0 {
            letters as f64 / rate
        } else {
            0.0
        },
        rate,
        single_rate,
        rss_kib,
        cpu,
        personal_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_letters_output_is_read() {
        let lines: Vec<String> = [
            "loaded and checked 9 templates × 4 languages from templates in 1.20s",
            "single thread: 500 letters in 4.26s = 117.3 letters/s",
            "2 threads: 10000 letters (10413 pages, 393 MB of PDF) in 45.20s = 221.2 letters/s",
            "peak RSS (VmHWM): 120592 kB",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        let run = parse_letters(&lines, CpuUse::default(), Vec::new()).expect("parsed");
        assert_eq!(run.letters, 10_000);
        assert_eq!(run.threads, 2);
        assert_eq!(run.rss_kib, 120_592);
        assert!((run.rate - 221.2).abs() < 1e-9);
        assert!((run.single_rate - 117.3).abs() < 1e-9);
    }
}
