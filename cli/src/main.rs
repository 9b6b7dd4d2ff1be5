//! `ssecast`: the standalone Server-Sent Events server (hub mode).
//!
//! Configuration comes from, lowest precedence first: the defaults, a TOML file
//! (`--config`), `SSECAST_*` environment variables, and command-line flags.
//! The engine writes the log (`log_level`, default `info` here; `log_format`).

mod dashboard;
mod demo;
mod options;
mod startup;

use std::process::ExitCode;
use std::sync::{mpsc, Arc};

use ssecast::Engine;
use tokio::signal::unix::{signal, Signal, SignalKind};

fn main() -> ExitCode {
    let options = match options::parse(std::env::args_os(), |key| std::env::var(key).ok()) {
        Ok(options) => options,
        Err(options::Exit::Message(text, code)) => {
            eprint!("{text}");
            return ExitCode::from(code);
        }
    };
    let mut config = options.config;
    let demo_token = options.demo.then(|| demo::prepare(&mut config));
    if options.dashboard {
        dashboard::prepare(&mut config);
    }
    let startup = startup::Startup::new(&config, options.demo);
    let engine = match Engine::start(config) {
        Ok(engine) => Arc::new(engine),
        Err(e) => {
            eprintln!("ssecast: {e}");
            return ExitCode::from(1);
        }
    };
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (dashboard_stop, dashboard_rx) = mpsc::channel::<()>();
    let ticker = demo_token.map(|_| demo::spawn_ticker(&engine, stop_rx));
    let publisher = options
        .dashboard
        .then(|| dashboard::spawn_publisher(&engine, dashboard_rx));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    // Caught from before the startup lines: whoever starts ssecast may signal
    // it as soon as it says it listens, and must get a graceful stop.
    let mut signals = runtime.block_on(async { Signals::install() });
    for line in startup.lines(engine.local_addr()) {
        eprintln!("{line}");
    }
    runtime.block_on(signals.next());
    if !options.drain.is_zero() {
        eprintln!(
            "ssecast: draining for {} ms (signal again to stop now)",
            options.drain.as_millis()
        );
        runtime.block_on(drain_unless_signalled(&engine, options.drain, &mut signals));
    }
    eprintln!("ssecast: stopping");
    drop((stop_tx, dashboard_stop));
    for thread in [ticker, publisher].into_iter().flatten() {
        let _ = thread.join();
    }
    engine.stop();
    ExitCode::SUCCESS
}

/// SIGINT and SIGTERM, caught from [`Signals::install`] on for the life of the
/// process.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Catches both signals from now on (inside a runtime).
    fn install() -> Self {
        let catch = |kind| signal(kind).expect("a signal handler");
        Signals {
            interrupt: catch(SignalKind::interrupt()),
            terminate: catch(SignalKind::terminate()),
        }
    }

    /// Resolves on the next SIGINT or SIGTERM.
    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Drains the engine over `window`, or less if another signal comes first.
async fn drain_unless_signalled(
    engine: &Arc<Engine>,
    window: std::time::Duration,
    signals: &mut Signals,
) {
    let (done_tx, done) = tokio::sync::oneshot::channel::<()>();
    let draining = engine.clone();
    std::thread::spawn(move || {
        if let Err(e) = draining.drain(window) {
            eprintln!("ssecast: {e}");
        }
        let _ = done_tx.send(());
    });
    tokio::select! {
        _ = done => {}
        _ = signals.next() => {}
    }
}
