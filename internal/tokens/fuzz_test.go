package tokens

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/keys"
)

// fuzzKey is an Ed25519 key made from a fixed seed: the fuzzing engine runs the target in
// several processes, and each must build the same keys and tokens.
var fuzzKey = ed25519.NewKeyFromSeed([]byte("fuzz-seed-for-the-eddsa-test-key"))

// fuzzVerifiers are the issuers the fuzz targets verify with, HS256 and EdDSA, clocks at t0,
// and for each the header its access tokens carry and the key that signs them.
func fuzzVerifiers(f *testing.F) (vs []*Issuer, headers []map[string]any, signKeys []any) {
	hs := optionsAt(fixture{alg: keys.HS256}, t0)
	ed := optionsAt(fixture{alg: keys.EdDSA, key: fuzzKey, old: fuzzKey}, t0)
	for _, o := range []Options{hs, ed} {
		vs = append(vs, mustNew(f, o))
	}
	headers = []map[string]any{
		{"alg": keys.HS256, "typ": "at+jwt"},
		{"alg": keys.EdDSA, "typ": "at+jwt", "kid": kidOf(f, fuzzKey)},
	}
	return vs, headers, []any{accessSecret, fuzzKey}
}

// seedTokens adds genuine tokens (signed by the verifiers' own keys with the claims the server
// writes, so the same in every process), tokens an attacker could craft with the real keys, and
// garbage. It returns the genuine tokens: the only ones that may pass.
func seedTokens(f *testing.F) (vs []*Issuer, genuine map[string]bool) {
	vs, headers, signKeys := fuzzVerifiers(f)
	genuine = map[string]bool{}
	for n := range vs {
		capped := with(accessClaimsAt(t0), "exp", t0.Add(time.Minute).Unix(), "sxp", true)
		for _, claims := range []map[string]any{accessClaimsAt(t0), capped} {
			token := sign(f, headers[n]["alg"].(string), signKeys[n], headers[n], claims)
			genuine[token] = true
			f.Add(token)
		}
		refresh := mustIssueRefresh(f, vs[n], refreshInput(""))
		genuine[refresh] = true
		f.Add(refresh)
	}
	hs := headers[0]
	refresh := sign(f, keys.HS256, refreshSecret, with(hs, "typ", "refresh+jwt"), refreshClaimsAt(t0))
	genuine[refresh] = true
	f.Add(refresh)
	for _, crafted := range []string{
		sign(f, keys.HS256, accessSecret, hs, with(accessClaimsAt(t0), "exp", "1999999999")),
		sign(f, keys.HS256, accessSecret, with(hs, "typ", "refresh+jwt"), refreshClaimsAt(t0)),
		rawToken(f, with(hs, "alg", "none"), accessClaimsAt(t0), ""),
		"", "e30.e30.", "a.b.c", strings.Repeat("A", maxTokenBytes+1),
	} {
		f.Add(crafted)
	}
	return vs, genuine
}

// FuzzVerifyAccess feeds VerifyAccess any string. It must never panic, must fail only with the
// package's sentinels, and may accept only a token the server issued, byte for byte (decoding
// is strict, so there is no second spelling of one).
func FuzzVerifyAccess(f *testing.F) {
	vs, issued := seedTokens(f)
	f.Fuzz(func(t *testing.T, token string) {
		for _, v := range vs {
			claims, err := v.VerifyAccess(token)
			if err != nil {
				if claims != nil {
					t.Fatalf("VerifyAccess(%q) = %+v and error %v, want nil claims with an error", token, claims, err)
				}
				if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
					t.Fatalf("VerifyAccess(%q) error = %v, want ErrInvalid or ErrExpired", token, err)
				}
				continue
			}
			if !issued[token] {
				t.Fatalf("VerifyAccess(%q) accepted a token the server never issued: %+v", token, claims)
			}
		}
	})
}

// FuzzVerifyRefresh is FuzzVerifyAccess for refresh tokens.
func FuzzVerifyRefresh(f *testing.F) {
	vs, issued := seedTokens(f)
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := vs[0].VerifyRefresh(token)
		if err != nil {
			if claims != nil || (!errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired)) {
				t.Fatalf("VerifyRefresh(%q) = %+v, %v; want nil and ErrInvalid or ErrExpired", token, claims, err)
			}
			return
		}
		if !issued[token] {
			t.Fatalf("VerifyRefresh(%q) accepted a token the server never issued: %+v", token, claims)
		}
	})
}
