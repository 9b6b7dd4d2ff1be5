//! Command-line flags, `SSECAST_*` environment variables and the TOML file, merged
//! into one [`ssecast::Config`].

use std::ffi::OsString;

use clap::{Arg, ArgAction, Command};
use ssecast::{Config, KEYS};

/// What the command line asks for.
#[derive(Debug)]
pub struct Options {
    /// The merged configuration.
    pub config: Config,
    /// Serve the demo page and publish the demo ticker.
    pub demo: bool,
    /// Serve the dashboard page and publish the engine's counters for it.
    pub dashboard: bool,
    /// On SIGTERM or SIGINT, drain over this long before stopping.
    pub drain: std::time::Duration,
}

/// Why parsing stopped without options: help or version text (code 0) or an
/// error (code 2).
#[derive(Debug)]
pub enum Exit {
    /// Text for stderr and the exit code.
    Message(String, u8),
}

fn flag(key: &str) -> String {
    key.replace('_', "-")
}

fn env_name(key: &str) -> String {
    format!("SSECAST_{}", key.to_ascii_uppercase())
}

fn command() -> Command {
    let defaults = Config::default();
    let mut command = Command::new("ssecast")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A Server-Sent Events server: subscribe with GET /events?topic=..., publish with POST /publish")
        .after_help("Every option can also be set as an SSECAST_* environment variable (SSECAST_PORT=8080) or as a key of the --config TOML file (port = 8080). Flags win over the environment, which wins over the file.")
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .help("TOML file whose keys are the option names in snake_case"),
        )
        .arg(
            Arg::new("demo")
                .long("demo")
                .action(ArgAction::SetTrue)
                .help("serve a live demo page at / and publish a ticker event every second"),
        )
        .arg(
            Arg::new("dashboard")
                .long("dashboard")
                .action(ArgAction::SetTrue)
                .help("serve a live dashboard of the engine's counters at /dashboard"),
        )
        .arg(
            Arg::new("drain_ms")
                .long("drain-ms")
                .value_name("MS")
                .value_parser(clap::value_parser!(u64).range(0..=3_600_000))
                .help("on SIGTERM/SIGINT, drain for MS (readyz 503, streams closed gradually) before stopping [default: 0]"),
        );
    for key in KEYS {
        let default = defaults.get(key.name).unwrap_or_default();
        let help = if default.is_empty() {
            key.help.to_string()
        } else {
            format!("{} [default: {default}]", key.help)
        };
        command = command.arg(
            Arg::new(key.name)
                .long(flag(key.name))
                .value_name("VALUE")
                .help(help),
        );
    }
    command
}

/// Parses `args`, reading environment variables through `env`.
pub fn parse(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Options, Exit> {
    let matches = command().try_get_matches_from(args).map_err(|e| {
        let code = if e.use_stderr() { 2 } else { 0 };
        Exit::Message(e.render().to_string(), code)
    })?;
    let fail = |message: String| Exit::Message(format!("ssecast: {message}\n"), 2);
    let mut config = match matches.get_one::<String>("config") {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(format!("cannot read {path}: {e}")))?;
            toml::from_str::<Config>(&text).map_err(|e| fail(format!("{path}: {e}")))?
        }
        None => Config::default(),
    };
    for key in KEYS {
        let value = env(&env_name(key.name)).or_else(|| legacy_log_level(key.name, &env));
        if let Some(value) = value {
            config
                .set(key.name, &value)
                .map_err(|e| fail(format!("{}: {e}", env_name(key.name))))?;
        }
    }
    for key in KEYS {
        if let Some(value) = matches.get_one::<String>(key.name) {
            config
                .set(key.name, value)
                .map_err(|e| fail(format!("--{}: {e}", flag(key.name))))?;
        }
    }
    let switch = |name: &str, var: &str| {
        matches.get_flag(name) || env(var).is_some_and(|v| v == "1" || v == "true")
    };
    let demo = switch("demo", "SSECAST_DEMO");
    let dashboard = switch("dashboard", "SSECAST_DASHBOARD");
    let drain_ms = match matches.get_one::<u64>("drain_ms") {
        Some(ms) => *ms,
        None => match env("SSECAST_DRAIN_MS") {
            Some(text) => text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= 3_600_000)
                .ok_or_else(|| {
                    fail(format!(
                        "SSECAST_DRAIN_MS: expected milliseconds from 0 to 3600000, got {text:?}"
                    ))
                })?,
            None => 0,
        },
    };
    // The CLI logs at info unless told otherwise (a library leaves logging to its host).
    config.log_level.get_or_insert_with(|| "info".to_owned());
    config.validate().map_err(|e| fail(e.to_string()))?;
    Ok(Options {
        config,
        demo,
        dashboard,
        drain: std::time::Duration::from_millis(drain_ms),
    })
}

