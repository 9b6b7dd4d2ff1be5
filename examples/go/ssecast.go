package main

// The few libssecast calls this server needs, through cgo. Build flags come
// from the installed ssecast.pc (PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig).

/*
#cgo pkg-config: ssecast
#include <stdlib.h>
#include <ssecast.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Engine is a running ssecast engine.
type Engine struct{ ptr *C.ssecast_engine }

// errorOf turns a result code into an error carrying ssecast's message.
func errorOf(rc C.ssecast_result) error {
	if rc == C.SSECAST_OK {
		return nil
	}
	return &Error{Code: C.GoString(C.ssecast_result_code(C.uint32_t(rc))), Message: C.GoString(C.ssecast_last_error())}
}

// Error is a failed ssecast call: its stable code (such as "INVALID_TOPIC")
// and the message naming what was wrong.
type Error struct{ Code, Message string }

func (e *Error) Error() string { return fmt.Sprintf("ssecast %s: %s", e.Code, e.Message) }

// StartEngine starts an engine with the given configuration keys.
func StartEngine(keys map[string]string) (*Engine, error) {
	cfg := C.ssecast_config_new()
	defer C.ssecast_config_free(cfg)
	for key, value := range keys {
		k, v := C.CString(key), C.CString(value)
		rc := C.ssecast_config_set(cfg, k, v)
		C.free(unsafe.Pointer(k))
		C.free(unsafe.Pointer(v))
		if err := errorOf(rc); err != nil {
			return nil, err
		}
	}
	var engine *C.ssecast_engine
	if err := errorOf(C.ssecast_engine_start(cfg, &engine)); err != nil {
		return nil, err
	}
	return &Engine{engine}, nil
}

// Publish sends an event named `event` with `data` to `topic`; returns its id.
func (e *Engine) Publish(topic, event, data string) (string, error) {
	t, name := C.CString(topic), C.CString(event)
	defer C.free(unsafe.Pointer(t))
	defer C.free(unsafe.Pointer(name))
	payload := C.CString(data)
	defer C.free(unsafe.Pointer(payload))
	ev := C.ssecast_event{topic: t, event: name, data: (*C.uint8_t)(unsafe.Pointer(payload)), data_len: C.size_t(len(data))}
	var id [C.SSECAST_ID_BUFFER_SIZE]C.char
	if err := errorOf(C.ssecast_publish_event(e.ptr, &ev, &id[0], C.size_t(len(id)))); err != nil {
		return "", err
	}
	return C.GoString(&id[0]), nil
}

// Connections is the number of streams open now.
func (e *Engine) Connections() int {
	var stats C.ssecast_stats
	if C.ssecast_engine_stats(e.ptr, &stats) != C.SSECAST_OK {
		return -1
	}
	return int(stats.connections)
}

// Close stops the engine and releases it.
func (e *Engine) Close() { C.ssecast_engine_free(e.ptr) }

// Subscription is an in-app stream, waited on through Go's own poller.
type Subscription struct {
	ptr   *C.ssecast_subscription
	ready *os.File // a duplicate of the subscription's eventfd, in Go's poller
}

// ErrEnded says the stream is over (engine stopped, or the reader fell behind
// the history): end the response so the client reconnects.
var ErrEnded = errors.New("ssecast: the stream has ended")

// Subscribe opens an in-app stream of `topics`, resumed after lastEventID
// (empty: none).
func (e *Engine) Subscribe(topics []string, lastEventID string) (*Subscription, error) {
	names := make([]*C.char, len(topics))
	for i, topic := range topics {
		names[i] = C.CString(topic)
		defer C.free(unsafe.Pointer(names[i]))
	}
	var first **C.char
	if len(names) > 0 {
		// A C array of pointers: Go memory holding C pointers may be passed.
		first = &names[0]
	}
	var id *C.char
	if lastEventID != "" {
		id = C.CString(lastEventID)
		defer C.free(unsafe.Pointer(id))
	}
	var sub *C.ssecast_subscription
	if err := errorOf(C.ssecast_subscription_open(e.ptr, first, C.size_t(len(names)), id, &sub)); err != nil {
		return nil, err
	}
	// The descriptor stays the subscription's: Go polls a duplicate of it.
	dup, err := syscall.Dup(int(C.ssecast_subscription_fd(sub)))
	if err == nil {
		err = syscall.SetNonblock(dup, true)
	}
	if err != nil {
		C.ssecast_subscription_free(sub)
		return nil, err
	}
	return &Subscription{ptr: sub, ready: os.NewFile(uintptr(dup), "ssecast-subscription")}, nil
}

// Next calls write with each chunk pending (the bytes are valid during the
// call only), waiting in Go's poller, without an OS thread, until there is at
// least one; ErrEnded at the end of the stream; os.ErrDeadlineExceeded after
// Interrupt.
func (s *Subscription) Next(write func([]byte) error) error {
	wrote := false
	for {
		var data *C.uint8_t
		var size C.size_t
		switch rc := C.ssecast_subscription_read(s.ptr, 0, &data, &size); rc {
		case C.SSECAST_OK:
			if err := write(unsafe.Slice((*byte)(unsafe.Pointer(data)), int(size))); err != nil {
				return err
			}
			wrote = true
			continue
		case C.SSECAST_AGAIN:
		case C.SSECAST_END:
			return ErrEnded
		default:
			return errorOf(rc)
		}
		if wrote {
			return nil
		}
		if err := s.waitReadable(); err != nil {
			return err
		}
	}
}

// waitReadable parks the goroutine until the descriptor is raised.
func (s *Subscription) waitReadable() error {
	conn, err := s.ready.SyscallConn()
	if err != nil {
		return err
	}
	asked := false
	err = conn.Read(func(uintptr) bool {
		// The first call says "not yet", which parks the goroutine in the
		// poller; the call after the descriptor became readable says done.
		done := asked
		asked = true
		return done
	})
	return err
}

// Interrupt makes a Next that waits return os.ErrDeadlineExceeded.
func (s *Subscription) Interrupt() { _ = s.ready.SetReadDeadline(time.Unix(1, 0)) }

// Close releases the subscription's topics at once.
func (s *Subscription) Close() {
	_ = s.ready.Close()
	C.ssecast_subscription_free(s.ptr)
}
