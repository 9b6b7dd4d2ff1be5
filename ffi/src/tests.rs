//! Tests of the exports called the way C calls them: raw pointers, C strings,
//! out-parameters, and a real socket for the stream.

use std::ffi::{c_char, CStr};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::ptr;
use std::time::Duration;

use crate::result::ssecast_result::{self, *};
use crate::*;

fn last_error() -> Option<String> {
    let message = ssecast_last_error();
    // SAFETY: NULL or a NUL-terminated string owned by this thread's slot.
    (!message.is_null()).then(|| {
        unsafe { CStr::from_ptr(message) }
            .to_string_lossy()
            .into_owned()
    })
}

fn config(pairs: &[(&CStr, &CStr)]) -> *mut ssecast_config {
    let cfg = ssecast_config_new();
    for (key, value) in pairs {
        // SAFETY: live handle and C string literals.
        assert_eq!(
            unsafe { ssecast_config_set(cfg, key.as_ptr(), value.as_ptr()) },
            SSECAST_OK
        );
    }
    cfg
}

fn start() -> *mut ssecast_engine {
    let cfg = config(&[
        (c"port", c"0"),
        (c"worker_threads", c"1"),
        (c"keepalive_ms", c"0"),
    ]);
    let mut engine = ptr::null_mut();
    // SAFETY: live config and a writable out-pointer.
    assert_eq!(
        unsafe { ssecast_engine_start(cfg, &mut engine) },
        SSECAST_OK
    );
    // SAFETY: freed once.
    unsafe { ssecast_config_free(cfg) };
    assert!(!engine.is_null());
    engine
}

fn event(data: &[u8]) -> ssecast_event {
    ssecast_event {
        topic: ptr::null(),
        event: ptr::null(),
        id: ptr::null(),
        data: data.as_ptr(),
        data_len: data.len(),
        retry_ms: 0,
    }
}

fn publish(
    engine: *mut ssecast_engine,
    event: &ssecast_event,
    id_out: &mut [u8],
) -> ssecast_result {
    // SAFETY: live engine, valid event, and a buffer of the given capacity.
    unsafe {
        ssecast_publish_event(
            engine,
            event,
            id_out.as_mut_ptr().cast::<c_char>(),
            id_out.len(),
        )
    }
}

/// Reads from `stream` until `needle` appears; returns everything read.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = stream.read(&mut buf).expect("read the stream");
        assert!(
            n > 0,
            "stream ended before {needle:?}: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn publishes_to_a_real_subscriber_and_writes_the_id() {
    let engine = start();
    // SAFETY: live engine.
    let port = unsafe { ssecast_engine_port(engine) };
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /events?topic=prices HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    read_until(&mut stream, ": ok\n");

    let mut ev = event(b"42\n43");
    ev.topic = c"prices".as_ptr();
    ev.event = c"tick".as_ptr();
    ev.retry_ms = 1500;
    let mut id = [0xffu8; SSECAST_ID_BUFFER_SIZE];
    assert_eq!(publish(engine, &ev, &mut id), SSECAST_OK);
    assert_eq!(last_error(), None);
    let id = CStr::from_bytes_until_nul(&id)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        id.len() <= SSECAST_ENGINE_ID_MAX_LEN,
        "engine id {id:?} is too long"
    );
    let frame = format!("id: {id}\nevent: tick\nretry: 1500\ndata: 42\ndata: 43\n\n");
    assert!(read_until(&mut stream, &frame).contains(&frame));

    let mut stats = ssecast_stats::default();
    // SAFETY: live engine and a writable struct.
    assert_eq!(
        unsafe { ssecast_engine_stats(engine, &mut stats) },
        SSECAST_OK
    );
    assert_eq!((stats.connections, stats.published), (1, 1));
    // SAFETY: freed once; free stops the engine and ends the stream.
    unsafe { ssecast_engine_free(engine) };
}

