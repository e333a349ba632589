// Package revoke keeps the access-token deny list in memory on every instance: loaded from the
// store at start, re-read every sync interval, and spread at once through Redis pub/sub.
package revoke

import (
	"sync"
	"time"

	"github.com/authserver/authserver/internal/models"
)

// cutoff denies a user's tokens issued before at.
type cutoff struct {
	at      time.Time
	expires time.Time
}

// List is the in-memory deny list the protected path consults. It is safe for concurrent use.
type List struct {
	mu       sync.RWMutex
	sessions map[string]time.Time // sid -> entry expiry
	tokens   map[string]time.Time // jti -> entry expiry
	users    map[string]cutoff
}

// NewList returns an empty List.
func NewList() *List {
	return &List{sessions: map[string]time.Time{}, tokens: map[string]time.Time{}, users: map[string]cutoff{}}
}

// Denied reports whether an access token with these claims has been revoked: its session ended,
// its jti was denied, or its user was cut off after it was issued. A JWT's iat counts whole
// seconds, so the cut-off is compared in whole seconds too: otherwise a user re-enabled and
// logged in again within the second of the disable would get tokens that are denied at once.
// The tokens of that second issued before the cut-off belong to sessions the same change
// ended, which the session entries deny.
func (l *List) Denied(userID, sessionID, tokenID string, issuedAt time.Time) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if _, ok := l.sessions[sessionID]; ok {
		return true
	}
	if _, ok := l.tokens[tokenID]; ok {
		return true
	}
	if c, ok := l.users[userID]; ok && issuedAt.Before(c.at.Truncate(time.Second)) {
		return true
	}
	return false
}

// Apply adds revocations to the list; applying one twice is harmless.
func (l *List) Apply(revs []models.Revocation) {
	if len(revs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range revs {
		switch r.Kind {
		case models.RevokeSession:
			l.sessions[r.Subject] = later(l.sessions[r.Subject], r.ExpiresAt)
		case models.RevokeToken:
			l.tokens[r.Subject] = later(l.tokens[r.Subject], r.ExpiresAt)
		case models.RevokeUser:
			c := l.users[r.Subject]
			l.users[r.Subject] = cutoff{at: later(c.at, r.Cutoff), expires: later(c.expires, r.ExpiresAt)}
		}
	}
}

// Prune drops the entries that expired by now and returns how many are left.
func (l *List) Prune(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, exp := range l.sessions {
		if !now.Before(exp) {
			delete(l.sessions, k)
		}
	}
	for k, exp := range l.tokens {
		if !now.Before(exp) {
			delete(l.tokens, k)
		}
	}
	for k, c := range l.users {
		if !now.Before(c.expires) {
			delete(l.users, k)
		}
	}
	return len(l.sessions) + len(l.tokens) + len(l.users)
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
