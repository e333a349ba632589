package tokens

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authserver/authserver/internal/keys"
)

func TestVerifyAccessCache(t *testing.T) {
	for _, alg := range keys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			now := t0
			o := optionsAt(fixtureFor(t, alg), t0)
			o.Now = func() time.Time { return now }
			i := mustNew(t, o)
			token := mustIssueAccess(t, i, testInput())

			first, err := i.VerifyAccess(token)
			if err != nil {
				t.Fatalf("VerifyAccess(fresh token) error = %v, want nil", err)
			}
			again, err := i.VerifyAccess(token)
			if err != nil || again != first {
				t.Fatalf("VerifyAccess(same token again) = %p, %v; want the cached claims %p, nil", again, err, first)
			}

			// A token that differs in one byte is verified from scratch and refused.
			tampered := token[:len(token)-2] + string(flip(token[len(token)-2])) + token[len(token)-1:]
			if _, err := i.VerifyAccess(tampered); !errors.Is(err, ErrInvalid) {
				t.Fatalf("VerifyAccess(tampered signature) error = %v, want ErrInvalid", err)
			}

			// Expiry is judged again on every cache hit.
			now = first.ExpiresAt.Add(time.Second)
			if _, err := i.VerifyAccess(token); !errors.Is(err, ErrExpired) {
				t.Fatalf("VerifyAccess(cached token after exp) error = %v, want ErrExpired", err)
			}
			if c := i.verified.get(token); c != nil {
				t.Fatalf("cache still holds the expired token")
			}
		})
	}
}

func TestVerifiedCacheIsBounded(t *testing.T) {
	c := newVerifiedCache()
	now := t0
	for n := range cacheShards * cacheShardSize * 2 {
		claims := &AccessClaims{}
		claims.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
		c.put(fmt.Sprintf("token-%d", n), claims, now)
	}
	for s := range c.shards {
		if got := len(c.shards[s].m); got > cacheShardSize {
			t.Fatalf("shard %d holds %d entries, want at most %d", s, got, cacheShardSize)
		}
	}
}

func TestVerifyAccessSessionEnded(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%t", cached), func(t *testing.T) {
			now := t0
			o := optionsAt(fixtureFor(t, keys.HS256), t0)
			o.Now = func() time.Time { return now }
			i := mustNew(t, o)
			capped := testInput()
			capped.NotAfter = t0.Add(o.AccessTTL / 3)
			short := mustIssueAccess(t, i, capped)
			full := mustIssueAccess(t, i, testInput())
			if cached {
				for _, tok := range []string{short, full} {
					if _, err := i.VerifyAccess(tok); err != nil {
						t.Fatalf("VerifyAccess(fresh) error = %v, want nil", err)
					}
				}
			}
			now = t0.Add(o.AccessTTL + time.Second)
			if _, err := i.VerifyAccess(short); !errors.Is(err, ErrSessionEnded) {
				t.Errorf("VerifyAccess(token capped to its session's end, after it) error = %v, want ErrSessionEnded", err)
			}
			if _, err := i.VerifyAccess(full); !errors.Is(err, ErrExpired) || errors.Is(err, ErrSessionEnded) {
				t.Errorf("VerifyAccess(full-lifetime token after exp) error = %v, want ErrExpired only", err)
			}
		})
	}
}

// TestVerifiedCacheExactMatch: a hit needs the whole token. An entry found under a token's hash
// that holds another token (two tokens whose hashes collide) is a miss, and dropping the token
// leaves the other's entry alone.
func TestVerifiedCacheExactMatch(t *testing.T) {
	c := newVerifiedCache()
	claims := &AccessClaims{}
	claims.ExpiresAt = jwt.NewNumericDate(t0.Add(time.Hour))
	c.put("token-a", claims, t0)
	if got := c.get("token-a"); got != claims {
		t.Fatalf("get(token-a) = %p, want the claims put, %p", got, claims)
	}
	for _, other := range []string{"token-b", "token-a ", "token-", ""} {
		if got := c.get(other); got != nil {
			t.Errorf("get(%q) = %p, want nil", other, got)
		}
	}

	c.put("token-b", claims, t0)
	h, s := c.find("token-b")
	s.m[h] = cacheEntry{token: "token-a", claims: claims} // as if token-a hashed like token-b
	if got := c.get("token-b"); got != nil {
		t.Errorf("get(token-b) with token-a under its hash = %p, want nil", got)
	}
	c.drop("token-b")
	if s.m[h].token != "token-a" {
		t.Errorf("drop(token-b) removed token-a's entry under the same hash")
	}
}
