//! The engine's log: `tracing` events under the target `ssecast` (stream opens
//! and closes at debug, warnings, the listening address at info).
//!
//! With `log_level` unset the engine installs nothing: a Rust host's own
//! `tracing` subscriber receives the events. With `log_level` set, the first
//! engine of a process that has no subscriber yet installs one that writes to
//! stderr in `log_format` (`text` or `json`, one object per line): the way
//! for C, Python and Node hosts, and for the CLI, to get the engine's log.
//! Dependencies (hyper, h2) log at `warn` at most, so that a `trace` level
//! shows the engine's own events, not every frame on the wire.

use std::io::IsTerminal;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::Config;

/// Installs the stderr log `config` asks for; false when it asks for none or
/// the process already has a subscriber (which then keeps receiving the events).
pub(crate) fn install(config: &Config) -> bool {
    let Some(level) = config
        .log_level
        .as_deref()
        .and_then(|level| level.parse::<LevelFilter>().ok())
    else {
        return false;
    };
    let filter = Targets::new()
        .with_default(level.min(LevelFilter::WARN))
        .with_target("ssecast", level);
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = if config.log_format == "json" {
        layer.json().with_filter(filter).boxed()
    } else {
        layer
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(filter)
            .boxed()
    };
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .is_ok()
}
