//! `store-choice`: measures the embedded stores considered for durable history
//! (redb and fjall) on events shaped like ssecast's, next to memory-only publish.
//!
//! Every store gets the same layout: one table keyed by (topic, 8-byte sequence
//! number) holding the encoded frame, for "events of topic T after seq S", and one
//! keyed by sequence number holding the topic, for trimming oldest-first.
//!
//! Scenarios, each with ~100-byte and ~1 KiB frames:
//! - `batch`: one publisher enqueues as fast as it can; a writer commits whatever is
//!   queued every few milliseconds, with an fsync per commit.
//! - `always`: commit + fsync per publish, from 1 thread, and from 8 threads whose
//!   events a writer groups into shared commits (each thread waits for its own).
//! - `none`: like `batch` without fsync (the OS writes back when it likes).
//! - open: time to open a store holding `--open-events` events after a clean close
//!   and after the writing process aborted (no destructors, like `kill -9`).
//! - read: "up to 100 events of topic T after seq S" at random S.
//!
//! Run: `cargo run --release -p ssecast-bench --bin store-choice -- --dir /var/tmp/sc`

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use ssecast::{Config, Engine, Event};

const TOPICS: usize = 100;

/// Compares redb and fjall for ssecast's durable history.
#[derive(Parser)]
struct Args {
    /// A directory for the stores (emptied first); put it on the disk to measure.
    #[arg(long)]
    dir: PathBuf,
    /// Events per `batch`/`none` run.
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Events per `always` run.
    #[arg(long, default_value_t = 3_000)]
    always_events: u64,
    /// Events in the store for the open and read measurements.
    #[arg(long, default_value_t = 1_000_000)]
    open_events: u64,
    /// Group-commit interval of `batch`, in milliseconds.
    #[arg(long, default_value_t = 5)]
    batch_ms: u64,
    /// Only these stores (redb, redb-quick-repair, fjall, fjall-tuned); all when absent.
    #[arg(long, value_delimiter = ',')]
    stores: Vec<String>,
    /// Only the open and read measurements.
    #[arg(long)]
    open_only: bool,
    /// Skip the open and read measurements.
    #[arg(long)]
    skip_open: bool,
    /// Only open the store of this kind already in `--dir`, and print the time.
    #[arg(long)]
    open_existing: Option<String>,
    /// Internal: fill a store at `--dir` with `--open-events` events, then abort.
    #[arg(long, hide = true)]
    fill_and_abort: Option<String>,
}

/// One event as the durable history would store it.
struct Record {
    seq: u64,
    topic: usize,
    frame: Vec<u8>,
}

/// The operations the durable history needs from a store.
trait Store: Send + Sync {
    /// Writes `batch` in one atomic commit; `sync` asks for an fsync before returning.
    fn commit(&self, batch: &[Record], sync: bool);
    /// Reads up to `limit` frames of `topic` after `after`; returns how many.
    fn read_after(&self, topic: &str, after: u64, limit: usize) -> usize;
}

fn topic_name(i: usize) -> String {
    format!("chat/room-{i}")
}

