//! Test support: a WHATWG event-stream parser and a real HTTP client for the
//! engine's endpoints. Every wait has a deadline so a broken engine fails a test
//! instead of hanging it.
#![allow(dead_code, missing_docs)]

pub mod parser;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ssecast::{Config, Engine};
use tokio::net::TcpStream;

pub use parser::{Item, Parser, SseEvent};

/// How long any single wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Awaits `fut` or panics naming `what` after [`DEADLINE`].
pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Starts an engine on a free port of 127.0.0.1 with `keys` set.
pub fn engine(keys: &[(&str, &str)]) -> Engine {
    let mut config = Config::default();
    config.set("port", "0").unwrap();
    config.set("worker_threads", "2").unwrap();
    for (key, value) in keys {
        config.set(key, value).unwrap();
    }
    Engine::start(config).expect("engine starts")
}

/// Which HTTP version a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Http1,
    /// HTTP/2 with prior knowledge (h2c).
    Http2,
}

/// Sends one request on a new connection and returns the response head and body.
pub async fn request(
    addr: SocketAddr,
    version: Version,
    req: Request<Full<Bytes>>,
) -> http::Response<Incoming> {
    let tcp = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect");
    send_on(tcp, version, req).await
}

/// Sends one request on `tcp`.
async fn send_on(
    tcp: TcpStream,
    version: Version,
    req: Request<Full<Bytes>>,
) -> http::Response<Incoming> {
    let io = TokioIo::new(tcp);
    match version {
        Version::Http1 => {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            within("response", sender.send_request(req))
                .await
                .expect("response")
        }
        Version::Http2 => {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .unwrap();
            tokio::spawn(conn);
            within("response", sender.send_request(req))
                .await
                .expect("response")
        }
    }
}

/// Builds a request with `headers`.
pub fn build(
    method: &str,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::new(body.into())).unwrap()
}

/// A complete small response.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends a request and reads the whole response.
pub async fn call(
    method: &str,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let response = request(
        addr,
        Version::Http1,
        build(method, addr, path, headers, body),
    )
    .await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = within("body", response.into_body().collect())
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// An open event stream being read and parsed.
pub struct Stream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: Incoming,
    parser: Parser,
    queue: std::collections::VecDeque<Item>,
    /// Every body byte received so far.
    pub raw: Vec<u8>,
    pub ended: bool,
    /// Set by [`Stream::expect_cut`]: the engine may close the stream
    /// mid-frame (a slow consumer), which is then its end.
    cut_expected: bool,
    /// True when the stream ended mid-frame.
    pub cut: bool,
}

impl Stream {
    /// Opens `path` (e.g. `/events?topic=a`) with `headers`.
    pub async fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Stream {
        Self::open_with(addr, Version::Http1, path, headers).await
    }

    /// Opens a stream on a socket with a small receive buffer, for a client that
    /// stops reading.
    pub async fn open_small_window(addr: SocketAddr, path: &str) -> Stream {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let tcp = within("connect", socket.connect(addr))
            .await
            .expect("connect");
        let req = build("GET", addr, path, &[], Bytes::new());
        Self::from_response(send_on(tcp, Version::Http1, req).await)
    }

    fn from_response(response: http::Response<Incoming>) -> Stream {
        Stream {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.into_body(),
            parser: Parser::default(),
            queue: Default::default(),
            raw: Vec::new(),
            ended: false,
            cut_expected: false,
            cut: false,
        }
    }

    /// Opens a stream over the given HTTP version.
    pub async fn open_with(
        addr: SocketAddr,
        version: Version,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Stream {
        let response = request(
            addr,
            version,
            build("GET", addr, path, headers, Bytes::new()),
        )
        .await;
        Self::from_response(response)
    }

    /// Opens a stream and waits until the engine's first frame arrived, so that
    /// every later publish reaches it.
    pub async fn subscribed(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Stream {
        let mut stream = Self::open(addr, path, headers).await;
        assert_eq!(stream.status, StatusCode::OK, "subscribing to {path}");
        stream.wait_open().await;
        stream
    }

    /// Waits for the first frame (the `: ok` comment or the `retry:` field).
    pub async fn wait_open(&mut self) {
        while self.raw.is_empty() {
            assert!(self.pull().await, "stream ended before its first frame");
        }
    }

    /// Lets the engine end this stream by closing it mid-frame (what it does to
    /// a client that fell behind).
    pub fn expect_cut(&mut self) {
        self.cut_expected = true;
    }

    /// Reads one more body frame; false at the end of the stream.
    pub async fn pull(&mut self) -> bool {
        loop {
            match within("stream data", self.body.frame()).await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.raw.extend_from_slice(&data);
                        self.queue.extend(self.parser.feed(&data));
                        return true;
                    }
                }
                Some(Err(e)) if self.cut_expected => {
                    eprintln!("the stream was cut: {e}");
                    self.ended = true;
                    self.cut = true;
                    return false;
                }
                Some(Err(e)) => panic!("stream failed: {e}"),
                None => {
                    self.ended = true;
                    return false;
                }
            }
        }
    }

    /// The next parsed item (event or comment), or `None` at the end.
    pub async fn next_item(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.ended || !self.pull().await {
                return None;
            }
        }
    }

    /// The next event, skipping comments; `None` at the end of the stream.
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        while let Some(item) = self.next_item().await {
            if let Item::Event(event) = item {
                return Some(event);
            }
        }
        None
    }

    /// The next `n` events; panics if the stream ends first.
    /// Keep-alive comments do not extend the deadline: missing events fail the
    /// test instead of hanging it.
    pub async fn events(&mut self, n: usize) -> Vec<SseEvent> {
        let mut out = Vec::with_capacity(n);
        within(&format!("{n} events"), async {
            while out.len() < n {
                match self.next_event().await {
                    Some(event) => out.push(event),
                    None => panic!("stream ended after {} of {n} events", out.len()),
                }
            }
        })
        .await;
        out
    }

    /// The reconnection time the stream has set, if any.
    pub fn retry(&self) -> Option<u64> {
        self.parser.retry
    }
}

/// The resident set size of this process, in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The number of file descriptors this process holds open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Connects a raw TCP socket to the engine.
pub async fn raw(addr: SocketAddr) -> TcpStream {
    within("connect", TcpStream::connect(addr))
        .await
        .expect("connect")
}

/// Reads until the peer closes the connection; returns everything read.
pub async fn read_to_close(socket: &mut TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    within("the server to close the connection", async {
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    out
}

/// Answers `GET /healthz` with 200 on a new connection.
pub async fn healthy(addr: SocketAddr) -> bool {
    call("GET", addr, "/healthz", &[], "").await.status == StatusCode::OK
}

/// Opens an HTTP/1 stream on a socket with a tiny receive buffer, reads the
/// response head and the opening frame, and returns the socket unread from
/// then on: a client that stops reading.
pub async fn stuck_client(addr: SocketAddr, path: &str) -> TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let mut tcp = within("connect", socket.connect(addr))
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    within("the opening frame", async {
        while !seen.windows(5).any(|w| w == b": ok\n") {
            let mut buf = [0u8; 512];
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the opening frame");
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(seen.starts_with(b"HTTP/1.1 200"));
    tcp
}

/// Waits until `done` holds, checking every few milliseconds.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    within(what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}
