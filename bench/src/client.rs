//! The subscriber side of the load tool: many SSE connections on one thread.
//!
//! Each connection is a task on a single-threaded runtime. Reads go through one
//! shared buffer (no per-connection buffer), so 19,000 idle connections cost
//! the tool only their sockets and a few hundred bytes each.

use std::cell::{Cell, RefCell};
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Notify, Semaphore};

use crate::histogram::Histogram;
use crate::sse::{parse_head, Chunked, Parser};

/// Source addresses used round-robin so the ephemeral port range never runs short.
const SOURCE_ADDRESSES: u8 = 16;
/// Connects in flight at once.
const CONNECT_CONCURRENCY: usize = 256;
/// The shared read buffer.
const READ_BUFFER: usize = 256 * 1024;

/// Where subscribers connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server address.
    pub addr: SocketAddr,
    /// The request path with its query, e.g. `/events?topic=bench`.
    pub path: String,
}

/// One connection's counters.
#[derive(Debug, Default)]
pub struct Conn {
    /// The highest sequence number received.
    pub last_seq: Cell<u64>,
    /// Distinct events of the current step received.
    pub got_in_step: Cell<u64>,
    /// Events whose sequence number was not above the last one.
    pub dups: Cell<u64>,
    /// Events whose data was not a benchmark payload (`<seq> <ns>`).
    pub other_events: Cell<u64>,
    /// Every event received.
    pub events: Cell<u64>,
    /// Open and past its response head.
    pub ready: Cell<bool>,
    /// Closed (by the server, an error or a bad status).
    pub closed: Cell<bool>,
    /// Why it closed, when known.
    pub error: RefCell<Option<String>>,
}

/// State shared by every connection of one tool run.
pub struct Shared {
    /// The first sequence number of the running step.
    pub step_first: Cell<u64>,
    /// Whether events now count towards the window.
    pub measuring: Cell<bool>,
    /// Events received inside the window.
    pub window_events: Cell<u64>,
    /// Latencies of events received inside the window.
    pub latency: RefCell<Histogram>,
    /// Time from connect to response head, per connection.
    pub connect_time: RefCell<Histogram>,
    buffer: RefCell<Vec<u8>>,
    changed: Notify,
    connect_slots: Semaphore,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            step_first: Cell::new(0),
            measuring: Cell::new(false),
            window_events: Cell::new(0),
            latency: RefCell::new(Histogram::default()),
            connect_time: RefCell::new(Histogram::default()),
            buffer: RefCell::new(vec![0; READ_BUFFER]),
            changed: Notify::new(),
            connect_slots: Semaphore::new(CONNECT_CONCURRENCY),
        }
    }
}

/// A set of subscriber connections to one target.
pub struct Pool {
    /// The shared state.
    pub shared: Rc<Shared>,
    /// Every connection opened, in order.
    pub conns: Vec<Rc<Conn>>,
    target: Target,
}

impl Pool {
    /// An empty pool for `target`.
    pub fn new(target: Target) -> Self {
        Pool {
            shared: Rc::new(Shared::default()),
            conns: Vec::new(),
            target,
        }
    }

    /// Opens `n` more connections and waits until each is ready or closed, or
    /// `timeout` passes. Returns the time it took.
    pub async fn open(&mut self, n: usize, timeout: Duration) -> Duration {
        let start = Instant::now();
        let first = self.conns.len();
        for i in first..first + n {
            let conn = Rc::new(Conn::default());
            self.conns.push(conn.clone());
            self.spawn(conn, i);
        }
        self.wait_settled(first, start + timeout).await;
        start.elapsed()
    }

    /// Replaces every closed connection with a fresh one and waits for them.
    pub async fn reopen_closed(&mut self, timeout: Duration) -> usize {
        let start = Instant::now();
        let mut reopened = 0;
        for i in 0..self.conns.len() {
            if self.conns[i].closed.get() {
                let conn = Rc::new(Conn::default());
                self.conns[i] = conn.clone();
                self.spawn(conn, i);
                reopened += 1;
            }
        }
        if reopened > 0 {
            self.wait_settled(0, start + timeout).await;
        }
        reopened
    }

    fn spawn(&self, conn: Rc<Conn>, index: usize) {
        let source = Ipv4Addr::new(127, 0, 0, 2 + (index % SOURCE_ADDRESSES as usize) as u8);
        let shared = self.shared.clone();
        let target = self.target.clone();
        tokio::task::spawn_local(async move {
            if let Err(e) = run(&shared, &conn, &target, source).await {
                *conn.error.borrow_mut() = Some(e);
            }
            conn.closed.set(true);
            conn.ready.set(false);
            shared.changed.notify_waiters();
        });
    }

    async fn wait_settled(&self, from: usize, deadline: Instant) {
        loop {
            let notified = self.shared.changed.notified();
            if self.conns[from..]
                .iter()
                .all(|c| c.ready.get() || c.closed.get())
            {
                return;
            }
            if tokio::time::timeout_at(deadline.into(), notified)
                .await
                .is_err()
            {
                return;
            }
        }
    }

    /// Connections ready now.
    pub fn ready(&self) -> usize {
        self.conns.iter().filter(|c| c.ready.get()).count()
    }

