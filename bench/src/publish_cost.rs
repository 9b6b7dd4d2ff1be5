//! Publish cost per call, measured inside a host program (C, Python, Node or
//! Rust) while this tool keeps subscribers attached to its engine.
//!
//! The protocol with the program, on its stdin/stdout:
//! 1. the program starts an engine (port 0, one worker thread) and prints `port N`;
//! 2. this tool opens the subscribers on topic `bench`, waits until every one
//!    is ready, and writes `go`;
//! 3. the program runs its timed loops, prints `result ...` lines and
//!    `published K`, then `done`;
//! 4. this tool checks that every subscriber received K events, then closes
//!    stdin, and the program stops its engine and exits.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::client::{Pool, Target};

/// Calls timed one at a time (each wakes every parked subscriber).
const ISOLATED_CALLS: usize = 1000;
/// Pause after an isolated call, so subscribers take the event and park again.
const ISOLATED_PAUSE: Duration = Duration::from_millis(2);
/// Bursts of back-to-back calls.
const BURSTS: usize = 100;
/// Calls per burst.
const BURST_LEN: usize = 50;
/// Pause between bursts.
const BURST_PAUSE: Duration = Duration::from_millis(50);

/// Options of `publish-cost`.
#[derive(clap::Args)]
pub struct Args {
    /// A label for the report (c, python, node, rust).
    #[arg(long)]
    lang: String,
    /// Subscribers attached during the measurement.
    #[arg(long, default_value_t = 1000)]
    subs: usize,
    /// The program and its arguments (after `--`).
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Options of `publish-cost-child`.
#[derive(clap::Args)]
pub struct ChildArgs {}

/// Runs the program, attaches subscribers, and prints its figures.
pub async fn orchestrate(args: Args) -> Result<(), String> {
    let mut child = tokio::process::Command::new(&args.command[0])
        .args(&args.command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", args.command))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let port: u16 = loop {
        let line = next_line(&mut lines).await?;
        if let Some(port) = line.strip_prefix("port ") {
            break port.trim().parse().map_err(|e| format!("port: {e}"))?;
        }
    };
    let mut pool = Pool::new(Target {
        addr: ([127, 0, 0, 1], port).into(),
        path: "/events?topic=bench".into(),
    });
    pool.open(args.subs, Duration::from_secs(60)).await;
    if pool.ready() < args.subs {
        return Err(format!(
            "only {} subscribers connected: {}",
            pool.ready(),
            pool.first_error().unwrap_or_default()
        ));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stdin.write_all(b"go\n").await.map_err(|e| e.to_string())?;
    let mut published = 0u64;
    loop {
        let line = next_line(&mut lines).await?;
        if let Some(result) = line.strip_prefix("result ") {
            println!(
                "RESULT publish_cost {} subs={} {result}",
                args.lang, args.subs
            );
        } else if let Some(count) = line.strip_prefix("published ") {
            published = count.trim().parse().unwrap_or(0);
        } else if line == "done" {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && pool
            .conns
            .iter()
            .any(|c| !c.closed.get() && c.events.get() < published)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let short = pool
        .conns
        .iter()
        .filter(|c| c.events.get() < published)
        .count();
    println!(
        "RESULT publish_cost {} subs={} published={published} subscribers_missing_events={short} subscribers_closed={}",
        args.lang,
        args.subs,
        pool.closed()
    );
    drop(stdin);
    let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
    Ok(())
}

/// The next line the program prints, within a minute.
async fn next_line<R: tokio::io::AsyncBufRead + Unpin>(
    lines: &mut tokio::io::Lines<R>,
) -> Result<String, String> {
    match tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await {
        Ok(Ok(Some(line))) => Ok(line),
        Ok(Ok(None)) => Err("the program ended early".to_string()),
        Ok(Err(e)) => Err(format!("reading the program: {e}")),
        Err(_) => Err("the program said nothing for 60 s".to_string()),
    }
}

/// The Rust program: `Engine::publish` timed the same way as the C, Python and
/// Node programs time their bindings.
pub fn child(_: ChildArgs) -> Result<(), String> {
    use std::io::{BufRead, Write};
    let config = ssecast::Config {
        port: 0,
        worker_threads: 1,
        ..Default::default()
    };
    let engine = ssecast::Engine::start(config).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock, line: String| {
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    say(&mut out, format!("port {}", engine.port()));
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let data = "hello from the publish-cost benchmark";
    let event = ssecast::Event::new(data);
    let mut isolated = Vec::with_capacity(ISOLATED_CALLS);
    for _ in 0..ISOLATED_CALLS {
        let t = Instant::now();
        engine.publish("bench", &event).map_err(|e| e.to_string())?;
        isolated.push(t.elapsed().as_nanos() as u64);
        std::thread::sleep(ISOLATED_PAUSE);
    }
    let mut burst_total = 0u128;
    for _ in 0..BURSTS {
        let t = Instant::now();
        for _ in 0..BURST_LEN {
            engine.publish("bench", &event).map_err(|e| e.to_string())?;
        }
        burst_total += t.elapsed().as_nanos();
        std::thread::sleep(BURST_PAUSE);
    }
    isolated.sort_unstable();
    say(
        &mut out,
        format!(
            "result isolated_median_ns={} isolated_p90_ns={} burst_mean_ns={:.0}",
            isolated[isolated.len() / 2],
            isolated[isolated.len() * 9 / 10],
            burst_total as f64 / (BURSTS * BURST_LEN) as f64
        ),
    );
    say(
        &mut out,
        format!("published {}", ISOLATED_CALLS + BURSTS * BURST_LEN),
    );
    say(&mut out, "done".into());
    let _ = std::io::stdin().lock().read_line(&mut line);
    engine.stop();
    Ok(())
}
