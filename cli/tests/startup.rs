//! The `ssecast` binary tells, once it listens, where and whether HTTP
//! publishing is on; with publishing off, POST /publish answers 403 as it says.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// The server started with `args` on a free port, its first two stderr lines,
/// and the address it printed.
struct Server {
    child: Child,
    lines: [String; 2],
    addr: String,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ssecast"))
            .args(["--port", "0", "--bind", "127.0.0.1"])
            .args(args)
            .env("SSECAST_LOG", "warn")
            .env_remove("SSECAST_PUBLISH_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ssecast binary starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut next = || {
            let mut line = String::new();
            stderr.read_line(&mut line).unwrap();
            line.trim_end().to_owned()
        };
        let lines = [next(), next()];
        let addr = lines[0]
            .strip_prefix("ssecast listening on http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("unexpected first line: {:?}", lines[0]))
            .to_owned();
        Server { child, lines, addr }
    }

    /// The status line of `POST /publish` with `authorization`.
    fn publish_status(&self, authorization: Option<&str>) -> String {
        let body = r#"{"topic":"t","data":"x"}"#;
        let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        let request = format!(
            "POST /publish HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{auth}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.lines().next().unwrap_or_default().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn without_a_token_it_says_publishing_is_off_and_how_to_turn_it_on() {
    // What `--publish-token "$TOKEN"` gives when TOKEN is not set.
    let server = Server::start(&["--publish-token", ""]);
    let [listening, publishing] = &server.lines;
    assert!(listening.ends_with("/ (events at /events)"), "{listening}");
    assert_eq!(
        publishing,
        "ssecast: HTTP publishing is off; to turn on POST /publish, start with \
         --publish-token TOKEN (or set SSECAST_PUBLISH_TOKEN)"
    );
    assert!(server.publish_status(None).starts_with("HTTP/1.1 403"));
}

#[test]
fn with_a_token_it_says_publishing_is_on() {
    let server = Server::start(&["--publish-token", "s3cret"]);
    let [_, publishing] = &server.lines;
    assert!(
        publishing.starts_with("ssecast: HTTP publishing is on: POST /publish"),
        "{publishing}"
    );
    assert!(
        !publishing.contains("s3cret"),
        "the token is not printed: {publishing}"
    );
    let status = server.publish_status(Some("Bearer s3cret"));
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
}
