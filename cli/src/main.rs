//! `ssecast`: the standalone Server-Sent Events server (hub mode).
//!
//! Configuration comes from, lowest precedence first: the defaults, a TOML file
//! (`--config`), `SSECAST_*` environment variables, and command-line flags.

mod demo;
mod options;
mod startup;

use std::process::ExitCode;
use std::sync::{mpsc, Arc};

use ssecast::Engine;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SSECAST_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = match options::parse(std::env::args_os(), |key| std::env::var(key).ok()) {
        Ok(options) => options,
        Err(options::Exit::Message(text, code)) => {
            eprint!("{text}");
            return ExitCode::from(code);
        }
    };
    let mut config = options.config;
    let demo_token = options.demo.then(|| demo::prepare(&mut config));
    let startup = startup::Startup::new(&config, options.demo);
    let engine = match Engine::start(config) {
        Ok(engine) => Arc::new(engine),
        Err(e) => {
            eprintln!("ssecast: {e}");
            return ExitCode::from(1);
        }
    };
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let ticker = demo_token.map(|_| demo::spawn_ticker(&engine, stop_rx));
    for line in startup.lines(engine.local_addr()) {
        eprintln!("{line}");
    }
    wait_for_signal();
    eprintln!("ssecast: stopping");
    drop(stop_tx);
    if let Some(ticker) = ticker {
        let _ = ticker.join();
    }
    engine.stop();
    ExitCode::SUCCESS
}

/// Blocks until SIGINT or SIGTERM.
fn wait_for_signal() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
}
