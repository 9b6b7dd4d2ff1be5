//! `ssecast-bench`: the load tool for ssecast and its peers.
//!
//! Subcommands: `ladder` (fan-out at rising publish rates, or fixed rates),
//! `capacity` (many idle connections: accept time and RSS per connection),
//! `publish-cost` (drives a publish-cost program in C, Python, Node or Rust
//! with subscribers attached), `publish-cost-child` (the Rust one),
//! `publish-threads` (publish cost from several threads at once, in process),
//! `connect-rate` (new streams per second with authorization off and on) and
//! `history-startup` (start-up time of an engine with a full durable history)
//! and `backplane` (three engines on Redis against one without).
//! Every run prints one `RESULT` line per figure for the bench script.

mod backplane;
mod client;
mod connect_rate;
mod histogram;
mod history_startup;
mod procstat;
mod publish_cost;
mod publish_threads;
mod publisher;
mod sse;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use client::{Pool, Target};
use publisher::{BodyStyle, Publisher};

/// Load tool for Server-Sent Events servers (ssecast and its peers).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fan-out: subscribers plus a publisher at rising (or fixed) rates.
    Ladder(LadderArgs),
    /// Idle connections: time to accept them all and server RSS per connection.
    Capacity(CapacityArgs),
    /// Runs a publish-cost program with subscribers attached and reports its figures.
    PublishCost(publish_cost::Args),
    /// The Rust publish-cost program (Engine::publish in this process).
    PublishCostChild(publish_cost::ChildArgs),
    /// Publish cost with several publishing threads, in this process.
    PublishThreads(publish_threads::Args),
    /// New streams per second with authorization off, HS256 and ES256 (in process).
    ConnectRate(connect_rate::Args),
    /// Start-up time of an engine whose durable history holds many events.
    HistoryStartup(history_startup::Args),
    /// Three engines on a Redis backplane against one without (in process).
    Backplane(backplane::Args),
}

/// What to connect to and how to watch it.
#[derive(Args, Clone)]
struct ServerArgs {
    /// A name for the server in the report (ssecast, nchan, axum, express, fastapi).
    #[arg(long, default_value = "ssecast")]
    name: String,
    /// The server address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The subscribe path with its query.
    #[arg(long, default_value = "/events?topic=bench")]
    events_path: String,
    /// The server's process id, for CPU and RSS (optional).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Start an ssecast Engine in this process (worker_threads 1) instead of
    /// connecting to `--addr`; its threads are pinned to `--server-cpu`.
    #[arg(long)]
    inproc: bool,
    /// The core for the in-process engine's threads.
    #[arg(long, default_value_t = 0)]
    server_cpu: usize,
    /// The core for this tool's own thread when `--inproc` is used.
    #[arg(long, default_value_t = 1)]
    client_cpu: usize,
    /// With `--inproc`: keep a durable history in this directory (emptied first).
    #[arg(long)]
    history_dir: Option<std::path::PathBuf>,
    /// With `--history-dir`: `history_sync` (always, batch or none).
    #[arg(long, default_value = "batch")]
    history_sync: String,
}

#[derive(Args)]
struct LadderArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Subscribers.
    #[arg(long, default_value_t = 1000)]
    subs: usize,
    /// Fixed publish rates (events/s) to run, comma-separated; without it the
    /// rate doubles from `--start-rate` until a step fails, then bisects.
    #[arg(long, value_delimiter = ',')]
    rates: Vec<f64>,
    /// The first rate of the search (published events/s).
    #[arg(long, default_value_t = 250.0)]
    start_rate: f64,
    /// The highest rate the search tries.
    #[arg(long, default_value_t = 32000.0)]
    max_rate: f64,
    /// The search stops when the pass/fail gap is at most this many events/s
    /// (or 1/16 of the passing rate, whichever is larger).
    #[arg(long, default_value_t = 250.0)]
    resolution: f64,
    /// Seconds of publishing before the measured window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds of the measured window.
    #[arg(long, default_value_t = 3.0)]
    window: f64,
    /// A step fails when p99 latency exceeds this (ms).
    #[arg(long, default_value_t = 100.0)]
    max_p99_ms: f64,
    /// The publish path.
    #[arg(long, default_value = "/publish")]
    publish_path: String,
    /// The bearer token for publishing.
    #[arg(long)]
    token: Option<String>,
    /// How the POST body carries the event.
    #[arg(long, value_enum, default_value = "json")]
    body: BodyStyle,
    /// The topic.
    #[arg(long, default_value = "bench")]
    topic: String,
    /// A label for the scenario in the RESULT lines.
    #[arg(long, default_value = "fanout")]
    scenario: String,
}

