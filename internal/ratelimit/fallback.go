package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ulule/limiter/v3"
)

// storeRetryInterval is how long counters stay in memory after Redis failed before Redis is tried again.
const storeRetryInterval = time.Second

// fallbackStore is a limiter.Store that keeps counters in Redis and, while Redis fails, in
// memory with the same rates. It logs one warning per outage and tries Redis again at most
// once per storeRetryInterval. While Redis answers, a request takes no lock here.
type fallbackStore struct {
	memory  limiter.Store
	connect func() (limiter.Store, error) // builds the Redis store; nil when there is no Redis
	log     *slog.Logger
	now     func() time.Time

	remote atomic.Pointer[limiter.Store] // nil until connect succeeds: building it loads scripts into Redis
	down   atomic.Bool

	mu      sync.Mutex // orders outage changes and guards retryAt
	retryAt time.Time
}

// newFallbackStore connects to Redis at once, so an outage at start is reported at start.
func newFallbackStore(memory limiter.Store, connect func() (limiter.Store, error), log *slog.Logger, now func() time.Time) *fallbackStore {
	s := &fallbackStore{memory: memory, connect: connect, log: log, now: now}
	if connect == nil {
		return s
	}
	if remote, err := connect(); err != nil {
		s.markDown(context.Background(), err)
	} else {
		s.remote.Store(&remote)
	}
	return s
}

// Get increments key's counter and returns its state.
func (s *fallbackStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.run(ctx, func(st limiter.Store) (limiter.Context, error) { return st.Get(ctx, key, rate) })
}

// Peek returns the state of key's counter without changing it.
func (s *fallbackStore) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.run(ctx, func(st limiter.Store) (limiter.Context, error) { return st.Peek(ctx, key, rate) })
}

// Reset sets key's counter back to zero.
func (s *fallbackStore) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.run(ctx, func(st limiter.Store) (limiter.Context, error) { return st.Reset(ctx, key, rate) })
}

// Increment adds count to key's counter and returns its state.
func (s *fallbackStore) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	return s.run(ctx, func(st limiter.Store) (limiter.Context, error) { return st.Increment(ctx, key, count, rate) })
}

// run applies op to Redis when it is due, and to memory when Redis is absent, down or fails.
func (s *fallbackStore) run(ctx context.Context, op func(limiter.Store) (limiter.Context, error)) (limiter.Context, error) {
	if s.connect == nil || !s.due() {
		return op(s.memory)
	}
	lc, err := s.tryRemote(op)
	if err == nil {
		s.markUp(ctx)
		return lc, nil
	}
	if ctx.Err() == nil { // a request given up by its client says nothing about Redis
		s.markDown(ctx, err)
	}
	return op(s.memory)
}

// due reports whether this call should use Redis. During an outage it lets one call through
// per storeRetryInterval.
func (s *fallbackStore) due() bool {
	if !s.down.Load() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down.Load() {
		return true
	}
	now := s.now()
	if now.Before(s.retryAt) {
		return false
	}
	s.retryAt = now.Add(storeRetryInterval)
	return true
}

// tryRemote applies op to the Redis store, building that store first if Redis was down at start.
func (s *fallbackStore) tryRemote(op func(limiter.Store) (limiter.Context, error)) (limiter.Context, error) {
	remote := s.remote.Load()
	if remote == nil {
		built, err := s.connect()
		if err != nil {
			return limiter.Context{}, err
		}
		s.remote.CompareAndSwap(nil, &built)
		remote = s.remote.Load()
	}
	return op(*remote)
}

// markDown records a Redis failure and warns once per outage.
func (s *fallbackStore) markDown(ctx context.Context, err error) {
	s.mu.Lock()
	first := !s.down.Swap(true)
	s.retryAt = s.now().Add(storeRetryInterval)
	s.mu.Unlock()
	if first {
		s.log.WarnContext(ctx, "rate limit store unavailable, using memory", "error", err.Error())
	}
}

// markUp records that Redis answered, ending an outage.
func (s *fallbackStore) markUp(ctx context.Context) {
	if !s.down.Load() {
		return
	}
	s.mu.Lock()
	recovered := s.down.Swap(false)
	s.mu.Unlock()
	if recovered {
		s.log.InfoContext(ctx, "rate limit store available again")
	}
}
