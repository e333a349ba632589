package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

// flakyStore stands in for the Redis store: Get fails while down, and answers with
// Remaining 42 otherwise, so a test can tell it from the memory store.
type flakyStore struct {
	limiter.Store // only Get is called
	down          bool
	calls         int
}

func (f *flakyStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	f.calls++
	if f.down {
		return limiter.Context{}, errors.New("connection refused")
	}
	return limiter.Context{Limit: rate.Limit, Remaining: 42}, nil
}

func TestFallbackStoreOutages(t *testing.T) {
	remote := &flakyStore{down: true}
	connects := 0
	connect := func() (limiter.Store, error) {
		connects++
		if remote.down {
			return nil, errors.New("connection refused")
		}
		return remote, nil
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	s := newFallbackStore(newMemoryStore(time.Now), connect, log, func() time.Time { return now })
	rate := limiter.Rate{Period: time.Minute, Limit: 100}
	ctx := context.Background()

	steps := []struct {
		name         string
		advance      time.Duration
		down         bool
		wantConnects int
		wantCalls    int
		wantRemote   bool
	}{
		{"down at start: memory without retrying", 0, true, 1, 0, false},
		{"retry due, still down", storeRetryInterval, true, 2, 0, false},
		{"back, but retry not due", storeRetryInterval / 2, false, 2, 0, false},
		{"retry due and back", storeRetryInterval / 2, false, 3, 1, true},
		{"up", 0, false, 3, 2, true},
		{"second outage", 0, true, 3, 3, false},
		{"second outage, retry not due", storeRetryInterval / 2, true, 3, 3, false},
		{"second outage, retry due", storeRetryInterval / 2, true, 3, 4, false},
		{"recovered", storeRetryInterval, false, 3, 5, true},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		remote.down = st.down
		lc, err := s.Get(ctx, "general:192.0.2.1", rate)
		if err != nil {
			t.Fatalf("%s: Get = %v", st.name, err)
		}
		if connects != st.wantConnects || remote.calls != st.wantCalls {
			t.Errorf("%s: connects, Redis calls = %d, %d; want %d, %d", st.name, connects, remote.calls, st.wantConnects, st.wantCalls)
		}
		if fromRemote := lc.Remaining == 42; fromRemote != st.wantRemote {
			t.Errorf("%s: answered by Redis = %v, want %v", st.name, fromRemote, st.wantRemote)
		}
	}

	var warnings, recoveries int
	for line := range strings.Lines(logs.String()) {
		switch {
		case strings.Contains(line, `"msg":"rate limit store unavailable, using memory"`):
			warnings++
		case strings.Contains(line, `"msg":"rate limit store available again"`):
			recoveries++
		}
	}
	if warnings != 2 || recoveries != 2 {
		t.Errorf("logged %d warnings and %d recoveries, want 2 and 2 (one per outage):\n%s", warnings, recoveries, logs.String())
	}
}

func TestFallbackStoreIgnoresCanceledRequests(t *testing.T) {
	remote := &flakyStore{}
	var logs bytes.Buffer
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newFallbackStore(newMemoryStore(time.Now), func() (limiter.Store, error) { return remote, nil },
		slog.New(slog.NewJSONHandler(&logs, nil)), func() time.Time { return now })
	rate := limiter.Rate{Period: time.Minute, Limit: 100}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	remote.down = true
	if _, err := s.Get(ctx, "k", rate); err != nil {
		t.Fatalf("Get with a canceled context = %v", err)
	}
	remote.down = false
	lc, err := s.Get(context.Background(), "k", rate)
	if err != nil || lc.Remaining != 42 || remote.calls != 2 {
		t.Errorf("Get after a canceled request = Remaining %d, %v after %d Redis calls; want Redis answering at once", lc.Remaining, err, remote.calls)
	}
	if logs.Len() != 0 {
		t.Errorf("logged %s, want nothing for a canceled request", logs.String())
	}
}
