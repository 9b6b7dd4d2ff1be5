//! A `redis-server` (Debian's, found on `PATH`) for one test: a free loopback
//! port, a temporary directory, no persistence unless asked, stopped on drop.
//! Never the system service.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long a start may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running `redis-server`, killed and its directory removed on drop.
pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    persistent: bool,
}

impl RedisServer {
    /// A server that keeps nothing on disk.
    pub(crate) fn start() -> RedisServer {
        Self::start_with(false)
    }

    /// A server that writes every change to its append-only file before
    /// answering (`appendfsync always`), so a restart keeps every
    /// acknowledged write.
    pub(crate) fn start_persistent() -> RedisServer {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> RedisServer {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ssecast-redis-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the redis test directory");
        let mut server = RedisServer {
            child: None,
            port: 0,
            dir,
            persistent,
        };
        // A port picked free may be taken again before Redis binds it: retry.
        for _ in 0..5 {
            server.port = free_port();
            if server.launch() {
                return server;
            }
        }
        panic!("redis-server did not start on a free port after 5 attempts");
    }

    /// `redis://127.0.0.1:<port>/<db>`.
    pub(crate) fn url(&self, db: u32) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    /// Kills the server at once (as a crash would).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory.
    pub(crate) fn restart(&mut self) {
        self.kill();
        assert!(self.launch(), "redis-server did not start again");
    }

    /// A plain client connection, for the test's own commands.
    pub(crate) fn client(&self) -> redis::Connection {
        redis::Client::open(self.url(0))
            .and_then(|c| c.get_connection())
            .expect("connect to the test redis-server")
    }

    /// Starts the process; false when it exited (its port was taken).
    fn launch(&mut self) -> bool {
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port, "--bind", "127.0.0.1", "--dir"])
            .arg(&self.dir)
            .args(["--save", "", "--daemonize", "no", "--loglevel", "notice"]);
        if self.persistent {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        let mut child = match command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not on PATH: the backplane tests need Debian's redis-server. \
                 Run `make test` (it installs it), or `apt-get install redis-server`"
            ),
            Err(e) => panic!("cannot run redis-server: {e}"),
        };
        // Redis logs to stdout: read it until it is ready, then keep draining
        // it so that the server never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = ready.send(());
                }
            }
        });
        let started = ready_rx.recv_timeout(START_TIMEOUT).is_ok();
        if started {
            self.child = Some(child);
        } else {
            let _ = child.kill();
            let _ = child.wait();
        }
        started
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}