/// `SSECAST_LOG`, the variable of earlier versions, read as `SSECAST_LOG_LEVEL`
/// when that is unset and it holds a plain level (it used to take filter
/// directives such as `ssecast=debug,hyper=info`, which are no longer
/// supported: those are ignored with a warning).
fn legacy_log_level(key: &str, env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    if key != "log_level" {
        return None;
    }
    let value = env("SSECAST_LOG")?;
    let level = value.trim().to_ascii_lowercase();
    if ["trace", "debug", "info", "warn", "error", "off"].contains(&level.as_str()) {
        return Some(level);
    }
    eprintln!(
        "ssecast: ignoring SSECAST_LOG={value:?}: set SSECAST_LOG_LEVEL to one level instead"
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Options, Exit> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(
            std::iter::once("ssecast").chain(args.iter().copied()),
            |k| env.get(k).cloned(),
        )
    }

    fn message(result: Result<Options, Exit>) -> (String, u8) {
        match result {
            Err(Exit::Message(text, code)) => (text, code),
            Ok(o) => panic!("expected an error, got {o:?}"),
        }
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let dir = std::env::temp_dir().join(format!("ssecast-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ssecast.toml");
        std::fs::write(&file, "port = 1\nhistory_size = 5\ncors_origins = [\"https://a.example\"]\nkeepalive_ms = 7000\n").unwrap();
        let file = file.to_str().unwrap();
        let o = run(
            &["--config", file, "--port", "3"],
            &[("SSECAST_PORT", "2"), ("SSECAST_HISTORY_SIZE", "6")],
        )
        .unwrap();
        assert_eq!(o.config.port, 3);
        assert_eq!(o.config.history_size, 6);
        assert_eq!(o.config.keepalive_ms, 7000);
        assert_eq!(o.config.cors_origins, vec!["https://a.example"]);
        assert!(!o.demo);
        assert!(run(&["--demo"], &[]).unwrap().demo);
        assert!(run(&[], &[("SSECAST_DASHBOARD", "1")]).unwrap().dashboard);
        assert_eq!(
            o.config.log_level.as_deref(),
            Some("info"),
            "the CLI logs at info"
        );
        let quiet = run(&["--log-level", "warn", "--drain-ms", "1500"], &[]).unwrap();
        assert_eq!(quiet.config.log_level.as_deref(), Some("warn"));
        let legacy = run(&[], &[("SSECAST_LOG", "debug")]).unwrap();
        assert_eq!(legacy.config.log_level.as_deref(), Some("debug"));
        let both = run(
            &[],
            &[("SSECAST_LOG", "debug"), ("SSECAST_LOG_LEVEL", "error")],
        )
        .unwrap();
        assert_eq!(both.config.log_level.as_deref(), Some("error"));
        let filter = run(&[], &[("SSECAST_LOG", "ssecast=debug")]).unwrap();
        assert_eq!(
            filter.config.log_level.as_deref(),
            Some("info"),
            "directives are ignored"
        );
        assert_eq!(quiet.drain, std::time::Duration::from_millis(1500));
    }

    #[test]
    fn every_key_is_a_flag_and_a_variable() {
        for key in KEYS {
            let value = Config::default().get(key.name).unwrap();
            if value.is_empty() {
                continue;
            }
            run(&[&format!("--{}", flag(key.name)), &value], &[]).unwrap();
            run(&[], &[(&env_name(key.name), &value)]).unwrap();
        }
    }

    #[test]
    fn bad_input_is_named() {
        let (text, code) = message(run(&["--port", "http"], &[]));
        assert!(text.contains("--port") && code == 2, "{text}");
        let (text, _) = message(run(&[], &[("SSECAST_MAX_CONNECTIONS", "lots")]));
        assert!(text.contains("SSECAST_MAX_CONNECTIONS"), "{text}");
        let (text, _) = message(run(&["--colour", "red"], &[]));
        assert!(text.contains("--colour"), "{text}");
        let (text, _) = message(run(&["--config", "/nonexistent/x.toml"], &[]));
        assert!(text.contains("cannot read"), "{text}");
        let (_, code) = message(run(&["--help"], &[]));
        assert_eq!(code, 0);
        let (text, code) = message(run(&["--log-level", "loud"], &[]));
        assert!(
            text.contains("--log-level") && text.contains("\"loud\" is not a level"),
            "{text}"
        );
        assert_eq!(code, 2);
        let (text, _) = message(run(&[], &[("SSECAST_LOG_FORMAT", "xml")]));
        assert!(text.contains("SSECAST_LOG_FORMAT"), "{text}");
        let (text, _) = message(run(&["--drain-ms", "soon"], &[]));
        assert!(text.contains("--drain-ms"), "{text}");
        let (text, _) = message(run(&[], &[("SSECAST_DRAIN_MS", "soon")]));
        assert!(text.contains("SSECAST_DRAIN_MS"), "{text}");
    }
}
