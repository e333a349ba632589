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

func BenchmarkVerifyAccess(b *testing.B) {
	for _, alg := range keys.Algorithms {
		b.Run(alg, func(b *testing.B) {
			i := issuerAt(b, fixtureFor(b, alg), t0)
			token := mustIssueAccess(b, i, testInput())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := i.VerifyAccess(token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