fn topic_key(topic: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(topic.len() + 9);
    key.extend_from_slice(topic.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

mod redb_store {
    use super::*;
    use redb::{Database, Durability, ReadableDatabase, TableDefinition};

    const BY_TOPIC: TableDefinition<&[u8], &[u8]> = TableDefinition::new("by_topic");
    const BY_SEQ: TableDefinition<u64, &str> = TableDefinition::new("by_seq");

    pub struct Redb {
        db: Database,
        quick_repair: bool,
    }

    impl Redb {
        pub fn open(dir: &Path, quick_repair: bool) -> Redb {
            std::fs::create_dir_all(dir).unwrap();
            let db = Database::create(dir.join("history.redb")).unwrap();
            Redb { db, quick_repair }
        }
    }

    impl Store for Redb {
        fn commit(&self, batch: &[Record], sync: bool) {
            let mut txn = self.db.begin_write().unwrap();
            txn.set_quick_repair(self.quick_repair);
            if !sync {
                txn.set_durability(Durability::None).unwrap();
            }
            {
                let mut by_topic = txn.open_table(BY_TOPIC).unwrap();
                let mut by_seq = txn.open_table(BY_SEQ).unwrap();
                for r in batch {
                    let topic = topic_name(r.topic);
                    by_topic
                        .insert(topic_key(&topic, r.seq).as_slice(), r.frame.as_slice())
                        .unwrap();
                    by_seq.insert(r.seq, topic.as_str()).unwrap();
                }
            }
            txn.commit().unwrap();
        }

        fn read_after(&self, topic: &str, after: u64, limit: usize) -> usize {
            let txn = self.db.begin_read().unwrap();
            let table = txn.open_table(BY_TOPIC).unwrap();
            let from = topic_key(topic, after + 1);
            let to = topic_key(topic, u64::MAX);
            let mut n = 0;
            for item in table.range(from.as_slice()..=to.as_slice()).unwrap() {
                let (_, frame) = item.unwrap();
                std::hint::black_box(frame.value().len());
                n += 1;
                if n == limit {
                    break;
                }
            }
            n
        }
    }
}

mod fjall_store {
    use super::*;
    use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

    pub struct Fjall {
        db: Database,
        by_topic: Keyspace,
        by_seq: Keyspace,
    }

    impl Fjall {
        /// `tuned`: 8 MiB memtables and a 64 MiB journal (instead of 64 MiB and
        /// 512 MiB), to bound the journal replayed when opening: the settings of
        /// ssecast's durable history.
        pub fn open(dir: &Path, tuned: bool) -> Fjall {
            let mut builder = Database::builder(dir);
            if tuned {
                builder = builder.max_journaling_size(64 << 20);
            }
            let db = builder.open().unwrap();
            let options = move || {
                let options = KeyspaceCreateOptions::default();
                if tuned {
                    options.max_memtable_size(8 << 20)
                } else {
                    options
                }
            };
            let by_topic = db.keyspace("by_topic", options).unwrap();
            let by_seq = db.keyspace("by_seq", options).unwrap();
            Fjall {
                db,
                by_topic,
                by_seq,
            }
        }
    }

    impl Store for Fjall {
        fn commit(&self, batch: &[Record], sync: bool) {
            let mut wb = self.db.batch();
            for r in batch {
                let topic = topic_name(r.topic);
                wb.insert(&self.by_topic, topic_key(&topic, r.seq), r.frame.as_slice());
                wb.insert(&self.by_seq, r.seq.to_be_bytes(), topic.as_bytes());
            }
            wb.commit().unwrap();
            if sync {
                self.db.persist(PersistMode::SyncAll).unwrap();
            }
        }

        fn read_after(&self, topic: &str, after: u64, limit: usize) -> usize {
            let from = topic_key(topic, after + 1);
            let to = topic_key(topic, u64::MAX);
            let mut n = 0;
            for item in self.by_topic.range(from..=to) {
                let value = item.value().unwrap();
                std::hint::black_box(value.len());
                n += 1;
                if n == limit {
                    break;
                }
            }
            n
        }
    }
}

fn open_store(name: &str, dir: &Path) -> Box<dyn Store> {
    match name {
        "redb" => Box::new(redb_store::Redb::open(dir, false)),
        "redb-quick-repair" => Box::new(redb_store::Redb::open(dir, true)),
        "fjall" => Box::new(fjall_store::Fjall::open(dir, false)),
        "fjall-tuned" => Box::new(fjall_store::Fjall::open(dir, true)),
        other => panic!("unknown store {other}"),
    }
}

fn frame(seq: u64, size: usize) -> Vec<u8> {
    let mut f = format!("id: w6mnoh0xjfl-{seq}\nevent: message\ndata: ").into_bytes();
    f.resize(size - 2, b'x');
    f.extend_from_slice(b"\n\n");
    f
}

fn record(seq: u64, size: usize) -> Record {
    Record {
        seq,
        topic: (seq as usize * 7919) % TOPICS,
        frame: frame(seq, size),
    }
}

fn fresh(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    dir.to_path_buf()
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            dir_bytes(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

/// The queue between publishers and the writer thread.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    /// Signals the writer: new records, or done.
    work: Condvar,
    /// Signals the publishers waiting for their seq to be durable.
    durable: Condvar,
}

#[derive(Default)]
struct QueueState {
    pending: Vec<Record>,
    durable: u64,
    done: bool,
}

/// A writer thread: commits everything queued, every `every` (or as soon as
/// something is queued when `every` is zero), until told to finish.
fn writer(store: &dyn Store, queue: &Queue, every: Duration, sync: bool) -> u64 {
    let mut commits = 0;
    let mut batch = Vec::new();
    loop {
        let done = {
            let mut state = queue.state.lock().unwrap();
            while state.pending.is_empty() && !state.done {
                state = queue.work.wait(state).unwrap();
            }
            std::mem::swap(&mut batch, &mut state.pending);
            state.done
        };
        if !batch.is_empty() {
            store.commit(&batch, sync);
            commits += 1;
            let last = batch.last().unwrap().seq;
            batch.clear();
            queue.state.lock().unwrap().durable = last;
            queue.durable.notify_all();
        }
        if done && queue.state.lock().unwrap().pending.is_empty() {
            return commits;
        }
        if !every.is_zero() {
            std::thread::sleep(every);
        }
    }
}

/// `batch` and `none`: one publisher as fast as it can, a writer committing what
/// is queued every `every`. Returns (events/s until durable, publisher ns/event, commits).
fn streamed(
    store: &dyn Store,
    n: u64,
    size: usize,
    every: Duration,
    sync: bool,
) -> (f64, f64, u64) {
    let queue = Queue::default();
    let records: Vec<Record> = (1..=n).map(|seq| record(seq, size)).collect();
    let start = Instant::now();
    let (enqueue_ns, commits) = std::thread::scope(|s| {
        let w = s.spawn(|| writer(store, &queue, every, sync));
        let t = Instant::now();
        for r in records {
            queue.state.lock().unwrap().pending.push(r);
            queue.work.notify_one();
        }
        let enqueue = t.elapsed().as_nanos() as f64 / n as f64;
        queue.state.lock().unwrap().done = true;
        queue.work.notify_one();
        (enqueue, w.join().unwrap())
    });
    let rate = n as f64 / start.elapsed().as_secs_f64();
    (rate, enqueue_ns, commits)
}

/// `always` from one thread: commit + fsync per event. Returns (events/s, p50 µs, p99 µs).
fn always_single(store: &dyn Store, n: u64, size: usize) -> (f64, f64, f64) {
    let mut lat = Vec::with_capacity(n as usize);
    let start = Instant::now();
    for seq in 1..=n {
        let t = Instant::now();
        store.commit(&[record(seq, size)], true);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let (p50, p99) = quantiles(&mut lat);
    (rate, p50, p99)
}

/// `always` from `threads` threads sharing commits: each enqueues one event under
/// a lock that assigns its seq (like the hub's publish lock), then waits until a
/// writer has committed it. Returns (events/s, p50 µs, p99 µs, events per commit).
fn always_shared(store: &dyn Store, n: u64, size: usize, threads: u64) -> (f64, f64, f64, f64) {
    let queue = Arc::new(Queue::default());
    let next = Mutex::new(0u64);
    let start = Instant::now();
    let (lat, commits) = std::thread::scope(|s| {
        let w = s.spawn(|| writer(store, &queue, Duration::ZERO, true));
        let publishers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut lat = Vec::new();
                    for _ in 0..n / threads {
                        let t = Instant::now();
                        let seq = {
                            let mut next = next.lock().unwrap();
                            *next += 1;
                            queue
                                .state
                                .lock()
                                .unwrap()
                                .pending
                                .push(record(*next, size));
                            *next
                        };
                        queue.work.notify_one();
                        let mut state = queue.state.lock().unwrap();
                        while state.durable < seq {
                            state = queue.durable.wait(state).unwrap();
                        }
                        lat.push(t.elapsed().as_secs_f64() * 1e6);
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<f64> = publishers
            .into_iter()
            .flat_map(|p| p.join().unwrap())
            .collect();
        queue.state.lock().unwrap().done = true;
        queue.work.notify_one();
        let commits = w.join().unwrap();
        lat.shrink_to_fit();
        (lat, commits)
    });
    let rate = lat.len() as f64 / start.elapsed().as_secs_f64();
    let per_commit = lat.len() as f64 / commits as f64;
    let mut lat = lat;
    let (p50, p99) = quantiles(&mut lat);
    (rate, p50, p99, per_commit)
}

fn quantiles(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q) as usize];
    (at(0.5), at(0.99))
}

/// Memory-only publish cost: `Engine::publish` with no subscribers, ns per call.
fn memory_publish(n: u64, size: usize) -> f64 {
    let mut config = Config::default();
    config.set("port", "0").unwrap();
    config.set("worker_threads", "1").unwrap();
    let engine = Engine::start(config).unwrap();
    let payload = "x".repeat(size - 40);
    let start = Instant::now();
    for i in 0..n {
        engine
            .publish(
                &topic_name((i as usize * 7919) % TOPICS),
                &Event::new(&payload).event("message"),
            )
            .unwrap();
    }
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    engine.stop();
    ns
}

/// Fills a store with `n` events of 100 bytes in commits of 1,000.
fn fill(store: &dyn Store, n: u64) {
    let mut seq = 0;
    while seq < n {
        let batch: Vec<Record> = (seq + 1..=(seq + 1000).min(n))
            .map(|s| record(s, 100))
            .collect();
        seq = batch.last().unwrap().seq;
        store.commit(&batch, true);
    }
}

fn open_and_read(name: &str, dir: &Path, n: u64, label: &str) {
    let t = Instant::now();
    let store = open_store(name, dir);
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let queries = 2_000u64;
    let t = Instant::now();
    let mut got = 0;
    for q in 0..queries {
        let after = (q * 2_654_435_761) % n;
        got += store.read_after(&topic_name(q as usize % TOPICS), after, 100);
    }
    let read_us = t.elapsed().as_secs_f64() * 1e6 / queries as f64;
    println!(
        "| {name} | open after {label} | {open_ms:.1} ms | read 100 after S: {read_us:.1} µs/query ({:.0} events/query) | {:.0} MiB on disk |",
        got as f64 / queries as f64,
        dir_bytes(dir) as f64 / (1 << 20) as f64
    );
}

fn main() {
    let args = Args::parse();
    if let Some(name) = &args.fill_and_abort {
        let store = open_store(name, &args.dir);
        fill(store.as_ref(), args.open_events);
        std::process::abort();
    }
    if let Some(name) = &args.open_existing {
        let t = Instant::now();
        let store = open_store(name, &args.dir);
        println!("opened {name} in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        drop(store);
        return;
    }
    let stores: Vec<String> = if args.stores.is_empty() {
        vec![
            "redb".into(),
            "redb-quick-repair".into(),
            "fjall".into(),
            "fjall-tuned".into(),
        ]
    } else {
        args.stores.clone()
    };
    println!("| mode | frame | store | events/s | detail |");
    println!("|---|---|---|---|---|");
    let sizes: &[usize] = if args.open_only { &[] } else { &[100, 1024] };
    for &size in sizes {
        let ns = memory_publish(args.events, size);
        println!(
            "| memory only (`Engine::publish`) | {size} B | — | {:.0} | {ns:.0} ns/publish |",
            1e9 / ns
        );
        for name in &stores {
            let dir = fresh(&args.dir.join(name));
            let every = Duration::from_millis(args.batch_ms);
            {
                let store = open_store(name, &dir);
                let (rate, enqueue, commits) =
                    streamed(store.as_ref(), args.events, size, every, true);
                println!(
                    "| batch ({} ms, fsync) | {size} B | {name} | {rate:.0} | enqueue {enqueue:.0} ns/event, {commits} commits |",
                    args.batch_ms
                );
                let (rate, enqueue, commits) =
                    streamed(store.as_ref(), args.events, size, Duration::ZERO, false);
                println!(
                    "| none (no fsync) | {size} B | {name} | {rate:.0} | enqueue {enqueue:.0} ns/event, {commits} commits |"
                );
            }
            let dir = fresh(&args.dir.join(name));
            let store = open_store(name, &dir);
            let (rate, p50, p99) = always_single(store.as_ref(), args.always_events, size);
            println!(
                "| always, 1 thread | {size} B | {name} | {rate:.0} | p50 {p50:.0} µs, p99 {p99:.0} µs |"
            );
            let (rate, p50, p99, per) = always_shared(store.as_ref(), args.always_events, size, 8);
            println!(
                "| always, 8 threads, shared commits | {size} B | {name} | {rate:.0} | p50 {p50:.0} µs, p99 {p99:.0} µs, {per:.1} events/commit |"
            );
        }
    }
    if args.skip_open {
        return;
    }
    println!();
    println!("| store | open | read | size |");
    println!("|---|---|---|---|");
    for name in &stores {
        let dir = fresh(&args.dir.join(format!("{name}-open")));
        let t = Instant::now();
        {
            let store = open_store(name, &dir);
            fill(store.as_ref(), args.open_events);
        }
        eprintln!(
            "filled {name} with {} events in {:.1} s",
            args.open_events,
            t.elapsed().as_secs_f64()
        );
        open_and_read(name, &dir, args.open_events, "clean close");
        let dir = fresh(&args.dir.join(format!("{name}-crash")));
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--dir")
            .arg(&dir)
            .arg("--open-events")
            .arg(args.open_events.to_string())
            .arg("--fill-and-abort")
            .arg(name)
            .status()
            .unwrap();
        assert!(!status.success(), "the filler aborts");
        open_and_read(name, &dir, args.open_events, "abort (kill -9)");
    }
}
