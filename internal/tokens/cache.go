package tokens

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Size of the verified-token cache: cacheShards maps of at most cacheShardSize entries each.
const (
	cacheShards    = 16
	cacheShardSize = 4096
)

// verifiedCache remembers access tokens whose signature and claims have been checked, so a token
// presented again skips the signature check (the costly part under RS256, PS256, ES256 and EdDSA);
// only its expiry is checked again. Entries are keyed by the SHA-256 of the whole token string, so
// a hit means this exact token was verified before. It is bounded: a full shard drops its expired
// entries, then arbitrary ones down to three quarters.
type verifiedCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*AccessClaims
}

// get returns the claims of a verified token, or nil.
func (c *verifiedCache) get(key [sha256.Size]byte) *AccessClaims {
	s := &c.shards[key[0]%cacheShards]
	s.mu.Lock()
	claims := s.m[key]
	s.mu.Unlock()
	return claims
}

// put remembers the claims of a verified token; now is used to clear expired entries.
func (c *verifiedCache) put(key [sha256.Size]byte, claims *AccessClaims, now time.Time) {
	s := &c.shards[key[0]%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[[sha256.Size]byte]*AccessClaims)
	}
	if len(s.m) >= cacheShardSize {
		// Sweep once, then make room for a quarter of the shard, so sweeps stay rare.
		for k, v := range s.m {
			if !now.Before(v.ExpiresAt.Time) {
				delete(s.m, k)
			}
		}
		for k := range s.m {
			if len(s.m) <= cacheShardSize*3/4 {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[key] = claims
}

// drop forgets a token.
func (c *verifiedCache) drop(key [sha256.Size]byte) {
	s := &c.shards[key[0]%cacheShards]
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}
