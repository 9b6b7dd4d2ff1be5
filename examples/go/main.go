// A Go net/http server whose /events streams an ssecast in-app subscription
// through cgo, and whose ticker publishes through the same engine.
//
// Run it (from the repository root, after `make install PREFIX=$HOME/.local`):
//
//	cd examples/go
//	PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig CGO_LDFLAGS="-Wl,-rpath,$HOME/.local/lib" go run .
//	curl -N 'http://127.0.0.1:8080/events?topic=ticker'
//
// PORT sets the port (default 8080, 0 picks one), TICK the ticker's interval
// (default 1s). The engine's own port is not used: the streams are this
// server's, on its origin, behind whatever middleware it has.
package main

import (
	"errors"
	"fmt"
	"log"
	"math/rand"
	"net"
	"net/http"
	"os"
	"time"
)

// newServer serves GET /events?topic=... (Last-Event-ID header or lastEventId
// query to resume) from `engine`.
func newServer(engine *Engine) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		stream(engine, w, r)
	})
	return mux
}

// stream serves one in-app subscription on an HTTP response.
func stream(engine *Engine, w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	lastEventID := r.Header.Get("Last-Event-ID")
	if _, sent := r.Header["Last-Event-Id"]; !sent {
		lastEventID = r.URL.Query().Get("lastEventId")
	}
	sub, err := engine.Subscribe(r.URL.Query()["topic"], lastEventID)
	var failed *Error
	if errors.As(err, &failed) {
		status := http.StatusBadRequest
		if failed.Code == "STOPPED" || failed.Code == "TOO_MANY_CONNECTIONS" {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, failed.Message, status)
		return
	} else if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer sub.Close()

	// A client that leaves wakes the waiting read at once.
	left := make(chan struct{})
	defer close(left)
	go func() {
		select {
		case <-r.Context().Done():
			sub.Interrupt()
		case <-left:
		}
	}()

	header := w.Header()
	header.Set("Content-Type", "text/event-stream")
	header.Set("Cache-Control", "no-cache")
	header.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	for {
		err := sub.Next(func(chunk []byte) error {
			_, err := w.Write(chunk)
			return err
		})
		if err != nil {
			return // the stream ended, or the client left
		}
		flusher.Flush()
	}
}

// startTicker publishes a price on "ticker" every `interval`; the function
// it returns stops the ticker and returns once it no longer uses the engine.
func startTicker(engine *Engine, interval time.Duration) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		price := 187.0
		for {
			select {
			case <-done:
				return
			case <-time.After(interval):
			}
			price *= 1 + (rand.Float64()-0.5)/250
			data := fmt.Sprintf(`{"symbol":"AAPL","price":%.2f}`, price)
			if _, err := engine.Publish("ticker", "price", data); err != nil {
				log.Printf("publish: %v", err)
				return
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

func main() {
	engine, err := StartEngine(map[string]string{"port": "0"})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()
	interval, err := time.ParseDuration(getenv("TICK", "1s"))
	if err != nil {
		log.Fatalf("TICK: %v", err)
	}
	defer startTicker(engine, interval)()

	listener, err := net.Listen("tcp", "127.0.0.1:"+getenv("PORT", "8080"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("events http://%s/events?topic=ticker\n", listener.Addr())
	log.Fatal(http.Serve(listener, newServer(engine)))
}

func getenv(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
