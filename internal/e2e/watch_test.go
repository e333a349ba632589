package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// watch wraps the server's handler to see what the browser's requests got: it records the
// answers to requests from foreign origins, and can hold refreshes until several are in flight.
type watch struct {
	next   http.Handler
	origin string // the server's own origin

	mu      sync.Mutex
	foreign []seen
	hold    *refreshHold
}

// seen is one request as the server answered it.
type seen struct {
	method, path string
	withCookie   bool // the refresh cookie came along
	status       int
	code         string // the error code of a JSON error answer
	setCookie    string // the refreshToken cookie the answer set, if any
}

// refreshHold keeps POST /api/auth/refresh requests waiting until n have arrived, so they all
// carry the same cookie, and then records their answers.
type refreshHold struct {
	n        int
	arrived  int
	released chan struct{}
	answers  []seen
	done     chan struct{} // closed when n answers are recorded
}

func (w *watch) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	isForeign := origin != "" && origin != w.origin
	hold := w.holdRefresh(r)
	if !isForeign && hold == nil {
		w.next.ServeHTTP(rw, r)
		return
	}
	rec := &recorder{ResponseWriter: rw, status: http.StatusOK}
	w.next.ServeHTTP(rec, r)
	s := seen{method: r.Method, path: r.URL.Path, status: rec.status, code: errorCode(rec.body.Bytes()),
		setCookie: refreshCookieOf(rec.Header())}
	_, err := r.Cookie("refreshToken")
	s.withCookie = err == nil
	w.mu.Lock()
	defer w.mu.Unlock()
	if isForeign {
		w.foreign = append(w.foreign, s)
	}
	if hold != nil {
		hold.answers = append(hold.answers, s)
		if len(hold.answers) == hold.n {
			close(hold.done)
		}
	}
}

// holdRefresh makes a refresh request wait while a hold is armed and fewer than n have arrived.
// It returns the hold the request belongs to, or nil.
func (w *watch) holdRefresh(r *http.Request) *refreshHold {
	if r.Method != http.MethodPost || r.URL.Path != "/api/auth/refresh" {
		return nil
	}
	w.mu.Lock()
	h := w.hold
	if h == nil || h.arrived == h.n {
		w.mu.Unlock()
		return nil
	}
	h.arrived++
	if h.arrived == h.n {
		close(h.released)
	}
	w.mu.Unlock()
	select {
	case <-h.released:
	case <-time.After(stepTimeout): // the test fails on the missing answers; never hang the server
	case <-r.Context().Done():
	}
	return h
}

// holdRefreshes arms a hold for the next n refreshes and returns a func that waits for their
// answers (failing the test if they do not all come within stepTimeout).
func (w *watch) holdRefreshes(t *testing.T, n int) func() []seen {
	h := &refreshHold{n: n, released: make(chan struct{}), done: make(chan struct{})}
	w.mu.Lock()
	w.hold = h
	w.mu.Unlock()
	return func() []seen {
		t.Helper()
		select {
		case <-h.done:
		case <-time.After(stepTimeout):
			t.Fatalf("%d refreshes were held, but only %d arrived", n, h.arrivedCount(w))
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.hold = nil
		return append([]seen(nil), h.answers...)
	}
}

func (h *refreshHold) arrivedCount(w *watch) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return h.arrived
}

// foreignRequests returns the requests from foreign origins seen so far.
func (w *watch) foreignRequests() []seen {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]seen(nil), w.foreign...)
}

// recorder remembers the status a handler wrote and the start of its body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if room := 4096 - r.body.Len(); room > 0 {
		r.body.Write(p[:min(len(p), room)])
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// errorCode returns the "code" of a JSON error body, or "".
func errorCode(body []byte) string {
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Code
}

// refreshCookieOf returns the value of the refreshToken cookie a response sets, or "".
func refreshCookieOf(h http.Header) string {
	for _, line := range h.Values("Set-Cookie") {
		if v, ok := strings.CutPrefix(line, "refreshToken="); ok {
			value, _, _ := strings.Cut(v, ";")
			return value
		}
	}
	return ""
}
