package main

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// event is one parsed Server-Sent Event.
type event struct{ id, name, data string }

// reader reads events from a real HTTP response, skipping comments.
type reader struct {
	body   *bufio.Reader
	cancel context.CancelFunc
}

func open(t *testing.T, url string, header map[string]string) *reader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	r := &reader{body: bufio.NewReader(res.Body), cancel: cancel}
	t.Cleanup(func() { cancel(); res.Body.Close() })
	return r
}

func (r *reader) next(t *testing.T) event {
	t.Helper()
	var ev event
	for {
		line, err := r.body.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.data != "" || ev.id != "" {
				return ev
			}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

// seq is the sequence number of an engine-assigned id ("incarnation-N").
func seq(t *testing.T, id string) int {
	n, err := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	return n
}

func waitConnections(t *testing.T, engine *Engine, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for engine.Connections() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open, want %d", engine.Connections(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTickerStreamResumeAndRelease(t *testing.T) {
	engine, err := StartEngine(map[string]string{"port": "0", "keepalive_ms": "0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(engine.Close)
	t.Cleanup(startTicker(engine, 5*time.Millisecond))
	// Cleanups run last-registered first: the readers close, then the server.
	server := httptest.NewServer(newServer(engine))
	t.Cleanup(server.Close)

	first := open(t, server.URL+"/events?topic=ticker", nil)
	a, b := first.next(t), first.next(t)
	if a.name != "price" || !strings.Contains(a.data, `"symbol":"AAPL"`) {
		t.Fatalf("unexpected event %+v", a)
	}
	if seq(t, b.id) <= seq(t, a.id) {
		t.Fatalf("ids out of order: %s then %s", a.id, b.id)
	}
	first.cancel() // the client leaves; the ticker goes on
	waitConnections(t, engine, 0)

	// Resume after b, by header and by query: the next event is b's successor.
	for _, resumed := range []*reader{
		open(t, server.URL+"/events?topic=ticker", map[string]string{"Last-Event-ID": b.id}),
		open(t, server.URL+"/events?topic=ticker&lastEventId="+b.id, nil),
	} {
		if next := resumed.next(t); seq(t, next.id) != seq(t, b.id)+1 {
			t.Fatalf("resumed at %s after %s: a gap or a duplicate", next.id, b.id)
		}
	}
	waitConnections(t, engine, 2)
}

func TestBadTopicIsABadRequest(t *testing.T) {
	engine, err := StartEngine(map[string]string{"port": "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	server := httptest.NewServer(newServer(engine))
	defer server.Close()
	res, err := http.Get(server.URL + "/events?topic=")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", res.StatusCode)
	}
	if engine.Connections() != 0 {
		t.Fatalf("%d streams open", engine.Connections())
	}
}

func TestStopEndsTheStream(t *testing.T) {
	engine, err := StartEngine(map[string]string{"port": "0", "keepalive_ms": "0"})
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(newServer(engine))
	t.Cleanup(server.Close)
	r := open(t, server.URL+"/events?topic=last", nil)
	waitConnections(t, engine, 1)
	if _, err := engine.Publish("last", "bye", "before stop"); err != nil {
		t.Fatal(err)
	}
	engine.Close()
	if ev := r.next(t); ev.data != "before stop" {
		t.Fatalf("unexpected %+v", ev)
	}
	// The goodbye: a retry within reconnect_jitter_ms (default 5000), then the end.
	if line, err := r.body.ReadString('\n'); err != nil || !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("no goodbye retry after stop: %q, %v", line, err)
	}
	if _, err := r.body.ReadString('\n'); err == nil {
		t.Fatal("the stream did not end after stop")
	}
}
