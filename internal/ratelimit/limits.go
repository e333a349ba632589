// Package ratelimit counts requests per client IP and failed logins per account. Counters live
// in Redis when one is configured, and in this process's memory for as long as Redis fails. It
// knows nothing of HTTP: internal/middleware adapts it to Gin.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ulule/limiter/v3"

	"github.com/authserver/authserver/internal/redis"
)

// Scope names a per-IP limit; each scope counts separately.
type Scope string

// The per-IP limits.
const (
	// General limits /api/* outside /api/auth (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW).
	General Scope = "general"
	// Auth limits /api/auth/* (AUTH_RATE_LIMIT_MAX per RATE_LIMIT_WINDOW).
	Auth Scope = "auth"
)

// connectTimeout bounds loading the counting script into Redis, at start and after an outage.
const connectTimeout = 2 * time.Second

// Options configures New.
type Options struct {
	Redis              *redis.Client // nil keeps every counter in this process's memory
	Prefix             string        // starts every counter's key; "ratelimit" when empty
	Window             time.Duration // the window of the General and Auth limits
	GeneralMax         int64         // requests per window and client IP in scope General
	AuthMax            int64         // requests per window and client IP in scope Auth
	LoginMaxFailures   int64         // failed logins per window and account before its logins are refused
	LoginFailureWindow time.Duration
	Log                *slog.Logger
}

// Limits holds the per-IP rate limits and the per-account login lockout.
type Limits struct {
	store *fallbackStore
	rates map[Scope]limiter.Rate
	guard *LoginGuard
}

// New builds the limits described by o. It fails only on invalid options: when Redis does not
// answer, the counters start in memory and Redis is retried later.
func New(o Options) (*Limits, error) {
	var problems []error
	if o.Window <= 0 {
		problems = append(problems, errors.New("rate limit window must be positive"))
	}
	if o.GeneralMax < 1 || o.AuthMax < 1 {
		problems = append(problems, errors.New("rate limit maximums must be at least 1"))
	}
	if o.LoginMaxFailures < 1 {
		problems = append(problems, errors.New("login max failures must be at least 1"))
	}
	if o.LoginFailureWindow <= 0 {
		problems = append(problems, errors.New("login failure window must be positive"))
	}
	if o.Log == nil {
		problems = append(problems, errors.New("rate limits need a logger"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}

	prefix := o.Prefix
	if prefix == "" {
		prefix = "ratelimit"
	}
	var connect func() (limiter.Store, error)
	if o.Redis != nil {
		connect = func() (limiter.Store, error) {
			ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
			defer cancel()
			st, err := newRedisStore(ctx, o.Redis, prefix, time.Now)
			if err != nil {
				return nil, err
			}
			return st, nil
		}
	}
	store := newFallbackStore(newMemoryStore(time.Now), connect, o.Log, time.Now)
	return &Limits{
		store: store,
		rates: map[Scope]limiter.Rate{
			General: {Period: o.Window, Limit: o.GeneralMax},
			Auth:    {Period: o.Window, Limit: o.AuthMax},
		},
		guard: &LoginGuard{store: store, rate: limiter.Rate{Period: o.LoginFailureWindow, Limit: o.LoginMaxFailures}},
	}, nil
}

// Count is the state of a client's counter after one request.
type Count struct {
	Limit     int64 // requests allowed per window
	Remaining int64 // requests left in this window
	ResetIn   int64 // seconds until the window ends, never negative
	Reached   bool  // the request that was counted is over the limit
}

// Take counts one request of client (an IP address) in scope. It fails only for an unknown
// scope or when no counter can be written, not even in memory.
func (l *Limits) Take(ctx context.Context, scope Scope, client string) (Count, error) {
	rate, ok := l.rates[scope]
	if !ok {
		return Count{}, fmt.Errorf("unknown rate limit scope %q", scope)
	}
	lc, err := l.store.Get(ctx, string(scope)+":"+client, rate)
	if err != nil {
		return Count{}, fmt.Errorf("count %s request: %w", scope, err)
	}
	return Count{Limit: lc.Limit, Remaining: lc.Remaining, ResetIn: secondsUntil(lc.Reset), Reached: lc.Reached}, nil
}

// LoginGuard returns the per-account login lockout.
func (l *Limits) LoginGuard() *LoginGuard { return l.guard }

// secondsUntil turns a limiter reset time (Unix seconds) into a delay in seconds, never negative.
func secondsUntil(reset int64) int64 {
	return max(reset-time.Now().Unix(), 0)
}
