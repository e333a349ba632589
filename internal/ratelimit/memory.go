package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ulule/limiter/v3"
)

// sweepInterval is how often, at most, counters whose window has ended are dropped.
const sweepInterval = time.Minute

// memoryStore is the in-process limiter.Store: one fixed-window counter per key, found in a
// sync.Map (lock-free reads) and counted with atomics, so requests from the same client IP on
// different cores never wait on a lock. Counters whose window ended are dropped at most once
// per sweepInterval, by the request that finds the sweep due.
type memoryStore struct {
	counters  sync.Map // key -> *counter
	now       func() time.Time
	nextSweep atomic.Int64 // Unix nanoseconds
}

// counter holds the current window of one key; a new window replaces it when it ends.
type counter struct {
	cur atomic.Pointer[window]
}

// window is a count that ends at end (Unix nanoseconds).
type window struct {
	end int64
	n   atomic.Int64
}

func newMemoryStore(now func() time.Time) *memoryStore {
	s := &memoryStore{now: now}
	s.nextSweep.Store(now().Add(sweepInterval).UnixNano())
	return s
}

// add counts k more for key and returns the count and the end of the window it fell in.
func (s *memoryStore) add(key string, k int64, period time.Duration) (int64, int64) {
	now := s.now().UnixNano()
	s.sweep(now)
	for {
		v, ok := s.counters.Load(key)
		if !ok {
			v, _ = s.counters.LoadOrStore(key, &counter{})
		}
		c := v.(*counter)
		if c.cur.Load() == swept {
			s.counters.CompareAndDelete(key, c) // help the sweep, then count in a new counter
			continue
		}
		if n, end, ok := c.add(now, k, period); ok {
			return n, end
		}
	}
}

// swept marks a counter the sweep removed: callers that still hold it go back to the map.
var swept = &window{}

// add counts k in the current window, starting a new one when it has ended. ok is false when
// another caller replaced the window (or the sweep removed the counter) at the same moment;
// nothing was counted and the caller tries again. A caller whose clock read is older than
// the replacement counts in the window it saw, which was current when its request came.
func (c *counter) add(now, k int64, period time.Duration) (n, end int64, ok bool) {
	w := c.cur.Load()
	if w == swept {
		return 0, 0, false
	}
	if w != nil && now < w.end {
		return w.n.Add(k), w.end, true
	}
	next := &window{end: now + int64(period)}
	next.n.Store(k)
	return k, next.end, c.cur.CompareAndSwap(w, next)
}

// peek returns key's count and window end without counting.
func (s *memoryStore) peek(key string, period time.Duration) (int64, int64) {
	now := s.now().UnixNano()
	if v, ok := s.counters.Load(key); ok {
		if w := v.(*counter).cur.Load(); w != nil && w != swept && now < w.end {
			return w.n.Load(), w.end
		}
	}
	return 0, now + int64(period)
}

// sweep drops the counters whose window has ended, when a sweep is due.
func (s *memoryStore) sweep(now int64) {
	due := s.nextSweep.Load()
	if now < due || !s.nextSweep.CompareAndSwap(due, now+int64(sweepInterval)) {
		return
	}
	s.counters.Range(func(key, v any) bool {
		// Marking the ended window swept first means a caller that starts a new window in
		// this counter at the same moment either wins (the counter stays) or sees it swept.
		c := v.(*counter)
		if w := c.cur.Load(); w != swept && (w == nil || now >= w.end) && c.cur.CompareAndSwap(w, swept) {
			s.counters.CompareAndDelete(key, v)
		}
		return true
	})
}

// state is the limiter.Context of a count in a window ending at end.
func state(rate limiter.Rate, n, end int64) limiter.Context {
	return limiter.Context{
		Limit: rate.Limit, Remaining: max(rate.Limit-n, 0), Reset: time.Unix(0, end).Unix(), Reached: n > rate.Limit,
	}
}

// Get counts one request for key.
func (s *memoryStore) Get(_ context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	n, end := s.add(key, 1, rate.Period)
	return state(rate, n, end), nil
}

// Increment counts count requests for key.
func (s *memoryStore) Increment(_ context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	n, end := s.add(key, count, rate.Period)
	return state(rate, n, end), nil
}

// Peek returns key's state without counting.
func (s *memoryStore) Peek(_ context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	n, end := s.peek(key, rate.Period)
	return state(rate, n, end), nil
}

// Reset forgets key's count.
func (s *memoryStore) Reset(_ context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	s.counters.Delete(key)
	return state(rate, 0, s.now().Add(rate.Period).UnixNano()), nil
}
