//! Tests of the durable history on real directories: append, read, trim,
//! recovery, faults, and a child process killed with SIGKILL mid-storm.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::*;
use crate::durable::options::DiskBounds;
use crate::durable::writer::now_ms;

const ROOMY: DiskBounds = DiskBounds {
    max_events: 1_000_000,
    max_bytes: 1 << 30,
    max_age_ms: 0,
};

fn options(sync: HistorySync, bounds: DiskBounds) -> Options {
    Options { sync, bounds }
}

fn open(dir: &Path, sync: HistorySync) -> (DurableHistory, Recovered) {
    DurableHistory::open(dir, options(sync, ROOMY), || "inc0".into()).unwrap()
}

/// A frame whose content names its seq, so a torn or misplaced frame shows.
fn frame(seq: u64) -> Bytes {
    Bytes::from(format!("id: inc0-{seq}\ndata: {seq}\n\n"))
}

fn seqs(replay: &Replay) -> Vec<u64> {
    replay.frames.iter().map(|(seq, _)| *seq).collect()
}

/// Every event of `topics` after `after`, checking each frame against its seq.
fn read_all(history: &DurableHistory, topics: &[&str], after: u64) -> Vec<u64> {
    let replay = history
        .read_after(topics, after, u64::MAX, usize::MAX, usize::MAX)
        .unwrap();
    assert!(!replay.more);
    for (seq, frame) in &replay.frames {
        assert_eq!(frame, &self::frame(*seq), "frame of seq {seq}");
    }
    seqs(&replay)
}

fn append(history: &DurableHistory, seq: u64, topic: &str) {
    let ticket = history
        .append(seq, Draft::new(topic.into(), None), &frame(seq))
        .unwrap();
    if let Some(ticket) = ticket {
        history.wait(ticket).unwrap();
    }
}

#[test]
fn appends_are_read_back_in_order_across_topics_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (history, recovered) = open(dir.path(), HistorySync::Batch);
    assert_eq!(recovered.incarnation, "inc0");
    assert_eq!(recovered.next_seq, 1);
    for seq in 1..=9 {
        append(&history, seq, ["a", "b", "c"][seq as usize % 3]);
    }
    // Still queued or already written: either way readable at once.
    assert_eq!(read_all(&history, &["a", "b"], 0), vec![1, 3, 4, 6, 7, 9]);
    assert_eq!(read_all(&history, &["c"], 3), vec![5, 8]);
    assert_eq!(read_all(&history, &["nope"], 0), Vec::<u64>::new());
    let upto = history
        .read_after(&["a", "b", "c"], 2, 5, 100, 1 << 20)
        .unwrap();
    assert_eq!((seqs(&upto), upto.more), (vec![3, 4, 5], false));
    history.close().unwrap();
    history.close().unwrap();

    let (history, recovered) = open(dir.path(), HistorySync::Batch);
    assert_eq!(
        recovered.incarnation, "inc0",
        "the id prefix survives restarts"
    );
    assert!(recovered.next_seq > 9);
    assert_eq!(recovered.events, 9);
    assert_eq!(
        read_all(&history, &["a", "b", "c"], 0),
        (1..=9).collect::<Vec<_>>()
    );
    assert_eq!(history.resume_after(4), Ok(()), "clean close: no gap");
    assert_eq!(history.resume_after(10), Err(ResetReason::UnknownId));
}

#[test]
fn opens_with_the_configuration_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::Config::default();
    config
        .set("history_dir", dir.path().to_str().unwrap())
        .unwrap();
    config.set("history_sync", "always").unwrap();
    config.set("disk_history_size", "2").unwrap();
    let options = Options::from_config(&config);
    assert_eq!(options.sync, HistorySync::Always);
    assert_eq!(options.bounds.max_events, 2);
    let path = config.history_dir.as_deref().unwrap();
    let (history, _) = DurableHistory::open(path, options, || "c".into()).unwrap();
    for seq in 1..=3 {
        append(&history, seq, "t");
    }
    history.close().unwrap();
    let (_, recovered) = DurableHistory::open(path, options, || "c".into()).unwrap();
    assert_eq!(recovered.events, 2);
}

