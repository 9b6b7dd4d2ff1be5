//! The Redis backplane (issue 14), in one run on loopback: three engines
//! joined through a `redis-server` this tool starts (free port, temporary
//! directory, no persistence) against one engine without a backplane.
//!
//! - **Publish rate**: `Engine::publish` from `--publishers` threads for
//!   `--seconds`, no subscriber: one node alone vs the three nodes (the
//!   threads spread over them). Redis's `INFO commandstats` and `INFO cpu`
//!   before and after give the commands and round trips per publish and the
//!   CPU Redis spent per publish.
//! - **Fan-out**: `--subscribers` HTTP streams (spread over the three nodes,
//!   or all on the single node) and a publisher on the first node at
//!   `--rate` events/s: events delivered per second and the publish-to-receive
//!   latency, p50 and p99 (for the cluster, every subscriber of the other two
//!   nodes receives across nodes).
//!
//! Prints one `RESULT` line per figure.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::now_ns;
use crate::histogram::Histogram;
use crate::sse::{parse_head, Chunked, Parser};

/// Options of `backplane`.
#[derive(clap::Args)]
pub struct Args {
    /// The redis-server binary.
    #[arg(long, default_value = "redis-server")]
    redis_server: PathBuf,
    /// Publishing threads in the publish-rate runs.
    #[arg(long, default_value_t = 6)]
    publishers: usize,
    /// Length of each publish-rate run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Streams in the fan-out runs.
    #[arg(long, default_value_t = 600)]
    subscribers: usize,
    /// Publishes per second in the fan-out runs.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Worker threads of each engine's runtime.
    #[arg(long, default_value_t = 1)]
    engine_threads: usize,
}

