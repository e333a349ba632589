package tokens

import (
	"testing"

	"github.com/authserver/authserver/internal/keys"
)

func BenchmarkIssueAccess(b *testing.B) {
	for _, alg := range keys.Algorithms {
		b.Run(alg, func(b *testing.B) {
			i := issuerAt(b, fixtureFor(b, alg), t0)
			in := testInput()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := i.IssueAccess(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyAccess measures a first verification (signature and claims: the cache entry is
// dropped before each call) and a repeated one (served by the verified-token cache).
func BenchmarkVerifyAccess(b *testing.B) {
	for _, alg := range keys.Algorithms {
		i := issuerAt(b, fixtureFor(b, alg), t0)
		token := mustIssueAccess(b, i, testInput())
		b.Run(alg+"/signature", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				i.verified.drop(token)
				if _, err := i.VerifyAccess(token); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/cached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := i.VerifyAccess(token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
