package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ulule/limiter/v3"
)

// LoginGuard counts failed logins per account, whatever the client IP, and blocks an account's
// logins once LoginMaxFailures have failed within LoginFailureWindow, until that window ends.
// Emails are hashed (SHA-256) before they become keys, so none is stored in Redis.
type LoginGuard struct {
	store limiter.Store
	rate  limiter.Rate
}

// Blocked reports whether logins for email are refused, and for how long (at least a second).
// It fails only if the counter cannot be read.
func (g *LoginGuard) Blocked(ctx context.Context, email string) (retryAfter time.Duration, blocked bool, err error) {
	lc, err := g.store.Peek(ctx, loginKey(email), g.rate)
	if err != nil {
		return 0, false, fmt.Errorf("read login failures: %w", err)
	}
	if lc.Remaining > 0 {
		return 0, false, nil
	}
	return time.Duration(max(secondsUntil(lc.Reset), 1)) * time.Second, true, nil
}

// Failed counts one failed login for email. It fails only if the counter cannot be written.
func (g *LoginGuard) Failed(ctx context.Context, email string) error {
	if _, err := g.store.Increment(ctx, loginKey(email), 1, g.rate); err != nil {
		return fmt.Errorf("count login failure: %w", err)
	}
	return nil
}

// Succeeded clears email's failed logins. It fails only if the counter cannot be written.
func (g *LoginGuard) Succeeded(ctx context.Context, email string) error {
	if _, err := g.store.Reset(ctx, loginKey(email), g.rate); err != nil {
		return fmt.Errorf("reset login failures: %w", err)
	}
	return nil
}

// loginKey is the counter key for an (already normalised) email.
func loginKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "login:" + hex.EncodeToString(sum[:])
}