#[test]
fn reads_respect_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let (history, _) = open(dir.path(), HistorySync::None);
    for seq in 1..=10 {
        append(&history, seq, if seq % 2 == 0 { "even" } else { "odd" });
    }
    history.close().unwrap();
    let (history, _) = open(dir.path(), HistorySync::None);
    let both = ["odd", "even"];
    let first = history
        .read_after(&both, 0, u64::MAX, 4, usize::MAX)
        .unwrap();
    assert_eq!((seqs(&first), first.more), (vec![1, 2, 3, 4], true));
    let next = history
        .read_after(&both, 4, u64::MAX, 4, usize::MAX)
        .unwrap();
    assert_eq!(seqs(&next), vec![5, 6, 7, 8]);
    let frame_len = frame(1).len();
    let tight = history
        .read_after(&both, 0, u64::MAX, 100, frame_len + 1)
        .unwrap();
    assert_eq!((seqs(&tight), tight.more), (vec![1], true), "bytes bound");
    let none = history.read_after(&both, 0, u64::MAX, 100, 0).unwrap();
    assert_eq!(seqs(&none), vec![1], "at least one frame");
    let rest = history
        .read_after(&both, 8, u64::MAX, 4, usize::MAX)
        .unwrap();
    assert_eq!((seqs(&rest), rest.more), (vec![9, 10], false));
}

#[test]
fn custom_ids_map_to_their_oldest_kept_event() {
    let dir = tempfile::tempdir().unwrap();
    let (history, _) = open(dir.path(), HistorySync::Batch);
    let publish = |seq, topic: &str, id| {
        assert!(history
            .append(seq, Draft::new(topic.into(), Some(id)), &frame(seq))
            .unwrap()
            .is_none());
    };
    publish(1, "orders", "order-7");
    publish(2, "other", "order-7");
    publish(3, "orders", "order-8");
    publish(4, "orders", "order-7");
    assert_eq!(
        history.find_custom_id(&["orders"], "order-7").unwrap(),
        Some(1)
    );
    history.close().unwrap();
    let (history, _) = open(dir.path(), HistorySync::Batch);
    assert_eq!(
        history.find_custom_id(&["orders"], "order-7").unwrap(),
        Some(1)
    );
    assert_eq!(
        history
            .find_custom_id(&["other", "orders"], "order-7")
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        history.find_custom_id(&["orders"], "order-").unwrap(),
        None,
        "ids that start alike are apart"
    );
    assert_eq!(
        history.find_custom_id(&["other"], "order-7").unwrap(),
        Some(2)
    );
    assert_eq!(
        history
            .find_custom_id(&["orders", "other"], "order-8")
            .unwrap(),
        Some(3)
    );
    assert_eq!(
        history.find_custom_id(&["orders"], "order-9").unwrap(),
        None
    );
    assert_eq!(history.find_custom_id(&["none"], "order-8").unwrap(), None);
}

#[test]
fn trimming_keeps_the_newest_events_within_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let bounds = DiskBounds {
        max_events: 5,
        ..ROOMY
    };
    let open = |dir: &Path| {
        DurableHistory::open(dir, options(HistorySync::Batch, bounds), || "inc0".into()).unwrap()
    };
    let (history, _) = open(dir.path());
    for seq in 1..=12 {
        let id = format!("id-{seq}");
        history
            .append(
                seq,
                Draft::new((if seq % 2 == 0 { "a" } else { "b" }).into(), Some(&id)),
                &frame(seq),
            )
            .unwrap();
    }
    history.close().unwrap();
    let (history, recovered) = open(dir.path());
    assert_eq!(recovered.events, 5);
    assert_eq!(read_all(&history, &["a", "b"], 0), vec![8, 9, 10, 11, 12]);
    assert_eq!(
        history.find_custom_id(&["a"], "id-6").unwrap(),
        None,
        "trimmed"
    );
    assert_eq!(history.find_custom_id(&["a"], "id-8").unwrap(), Some(8));
    assert_eq!(history.resume_after(7), Err(ResetReason::HistoryGap));
    assert_eq!(history.resume_after(3), Err(ResetReason::HistoryGap));
    assert_eq!(history.resume_after(8), Ok(()));
}

