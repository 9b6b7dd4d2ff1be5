//! `--history-dir` on the command line: the server keeps its history there, and
//! a second server on the same directory exits at once with status 1 and a
//! message naming the directory and the cause, while the first keeps serving.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "ssecast-cli-history-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ssecast(dir: &TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ssecast"));
    command
        .args(["--port", "0", "--bind", "127.0.0.1", "--history-dir"])
        .arg(&dir.0)
        .env("SSECAST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Kills the first server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_server_on_the_same_history_dir_exits_with_a_clear_message() {
    let dir = TempDir::new();
    let mut first = Running(ssecast(&dir).spawn().expect("the ssecast binary starts"));
    // Kept open until the end: the server writes more lines to it.
    let mut stderr = BufReader::new(first.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("ssecast listening on "), "{line}");
    assert!(
        dir.0.join("FORMAT").is_file(),
        "the history is in the directory"
    );

    let second = ssecast(&dir).output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!(
            "ssecast: history_dir {} is in use by another engine",
            dir.0.display()
        )),
        "{stderr}"
    );
    assert_eq!(first.0.try_wait().unwrap(), None, "the first keeps serving");
}
