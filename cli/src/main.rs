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
    for line in startup.lines(engine.local_addr()) {
        eprintln!("{line}");
    }
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    signals.block_on(signal());
    if !options.drain.is_zero() {
        eprintln!(
            "ssecast: draining for {} ms (signal again to stop now)",
            options.drain.as_millis()
        );
        signals.block_on(drain_unless_signalled(&engine, options.drain));
    }
    eprintln!("ssecast: stopping");
    drop((stop_tx, dashboard_stop));
    for thread in [ticker, publisher].into_iter().flatten() {
        let _ = thread.join();
    }
    engine.stop();
    ExitCode::SUCCESS
}

/// Resolves on SIGINT or SIGTERM.
async fn signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Drains the engine over `window`, or less if another signal comes first.
async fn drain_unless_signalled(engine: &Arc<Engine>, window: std::time::Duration) {
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
        _ = signal() => {}
    }
}
