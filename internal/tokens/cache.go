package tokens

import (
	"hash/maphash"
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
// only its expiry is checked again. An entry keeps the token itself and a hit is an exact match
// of the whole token string; entries are found by a seeded hash/maphash of the token, which costs
// a tenth of the SHA-256 this cache was first keyed by (a token is 450 to 1,000 bytes). Two
// tokens with the same hash take turns in one entry: the other is a miss and verified in full.
// It is bounded: a full shard drops its expired entries, then arbitrary ones down to three quarters.
type verifiedCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[uint64]cacheEntry
}

type cacheEntry struct {
	token  string
	claims *AccessClaims
}

func newVerifiedCache() *verifiedCache {
	return &verifiedCache{seed: maphash.MakeSeed()}
}

// find returns token's hash and the shard it belongs in.
func (c *verifiedCache) find(token string) (uint64, *cacheShard) {
	h := maphash.String(c.seed, token)
	return h, &c.shards[h%cacheShards]
}

// get returns the claims of a verified token, or nil.
func (c *verifiedCache) get(token string) *AccessClaims {
	h, s := c.find(token)
	s.mu.Lock()
	e := s.m[h]
	s.mu.Unlock()
	if e.claims == nil || e.token != token {
		return nil
	}
	return e.claims
}

// put remembers the claims of a verified token; now is used to clear expired entries.
func (c *verifiedCache) put(token string, claims *AccessClaims, now time.Time) {
	h, s := c.find(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[uint64]cacheEntry)
	}
	if len(s.m) >= cacheShardSize {
		// Sweep once, then make room for a quarter of the shard, so sweeps stay rare.
		for k, e := range s.m {
			if !now.Before(e.claims.ExpiresAt.Time) {
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
	s.m[h] = cacheEntry{token: token, claims: claims}
}

// drop forgets a token (and nothing else: an entry of another token with the same hash stays).
func (c *verifiedCache) drop(token string) {
	h, s := c.find(token)
	s.mu.Lock()
	if s.m[h].token == token {
		delete(s.m, h)
	}
	s.mu.Unlock()
}
