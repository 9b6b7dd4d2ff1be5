//! The `ssecast` binary's log and shutdown: stream opens and closes logged with
//! their fields, never a token or a payload; bad `log_level` strings refused;
//! SIGTERM with `--drain-ms` drains before stopping.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const PUBLISH_TOKEN: &str = "pub-SECRET-7f3a";
const WRONG_TOKEN: &str = "wrong-SECRET-91bc";
const METRICS_TOKEN: &str = "metrics-SECRET-c0de";
const PAYLOAD: &str = "payload-SECRET-5e1f";

/// A running `ssecast` whose stderr is collected line by line.
struct Server {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
    /// Every stderr line read so far.
    seen: Vec<String>,
}

impl Server {
    /// Starts the binary with `args` on a free port; returns once it listens.
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ssecast"))
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .args(args)
            .env_remove("SSECAST_LOG_LEVEL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                if tx.send(line.unwrap_or_default()).is_err() {
                    return;
                }
            }
        });
        let mut server = Server {
            child,
            port: 0,
            lines,
            seen: Vec::new(),
        };
        let banner = server.wait_line("ssecast listening on http://");
        let addr = banner.split("http://").nth(1).unwrap();
        server.port = addr.split([':', '/']).nth(1).unwrap().parse().unwrap();
        server
    }

    /// The next stderr line containing `needle` (within 10 s).
    fn wait_line(&mut self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no stderr line with {needle:?}"));
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    fn connect(&self) -> TcpStream {
        let socket = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        socket
    }

    /// Sends one request and returns the whole answer (the server closes).
    fn request(&self, head: &str, body: &str) -> String {
        let mut socket = self.connect();
        write!(
            socket,
            "{head}\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        socket.read_to_string(&mut answer).unwrap();
        answer
    }

    /// Sends SIGTERM, waits for the exit, and returns all of stderr.
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.iter());
        (status, self.seen)
    }
}

/// Reads `socket` until `needle` has arrived; returns everything read.
fn read_until(socket: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = socket.read(&mut buf).unwrap();
        assert!(n > 0, "closed before {needle:?}");
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn streams_are_logged_without_tokens_or_payloads() {
    let mut server = Server::start(&[
        "--log-level",
        "trace",
        "--log-format",
        "json",
        "--publish-token",
        PUBLISH_TOKEN,
        "--metrics-token",
        METRICS_TOKEN,
    ]);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /events?topic=orders&topic=audit HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    read_until(&mut stream, ": ok");
    let publish = |token: &str| {
        server.request(
            &format!("POST /publish HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json"),
            &format!(r#"{{"topic":"orders","data":"{PAYLOAD}","id":"order-1"}}"#),
        )
    };
    assert!(publish(PUBLISH_TOKEN).starts_with("HTTP/1.1 200"));
    assert!(publish(WRONG_TOKEN).starts_with("HTTP/1.1 401"));
    read_until(&mut stream, PAYLOAD);
    let metrics = server.request(
        &format!("GET /metrics HTTP/1.1\r\nAuthorization: Bearer {METRICS_TOKEN}"),
        "",
    );
    assert!(metrics.contains("ssecast_auth_failures_total{reason=\"token_invalid\"} 1"));
    drop(stream);
    let closed = server.wait_line("stream closed");
    let (status, log) = server.terminate();
    assert!(status.success(), "{status}");
    let opened = log
        .iter()
        .find(|l| l.contains("stream opened"))
        .expect("an open line");
    assert!(opened.contains(r#""topics":"orders,audit""#), "{opened}");

    let closed: serde_json::Value = serde_json::from_str(&closed).expect("a JSON log line");
    let fields = &closed["fields"];
    assert_eq!(closed["level"], "DEBUG");
    assert_eq!(fields["topics"], "orders,audit");
    assert_eq!(fields["transport"], "http1");
    assert_eq!(fields["events"], 1);
    assert_eq!(fields["reason"], "connection-closed");
    assert_eq!(fields["peer"], "127.0.0.1");
    assert!(fields["bytes"].as_u64().unwrap() > PAYLOAD.len() as u64);
    assert!(fields["duration_ms"].is_u64());

    let everything = log.join("\n");
    assert!(log.len() > 4, "a log to search: {everything}");
    for secret in [PUBLISH_TOKEN, WRONG_TOKEN, METRICS_TOKEN, PAYLOAD] {
        assert!(
            !everything.contains(secret),
            "{secret} appears in the log:\n{everything}"
        );
        let half = &secret[..secret.len() / 2 + 3];
        assert!(
            !everything.contains(half),
            "part of {secret} appears in the log"
        );
    }
}

#[test]
fn log_level_and_format_strings_are_checked() {
    for (args, named) in [
        (&["--log-level", "loud"][..], "--log-level"),
        (&["--log-level", "debug,hyper=trace"][..], "--log-level"),
        (&["--log-format", "xml"][..], "--log-format"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_ssecast"))
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{text}");
        assert!(text.contains(named), "{text}");
        if named == "--log-level" {
            assert!(
                text.contains("trace, debug, info, warn, error, off"),
                "{text}"
            );
        }
    }
}

#[test]
fn sigterm_with_drain_ms_drains_before_stopping() {
    let mut server = Server::start(&["--drain-ms", "400", "--reconnect-jitter-ms", "250"]);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /events?topic=t HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    read_until(&mut stream, ": ok");
    let pid = server.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    server.wait_line("draining for 400 ms");
    let mut rest = String::new();
    stream.read_to_string(&mut rest).expect("the stream ends");
    let retry: u32 = rest
        .split("retry: ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no retry in {rest:?}"));
    assert!(retry <= 250);
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_signal_right_after_the_startup_lines_stops_gracefully() {
    // Orchestrators may signal as soon as the server says it listens: the
    // signal must already be caught then, never kill the process outright.
    for _ in 0..10 {
        let mut server = Server::start(&[]);
        let pid = server.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        server.wait_line("ssecast: stopping");
        let status = server.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}
