package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	memorystore "github.com/ulule/limiter/v3/drivers/store/memory"
	redisstore "github.com/ulule/limiter/v3/drivers/store/redis"
)

// LimitsOptions configures NewLimits.
type LimitsOptions struct {
	Redis              *redis.Client // nil keeps every counter in this process's memory
	Prefix             string        // starts every counter's key; "ratelimit" when empty
	Window             time.Duration // the window of the general and auth limits
	GeneralMax         int64         // requests per window and client IP on /api/*
	AuthMax            int64         // requests per window and client IP on /api/auth/*
	LoginMaxFailures   int64         // failed logins per window and account before its logins are refused
	LoginFailureWindow time.Duration
	Log                *slog.Logger
	OnLimited          func(c *gin.Context) // called once for each request refused with 429; may be nil
}

// Limits holds the per-IP rate limits and the per-account login lockout. Counters live in
// Redis when one is configured, and in memory for as long as Redis fails.
type Limits struct {
	store     *fallbackStore
	general   limiter.Rate
	auth      limiter.Rate
	guard     *LoginGuard
	onLimited func(c *gin.Context)
}

// NewLimits builds the limits described by opts. It fails only on invalid options: when
// Redis does not answer, the counters start in memory and Redis is retried later.
func NewLimits(opts LimitsOptions) (*Limits, error) {
	var problems []error
	if opts.Window <= 0 {
		problems = append(problems, errors.New("rate limit window must be positive"))
	}
	if opts.GeneralMax < 1 || opts.AuthMax < 1 {
		problems = append(problems, errors.New("rate limit maximums must be at least 1"))
	}
	if opts.LoginMaxFailures < 1 {
		problems = append(problems, errors.New("login max failures must be at least 1"))
	}
	if opts.LoginFailureWindow <= 0 {
		problems = append(problems, errors.New("login failure window must be positive"))
	}
	if opts.Log == nil {
		problems = append(problems, errors.New("rate limits need a logger"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	prefix := opts.Prefix
	if prefix == "" {
		prefix = "ratelimit"
	}
	memory := memorystore.NewStoreWithOptions(limiter.StoreOptions{Prefix: prefix, CleanUpInterval: limiter.DefaultCleanUpInterval})
	var connect func() (limiter.Store, error)
	if opts.Redis != nil {
		connect = func() (limiter.Store, error) {
			return redisstore.NewStoreWithOptions(opts.Redis, limiter.StoreOptions{Prefix: prefix})
		}
	}
	store := newFallbackStore(memory, connect, opts.Log, time.Now)

	return &Limits{
		store:     store,
		general:   limiter.Rate{Period: opts.Window, Limit: opts.GeneralMax},
		auth:      limiter.Rate{Period: opts.Window, Limit: opts.AuthMax},
		guard:     &LoginGuard{store: store, rate: limiter.Rate{Period: opts.LoginFailureWindow, Limit: opts.LoginMaxFailures}},
		onLimited: opts.OnLimited,
	}, nil
}

// General limits requests per client IP with GeneralMax per Window, for /api/* outside /api/auth.
func (l *Limits) General() gin.HandlerFunc { return l.limit("general", l.general) }

// Auth limits requests per client IP with AuthMax per Window, for /api/auth/*; its counter is
// separate from General's.
func (l *Limits) Auth() gin.HandlerFunc { return l.limit("auth", l.auth) }

// LoginGuard returns the per-account login lockout.
func (l *Limits) LoginGuard() *LoginGuard { return l.guard }

// limit counts the request against c.ClientIP() (which believes X-Forwarded-For only from the
// engine's trusted proxies), sets the RateLimit-* headers and refuses the request with 429
// RATE_LIMITED and Retry-After once the limit is exceeded.
func (l *Limits) limit(name string, rate limiter.Rate) gin.HandlerFunc {
	return func(c *gin.Context) {
		lc, err := l.store.Get(c.Request.Context(), name+":"+c.ClientIP(), rate)
		if err != nil {
			Fail(c, fmt.Errorf("count %s request: %w", name, err))
			return
		}
		reset := secondsUntil(lc.Reset)
		h := c.Writer.Header() // canonical keys set directly: this runs on every limited request
		h["Ratelimit-Limit"] = []string{strconv.FormatInt(lc.Limit, 10)}
		h["Ratelimit-Remaining"] = []string{strconv.FormatInt(lc.Remaining, 10)}
		h["Ratelimit-Reset"] = []string{strconv.FormatInt(reset, 10)}
		if !lc.Reached {
			return
		}
		c.Header("Retry-After", strconv.FormatInt(max(reset, 1), 10))
		if l.onLimited != nil {
			l.onLimited(c)
		}
		Fail(c, &Error{Status: http.StatusTooManyRequests, Code: "RATE_LIMITED", Message: "too many requests, try again later"})
	}
}

// secondsUntil turns a limiter reset time (Unix seconds) into a delay in seconds, never negative.
func secondsUntil(reset int64) int64 {
	return max(reset-time.Now().Unix(), 0)
}

// storeRetryInterval is how long counters stay in memory after Redis failed before Redis is tried again.
const storeRetryInterval = time.Second

// fallbackStore is a limiter.Store that keeps counters in Redis and, while Redis fails, in
// memory with the same rates. It logs one warning per outage and tries Redis again at most
// once per storeRetryInterval.
type fallbackStore struct {
	memory  limiter.Store
	connect func() (limiter.Store, error) // builds the Redis store; nil when there is no Redis
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex
	remote  limiter.Store // nil until connect succeeds: building it loads scripts into Redis
	down    bool
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
		s.remote = remote
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down {
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
	s.mu.Lock()
	remote := s.remote
	s.mu.Unlock()
	if remote == nil {
		built, err := s.connect()
		if err != nil {
			return limiter.Context{}, err
		}
		s.mu.Lock()
		if s.remote == nil {
			s.remote = built
		}
		remote = s.remote
		s.mu.Unlock()
	}
	return op(remote)
}

// markDown records a Redis failure and warns once per outage.
func (s *fallbackStore) markDown(ctx context.Context, err error) {
	s.mu.Lock()
	first := !s.down
	s.down = true
	s.retryAt = s.now().Add(storeRetryInterval)
	s.mu.Unlock()
	if first {
		s.log.WarnContext(ctx, "rate limit store unavailable, using memory", "error", err.Error())
	}
}

// markUp records that Redis answered, ending an outage.
func (s *fallbackStore) markUp(ctx context.Context) {
	s.mu.Lock()
	recovered := s.down
	s.down = false
	s.mu.Unlock()
	if recovered {
		s.log.InfoContext(ctx, "rate limit store available again")
	}
}
