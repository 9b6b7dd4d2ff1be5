//! New streams per second with authorization off, and on with HS256 and ES256
//! tokens, in one run: an in-process engine per mode (one worker thread,
//! pinned), and concurrent clients that each open a stream with a token in the
//! query, wait for its opening frame and close it (with a reset, so no
//! `TIME_WAIT` piles up). The modes alternate round by round so that noise from
//! other processes hits them alike.
//!
//! The tokens are the fixtures PyJWT signed (`core/src/auth/fixtures`), the
//! same request in every mode; with authorization off the token is ignored.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::procstat;

const TOKENS: &str = include_str!("../../core/src/auth/fixtures/tokens.json");
const EC_PUBLIC_KEY: &str = include_str!("../../core/src/auth/fixtures/ec_public.pem");

/// Options of `connect-rate`.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds of measured stream opening per mode and round.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Seconds of opening before each measured window.
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    /// Streams being opened at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Rounds of the three modes.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The core for the engine's threads.
    #[arg(long, default_value_t = 0)]
    server_cpu: usize,
    /// The core for this tool's thread.
    #[arg(long, default_value_t = 1)]
    client_cpu: usize,
}

#[derive(Deserialize)]
struct Fixtures {
    secret: String,
    tokens: std::collections::HashMap<String, Fixture>,
}

#[derive(Deserialize)]
struct Fixture {
    token: String,
}

/// How the engine checks the streams.
#[derive(Clone, Copy)]
enum Mode {
    Off,
    Hs256,
    Es256,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Hs256 => "hs256",
            Mode::Es256 => "es256",
        }
    }
}

/// What one measured window gave.
#[derive(Clone, Copy)]
struct Window {
    /// Streams opened per second of wall time.
    streams_per_s: f64,
    /// CPU time of the engine's threads per stream, in microseconds: what the
    /// engine's core spends, whatever else runs on the machine.
    engine_us_per_stream: f64,
}

/// Runs every round of the three modes; prints a `RESULT` line per
/// measurement and one per mode with its medians and their ratio to `off`.
pub async fn run(args: Args) -> Result<(), String> {
    let fixtures: Fixtures = serde_json::from_str(TOKENS).map_err(|e| e.to_string())?;
    let modes = [Mode::Off, Mode::Hs256, Mode::Es256];
    let mut windows: Vec<Vec<Window>> = vec![Vec::new(); modes.len()];
    for round in 1..=args.rounds {
        for (i, &mode) in modes.iter().enumerate() {
            let window = measure(mode, &fixtures, &args).await?;
            println!(
                "RESULT connect_rate ssecast auth={} round={round} concurrency={} streams_per_s={:.0} engine_us_per_stream={:.1}",
                mode.name(),
                args.concurrency,
                window.streams_per_s,
                window.engine_us_per_stream
            );
            windows[i].push(window);
        }
    }
    let median = |values: Vec<f64>| {
        let mut values = values;
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let medians: Vec<(f64, f64)> = windows
        .iter()
        .map(|w| {
            (
                median(w.iter().map(|w| w.streams_per_s).collect()),
                median(w.iter().map(|w| w.engine_us_per_stream).collect()),
            )
        })
        .collect();
    let (off_rate, off_us) = medians[0];
    for (mode, (rate, us)) in modes.iter().zip(&medians) {
        println!(
            "RESULT connect_rate ssecast auth={} median_streams_per_s={rate:.0} of_off={:.1}% median_engine_us_per_stream={us:.1} streams_per_engine_core_s={:.0} of_off_by_cpu={:.1}%",
            mode.name(),
            100.0 * rate / off_rate,
            1e6 / us,
            100.0 * off_us / us
        );
    }
    Ok(())
}

/// Streams opened in the measured window of one engine: per second, and the
/// engine's CPU time per stream.
async fn measure(mode: Mode, fixtures: &Fixtures, args: &Args) -> Result<Window, String> {
    let mut config = ssecast::Config {
        port: 0,
        worker_threads: 1,
        max_connections: 100_000,
        ..Default::default()
    };
    let token = match mode {
        Mode::Off => &fixtures.tokens["hs256"].token,
        Mode::Hs256 => {
            config.jwt_secret = Some(fixtures.secret.clone());
            &fixtures.tokens["hs256"].token
        }
        Mode::Es256 => {
            config.jwt_public_key = Some(EC_PUBLIC_KEY.to_owned());
            &fixtures.tokens["es256"].token
        }
    };
    let engine = ssecast::Engine::start(config).map_err(|e| e.to_string())?;
    procstat::pin_threads("ssecast", args.server_cpu);
    procstat::pin(0, args.client_cpu);
    let request: Rc<[u8]> =
        format!("GET /events?topic=news/bench&token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .into_bytes()
            .into();
    let addr = engine.local_addr();
    let opened = Rc::new(Cell::new(0u64));
    let measuring = Rc::new(Cell::new(false));
    let stop_at = Instant::now() + Duration::from_secs_f64(args.warmup + args.seconds);
    let clients: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (request, opened, measuring) = (request.clone(), opened.clone(), measuring.clone());
            tokio::task::spawn_local(async move {
                while Instant::now() < stop_at {
                    open_and_close(addr, &request).await?;
                    if measuring.get() {
                        opened.set(opened.get() + 1);
                    }
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
    measuring.set(true);
    let from = Instant::now();
    let cpu_from = procstat::threads_cpu_ns("ssecast");
    for client in clients {
        client.await.map_err(|e| e.to_string())??;
    }
    let cpu_ns = procstat::threads_cpu_ns("ssecast").saturating_sub(cpu_from);
    let streams = opened.get().max(1) as f64;
    let window = Window {
        streams_per_s: opened.get() as f64 / from.elapsed().as_secs_f64(),
        engine_us_per_stream: cpu_ns as f64 / 1e3 / streams,
    };
    engine.stop();
    Ok(window)
}

/// Opens one stream, waits for its `200` head and opening frame, and resets it.
async fn open_and_close(addr: SocketAddr, request: &[u8]) -> Result<(), String> {
    let mut tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    tcp.write_all(request).await.map_err(|e| e.to_string())?;
    let mut answer = Vec::with_capacity(512);
    loop {
        if tcp.read_buf(&mut answer).await.map_err(|e| e.to_string())? == 0 {
            return Err(format!(
                "the stream closed before opening: {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        let Some(head_end) = memchr::memmem::find(&answer, b"\r\n\r\n") else {
            continue;
        };
        if !answer.starts_with(b"HTTP/1.1 200") {
            return Err(format!("refused: {}", String::from_utf8_lossy(&answer)));
        }
        if memchr::memmem::find(&answer[head_end..], b": ok\n").is_some() {
            break;
        }
    }
    tcp.set_zero_linger().map_err(|e| e.to_string())
}
