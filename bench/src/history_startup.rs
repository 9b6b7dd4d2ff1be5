//! Start-up time of an engine whose durable history holds many events.
//!
//! `history-startup --dir D --events 1000000` fills `D` with that many events
//! (`--bytes` each, over `--topics` topics, `history_sync = batch`) in a child
//! process, which then stops the engine cleanly or, with `--crash`, is killed
//! with SIGKILL once the files in `D` stopped growing for a second (the writer
//! has written everything). Then it starts and stops
//! an engine on `D` `--repeat` times and reports, for each start, the wall time
//! of `Engine::start` and the CPU time this process spent in it (every thread:
//! the store's own threads included).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Options of `history-startup`.
#[derive(clap::Args)]
pub struct Args {
    /// The history directory (emptied first).
    #[arg(long)]
    dir: PathBuf,
    /// Events to fill it with.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Payload bytes per event.
    #[arg(long, default_value_t = 100)]
    bytes: usize,
    /// Topics the events are spread over.
    #[arg(long, default_value_t = 100)]
    topics: u64,
    /// End the filling process with SIGKILL instead of a clean stop.
    #[arg(long)]
    crash: bool,
    /// Starts measured.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Measure the history already in `--dir` (left by an earlier run) instead
    /// of filling it again.
    #[arg(long)]
    reuse: bool,
    /// Internal: be the filling child.
    #[arg(long, hide = true)]
    fill_only: bool,
}

/// Fills (in a child), then measures each start; one `RESULT` line per start.
pub fn run(args: Args) -> Result<(), String> {
    if args.fill_only {
        return fill(&args);
    }
    let mode = if args.reuse {
        "reused"
    } else {
        fill_in_child(&args)?
    };
    let mib = disk_bytes(&args.dir) as f64 / (1 << 20) as f64;
    for attempt in 1..=args.repeat {
        let config = config(&args.dir);
        let cpu_before = cpu_time();
        let started = Instant::now();
        let engine = ssecast::Engine::start(config).map_err(|e| e.to_string())?;
        let open = started.elapsed();
        let cpu = cpu_time() - cpu_before;
        engine.stop();
        println!(
            "RESULT history_startup events={} bytes={} end={mode} attempt={attempt} start_ms={:.0} cpu_ms={:.0} disk_mib={mib:.0}",
            args.events,
            args.bytes,
            open.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3,
        );
    }
    Ok(())
}

/// Fills `--dir` in a child process; returns how the child ended.
fn fill_in_child(args: &Args) -> Result<&'static str, String> {
    let _ = std::fs::remove_dir_all(&args.dir);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let began = Instant::now();
    let mut child = Command::new(exe);
    child.args(["history-startup", "--fill-only", "--dir"]);
    child.arg(&args.dir).args([
        "--events",
        &args.events.to_string(),
        "--bytes",
        &args.bytes.to_string(),
        "--topics",
        &args.topics.to_string(),
    ]);
    if args.crash {
        child.arg("--crash").stdout(std::process::Stdio::piped());
    }
    let mut child = child.spawn().map_err(|e| e.to_string())?;
    if args.crash {
        use std::io::BufRead;
        let stdout = child.stdout.take().expect("piped");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if line.trim() != "published" {
            return Err(format!("the filling process said {line:?}"));
        }
        let mut size = disk_bytes(&args.dir);
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let now = disk_bytes(&args.dir);
            if now == size {
                break;
            }
            size = now;
        }
        child.kill().map_err(|e| e.to_string())?;
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() == args.crash {
        return Err(format!("the filling process ended with {status}"));
    }
    let mode = if args.crash { "crash" } else { "clean" };
    eprintln!(
        "filled {} events in {:.1} s ({mode})",
        args.events,
        began.elapsed().as_secs_f64()
    );
    Ok(mode)
}

fn config(dir: &Path) -> ssecast::Config {
    ssecast::Config {
        port: 0,
        worker_threads: 1,
        history_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
}

/// The child: publishes the events, then stops or aborts.
fn fill(args: &Args) -> Result<(), String> {
    let mut config = config(&args.dir);
    config.max_event_bytes = args.bytes.max(1);
    let engine = ssecast::Engine::start(config).map_err(|e| e.to_string())?;
    let payload = "x".repeat(args.bytes);
    let event = ssecast::Event::new(&payload);
    for i in 0..args.events {
        engine
            .publish(&format!("t{}", i % args.topics), &event)
            .map_err(|e| e.to_string())?;
    }
    if args.crash {
        // The parent kills this process once the history stopped growing.
        println!("published");
        loop {
            std::thread::park();
        }
    }
    let stopping = Instant::now();
    engine.stop();
    eprintln!("stop took {:.0} ms", stopping.elapsed().as_secs_f64() * 1e3);
    Ok(())
}

/// CPU time of this process so far (user + system, every thread).
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Bytes of the files under `dir`.
fn disk_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => disk_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}