#[test]
fn drain_closes_streams_with_a_retry_and_counts_them() {
    let engine = start();
    // SAFETY: live engine.
    let port = unsafe { ssecast_engine_port(engine) };
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /events?topic=d HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    read_until(&mut stream, ": ok\n");
    // SAFETY: live engine (also NULL, which is refused).
    unsafe {
        assert_eq!(ssecast_engine_drain(engine, 0), SSECAST_OK);
        assert_eq!(
            ssecast_engine_drain(engine, 60_000),
            SSECAST_OK,
            "waits for the same drain"
        );
        assert_eq!(
            ssecast_engine_drain(ptr::null_mut(), 0),
            SSECAST_NULL_PARAMETER
        );
    }
    let mut rest = String::new();
    stream.read_to_string(&mut rest).expect("the stream ends");
    assert!(
        rest.contains("retry: "),
        "a jittered retry before the end: {rest:?}"
    );

    let mut stats = ssecast_stats::default();
    // SAFETY: live engine and a writable struct.
    unsafe {
        assert_eq!(ssecast_engine_stats(engine, &mut stats), SSECAST_OK);
        assert_eq!(ssecast_engine_stop(engine), SSECAST_OK);
        assert_eq!(ssecast_engine_drain(engine, 0), SSECAST_STOPPED);
    }
    assert!(last_error().is_some_and(|m| m.contains("stopped")));
    assert_eq!((stats.connections, stats.streams_opened), (0, 1));
    assert!(stats.bytes_delivered > 0 && stats.events_delivered == 0);
    // SAFETY: freed once.
    unsafe { ssecast_engine_free(engine) };
}

#[test]
fn misuse_gives_distinct_codes_and_messages() {
    let engine = start();
    // SAFETY (whole test): every pointer is NULL, live, or a valid C string.
    unsafe {
        assert_eq!(
            ssecast_publish(ptr::null_mut(), ptr::null(), c"x".as_ptr(), 1),
            SSECAST_NULL_PARAMETER
        );
        assert!(last_error().unwrap().contains("engine"));
        assert_eq!(
            ssecast_publish(engine, ptr::null(), ptr::null(), 3),
            SSECAST_NULL_PARAMETER
        );
        assert!(last_error().unwrap().contains("data"));
        assert_eq!(
            ssecast_publish(engine, ptr::null(), ptr::null(), 0),
            SSECAST_OK
        );
        assert_eq!(last_error(), None);
        let bad = b"\xff\xfe\0";
        assert_eq!(
            ssecast_publish(engine, bad.as_ptr().cast(), c"x".as_ptr(), 1),
            SSECAST_INVALID_TOPIC
        );
        assert!(last_error().unwrap().contains("UTF-8"));
        assert_eq!(
            ssecast_publish(engine, ptr::null(), bad.as_ptr().cast(), 2),
            SSECAST_INVALID_DATA
        );
        let mut ev = event(b"x");
        ev.event = bad.as_ptr().cast();
        assert_eq!(
            publish(engine, &ev, &mut [0; 64]),
            SSECAST_INVALID_EVENT_NAME
        );
        let mut ev = event(b"x");
        ev.id = bad.as_ptr().cast();
        assert_eq!(publish(engine, &ev, &mut [0; 64]), SSECAST_INVALID_ID);
        assert_eq!(
            ssecast_publish_event(engine, ptr::null(), ptr::null_mut(), 0),
            SSECAST_NULL_PARAMETER
        );

        let cfg = ssecast_config_new();
        assert_eq!(
            ssecast_config_set(cfg, c"no_such_key".as_ptr(), c"1".as_ptr()),
            SSECAST_INVALID_CONFIG
        );
        assert!(last_error().unwrap().contains("no_such_key"));
        assert_eq!(
            ssecast_config_set(cfg, c"port".as_ptr(), c"70000".as_ptr()),
            SSECAST_INVALID_CONFIG
        );
        assert!(last_error().unwrap().contains("port"));
        assert_eq!(
            ssecast_config_set(cfg, c"bind".as_ptr(), bad.as_ptr().cast()),
            SSECAST_INVALID_CONFIG
        );
        assert_eq!(
            ssecast_config_set(cfg, ptr::null(), c"1".as_ptr()),
            SSECAST_NULL_PARAMETER
        );
        assert_eq!(
            ssecast_config_set(ptr::null_mut(), c"port".as_ptr(), c"1".as_ptr()),
            SSECAST_NULL_PARAMETER
        );
        assert_eq!(
            ssecast_engine_start(cfg, ptr::null_mut()),
            SSECAST_NULL_PARAMETER
        );
        let mut untouched = ptr::dangling_mut::<ssecast_engine>();
        assert_eq!(
            ssecast_engine_start(ptr::null(), &mut untouched),
            SSECAST_NULL_PARAMETER
        );
        assert_eq!(
            untouched,
            ptr::dangling_mut::<ssecast_engine>(),
            "out-parameter written on error"
        );
        ssecast_config_free(cfg);
        ssecast_config_free(ptr::null_mut());
        assert_eq!(ssecast_engine_port(ptr::null()), 0);
        assert_eq!(
            ssecast_engine_stats(engine, ptr::null_mut()),
            SSECAST_NULL_PARAMETER
        );

        assert_eq!(ssecast_engine_stop(engine), SSECAST_OK);
        assert_eq!(ssecast_engine_stop(engine), SSECAST_OK);
        assert_eq!(
            ssecast_publish(engine, ptr::null(), c"x".as_ptr(), 1),
            SSECAST_STOPPED
        );
        assert!(ssecast_engine_port(engine) > 0);
        assert_eq!(ssecast_engine_stop(ptr::null_mut()), SSECAST_NULL_PARAMETER);
        ssecast_engine_free(engine);
        ssecast_engine_free(ptr::null_mut());
    }
}

