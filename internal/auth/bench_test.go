package auth_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/store/storetest"
)

// BenchmarkRefresh rotates one session b.N times in a row, each refresh presenting the token the
// previous one returned: one locked read, one update and one commit per operation.
func BenchmarkRefresh(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			e := newEnv(b, backend.Open(b), nil)
			token := e.login(b, e.register(b)).RefreshToken
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				out, err := e.svc.Refresh(ctx, token, auth.Client{})
				if err != nil {
					b.Fatalf("Refresh error: %v", err)
				}
				token = out.RefreshToken
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
		})
	}
}

// BenchmarkRefreshParallel rotates many sessions at once, one per goroutine.
func BenchmarkRefreshParallel(b *testing.B) {
	const parallelism = 4
	for _, backend := range storetest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			e := newEnv(b, backend.Open(b), nil)
			n := parallelism * runtime.GOMAXPROCS(0)
			start := make(chan string, n)
			for range n {
				start <- e.login(b, e.register(b)).RefreshToken
			}
			ctx := context.Background()
			b.SetParallelism(parallelism)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				token := <-start
				for pb.Next() {
					out, err := e.svc.Refresh(ctx, token, auth.Client{})
					if err != nil {
						b.Errorf("Refresh error: %v", err)
						return
					}
					token = out.RefreshToken
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
		})
	}
}

// BenchmarkCompare measures one bcrypt compare (a matching password) at the default cost (12) or
// LOAD_BCRYPT_COST, in this process at the default priority: the bound of the login rate is CPUs /
// this time. scripts/load.sh reads it.
func BenchmarkCompare(b *testing.B) {
	cost := 12
	if v, err := strconv.Atoi(os.Getenv("LOAD_BCRYPT_COST")); err == nil {
		cost = v
	}
	password := []byte("load test pass phrase")
	hash, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		b.Fatalf("GenerateFromPassword(cost %d): %v", cost, err)
	}
	for b.Loop() {
		if err := bcrypt.CompareHashAndPassword(hash, password); err != nil {
			b.Fatalf("CompareHashAndPassword: %v", err)
		}
	}
}