#[test]
fn trimming_by_bytes_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let frame_bytes = Record {
        seq: 1,
        topic: "t".into(),
        custom_id: None,
        frame: Bytes::from(vec![b'x'; 1000]),
        at_ms: 0,
    }
    .stored_bytes();
    let bounds = DiskBounds {
        max_events: 1_000,
        max_bytes: frame_bytes * 3,
        max_age_ms: 60_000,
    };
    let (history, _) =
        DurableHistory::open(dir.path(), options(HistorySync::Always, bounds), || {
            "x".into()
        })
        .unwrap();
    let big = Bytes::from(vec![b'x'; 1000]);
    let old = now_ms() - 120_000;
    for seq in 1..=3 {
        let ticket = history
            .append(
                seq,
                Draft {
                    at_ms: old,
                    ..Draft::new("t".into(), None)
                },
                &big,
            )
            .unwrap()
            .unwrap();
        history.wait(ticket).unwrap();
    }
    for seq in 4..=8 {
        let ticket = history
            .append(seq, Draft::new("t".into(), None), &big)
            .unwrap()
            .unwrap();
        history.wait(ticket).unwrap();
    }
    history.close().unwrap();
    let (history, recovered) =
        DurableHistory::open(dir.path(), options(HistorySync::Always, bounds), || {
            "x".into()
        })
        .unwrap();
    assert_eq!(recovered.events, 3, "three frames fit the bytes bound");
    let replay = history
        .read_after(&["t"], 0, u64::MAX, 100, usize::MAX)
        .unwrap();
    assert_eq!(seqs(&replay), vec![6, 7, 8]);
}

#[test]
fn the_lease_is_extended_ahead_of_the_seqs_handed_out() {
    let dir = tempfile::tempdir().unwrap();
    let (history, recovered) = open(dir.path(), HistorySync::None);
    let many = recovered.next_seq + 10 * LEASE_BLOCK;
    for seq in recovered.next_seq..many {
        // Appends past the lease wait for the writer to extend it.
        history
            .append(seq, Draft::new("t".into(), None), &frame(seq))
            .unwrap();
        assert!(seq <= history.shared.lock().leased);
    }
    drop(history);
    let (_, recovered) = open(dir.path(), HistorySync::None);
    assert!(recovered.next_seq >= many);
}

#[test]
fn ids_never_repeat_and_stay_ordered_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut next = 0;
    for run in 0..3 {
        let (history, recovered) =
            DurableHistory::open(dir.path(), options(HistorySync::None, ROOMY), || {
                format!("first-{run}")
            })
            .unwrap();
        assert_eq!(recovered.incarnation, "first-0");
        assert!(
            recovered.next_seq > next,
            "run {run}: {} after {next}",
            recovered.next_seq
        );
        next = recovered.next_seq;
        append(&history, next, "t");
    }
}

#[test]
fn always_waits_for_the_commit_and_publishers_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let (history, recovered) = open(dir.path(), HistorySync::Always);
    let next = Mutex::new(recovered.next_seq);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let ticket = {
                        let mut next = next.lock().unwrap();
                        let seq = *next;
                        *next += 1;
                        history
                            .append(seq, Draft::new("t".into(), None), &frame(seq))
                            .unwrap()
                            .unwrap()
                    };
                    let seq = ticket.0;
                    history.wait(ticket).unwrap();
                    assert!(history.shared.lock().durable >= seq);
                }
            });
        }
    });
    assert_eq!(read_all(&history, &["t"], 0).len(), 200);
}

#[test]
fn a_second_engine_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = open(dir.path(), HistorySync::Batch);
    let err = DurableHistory::open(dir.path(), options(HistorySync::Batch, ROOMY), || {
        "b".into()
    })
    .err()
    .unwrap();
    assert!(err.message().contains("in use by another engine"), "{err}");
    first.close().unwrap();
    let (_again, recovered) = open(dir.path(), HistorySync::Batch);
    assert_eq!(recovered.incarnation, "inc0", "the lock goes with close");
}

#[test]
fn a_newer_or_unknown_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), HistorySync::Batch));
    let format_file = dir.path().join(format::FORMAT_FILE);
    std::fs::write(&format_file, "ssecast-history 2\n").unwrap();
    let open_err = || {
        DurableHistory::open(dir.path(), options(HistorySync::Batch, ROOMY), || {
            "x".into()
        })
        .err()
        .unwrap()
    };
    let err = open_err();
    assert!(
        err.message().contains("newer ssecast (history format 2"),
        "{err}"
    );
    std::fs::write(&format_file, "hello").unwrap();
    assert!(open_err()
        .message()
        .contains("not an ssecast history format"));
    std::fs::remove_file(&format_file).unwrap();
    assert!(open_err().message().contains("FORMAT is missing"));
}

