package tokens

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/keys"
)

// opaqueSigner hides its key's concrete type, as a hardware-backed signer would.
type opaqueSigner struct{ crypto.Signer }

func TestNewRejects(t *testing.T) {
	rsaF := fixtureFor(t, keys.RS256)
	ecF := fixtureFor(t, keys.ES256)
	edF := fixtureFor(t, keys.EdDSA)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		base fixture
		edit func(*Options)
	}{
		{"unknown algorithm", fixtureFor(t, keys.HS256), func(o *Options) { o.Algorithm = "HS512" }},
		{"alg none", fixtureFor(t, keys.HS256), func(o *Options) { o.Algorithm = "none" }},
		{"empty algorithm", fixtureFor(t, keys.HS256), func(o *Options) { o.Algorithm = "" }},
		{"short access secret", fixtureFor(t, keys.HS256), func(o *Options) { o.AccessSecret = accessSecret[:31] }},
		{"no access secret", fixtureFor(t, keys.HS256), func(o *Options) { o.AccessSecret = nil }},
		{"short refresh secret", fixtureFor(t, keys.HS256), func(o *Options) { o.RefreshSecret = refreshSecret[:31] }},
		{"no refresh secret under RS256", rsaF, func(o *Options) { o.RefreshSecret = nil }},
		{"refresh secret equals access secret", fixtureFor(t, keys.HS256), func(o *Options) { o.RefreshSecret = accessSecret }},
		{"no signing key", rsaF, func(o *Options) { o.SigningKey = nil }},
		{"RSA key under ES256", ecF, func(o *Options) { o.SigningKey = rsaF.key }},
		{"P-384 key under ES256", ecF, func(o *Options) { o.SigningKey = p384 }},
		{"Ed25519 key under PS256", fixtureFor(t, keys.PS256), func(o *Options) { o.SigningKey = edF.key }},
		{"RSA 1024 key", rsaF, func(o *Options) { o.SigningKey = small }},
		{"opaque signer", rsaF, func(o *Options) { o.SigningKey = opaqueSigner{rsaF.key} }},
		{"verify key of another type", edF, func(o *Options) { o.VerifyKeys = []crypto.PublicKey{ecF.key.Public()} }},
		{"short RSA verify key", rsaF, func(o *Options) { o.VerifyKeys = []crypto.PublicKey{small.Public()} }},
		{"empty issuer", fixtureFor(t, keys.HS256), func(o *Options) { o.Issuer = "" }},
		{"empty audience", edF, func(o *Options) { o.Audience = "" }},
		{"zero access TTL", fixtureFor(t, keys.HS256), func(o *Options) { o.AccessTTL = 0 }},
		{"negative leeway", fixtureFor(t, keys.HS256), func(o *Options) { o.Leeway = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := optionsAt(tt.base, t0)
			tt.edit(&o)
			if i, err := New(o); err == nil {
				t.Errorf("New(%s: %s) = %p, nil; want an error", tt.base.alg, tt.name, i)
			}
		})
	}
}

func TestNewCopiesSecrets(t *testing.T) {
	access := []byte(string(accessSecret))
	refresh := []byte(string(refreshSecret))
	o := optionsAt(fixtureFor(t, keys.HS256), t0)
	o.AccessSecret, o.RefreshSecret = access, refresh
	i := mustNew(t, o)
	token := mustIssueAccess(t, i, testInput())
	rt := mustIssueRefresh(t, i, refreshInput(""))
	access[0]++
	refresh[0]++
	if _, err := i.VerifyAccess(token); err != nil {
		t.Errorf("VerifyAccess after the caller changed its secret slice: %v, want nil", err)
	}
	if _, err := i.VerifyRefresh(rt); err != nil {
		t.Errorf("VerifyRefresh after the caller changed its secret slice: %v, want nil", err)
	}
}

func TestNowDefaultsToTimeNow(t *testing.T) {
	o := optionsAt(fixtureFor(t, keys.HS256), t0)
	o.Now = nil
	i := mustNew(t, o)
	_, claims, err := i.IssueAccess(testInput())
	if err != nil {
		t.Fatalf("IssueAccess error: %v", err)
	}
	// The stopped test clock is years away; the real one is within a day of time.Now.
	if d := time.Since(claims.IssuedAt.Time); d < -24*time.Hour || d > 24*time.Hour {
		t.Errorf("IssueAccess with Now nil: iat = %v, want about %v", claims.IssuedAt, time.Now())
	}
}

func TestJWKS(t *testing.T) {
	for _, alg := range keys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			f := fixtureFor(t, alg)
			i := issuerAt(t, f, t0)
			got := i.JWKS()
			raw, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if f.key == nil {
				if string(raw) != `{"keys":[]}` {
					t.Errorf("json.Marshal(JWKS()) = %s, want {\"keys\":[]}", raw)
				}
				return
			}
			wantKIDs := []string{kidOf(t, f.key), kidOf(t, f.old)}
			if len(got.Keys) != len(wantKIDs) {
				t.Fatalf("JWKS() = %s, want %d keys", raw, len(wantKIDs))
			}
			for n, k := range got.Keys {
				if k.KID != wantKIDs[n] || k.Alg != alg || k.Use != "sig" {
					t.Errorf("JWKS().Keys[%d] = kid %q alg %q use %q, want %q %q %q", n, k.KID, k.Alg, k.Use, wantKIDs[n], alg, "sig")
				}
			}
			if h, _, _ := segments(t, mustIssueAccess(t, i, testInput())); h["kid"] != got.Keys[0].KID {
				t.Errorf("issued kid = %v, want the first JWKS key %q", h["kid"], got.Keys[0].KID)
			}

			got.Keys[0].KID = "changed by the caller"
			if again := i.JWKS(); again.Keys[0].KID != wantKIDs[0] {
				t.Errorf("JWKS() after a caller changed an earlier result: kid %q, want %q", again.Keys[0].KID, wantKIDs[0])
			}

			o := optionsAt(f, t0)
			o.VerifyKeys = []crypto.PublicKey{f.old.Public(), f.key.Public(), f.old.Public()}
			if n := len(mustNew(t, o).JWKS().Keys); n != 2 {
				t.Errorf("JWKS() with repeated keys has %d keys, want 2", n)
			}
		})
	}
}
