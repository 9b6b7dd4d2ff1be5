//! The durable history (`history_dir`) through the engine and real HTTP
//! clients: restarts keep ids and history, clients resume from disk with no gap
//! and no duplicate (also while events are being published, and across
//! topics), a slow reader is read from disk instead of being cut, and every
//! fault (a second engine, a directory that cannot be written, a newer format,
//! a damaged store, a full disk) is a clear `STORAGE` error or a documented
//! recovery. Crashes (`kill -9`) are tested with real processes: the store in
//! `core/src/durable/tests.rs`, the hosts in `tests/clients/test_durable.py`
//! (the CLI), `bindings-python/tests/test_durable.py` and
//! `bindings-node/test/durable.test.js`.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use ssecast::{Config, Engine, ErrorKind, Event, RESET_EVENT};
use support::{call, within, SseEvent, Stream};

/// The configuration of an engine on a free port with its history in `dir`.
fn config(dir: &Path, keys: &[(&str, &str)]) -> Config {
    let mut config = Config::default();
    config.set("port", "0").unwrap();
    config.set("worker_threads", "2").unwrap();
    config.set("history_dir", dir.to_str().unwrap()).unwrap();
    for (key, value) in keys {
        config.set(key, value).unwrap();
    }
    config
}

/// An engine with its history in `dir`.
fn durable(dir: &Path, keys: &[(&str, &str)]) -> Engine {
    Engine::start(config(dir, keys)).expect("engine starts")
}

/// Publishes `n` events `<prefix><i>` to `topic`; returns their ids.
fn publish_n(engine: &Engine, topic: &str, prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            engine
                .publish(topic, &Event::new(&format!("{prefix}{i}")))
                .unwrap()
        })
        .collect()
}

/// The `(id, data)` of events.
fn pairs(events: &[SseEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e.id.clone(), e.data.clone()))
        .collect()
}

/// The reset reason of a signal event.
fn reset_reason(event: &SseEvent) -> String {
    assert_eq!(event.event, RESET_EVENT, "{event:?}");
    let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
    data["reason"].as_str().unwrap().to_owned()
}

/// The id prefix of an engine id.
fn prefix(id: &str) -> &str {
    id.rsplit_once('-').unwrap().0
}