#[derive(Args)]
struct CapacityArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Idle connections to open (capped by the descriptor limit minus 64).
    #[arg(long, default_value_t = 10_000)]
    conns: usize,
    /// Seconds to hold them open afterwards (watching for drops and idle CPU).
    #[arg(long, default_value_t = 3.0)]
    hold: f64,
    /// Seconds allowed for opening them all.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
}

/// A server under test: its address, and the engine when it runs in-process.
struct Server {
    name: String,
    addr: SocketAddr,
    pid: Option<u32>,
    engine: Option<Arc<ssecast::Engine>>,
}

impl Server {
    fn start(args: &ServerArgs, token: Option<&str>) -> Result<Server, String> {
        if !args.inproc {
            return Ok(Server {
                name: args.name.clone(),
                addr: args.addr,
                pid: args.server_pid,
                engine: None,
            });
        }
        let mut config = ssecast::Config {
            port: 0,
            worker_threads: 1,
            max_connections: 100_000,
            publish_token: token.map(str::to_owned),
            ..Default::default()
        };
        config.keepalive_ms = 15_000;
        let mut name = format!("{}-inproc", args.name);
        if let Some(dir) = &args.history_dir {
            let _ = std::fs::remove_dir_all(dir);
            config.history_dir = Some(dir.clone());
            config
                .set("history_sync", &args.history_sync)
                .map_err(|e| e.to_string())?;
            name = format!("{name}-history-{}", args.history_sync);
        }
        let engine = ssecast::Engine::start(config).map_err(|e| e.to_string())?;
        // The durable history's writer is an `ssecast-` thread; fjall's own
        // flush and compaction threads belong to the server as well.
        let pinned = procstat::pin_threads("ssecast", args.server_cpu)
            + procstat::pin_threads("fjall", args.server_cpu);
        procstat::pin(0, args.client_cpu);
        eprintln!(
            "in-process engine on {} ({pinned} threads pinned to cpu {}, tool on cpu {})",
            engine.local_addr(),
            args.server_cpu,
            args.client_cpu
        );
        Ok(Server {
            name,
            addr: engine.local_addr(),
            pid: None,
            engine: Some(Arc::new(engine)),
        })
    }

    fn sample(&self) -> Option<procstat::Sample> {
        self.pid.and_then(procstat::sample)
    }

