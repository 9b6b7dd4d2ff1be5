//! Publish cost with several publishing threads: `Engine::publish` called from
//! T threads at once, each on its own topic, with payloads of a given size and
//! no subscriber attached. Shows how long publishers wait for each other in
//! the engine's publish critical section, and, with `--history-dir`, what the
//! durable history adds (each run on a fresh directory inside it).

use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::Instant;

/// Options of `publish-threads`.
#[derive(clap::Args)]
pub struct Args {
    /// Publishing threads, comma-separated (one run each).
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    threads: Vec<usize>,
    /// Payload sizes in bytes, comma-separated (one run each).
    #[arg(long, value_delimiter = ',', default_value = "64,65536")]
    bytes: Vec<usize>,
    /// Publishes per thread in each run.
    #[arg(long, default_value_t = 200_000)]
    calls: usize,
    /// A label for the report (for example `before` or `after`).
    #[arg(long, default_value = "ssecast")]
    label: String,
    /// Keep a durable history: each run gets a fresh directory inside this one
    /// (removed after the run). Without it, memory only.
    #[arg(long)]
    history_dir: Option<PathBuf>,
    /// `history_sync` of the durable history: always, batch or none.
    #[arg(long, default_value = "batch")]
    history_sync: String,
}

/// Runs every combination of threads and sizes and prints one `RESULT` line each.
pub fn run(args: Args) -> Result<(), String> {
    let history = match &args.history_dir {
        Some(_) => format!("history={}", args.history_sync),
        None => "history=memory".to_owned(),
    };
    for &bytes in &args.bytes {
        for &threads in &args.threads {
            let mut config = ssecast::Config {
                port: 0,
                worker_threads: 1,
                history_size: 64,
                max_event_bytes: bytes.max(1),
                ..Default::default()
            };
            let run_dir = args
                .history_dir
                .as_ref()
                .map(|dir| dir.join(format!("publish-threads-{threads}-{bytes}")));
            if let Some(dir) = &run_dir {
                let _ = std::fs::remove_dir_all(dir);
                config.history_dir = Some(dir.clone());
                config
                    .set("history_sync", &args.history_sync)
                    .map_err(|e| e.to_string())?;
            }
            let measured = measure(config, threads, bytes, args.calls);
            if let Some(dir) = &run_dir {
                let _ = std::fs::remove_dir_all(dir);
            }
            let (ns, stop_ms) = measured?;
            println!(
                "RESULT publish_threads {} {history} threads={threads} bytes={bytes} calls_per_thread={} ns_per_publish={ns:.0} publishes_per_s={:.0} stop_ms={stop_ms:.0}",
                args.label,
                args.calls,
                1e9 / ns * threads as f64
            );
        }
    }
    Ok(())
}

/// Mean wall time per publish seen by one thread, in nanoseconds, and the time
/// `stop` took (with a durable history: writing what was still queued).
fn measure(
    config: ssecast::Config,
    threads: usize,
    bytes: usize,
    calls: usize,
) -> Result<(f64, f64), String> {
    let engine = Arc::new(ssecast::Engine::start(config).map_err(|e| e.to_string())?);
    // Lines of 80 characters, so the encoder splits the payload as a JSON or
    // text payload with line breaks would be split.
    let payload: String = (0..bytes)
        .map(|i| if i % 81 == 80 { '\n' } else { 'x' })
        .collect();
    let payload = Arc::new(payload);
    let start = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (engine, payload, start) = (engine.clone(), payload.clone(), start.clone());
            std::thread::spawn(move || -> Result<f64, String> {
                let topic = format!("bench/{t}");
                let event = ssecast::Event::new(&payload);
                start.wait();
                let began = Instant::now();
                for _ in 0..calls {
                    engine.publish(&topic, &event).map_err(|e| e.to_string())?;
                }
                Ok(began.elapsed().as_nanos() as f64 / calls as f64)
            })
        })
        .collect();
    start.wait();
    let mut total = 0.0;
    for worker in workers {
        total += worker.join().map_err(|_| "a publisher panicked")??;
    }
    let stopping = Instant::now();
    engine.stop();
    Ok((
        total / threads as f64,
        stopping.elapsed().as_secs_f64() * 1e3,
    ))
}