#[test]
fn a_path_that_cannot_be_a_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let err = DurableHistory::open(
        &file.join("sub"),
        options(HistorySync::Batch, ROOMY),
        || "x".into(),
    )
    .err()
    .unwrap();
    assert!(err.message().contains("cannot create it"), "{err}");
}

/// Appends 1..=n to `topic` in `dir` and closes.
fn fill(dir: &Path, n: u64) {
    let (history, _) = open(dir, HistorySync::Batch);
    for seq in 1..=n {
        append(&history, seq, "t");
    }
    history.close().unwrap();
}

/// The store's files whose name ends with `suffix` (journals: `.jnl`; tables
/// live in `tables/`).
fn store_files(dir: &Path, accept: &dyn Fn(&Path) -> bool) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join(STORE_DIR)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if accept(&path) && entry.metadata().unwrap().len() > 0 {
                out.push(path);
            }
        }
    }
    out
}

/// The length of a file without its zero-filled tail (journals are preallocated).
fn data_end(file: &Path) -> u64 {
    let bytes = std::fs::read(file).unwrap();
    bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |at| at as u64 + 1)
}

/// Reopens after damage: either a clear error, or a store whose every event is
/// whole and in order (a prefix of what was written).
fn reopen_after_damage(dir: &Path, written: u64) -> Option<Vec<u64>> {
    let (history, _) =
        match DurableHistory::open(dir, options(HistorySync::Batch, ROOMY), || "x".into()) {
            Ok(opened) => opened,
            Err(err) => {
                eprintln!("damaged store refused: {err}");
                assert!(err.message().contains("history_dir"), "{err}");
                return None;
            }
        };
    match history.read_after(&["t"], 0, u64::MAX, usize::MAX, usize::MAX) {
        Ok(replay) => {
            let seqs = seqs(&replay);
            for (seq, frame) in &replay.frames {
                assert_eq!(frame, &self::frame(*seq), "a torn frame was returned");
            }
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "no duplicate");
            assert!(seqs.iter().all(|&s| s <= written));
            eprintln!(
                "damaged store opened with {} of {written} events",
                seqs.len()
            );
            Some(seqs)
        }
        Err(err) => {
            eprintln!("damaged store unreadable: {err}");
            assert!(err.message().contains("history_dir"), "{err}");
            None
        }
    }
}

#[test]
fn a_truncated_journal_loses_only_its_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 200);
    let journals = store_files(dir.path(), &|p| p.extension().is_some_and(|e| e == "jnl"));
    assert!(!journals.is_empty());
    for journal in &journals {
        let end = data_end(journal);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(journal)
            .unwrap();
        file.set_len(end - end.min(7)).unwrap();
    }
    if let Some(seqs) = reopen_after_damage(dir.path(), 200) {
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "a prefix"
        );
    }
}

#[test]
fn corrupted_store_files_are_an_error_or_a_consistent_prefix_never_a_panic() {
    for target in ["jnl", "tables"] {
        let dir = tempfile::tempdir().unwrap();
        fill(dir.path(), 300);
        let files = store_files(dir.path(), &|p| {
            p.extension().is_some_and(|e| e == target)
                || p.parent().is_some_and(|d| d.ends_with(target))
        });
        for file in &files {
            let mut bytes = std::fs::read(file).unwrap();
            let (middle, len) = (data_end(file) as usize / 2, bytes.len());
            for b in &mut bytes[middle..(middle + 64).min(len)] {
                *b ^= 0x5a;
            }
            std::fs::write(file, bytes).unwrap();
        }
        reopen_after_damage(dir.path(), 300);
    }
}