#[test]
fn too_small_id_buffer_publishes_nothing() {
    let engine = start();
    let mut ev = event(b"x");
    ev.id = c"order-17".as_ptr();
    let mut small = [0x55u8; 8];
    assert_eq!(publish(engine, &ev, &mut small), SSECAST_BUFFER_TOO_SMALL);
    assert_eq!(small, [0x55; 8], "out-parameter written on error");
    let mut exact = [0u8; 9];
    assert_eq!(publish(engine, &ev, &mut exact), SSECAST_OK);
    assert_eq!(&exact, b"order-17\0");
    assert_eq!(
        publish(engine, &event(b"y"), &mut [0; SSECAST_ENGINE_ID_MAX_LEN]),
        SSECAST_BUFFER_TOO_SMALL
    );
    let mut stats = ssecast_stats::default();
    // SAFETY: live engine, writable struct, freed once.
    unsafe {
        assert_eq!(ssecast_engine_stats(engine, &mut stats), SSECAST_OK);
        ssecast_engine_free(engine);
    }
    assert_eq!(stats.published, 1);
}

#[test]
fn an_oversized_payload_is_refused_before_it_is_read() {
    // Bytes that are not UTF-8, one more than max_event_bytes: were they read
    // first, the answer would be SSECAST_INVALID_DATA.
    let max = ssecast::Config::default().max_event_bytes;
    let data = vec![0xffu8; max + 1];
    let engine = start();
    // SAFETY: live engine; `data` holds `data.len()` bytes.
    let code = unsafe { ssecast_publish(engine, ptr::null(), data.as_ptr().cast(), data.len()) };
    assert_eq!(code, SSECAST_TOO_LARGE, "{:?}", last_error());
    assert!(last_error().unwrap().contains("max_event_bytes"));
    // SAFETY: freed once.
    unsafe { ssecast_engine_free(engine) };
}

#[test]
fn result_codes_match_the_core_and_describe_themselves() {
    for kind in ssecast::ErrorKind::ALL {
        let code = ssecast_result::from_kind(kind);
        assert_eq!(code as u32, kind as u32);
        // SAFETY: static strings.
        let name = unsafe { CStr::from_ptr(ssecast_result_code(code as u32)) };
        assert_eq!(name.to_str().unwrap(), kind.code());
    }
    // SAFETY: static strings.
    unsafe {
        assert_eq!(
            CStr::from_ptr(ssecast_result_str(0)).to_str().unwrap(),
            "success"
        );
        assert_eq!(
            CStr::from_ptr(ssecast_result_code(100)).to_str().unwrap(),
            "BUFFER_TOO_SMALL"
        );
        assert_eq!(
            CStr::from_ptr(ssecast_result_str(99)).to_str().unwrap(),
            "unknown result code"
        );
        assert_eq!(
            CStr::from_ptr(ssecast_version()).to_str().unwrap(),
            env!("CARGO_PKG_VERSION")
        );
    }
}

#[test]
fn a_panic_becomes_a_result_and_a_message() {
    let code: ssecast_result = crate::panic::boundary(|| panic!("boom"));
    assert_eq!(code, SSECAST_PANIC);
    assert!(last_error().unwrap().contains("boom"));
    let pointer: *mut u8 = crate::panic::boundary(|| panic!("again"));
    assert!(pointer.is_null());
}

#[test]
fn last_error_is_per_thread() {
    // SAFETY: NULL engine is a checked error.
    assert_eq!(
        unsafe { ssecast_engine_stop(ptr::null_mut()) },
        SSECAST_NULL_PARAMETER
    );
    assert!(last_error().is_some());
    std::thread::spawn(|| assert_eq!(last_error(), None))
        .join()
        .unwrap();
}