    /// CPU time of the in-process engine's threads (named `ssecast`; this
    /// tool's own are `ssecast-bench`) so far, in nanoseconds, with its
    /// durable history's writer and fjall's workers when it keeps one.
    fn engine_cpu_ns(&self) -> Option<u64> {
        self.engine.as_ref().map(|_| {
            ["ssecast", "ssecast-history", "fjall:worker"]
                .into_iter()
                .map(procstat::threads_cpu_ns)
                .sum()
        })
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let limit = procstat::raise_nofile();
    let mut cli_command = None;
    // The publish-cost program calls publish from a plain thread, as C, Python
    // and Node hosts do: no runtime of this tool around it.
    let in_plain_thread = match cli.command {
        Command::PublishCostChild(args) => Some(publish_cost::child(args)),
        Command::PublishThreads(args) => Some(publish_threads::run(args)),
        Command::HistoryStartup(args) => Some(history_startup::run(args)),
        Command::Backplane(args) => Some(backplane::run(args)),
        command => {
            cli_command = Some(command);
            None
        }
    };
    if let Some(outcome) = in_plain_thread {
        return match outcome {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ssecast-bench: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let command = cli_command.expect("set when not run in a plain thread");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let local = tokio::task::LocalSet::new();
    let outcome = local.block_on(&runtime, async move {
        match command {
            Command::Ladder(args) => ladder(args).await,
            Command::Capacity(args) => capacity(args, limit).await,
            Command::PublishCost(args) => publish_cost::orchestrate(args).await,
            Command::ConnectRate(args) => connect_rate::run(args).await,
            Command::PublishCostChild(_)
            | Command::PublishThreads(_)
            | Command::HistoryStartup(_)
            | Command::Backplane(_) => {
                unreachable!("handled above")
            }
        }
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ssecast-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The figures of one ladder step.
struct Step {
    rate: f64,
    achieved: f64,
    delivered_per_s: f64,
    p50: u64,
    p90: u64,
    p99: u64,
    max: u64,
    lost: u64,
    lossy_conns: usize,
    dups: u64,
    closed: usize,
    publish_failed: u64,
    cpu: Option<f64>,
    tool_cpu: Option<f64>,
    /// CPU time of the in-process engine per delivered event, in nanoseconds.
    engine_ns_per_event: Option<f64>,
    rss_kib: Option<u64>,
    pass: bool,
}

async fn ladder(args: LadderArgs) -> Result<(), String> {
    let server = Server::start(&args.server, args.token.as_deref())?;
    let mut pool = Pool::new(Target {
        addr: server.addr,
        path: args.server.events_path.clone(),
    });
    let took = pool.open(args.subs, Duration::from_secs(60)).await;
    let ready = pool.ready();
    eprintln!(
        "{}: {ready}/{} subscribers ready in {:.2} s",
        server.name,
        args.subs,
        took.as_secs_f64()
    );
    if ready < args.subs {
        return Err(format!(
            "only {ready} of {} subscribers connected: {}",
            args.subs,
            pool.first_error().unwrap_or_default()
        ));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut publisher = match &server.engine {
        Some(engine) => Publisher::engine(engine.clone(), &args.topic),
        None => {
            Publisher::http(
                server.addr,
                &args.publish_path,
                args.token.clone(),
                args.body,
                &args.topic,
            )
            .await?
        }
    };
    let mut best: Option<Step> = None;
    if !args.rates.is_empty() {
        for &rate in &args.rates {
            let result = step(&mut pool, &mut publisher, &server, &args, rate).await;
            report_step(&server.name, &args, &result, "step");
        }
        return Ok(());
    }
    let mut rate = args.start_rate;
    let mut failed_at = None;
    while rate <= args.max_rate {
        let result = step(&mut pool, &mut publisher, &server, &args, rate).await;
        report_step(&server.name, &args, &result, "step");
        if !result.pass {
            failed_at = Some(rate);
            break;
        }
        best = Some(result);
        rate *= 2.0;
    }
    if let Some(mut hi) = failed_at {
        let mut lo = best.as_ref().map_or(0.0, |b| b.rate);
        while hi - lo > args.resolution.max(lo / 16.0) {
            let mid = ((lo + hi) / 2.0 / 25.0).round() * 25.0;
            let result = step(&mut pool, &mut publisher, &server, &args, mid).await;
            report_step(&server.name, &args, &result, "step");
            if result.pass {
                lo = mid;
                best = Some(result);
            } else {
                hi = mid;
            }
        }
    }
    match &best {
        Some(best) => report_step(&server.name, &args, best, "best"),
        None => println!(
            "RESULT {} {} best none (failed at the first rate {})",
            args.scenario, server.name, args.start_rate
        ),
    }
    Ok(())
}

async fn step(
    pool: &mut Pool,
    publisher: &mut Publisher,
    server: &Server,
    args: &LadderArgs,
    rate: f64,
) -> Step {
    let reopened = pool.reopen_closed(Duration::from_secs(30)).await;
    if reopened > 0 {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let closed_before = pool.closed();
    let failed_before = publisher.counts.failed.get();
    let dups_before: u64 = pool.conns.iter().map(|c| c.dups.get()).sum();
    let first = publisher.next_seq;
    pool.begin_step(first);
    let shared = pool.shared.clone();
    let warmup = Duration::from_secs_f64(args.warmup);
    let window = Duration::from_secs_f64(args.window);
    let started = Instant::now();
    let measure = async {
        tokio::time::sleep(warmup).await;
        shared.latency.borrow_mut().clear();
        shared.window_events.set(0);
        shared.measuring.set(true);
        let before = server.sample();
        let engine_before = server.engine_cpu_ns();
        let tool_before = procstat::sample(std::process::id());
        let from = Instant::now();
        tokio::time::sleep(window).await;
        shared.measuring.set(false);
        let secs = from.elapsed().as_secs_f64();
        let after = server.sample();
        let engine_ns = engine_before
            .zip(server.engine_cpu_ns())
            .map(|(b, a)| a.saturating_sub(b));
        let tool_after = procstat::sample(std::process::id());
        let tool_cpu = tool_before
            .zip(tool_after)
            .map(|(b, a)| procstat::cpu_percent(&b, &a));
        (secs, before, after, tool_cpu, engine_ns)
    };
    let (published, (secs, before, after, tool_cpu, engine_ns)) =
        tokio::join!(publisher.run(rate, warmup + window), measure);
    let achieved = published as f64 / started.elapsed().as_secs_f64();
    publisher.settle(Duration::from_secs(5)).await;
    let last = first + published - 1;
    pool.drain(last, Duration::from_secs(5)).await;
    let latency = shared.latency.borrow().clone();
    let lost: Vec<u64> = pool
        .conns
        .iter()
        .map(|c| published.saturating_sub(c.got_in_step.get()))
        .collect();
    let dups = pool.conns.iter().map(|c| c.dups.get()).sum::<u64>() - dups_before;
    let closed = pool.closed() - closed_before;
    let publish_failed = publisher.counts.failed.get() - failed_before;
    let p99 = latency.quantile(0.99);
    let total_lost: u64 = lost.iter().sum();
    let pass = total_lost == 0
        && dups == 0
        && closed == 0
        && publish_failed == 0
        && achieved >= rate * 0.97
        && (p99 as f64) <= args.max_p99_ms * 1000.0;
    if publish_failed > 0 {
        if let Some(why) = publisher.counts.first_failure.borrow().as_ref() {
            eprintln!("publish failures: {why}");
        }
    }
    if closed > 0 {
        eprintln!(
            "{closed} subscribers closed: {}",
            pool.first_error().unwrap_or_default()
        );
    }
    Step {
        rate,
        achieved,
        delivered_per_s: shared.window_events.get() as f64 / secs,
        p50: latency.quantile(0.50),
        p90: latency.quantile(0.90),
        p99,
        max: latency.max(),
        lost: total_lost,
        lossy_conns: lost.iter().filter(|&&l| l > 0).count(),
        dups,
        closed,
        publish_failed,
        cpu: before
            .zip(after)
            .map(|(b, a)| procstat::cpu_percent(&b, &a))
            .or(engine_ns.map(|ns| ns as f64 / 1e9 / secs * 100.0)),
        engine_ns_per_event: engine_ns
            .map(|ns| ns as f64 / shared.window_events.get().max(1) as f64),
        tool_cpu,
        rss_kib: after.map(|a| a.rss_kib),
        pass,
    }
}

fn report_step(name: &str, args: &LadderArgs, s: &Step, kind: &str) {
    println!(
        "RESULT {} {name} {kind} subs={} rate={:.0} achieved={:.0} delivered_per_s={:.0} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} lost={} lossy_conns={} dups={} closed={} publish_failed={} server_cpu_pct={} tool_cpu_pct={} server_rss_mib={} engine_ns_per_event={} pass={}",
        args.scenario,
        args.subs,
        s.rate,
        s.achieved,
        s.delivered_per_s,
        s.p50 as f64 / 1000.0,
        s.p90 as f64 / 1000.0,
        s.p99 as f64 / 1000.0,
        s.max as f64 / 1000.0,
        s.lost,
        s.lossy_conns,
        s.dups,
        s.closed,
        s.publish_failed,
        s.cpu.map_or("-".into(), |c| format!("{c:.0}")),
        s.tool_cpu.map_or("-".into(), |c| format!("{c:.0}")),
        s.rss_kib.map_or("-".into(), |r| format!("{:.1}", r as f64 / 1024.0)),
        s.engine_ns_per_event
            .map_or("-".into(), |ns| format!("{ns:.0}")),
        s.pass
    );
}

async fn capacity(args: CapacityArgs, limit: u64) -> Result<(), String> {
    let server = Server::start(&args.server, None)?;
    let conns = args.conns.min(limit.saturating_sub(64) as usize);
    if conns < args.conns {
        eprintln!("capping at {conns} connections (open-file limit {limit})");
    }
    let mut pool = Pool::new(Target {
        addr: server.addr,
        path: args.server.events_path.clone(),
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = server.sample();
    let took = pool
        .open(conns, Duration::from_secs_f64(args.timeout))
        .await;
    let ready = pool.ready();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let loaded = server.sample();
    tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    let held = server.sample();
    let still = pool.ready();
    let per_conn = baseline
        .zip(loaded)
        .map(|(b, l)| (l.rss_kib as f64 - b.rss_kib as f64) / ready.max(1) as f64);
    let connect = pool.shared.connect_time.borrow().clone();
    if ready < conns {
        eprintln!(
            "{}: {} connections failed: {}",
            server.name,
            conns - ready,
            pool.first_error().unwrap_or_default()
        );
    }
    println!(
        "RESULT capacity {} conns={conns} ready={ready} held={still} accept_all_s={:.2} connect_p50_ms={:.2} connect_p99_ms={:.2} rss_base_mib={} rss_loaded_mib={} kib_per_conn={} idle_cpu_pct={}",
        server.name,
        took.as_secs_f64(),
        connect.quantile(0.5) as f64 / 1000.0,
        connect.quantile(0.99) as f64 / 1000.0,
        baseline.map_or("-".into(), |b| format!("{:.1}", b.rss_kib as f64 / 1024.0)),
        loaded.map_or("-".into(), |l| format!("{:.1}", l.rss_kib as f64 / 1024.0)),
        per_conn.map_or("-".into(), |p| format!("{p:.2}")),
        loaded
            .zip(held)
            .map_or("-".into(), |(l, h)| format!("{:.1}", procstat::cpu_percent(&l, &h))),
    );
    Ok(())
}