/// The child side of the crash test: with `SSECAST_DURABLE_CRASH_DIR` set,
/// publishes from 4 threads until killed, printing `handed N` once seq N is
/// queued and `ack N` once `wait` (or, in `batch`, `append`) returned.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("SSECAST_DURABLE_CRASH_DIR") else {
        return;
    };
    let sync = HistorySync::parse(&std::env::var("SSECAST_DURABLE_CRASH_SYNC").unwrap()).unwrap();
    let (history, recovered) =
        DurableHistory::open(Path::new(&dir), options(sync, ROOMY), || "inc0".into()).unwrap();
    let next = Mutex::new(recovered.next_seq);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (history, next) = (&history, &next);
            s.spawn(move || loop {
                let (seq, ticket) = {
                    let mut next = next.lock().unwrap();
                    let seq = *next;
                    let topic = format!("t{t}");
                    let ticket = history
                        .append(seq, Draft::new(topic.as_str().into(), None), &frame(seq))
                        .unwrap();
                    *next += 1;
                    println!("handed {seq}");
                    (seq, ticket)
                };
                if let Some(ticket) = ticket {
                    history.wait(ticket).unwrap();
                }
                println!("ack {seq}");
            });
        }
    });
}

/// Runs [`crash_child`] in a child process on `dir` and kills it with SIGKILL
/// once it has acknowledged `acks` events. Returns (acknowledged, handed out).
fn publish_until_killed(dir: &Path, sync: HistorySync, acks: usize) -> (Vec<u64>, u64) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durable::tests::crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SSECAST_DURABLE_CRASH_DIR", dir)
        .env("SSECAST_DURABLE_CRASH_SYNC", sync.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let mut handed = 0;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(seq) = line.strip_prefix("ack ") {
            acked.push(seq.parse().unwrap());
            if acked.len() == acks {
                child.kill().unwrap();
                break;
            }
        } else if let Some(seq) = line.strip_prefix("handed ") {
            handed = handed.max(seq.parse().unwrap());
        }
    }
    // What the child printed before it died is still in the pipe.
    for line in lines {
        let line = line.unwrap();
        if let Some(seq) = line.strip_prefix("ack ") {
            acked.push(seq.parse().unwrap());
        } else if let Some(seq) = line.strip_prefix("handed ") {
            handed = handed.max(seq.parse().unwrap());
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed: {status:?}");
    assert!(acked.len() >= acks, "the child stopped early: {status:?}");
    (acked, handed)
}

#[test]
fn kill_9_in_always_mode_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (acked, handed) = publish_until_killed(dir.path(), HistorySync::Always, 400);
    let (history, recovered) = open(dir.path(), HistorySync::Always);
    assert_eq!(recovered.incarnation, "inc0");
    assert!(
        recovered.next_seq > handed,
        "{} > {handed}",
        recovered.next_seq
    );
    let topics = ["t0", "t1", "t2", "t3"];
    let stored = read_all(&history, &topics, 0);
    assert!(stored.windows(2).all(|w| w[0] < w[1]), "no duplicate");
    for seq in &acked {
        assert!(
            stored.binary_search(seq).is_ok(),
            "acknowledged {seq} is lost"
        );
    }
    // Unacknowledged events are not a gap: a client before them resumes exactly.
    assert_eq!(history.resume_after(acked[0]), Ok(()));
    let lost = (1..=handed).find(|s| stored.binary_search(s).is_err());
    if let Some(lost) = lost {
        assert_eq!(history.resume_after(lost), Err(ResetReason::UnknownId));
    }

    // A second crash and restart: still no reuse.
    drop(history);
    let (_, handed_again) = publish_until_killed(dir.path(), HistorySync::Always, 50);
    assert!(handed_again > handed);
    let (_, recovered) = open(dir.path(), HistorySync::Always);
    assert!(recovered.next_seq > handed_again);
}

#[test]
fn kill_9_in_batch_mode_marks_a_gap_after_the_last_written_event() {
    let dir = tempfile::tempdir().unwrap();
    let (acked, handed) = publish_until_killed(dir.path(), HistorySync::Batch, 2000);
    let (history, recovered) = open(dir.path(), HistorySync::Batch);
    assert!(recovered.next_seq > handed);
    let stored = read_all(&history, &["t0", "t1", "t2", "t3"], 0);
    assert_eq!(
        stored,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "a prefix"
    );
    // Acknowledged events may be lost in batch mode, so a client before the
    // crash is told so instead of being replayed past the loss.
    assert_eq!(history.resume_after(acked[0]), Err(ResetReason::HistoryGap));
    // Events published after the restart resume exactly.
    append(&history, recovered.next_seq, "t0");
    append(&history, recovered.next_seq + 1, "t0");
    assert_eq!(history.resume_after(recovered.next_seq), Ok(()));
}