/// A `redis-server` for the run, killed on drop.
struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    fn start(binary: &PathBuf) -> Result<Redis, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let dir = std::env::temp_dir().join(format!("ssecast-bench-redis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(&dir)
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let redis = Redis { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.cli(&["PING"]).is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Runs `redis-cli` against the server; its output.
    fn cli(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Total commands processed, calls per command, and CPU seconds used.
    fn counters(&self) -> Result<RedisCounters, String> {
        let stats = self.cli(&["INFO", "all"])?;
        let mut counters = RedisCounters::default();
        for line in stats.lines() {
            if let Some(rest) = line.strip_prefix("cmdstat_") {
                let (name, fields) = rest.split_once(':').unwrap_or_default();
                let calls = fields
                    .split(',')
                    .find_map(|f| f.strip_prefix("calls="))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                counters.calls.push((name.to_owned(), calls));
            } else if let Some(n) = line.strip_prefix("total_commands_processed:") {
                counters.commands = n.trim().parse().unwrap_or(0);
            } else if let Some(s) = line.strip_prefix("used_cpu_sys:") {
                counters.cpu += s.trim().parse::<f64>().unwrap_or(0.0);
            } else if let Some(s) = line.strip_prefix("used_cpu_user:") {
                counters.cpu += s.trim().parse::<f64>().unwrap_or(0.0);
            }
        }
        Ok(counters)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Default)]
struct RedisCounters {
    commands: u64,
    calls: Vec<(String, u64)>,
    cpu: f64,
}

impl RedisCounters {
    fn calls_of(&self, name: &str) -> u64 {
        self.calls
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, c)| *c)
    }
}

fn engine(backplane: Option<String>, threads: usize) -> Result<Arc<ssecast::Engine>, String> {
    let engine = ssecast::Engine::start(ssecast::Config {
        port: 0,
        backplane,
        worker_threads: threads,
        keepalive_ms: 0,
        max_connections: 100_000,
        ..ssecast::Config::default()
    })
    .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine
        .stats()
        .backplane
        .is_some_and(|s| s != ssecast::BackplaneState::Connected)
    {
        if Instant::now() > deadline {
            return Err("a node did not reach Redis".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Arc::new(engine))
}

/// Publishes from `threads` threads (over `nodes` round robin) for `seconds`;
/// publishes per second.
fn publish_rate(nodes: &[Arc<ssecast::Engine>], threads: usize, seconds: u64) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let node = nodes[t % nodes.len()].clone();
            let count = count.clone();
            let topic = format!("rate-{t}");
            std::thread::spawn(move || {
                let payload = "x".repeat(64);
                while Instant::now() < end {
                    node.publish(&topic, &ssecast::Event::new(&payload))
                        .expect("publish");
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for handle in handles {
        let _ = handle.join();
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// One stream on `addr`: records the latency of every event (its data is
/// the publish time in ns) until `stop`.
async fn subscriber(
    addr: SocketAddr,
    latencies: Arc<Mutex<Histogram>>,
    received: Arc<AtomicU64>,
    ready: Arc<AtomicU64>,
) -> Result<(), String> {
    let mut socket = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    socket
        .write_all(b"GET /events?topic=fan HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let mut chunked = None;
    let mut parser = Parser::default();
    let mut local = Histogram::default();
    let mut local_count = 0u64;
    loop {
        let n = socket.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        let mut body = &buf[..n];
        if chunked.is_none() {
            head.extend_from_slice(body);
            let Some(parsed) = parse_head(&head) else {
                continue;
            };
            let parsed = parsed?;
            ready.fetch_add(1, Ordering::Relaxed);
            chunked = Some(parsed.chunked.then(Chunked::default));
            let rest = head.split_off(parsed.len);
            head = rest;
            body = &head;
        }
        let now = now_ns();
        let mut on_event = |_: &[u8], data: &[u8]| {
            if let Some(sent) = std::str::from_utf8(data)
                .ok()
                .and_then(|d| d.parse::<u64>().ok())
            {
                local.record(now.saturating_sub(sent) / 1_000);
                local_count += 1;
            }
        };
        match chunked.as_mut().and_then(Option::as_mut) {
            Some(decoder) => {
                decoder.feed(body, |piece| parser.feed(piece, &mut on_event))?;
            }
            None => parser.feed(body, &mut on_event),
        }
        if !head.is_empty() {
            head.clear();
        }
        // Once per read: a burst of events is one merge.
        if local_count > 0 {
            latencies.lock().unwrap().merge(&local);
            received.fetch_add(local_count, Ordering::Relaxed);
            local.clear();
            local_count = 0;
        }
    }
    latencies.lock().unwrap().merge(&local);
    received.fetch_add(local_count, Ordering::Relaxed);
    Ok(())
}

/// Streams spread over `nodes`, a publisher on the first at `rate` for
/// `seconds`: delivered events per second, p50 and p99 in µs.
fn fan_out(
    nodes: &[Arc<ssecast::Engine>],
    subscribers: usize,
    rate: u64,
    seconds: u64,
) -> Result<(f64, u64, u64), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let latencies = Arc::new(Mutex::new(Histogram::default()));
    let received = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..subscribers)
        .map(|i| {
            let addr = nodes[i % nodes.len()].local_addr();
            runtime.spawn(subscriber(
                addr,
                latencies.clone(),
                received.clone(),
                ready.clone(),
            ))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ready.load(Ordering::Relaxed) < subscribers as u64 {
        if Instant::now() > deadline {
            return Err("the streams did not open".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Every node subscribes to the topic when its first stream comes: give
    // the feeds a moment, then forget what arrived meanwhile.
    std::thread::sleep(Duration::from_millis(500));
    latencies.lock().unwrap().clear();
    received.store(0, Ordering::Relaxed);
    let publisher = &nodes[0];
    let start = Instant::now();
    let total = rate * seconds;
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        publisher
            .publish("fan", &ssecast::Event::new(&now_ns().to_string()))
            .map_err(|e| e.to_string())?;
    }
    let expected = total * subscribers as u64;
    let drain = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < drain {
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let delivered = received.load(Ordering::Relaxed);
    for task in tasks {
        task.abort();
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    if delivered < expected {
        eprintln!("fan-out: {delivered} of {expected} events delivered");
    }
    let latencies = latencies.lock().unwrap();
    Ok((
        delivered as f64 / elapsed,
        latencies.quantile(0.5),
        latencies.quantile(0.99),
    ))
}

/// Runs every measurement and prints the `RESULT` lines.
pub fn run(args: Args) -> Result<(), String> {
    let redis = Redis::start(&args.redis_server)?;
    let single = engine(None, args.engine_threads)?;
    let cluster: Vec<_> = (0..3)
        .map(|_| engine(Some(redis.url()), args.engine_threads))
        .collect::<Result<_, _>>()?;

    let alone = publish_rate(std::slice::from_ref(&single), args.publishers, args.seconds);
    println!("RESULT backplane publish_rate setup=single-node publishes_per_s={alone:.0}");
    let before = redis.counters()?;
    let started = Instant::now();
    let through = publish_rate(&cluster, args.publishers, args.seconds);
    let wall = started.elapsed().as_secs_f64();
    let after = redis.counters()?;
    let publishes = (through * wall).round().max(1.0);
    println!("RESULT backplane publish_rate setup=three-nodes publishes_per_s={through:.0}");
    let per = |n: u64| n as f64 / publishes;
    println!(
        "RESULT backplane redis_per_publish commands={:.2} evalsha={:.2} round_trips={:.2} \
         cpu_us={:.1} redis_cpu_share={:.2}",
        per(after.commands - before.commands),
        per(after.calls_of("evalsha") - before.calls_of("evalsha")),
        per(
            after.calls_of("evalsha") - before.calls_of("evalsha") + after.calls_of("eval")
                - before.calls_of("eval")
        ),
        (after.cpu - before.cpu) * 1e6 / publishes,
        (after.cpu - before.cpu) / wall,
    );
    for (name, calls) in &after.calls {
        let old = before
            .calls
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, c)| *c);
        if calls > &old {
            println!(
                "RESULT backplane redis_calls command={name} per_publish={:.3}",
                per(calls - old)
            );
        }
    }

    let (rate, p50, p99) = fan_out(
        std::slice::from_ref(&single),
        args.subscribers,
        args.rate,
        args.seconds,
    )?;
    println!(
        "RESULT backplane fanout setup=single-node subscribers={} rate={} delivered_per_s={rate:.0} p50_us={p50} p99_us={p99}",
        args.subscribers, args.rate
    );
    let (rate, p50, p99) = fan_out(&cluster, args.subscribers, args.rate, args.seconds)?;
    println!(
        "RESULT backplane fanout setup=three-nodes subscribers={} rate={} delivered_per_s={rate:.0} p50_us={p50} p99_us={p99}",
        args.subscribers, args.rate
    );
    for node in cluster.iter().chain([&single]) {
        node.stop();
    }
    Ok(())
}