/// The sequence number of an engine id.
fn seq(id: &str) -> u64 {
    id.rsplit_once('-').unwrap().1.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_ids_and_replays_from_disk_then_live_without_gap_or_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [("history_size", "50")];
    let first = durable(dir.path(), &keys);
    let ids = publish_n(&first, "a", "a", 2000);
    publish_n(&first, "other", "o", 100);
    first.stop();
    drop(first);

    let engine = Arc::new(durable(dir.path(), &keys));
    // Published while the client resumes: disk, then memory, then live.
    let publisher = {
        let engine = engine.clone();
        std::thread::spawn(move || publish_n(&engine, "a", "live", 3000))
    };
    let mut stream = Stream::subscribed(
        engine.local_addr(),
        "/events?topic=a",
        &[("last-event-id", ids[99].as_str())],
    )
    .await;
    let live_ids = tokio::task::spawn_blocking(move || publisher.join().unwrap())
        .await
        .unwrap();
    let got = pairs(&stream.events(1900 + 3000).await);
    let expected: Vec<(String, String)> = ids[100..]
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), format!("a{}", i + 100)))
        .chain(
            live_ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), format!("live{i}"))),
        )
        .collect();
    assert!(got == expected, "events missing, repeated or out of order");
    // Same prefix, later sequence numbers; stats count this start only.
    assert_eq!(prefix(&live_ids[0]), prefix(&ids[0]));
    assert!(seq(&live_ids[0]) > seq(ids.last().unwrap()));
    assert_eq!(engine.stats().published, 3000);
    assert_eq!(engine.stats().slow_consumers_dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_behind_the_memory_history_is_replayed_from_disk_across_topics() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(durable(dir.path(), &[("history_size", "20")]));
    let mut expected = Vec::new();
    for i in 0..3000 {
        let topic = ["a", "b", "c"][i % 3];
        let data = format!("{topic}{i}");
        let id = engine.publish(topic, &Event::new(&data)).unwrap();
        if topic != "c" {
            expected.push((id, data));
        }
    }
    // `a` and `b` interleave; `c` is not asked for. Resume after the 10th
    // event of a or b, while more are published.
    let from = expected[9].0.clone();
    let publisher = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            (0..2000)
                .map(|i| {
                    let topic = ["b", "c", "a"][i % 3];
                    let data = format!("{topic}-live{i}");
                    let id = engine.publish(topic, &Event::new(&data)).unwrap();
                    (topic != "c").then_some((id, data))
                })
                .collect::<Vec<_>>()
        })
    };
    let mut stream = Stream::subscribed(
        engine.local_addr(),
        "/events?topic=a&topic=b",
        &[("last-event-id", from.as_str())],
    )
    .await;
    let live = tokio::task::spawn_blocking(move || publisher.join().unwrap())
        .await
        .unwrap();
    expected.drain(..10);
    expected.extend(live.into_iter().flatten());
    let got = pairs(&stream.events(expected.len()).await);
    assert!(got == expected, "events missing, repeated or out of order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_ids_found_only_on_disk_resume_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [("history_size", "5")];
    let first = durable(dir.path(), &keys);
    for i in 0..30 {
        first
            .publish("o", &Event::new(&i.to_string()).id(&format!("order-{i}")))
            .unwrap();
    }
    first.stop();
    drop(first);
    let engine = durable(dir.path(), &keys);
    let mut stream = Stream::subscribed(
        engine.local_addr(),
        "/events?topic=o",
        &[("last-event-id", "order-3")],
    )
    .await;
    let got = stream.events(26).await;
    let ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
    let expected: Vec<String> = (4..30).map(|i| format!("order-{i}")).collect();
    assert_eq!(ids, expected);

    // A reused id resumes after its oldest occurrence kept (on disk here, as
    // in memory): the events between its occurrences are not skipped.
    engine.publish("o", &Event::new("a").id("dup")).unwrap();
    let between = publish_n(&engine, "o", "between", 10);
    engine.publish("o", &Event::new("b").id("dup")).unwrap();
    let mut stream = Stream::subscribed(
        engine.local_addr(),
        "/events?topic=o",
        &[("last-event-id", "dup")],
    )
    .await;
    let got: Vec<String> = stream.events(11).await.into_iter().map(|e| e.id).collect();
    let expected: Vec<String> = between.into_iter().chain(["dup".to_owned()]).collect();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_slower_than_the_memory_history_is_read_from_disk_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let engine = durable(
        dir.path(),
        &[("history_size", "16"), ("send_buffer_bytes", "4096")],
    );
    let addr = engine.local_addr();
    let mut stream = Stream::open_small_window(addr, "/events?topic=s").await;
    stream.wait_open().await;
    // The client reads nothing while 20,000 events (4 MB) are published: its
    // position falls far behind the 16 events kept in memory.
    let payload = "x".repeat(200);
    let ids: Vec<String> = (0..20_000)
        .map(|i| {
            engine
                .publish("s", &Event::new(&format!("{i} {payload}")))
                .unwrap()
        })
        .collect();
    let got = stream.events(20_000).await;
    let got_ids: Vec<&String> = got.iter().map(|e| &e.id).collect();
    assert!(
        got_ids.iter().copied().eq(ids.iter()),
        "every event, in order"
    );
    assert_eq!(engine.stats().slow_consumers_dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_trimmed_from_disk_or_unknown_get_the_reset_signal() {
    let dir = tempfile::tempdir().unwrap();
    let engine = durable(
        dir.path(),
        &[("history_size", "10"), ("disk_history_size", "100")],
    );
    let ids = publish_n(&engine, "t", "", 300);
    // The writer trims in the background: wait until the oldest are gone.
    let addr = engine.local_addr();
    // The reset reason, "exact" when the stream resumes with an event, or
    // "cut" when trimming overtook its first read (its client would resume).
    let reason_for = |id: String| async move {
        let mut stream = Stream::open(addr, "/events?topic=t", &[("last-event-id", &id)]).await;
        match stream.next_event().await {
            Some(first) if first.event == RESET_EVENT => reset_reason(&first),
            Some(_) => "exact".to_owned(),
            None => "cut".to_owned(),
        }
    };
    within("trimming", async {
        while reason_for(ids[5].clone()).await != "history-gap" {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(reason_for("no-such-id".into()).await, "unknown-id");
    let future = format!("{}-{}", prefix(&ids[0]), seq(&ids[299]) + 1);
    assert_eq!(reason_for(future).await, "unknown-id");
    // Still on disk, older than memory: exact.
    let mut stream = Stream::subscribed(
        engine.local_addr(),
        "/events?topic=t",
        &[("last-event-id", ids[250].as_str())],
    )
    .await;
    let got = stream.events(49).await;
    assert_eq!(got[0].id, ids[251]);
    assert_eq!(got[48].id, ids[299]);
}

#[test]
fn a_second_engine_on_the_same_directory_fails_to_start_until_the_first_stops() {
    let dir = tempfile::tempdir().unwrap();
    let first = durable(dir.path(), &[]);
    let err = Engine::start(config(dir.path(), &[])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(
        err.message().contains("is in use by another engine"),
        "{err}"
    );
    first.stop();
    let second = durable(dir.path(), &[]);
    second.publish("t", &Event::new("x")).unwrap();
}

#[test]
fn a_history_dir_that_cannot_be_created_or_written_fails_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let err = Engine::start(config(&file.join("history"), &[])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("cannot create it"), "{err}");

    let read_only = dir.path().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    let _mount = if is_root() {
        Some(Tmpfs::mount(&read_only, "ro,size=1m"))
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
        None
    };
    let err = Engine::start(config(&read_only, &[])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("history_dir"), "{err}");
    assert!(
        err.message().contains("Read-only file system") || err.message().contains("ermission"),
        "{err}"
    );
}

#[test]
fn a_history_written_by_a_newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    durable(dir.path(), &[]).stop();
    std::fs::write(dir.path().join("FORMAT"), "ssecast-history 99\n").unwrap();
    let err = Engine::start(config(dir.path(), &[])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("newer ssecast"), "{err}");
}

/// Fills a history with 1,000 events of topic `t` and stops cleanly; returns their ids.
fn filled(dir: &Path) -> Vec<String> {
    let engine = durable(dir, &[("history_size", "10")]);
    let ids = publish_n(&engine, "t", "", 1000);
    engine.stop();
    ids
}

/// Cuts each file to half its length (without its zero-filled tail).
fn truncate_to_half(files: &[std::path::PathBuf]) {
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(file).unwrap();
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |at| at + 1);
        let handle = std::fs::OpenOptions::new().write(true).open(file).unwrap();
        handle.set_len((end / 2) as u64).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_journal_keeps_a_prefix_and_tells_clients_of_the_loss() {
    let dir = tempfile::tempdir().unwrap();
    let ids = filled(dir.path());
    truncate_to_half(&files_with_extension(&dir.path().join("store"), "jnl"));
    // The store opens with what precedes the cut.
    let engine = durable(dir.path(), &[("history_size", "10")]);
    // The clean close was cut off with the tail: a client from before the cut
    // is told of a gap instead of being replayed past it.
    let mut stream = Stream::open(
        engine.local_addr(),
        "/events?topic=t",
        &[("last-event-id", ids[0].as_str())],
    )
    .await;
    assert_eq!(
        reset_reason(&stream.next_event().await.unwrap()),
        "history-gap"
    );
    let next = engine.publish("t", &Event::new("after")).unwrap();
    assert!(seq(&next) > seq(&ids[999]), "ids are never reused");
}

#[test]
fn damaged_table_files_are_refused_at_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    filled(dir.path());
    let tables: Vec<_> = files_under(&dir.path().join("store"))
        .into_iter()
        .filter(|f| f.parent().is_some_and(|p| p.ends_with("tables")))
        .collect();
    truncate_to_half(&tables);
    let err = Engine::start(config(dir.path(), &[])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage, "{err}");
    assert!(
        err.message().starts_with(&format!(
            "history_dir {}: cannot open the store",
            dir.path().display()
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_publishes_with_storage_and_503_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    if !is_root() {
        eprintln!("skipped: mounting a tmpfs needs root (CI runs as root)");
        return;
    }
    let tmpfs = Tmpfs::mount(dir.path(), "size=2m");
    let keys = [
        ("history_sync", "always"),
        ("publish_token", "t0ken"),
        ("history_size", "10"),
    ];
    let engine = Arc::new(durable(dir.path(), &keys));
    let payload = "x".repeat(4096);
    let (acked, error) = {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || {
            let mut acked = Vec::new();
            loop {
                assert!(acked.len() < 10_000, "the disk never filled");
                match engine.publish("t", &Event::new(&payload)) {
                    Ok(id) => acked.push(id),
                    Err(error) => return (acked, error),
                }
            }
        })
        .await
        .unwrap()
    };
    assert_eq!(error.kind(), ErrorKind::Storage, "{error}");
    assert!(error.message().contains("history_dir"), "{error}");
    assert!(!acked.is_empty());
    // Over HTTP: 503 with Retry-After while the disk is full.
    let addr = engine.local_addr();
    let reply = call(
        "POST",
        addr,
        "/publish",
        &[
            ("authorization", "Bearer t0ken"),
            ("content-type", "application/json"),
        ],
        r#"{"topic":"t","data":"over http"}"#,
    )
    .await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.json()["code"], "STORAGE", "{}", reply.body);
    assert_eq!(reply.headers["retry-after"], "1");

    // Room again: the writer retries every 500 ms, then publishing resumes.
    tmpfs.remount("size=64m");
    let resumed = within("publishing to resume", async {
        loop {
            if let Ok(id) = engine.publish("t", &Event::new("room again")) {
                return id;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    engine.stop();
    drop(engine);

    // Every acknowledged event is on disk, in order, once.
    let engine = durable(dir.path(), &keys);
    let mut stream = Stream::subscribed(
        engine.local_addr(),
        "/events?topic=t",
        &[("last-event-id", acked[0].as_str())],
    )
    .await;
    let mut seen = Vec::new();
    within("the replay", async {
        while seen.last() != Some(&resumed) {
            seen.push(stream.next_event().await.unwrap().id);
        }
    })
    .await;
    assert!(
        seen.windows(2).all(|w| seq(&w[0]) < seq(&w[1])),
        "in order, once"
    );
    for id in &acked[1..] {
        assert!(seen.contains(id), "acknowledged {id} is lost");
    }
    drop(stream);
    engine.stop();
    drop(engine);
    drop(tmpfs);
}

/// Files under `dir`.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Files under `dir` whose extension is `ext`.
fn files_with_extension(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .collect()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// A tmpfs mounted on a directory (root only), unmounted on drop.
struct Tmpfs<'a> {
    dir: &'a Path,
}

impl<'a> Tmpfs<'a> {
    fn mount(dir: &'a Path, options: &str) -> Tmpfs<'a> {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "mount -t tmpfs -o {options} failed");
        Tmpfs { dir }
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(self.dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir).status();
    }
}
