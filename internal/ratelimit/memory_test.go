package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

// fakeClock is a settable now for the memory store.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestMemoryStoreWindows(t *testing.T) {
	clock := newFakeClock()
	s := newMemoryStore(clock.now)
	ctx := context.Background()
	rate := limiter.Rate{Period: time.Minute, Limit: 2}
	start := clock.now()

	steps := []struct {
		name          string
		advance       time.Duration
		op            func() (limiter.Context, error)
		wantRemaining int64
		wantReached   bool
		wantReset     time.Time
	}{
		{"first", 0, func() (limiter.Context, error) { return s.Get(ctx, "a", rate) }, 1, false, start.Add(time.Minute)},
		{"peek does not count", 10 * time.Second, func() (limiter.Context, error) { return s.Peek(ctx, "a", rate) }, 1, false, start.Add(time.Minute)},
		{"second", 0, func() (limiter.Context, error) { return s.Get(ctx, "a", rate) }, 0, false, start.Add(time.Minute)},
		{"over the limit", 0, func() (limiter.Context, error) { return s.Get(ctx, "a", rate) }, 0, true, start.Add(time.Minute)},
		{"another key counts apart", 0, func() (limiter.Context, error) { return s.Get(ctx, "b", rate) }, 1, false, start.Add(70 * time.Second)},
		{"a new window", 50 * time.Second, func() (limiter.Context, error) { return s.Get(ctx, "a", rate) }, 1, false, start.Add(2 * time.Minute)},
		{"increment by two", 0, func() (limiter.Context, error) { return s.Increment(ctx, "a", 2, rate) }, 0, true, start.Add(2 * time.Minute)},
		{"reset", 0, func() (limiter.Context, error) { return s.Reset(ctx, "a", rate) }, 2, false, start.Add(2 * time.Minute)},
		{"counted from zero after the reset", 0, func() (limiter.Context, error) { return s.Get(ctx, "a", rate) }, 1, false, start.Add(2 * time.Minute)},
	}
	for _, st := range steps {
		clock.advance(st.advance)
		lc, err := st.op()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if lc.Limit != 2 || lc.Remaining != st.wantRemaining || lc.Reached != st.wantReached || lc.Reset != st.wantReset.Unix() {
			t.Errorf("%s: got %+v, want Remaining %d, Reached %v, Reset %d", st.name, lc, st.wantRemaining, st.wantReached, st.wantReset.Unix())
		}
	}
}

// TestMemoryStoreCountsEveryRequest: requests of one key counted on every core at once, across
// window changes and sweeps, are each counted exactly once.
func TestMemoryStoreCountsEveryRequest(t *testing.T) {
	clock := newFakeClock()
	s := newMemoryStore(clock.now)
	rate := limiter.Rate{Period: time.Hour, Limit: 1 << 40}
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := s.Get(context.Background(), "general:192.0.2.1", rate); err != nil {
					t.Errorf("Get: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	lc, _ := s.Peek(context.Background(), "general:192.0.2.1", rate)
	if got := rate.Limit - lc.Remaining; got != workers*each {
		t.Fatalf("counted %d requests, want %d", got, workers*each)
	}

	// A window ending and a sweep while requests are counted: the counts of the windows add up
	// to the requests. Every Get answers the count after it, so a window's largest answer is its count.
	var mu sync.Mutex
	largest := map[int64]int64{} // window reset -> largest count answered in it
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if w == 0 && i == each/2 {
					clock.advance(sweepInterval + 2*time.Hour)
				}
				lc, _ := s.Get(context.Background(), "general:192.0.2.9", rate)
				mu.Lock()
				largest[lc.Reset] = max(largest[lc.Reset], rate.Limit-lc.Remaining)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var total int64
	for _, n := range largest {
		total += n
	}
	if len(largest) < 2 || total != workers*each {
		t.Fatalf("windows %v add up to %d requests, want at least two windows and %d", largest, total, workers*each)
	}
}

func TestMemoryStoreSweepsEndedWindows(t *testing.T) {
	clock := newFakeClock()
	s := newMemoryStore(clock.now)
	ctx := context.Background()
	short := limiter.Rate{Period: time.Second, Limit: 10}
	long := limiter.Rate{Period: time.Hour, Limit: 10}
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		_, _ = s.Get(ctx, "general:"+ip, short)
	}
	_, _ = s.Get(ctx, "auth:192.0.2.9", long)
	clock.advance(sweepInterval)
	_, _ = s.Get(ctx, "general:192.0.2.4", short) // finds the sweep due
	var left []string
	s.counters.Range(func(k, _ any) bool { left = append(left, k.(string)); return true })
	if len(left) != 2 {
		t.Fatalf("after the sweep the store holds %v, want auth:192.0.2.9 and general:192.0.2.4", left)
	}
}