    /// Connections closed now.
    pub fn closed(&self) -> usize {
        self.conns.iter().filter(|c| c.closed.get()).count()
    }

    /// The first error any connection recorded.
    pub fn first_error(&self) -> Option<String> {
        self.conns.iter().find_map(|c| c.error.borrow().clone())
    }

    /// Starts a step whose events begin at `first`.
    pub fn begin_step(&self, first: u64) {
        self.shared.step_first.set(first);
        self.conns.iter().for_each(|c| c.got_in_step.set(0));
    }

    /// Waits until every open connection has received `last`, or `timeout`.
    pub async fn drain(&self, last: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self
                .conns
                .iter()
                .all(|c| c.closed.get() || c.last_seq.get() >= last)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Nanoseconds since the Unix epoch (the clock publishers stamp events with).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

async fn connect(target: &Target, source: Ipv4Addr) -> Result<TcpStream, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(source.into(), 0))
        .or_else(|_| socket.bind(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0)))
        .map_err(|e| format!("bind: {e}"))?;
    let stream = socket
        .connect(target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(stream)
}

/// How the body after the head is framed.
enum Body {
    Head(Vec<u8>),
    Chunked(Chunked),
    Plain,
}

async fn run(
    shared: &Shared,
    conn: &Conn,
    target: &Target,
    source: Ipv4Addr,
) -> Result<(), String> {
    let (stream, started) = {
        let _slot = shared.connect_slots.acquire().await;
        let started = Instant::now();
        let mut stream = connect(target, source).await?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
            target.path
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        (stream, started)
    };
    let mut body = Body::Head(Vec::new());
    let mut parser = Parser::default();
    loop {
        stream.readable().await.map_err(|e| format!("read: {e}"))?;
        let mut buffer = shared.buffer.borrow_mut();
        let n = match read_drained(&stream, &mut buffer) {
            Ok(0) => return Err("closed by the server".into()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(format!("read: {e}")),
        };
        let received = now_ns();
        let mut on_event = |_: &[u8], data: &[u8]| record(shared, conn, data, received);
        let mut input = &buffer[..n];
        if let Body::Head(head_bytes) = &mut body {
            head_bytes.extend_from_slice(input);
            let Some(head) = parse_head(head_bytes) else {
                continue;
            };
            let head = head?;
            if head.status != 200 {
                return Err(format!("status {}", head.status));
            }
            conn.ready.set(true);
            shared
                .connect_time
                .borrow_mut()
                .record(started.elapsed().as_micros() as u64);
            shared.changed.notify_waiters();
            let rest = head_bytes[head.len..].to_vec();
            body = if head.chunked {
                Body::Chunked(Chunked::default())
            } else {
                Body::Plain
            };
            feed(&mut body, &mut parser, &rest, &mut on_event)?;
            input = &[];
        }
        feed(&mut body, &mut parser, input, &mut on_event)?;
    }
}

/// Reads once. A short read means the socket is drained, so its readiness is
/// cleared at once (tokio keeps any newer readiness event): the next wake-up
/// comes from epoll instead of from a `recv` that fails with `EAGAIN`, which
/// halves the tool's syscalls per delivered batch.
fn read_drained(stream: &TcpStream, buffer: &mut [u8]) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    let mut got = 0;
    let result = stream.try_io(Interest::READABLE, || {
        // SAFETY: `buffer` is valid for writes of its length for the whole call.
        let n = unsafe { libc::recv(fd, buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        got = n as usize;
        if got > 0 && got < buffer.len() {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        Ok(got)
    });
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && got > 0 => Ok(got),
        other => other,
    }
}

fn feed(
    body: &mut Body,
    parser: &mut Parser,
    input: &[u8],
    on_event: &mut impl FnMut(&[u8], &[u8]),
) -> Result<(), String> {
    match body {
        Body::Head(_) => Ok(()),
        Body::Plain => {
            parser.feed(input, on_event);
            Ok(())
        }
        Body::Chunked(chunked) => {
            if chunked.feed(input, |bytes| parser.feed(bytes, on_event))? {
                return Err("the stream ended".into());
            }
            Ok(())
        }
    }
}

/// Parses `<seq> <send-ns>` and counts the event.
fn record(shared: &Shared, conn: &Conn, data: &[u8], received_ns: u64) {
    conn.events.set(conn.events.get() + 1);
    let mut parts = data.splitn(3, |&b| b == b' ');
    let (Some(seq), Some(sent)) = (
        parts.next().and_then(parse_u64),
        parts.next().and_then(parse_u64),
    ) else {
        conn.other_events.set(conn.other_events.get() + 1);
        return;
    };
    if seq <= conn.last_seq.get() {
        conn.dups.set(conn.dups.get() + 1);
        return;
    }
    conn.last_seq.set(seq);
    if seq >= shared.step_first.get() {
        conn.got_in_step.set(conn.got_in_step.get() + 1);
    }
    if shared.measuring.get() {
        shared.window_events.set(shared.window_events.get() + 1);
        shared
            .latency
            .borrow_mut()
            .record(received_ns.saturating_sub(sent) / 1000);
    }
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u64::from(d - b'0'))
    })
}
