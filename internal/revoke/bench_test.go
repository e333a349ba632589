package revoke_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/revoke"

	"github.com/authserver/authserver/internal/store/storetest"
)

// BenchmarkDenied is the deny-list check every protected request makes, against a list of
// 100,000 entries, from every core at once; about a tenth of the lookups hit.
func BenchmarkDenied(b *testing.B) {
	const entries = 100_000
	now := time.Now()
	l := revoke.NewList()
	revs := make([]models.Revocation, 0, entries)
	sids := make([]string, 0, entries/2)
	for i := range entries {
		id := uuid.NewString()
		switch i % 10 {
		case 0, 1, 2, 3, 4:
			sids = append(sids, id)
			revs = append(revs, models.Revocation{Kind: models.RevokeSession, Subject: id, ExpiresAt: now.Add(time.Hour)})
		case 5, 6, 7, 8:
			revs = append(revs, models.Revocation{Kind: models.RevokeToken, Subject: id, ExpiresAt: now.Add(time.Hour)})
		default:
			revs = append(revs, models.Revocation{Kind: models.RevokeUser, Subject: id, Cutoff: now, ExpiresAt: now.Add(time.Hour)})
		}
	}
	l.Apply(revs)
	// Prepared claims: 1 in 10 names a revoked session, the rest are unknown.
	const n = 1 << 12
	type claims struct{ user, sid, jti string }
	probes := make([]claims, n)
	for i := range probes {
		probes[i] = claims{uuid.NewString(), uuid.NewString(), uuid.NewString()}
		if i%10 == 0 {
			probes[i].sid = sids[rand.IntN(len(sids))]
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(n)
		for pb.Next() {
			p := probes[i%n]
			l.Denied(p.user, p.sid, p.jti, now)
			i++
		}
	})
}

// BenchmarkRedisExists is what the same check would cost with the deny list in Redis: one EXISTS
// round trip per request (TEST_REDIS_URL).
func BenchmarkRedisExists(b *testing.B) {
	rc := storetest.Redis(b)
	ctx := context.Background()
	prefix := "bench:deny:" + uuid.NewString() + ":"
	for i := range 1000 {
		if _, err := rc.Do(ctx, "SET", prefix+strconv.Itoa(i), 1, "EX", 60); err != nil {
			b.Fatalf("SET error: %v", err)
		}
	}
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := rc.Do(ctx, "EXISTS", prefix+strconv.Itoa(i%2000)); err != nil {
				b.Fatalf("EXISTS error: %v", err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := rc.Do(ctx, "EXISTS", prefix+strconv.Itoa(i%2000)); err != nil {
					b.Errorf("EXISTS error: %v", err)
					return
				}
				i++
			}
		})
	})
}
