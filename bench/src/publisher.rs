//! The publisher role: events `<seq> <send-ns>` at a fixed rate, either as
//! pipelined HTTP POSTs over one keep-alive connection or through an
//! in-process [`ssecast::Engine`].

use std::cell::Cell;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

use crate::client::now_ns;
use crate::sse::{parse_head, Chunked};

/// Requests sent but not answered after which the publisher waits.
const MAX_IN_FLIGHT: u64 = 4096;

/// How the POST body carries the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BodyStyle {
    /// `{"topic": ..., "data": ...}` (ssecast and the hand-written peers).
    Json,
    /// The data itself as the body (Nchan's publisher endpoint).
    Raw,
}

/// Where events go.
pub enum Sink {
    /// Pipelined POSTs over one connection.
    Http(HttpSink),
    /// `Engine::publish` in this process.
    Engine(Arc<ssecast::Engine>),
}

/// Counters of the publisher.
#[derive(Debug, Default)]
pub struct Counts {
    /// Responses with a 2xx status.
    pub ok: Cell<u64>,
    /// Responses with any other status, and failed in-process publishes.
    pub failed: Cell<u64>,
    /// The first failure seen.
    pub first_failure: std::cell::RefCell<Option<String>>,
}

/// An HTTP publisher connection.
pub struct HttpSink {
    writer: OwnedWriteHalf,
    path: String,
    token: Option<String>,
    style: BodyStyle,
    topic: String,
    sent: u64,
}

/// A publisher with its sequence counter.
pub struct Publisher {
    sink: Sink,
    /// The next sequence number to publish (starts at 1).
    pub next_seq: u64,
    /// Response and failure counters.
    pub counts: Rc<Counts>,
    topic: String,
    scratch: String,
    request: Vec<u8>,
}

impl Publisher {
    /// Connects an HTTP publisher.
    pub async fn http(
        addr: SocketAddr,
        path: &str,
        token: Option<String>,
        style: BodyStyle,
        topic: &str,
    ) -> Result<Publisher, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("publisher connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (reader, writer) = stream.into_split();
        let counts = Rc::new(Counts::default());
        tokio::task::spawn_local(read_responses(reader, counts.clone()));
        Ok(Publisher {
            sink: Sink::Http(HttpSink {
                writer,
                path: path.to_owned(),
                token,
                style,
                topic: topic.to_owned(),
                sent: 0,
            }),
            next_seq: 1,
            counts,
            topic: topic.to_owned(),
            scratch: String::new(),
            request: Vec::new(),
        })
    }

    /// A publisher calling `engine.publish` directly.
    pub fn engine(engine: Arc<ssecast::Engine>, topic: &str) -> Publisher {
        Publisher {
            sink: Sink::Engine(engine),
            next_seq: 1,
            counts: Rc::new(Counts::default()),
            topic: topic.to_owned(),
            scratch: String::new(),
            request: Vec::new(),
        }
    }

    /// Publishes at `rate` events/s for `duration`; returns events published.
    pub async fn run(&mut self, rate: f64, duration: Duration) -> u64 {
        let start = Instant::now();
        let end = start + duration;
        let mut published = 0u64;
        loop {
            let now = Instant::now();
            if now >= end {
                return published;
            }
            let due = (now.duration_since(start).as_secs_f64() * rate) as u64 + 1;
            if due <= published || self.backlogged() {
                tokio::time::sleep(Duration::from_micros(250)).await;
                continue;
            }
            let burst = due - published;
            if let Err(e) = self.send(burst).await {
                self.fail(e);
                return published;
            }
            published += burst;
        }
    }

    fn backlogged(&self) -> bool {
        match &self.sink {
            Sink::Http(http) => {
                http.sent - self.counts.ok.get() - self.counts.failed.get() > MAX_IN_FLIGHT
            }
            Sink::Engine(_) => false,
        }
    }

    fn fail(&self, message: String) {
        self.counts.failed.set(self.counts.failed.get() + 1);
        self.counts
            .first_failure
            .borrow_mut()
            .get_or_insert(message);
    }

    /// Publishes `n` events now.
    async fn send(&mut self, n: u64) -> Result<(), String> {
        self.request.clear();
        for _ in 0..n {
            let seq = self.next_seq;
            self.next_seq += 1;
            self.scratch.clear();
            let _ = write!(self.scratch, "{seq} {}", now_ns());
            match &mut self.sink {
                Sink::Engine(engine) => {
                    if let Err(e) = engine.publish(&self.topic, &ssecast::Event::new(&self.scratch))
                    {
                        self.counts.failed.set(self.counts.failed.get() + 1);
                        self.counts
                            .first_failure
                            .borrow_mut()
                            .get_or_insert(e.to_string());
                    } else {
                        self.counts.ok.set(self.counts.ok.get() + 1);
                    }
                }
                Sink::Http(http) => {
                    http.encode(&self.scratch, &mut self.request);
                    http.sent += 1;
                }
            }
        }
        if let Sink::Http(http) = &mut self.sink {
            http.writer
                .write_all(&self.request)
                .await
                .map_err(|e| format!("publisher write: {e}"))?;
        }
        Ok(())
    }

    /// Waits until every request sent was answered, or `timeout`.
    pub async fn settle(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        if let Sink::Http(http) = &self.sink {
            while Instant::now() < deadline
                && self.counts.ok.get() + self.counts.failed.get() < http.sent
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

impl HttpSink {
    fn encode(&self, data: &str, out: &mut Vec<u8>) {
        let body = match self.style {
            BodyStyle::Json => serde_json::json!({ "topic": self.topic, "data": data }).to_string(),
            BodyStyle::Raw => data.to_owned(),
        };
        let content_type = match self.style {
            BodyStyle::Json => "application/json",
            BodyStyle::Raw => "text/plain",
        };
        let _ = write!(
            VecWriter(out),
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            self.path,
            body.len()
        );
        if let Some(token) = &self.token {
            let _ = write!(VecWriter(out), "Authorization: Bearer {token}\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body.as_bytes());
    }
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Reads pipelined responses and counts their statuses.
async fn read_responses(mut reader: tokio::net::tcp::OwnedReadHalf, counts: Rc<Counts>) {
    use tokio::io::AsyncReadExt;
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // Consume every complete response in the buffer.
        while let Some(head) = parse_head(&buf) {
            let head = match head {
                Ok(head) => head,
                Err(e) => {
                    counts.first_failure.borrow_mut().get_or_insert(e);
                    return;
                }
            };
            let body_len = if head.chunked {
                let mut decoder = Chunked::default();
                let mut end = None;
                // Find where the chunked body ends by feeding byte runs.
                for at in head.len..buf.len() {
                    if decoder.feed(&buf[at..at + 1], |_| {}).unwrap_or(true) {
                        end = Some(at + 1 - head.len);
                        break;
                    }
                }
                match end {
                    Some(len) => len,
                    None => break,
                }
            } else {
                head.content_length.unwrap_or(0)
            };
            if buf.len() < head.len + body_len {
                break;
            }
            if (200..300).contains(&head.status) {
                counts.ok.set(counts.ok.get() + 1);
            } else {
                counts.failed.set(counts.failed.get() + 1);
                let body = String::from_utf8_lossy(&buf[head.len..head.len + body_len]);
                counts
                    .first_failure
                    .borrow_mut()
                    .get_or_insert(format!("publish status {}: {body}", head.status));
            }
            buf.drain(..head.len + body_len);
        }
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                counts
                    .first_failure
                    .borrow_mut()
                    .get_or_insert("publisher connection closed".into());
                return;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
