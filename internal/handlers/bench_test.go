package handlers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/keys"
	"github.com/authserver/authserver/internal/tokens"
)

// BenchmarkRoutes serves GET /healthz, GET /api/profile (bearer token, general rate limit,
// deny-list check) and GET /forward-auth (the same bearer check, no rate limit) in process under
// each algorithm; the ratio of each to /healthz is the cost of auth.
func BenchmarkRoutes(b *testing.B) {
	for _, alg := range keys.Algorithms {
		var o tokens.Options
		if keys.IsAsymmetric(alg) {
			key, err := keys.Generate(alg)
			if err != nil {
				b.Fatalf("keys.Generate(%s): %v", alg, err)
			}
			o = tokens.Options{Algorithm: alg, SigningKey: key}
		}
		e := newBenchEnv(b, o)
		e.register("bench@example.com")
		s := e.login("bench@example.com")
		for _, r := range []struct{ name, path, bearer string }{
			{"healthz", "/healthz", ""},
			{"profile", "/api/profile", s.access},
			{"forward-auth", "/forward-auth", s.access},
		} {
			b.Run(alg+"/"+r.name, func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						hr := httptest.NewRequest(http.MethodGet, r.path, nil)
						if r.bearer != "" {
							hr.Header.Set("Authorization", "Bearer "+r.bearer)
						}
						rec := httptest.NewRecorder()
						e.h.ServeHTTP(rec, hr)
						if rec.Code != http.StatusOK {
							b.Fatalf("GET %s = %d, want 200", r.path, rec.Code)
						}
					}
				})
			})
		}
	}
}

// newBenchEnv is newEnv for a benchmark: limits no benchmark reaches.
func newBenchEnv(b *testing.B, o tokens.Options) *testEnv {
	return newEnv(b, func(c *envConfig) {
		c.GeneralMax, c.AuthMax, c.AccessTTL, c.Tokens = 1<<40, 1<<40, time.Hour, o
	})
}

// BenchmarkRefreshRoute rotates sessions through POST /api/auth/refresh in process, in the body
// form native clients use, one rotation chain per goroutine: the cost of a refresh beyond its
// database statement (on the default backend).
func BenchmarkRefreshRoute(b *testing.B) {
	e := newBenchEnv(b, tokens.Options{})
	e.register("bench@example.com")
	chains := make(chan string, 64)
	for range cap(chains) {
		chains <- e.login("bench@example.com").refresh.Value
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		token := <-chains
		for pb.Next() {
			body, _ := json.Marshal(map[string]string{"refreshToken": token})
			hr := httptest.NewRequest(http.MethodPost, "/api/auth/refresh", bytes.NewReader(body))
			hr.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, hr)
			var out struct{ RefreshToken string }
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.RefreshToken == "" {
				b.Fatalf("POST /api/auth/refresh = %d %s, want 200 and a new refresh token", rec.Code, rec.Body)
			}
			token = out.RefreshToken
		}
	})
}
