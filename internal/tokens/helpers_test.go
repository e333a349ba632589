package tokens

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authserver/authserver/internal/keys"
)

const (
	testIssuer    = "auth-server"
	testAudience  = "api"
	testTTL       = 15 * time.Minute
	testUserID    = "5b0c4a47-3d64-4a38-9a1b-4f0e1c8c1e01"
	testSessionID = "8f1d2c3b-6a5e-4f70-8b9a-0c1d2e3f4a5b"
)

var (
	accessSecret  = []byte("access-secret-for-tests-0123456789abcdef")
	refreshSecret = []byte("refresh-secret-for-tests-0123456789abcdef")
	otherSecret   = []byte("some-other-secret-for-tests-0123456789ab")

	// t0 is "now" in the tests; it has no fraction of a second, as the tokens' times do not.
	t0 = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
)

// fixture holds the keys of one algorithm. Key, other and old are nil under HS256.
type fixture struct {
	alg   string
	key   crypto.Signer // the signing key
	other crypto.Signer // a different key of the same type, never configured
	old   crypto.Signer // a retired key, listed in VerifyKeys
}

// fixtures makes the keys of every algorithm once per test binary; RS256 and PS256 share theirs.
var fixtures = sync.OnceValues(func() (map[string]fixture, error) {
	var rsaKeys, ecKeys, edKeys [3]crypto.Signer
	for n := range 3 {
		r, err := rsa.GenerateKey(rand.Reader, 2048) // keys.Generate's 3072 bits are slow to make
		if err != nil {
			return nil, err
		}
		rsaKeys[n] = r
		if ecKeys[n], err = keys.Generate(keys.ES256); err != nil {
			return nil, err
		}
		if edKeys[n], err = keys.Generate(keys.EdDSA); err != nil {
			return nil, err
		}
	}
	return map[string]fixture{
		keys.HS256: {alg: keys.HS256},
		keys.RS256: {keys.RS256, rsaKeys[0], rsaKeys[1], rsaKeys[2]},
		keys.PS256: {keys.PS256, rsaKeys[0], rsaKeys[1], rsaKeys[2]},
		keys.ES256: {keys.ES256, ecKeys[0], ecKeys[1], ecKeys[2]},
		keys.EdDSA: {keys.EdDSA, edKeys[0], edKeys[1], edKeys[2]},
	}, nil
})

func fixtureFor(tb testing.TB, alg string) fixture {
	tb.Helper()
	all, err := fixtures()
	if err != nil {
		tb.Fatalf("make test keys: %v", err)
	}
	return all[alg]
}

// optionsAt configures f's algorithm with a clock stopped at now; the retired key is in VerifyKeys.
func optionsAt(f fixture, now time.Time) Options {
	o := Options{
		Algorithm:     f.alg,
		RefreshSecret: refreshSecret,
		Issuer:        testIssuer,
		Audience:      testAudience,
		AccessTTL:     testTTL,
		Now:           func() time.Time { return now },
	}
	if f.key == nil {
		o.AccessSecret = accessSecret
	} else {
		o.SigningKey = f.key
		o.VerifyKeys = []crypto.PublicKey{f.old.Public()}
	}
	return o
}

func mustNew(tb testing.TB, o Options) *Issuer {
	tb.Helper()
	i, err := New(o)
	if err != nil {
		tb.Fatalf("New(%s options) error: %v", o.Algorithm, err)
	}
	return i
}

// issuerAt is an Issuer of f's algorithm whose clock is stopped at now.
func issuerAt(tb testing.TB, f fixture, now time.Time) *Issuer {
	tb.Helper()
	return mustNew(tb, optionsAt(f, now))
}

func testInput() AccessInput {
	return AccessInput{UserID: testUserID, Email: "a@example.com", Role: "user", SessionID: testSessionID}
}

func mustIssueAccess(tb testing.TB, i *Issuer, in AccessInput) string {
	tb.Helper()
	s, _, err := i.IssueAccess(in)
	if err != nil {
		tb.Fatalf("IssueAccess error: %v", err)
	}
	return s
}

func refreshInput(follows string) RefreshInput {
	return RefreshInput{
		UserID:    testUserID,
		SessionID: testSessionID,
		Follows:   follows,
		IssuedAt:  t0,
		ExpiresAt: t0.Add(7 * 24 * time.Hour),
	}
}

func mustIssueRefresh(tb testing.TB, i *Issuer, in RefreshInput) string {
	tb.Helper()
	s, err := i.IssueRefresh(in)
	if err != nil {
		tb.Fatalf("IssueRefresh error: %v", err)
	}
	return s
}

// kidOf returns the kid of f's signing key, or "" under HS256.
func kidOf(tb testing.TB, key crypto.Signer) string {
	tb.Helper()
	if key == nil {
		return ""
	}
	kid, err := keys.KID(key.Public())
	if err != nil {
		tb.Fatalf("keys.KID error: %v", err)
	}
	return kid
}

// accessClaimsAt are the claims IssueAccess would write at now, as a map that tests can change.
func accessClaimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":   testIssuer,
		"aud":   []string{testAudience},
		"sub":   testUserID,
		"sid":   testSessionID,
		"jti":   "2f7c3a8e-1b4d-4c6f-9e0a-7d5b3c1a9f2e",
		"email": "a@example.com",
		"role":  "user",
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(testTTL).Unix(),
	}
}

// with returns a copy of m with the pairs of kv set; a nil value deletes the member.
func with(m map[string]any, kv ...any) map[string]any {
	c := maps.Clone(m)
	for n := 0; n < len(kv); n += 2 {
		k := kv[n].(string)
		if kv[n+1] == nil {
			delete(c, k)
		} else {
			c[k] = kv[n+1]
		}
	}
	return c
}

// sign signs claims with alg and key under exactly header (plus alg when header lacks it).
func sign(tb testing.TB, alg string, key any, header map[string]any, claims jwt.MapClaims) string {
	tb.Helper()
	t := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	t.Header = with(header)
	if _, ok := t.Header["alg"]; !ok {
		t.Header["alg"] = alg
	}
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatalf("sign %s test token: %v", alg, err)
	}
	return s
}

// rawToken assembles a token from its parts without signing it.
func rawToken(tb testing.TB, header, claims map[string]any, signature string) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + signature
}

// segments splits a token into its header, payload and signature.
func segments(tb testing.TB, token string) (header, payload map[string]any, signature string) {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("token %q has %d segments, want 3", token, len(parts))
	}
	for n, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[n])
		if err != nil {
			tb.Fatalf("decode segment %d of %q: %v", n, token, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			tb.Fatalf("unmarshal segment %d %s: %v", n, raw, err)
		}
	}
	return header, payload, parts[2]
}

// wantErr checks that err is want and not the other sentinel.
func wantErr(t *testing.T, call string, err, want error) {
	t.Helper()
	other := ErrInvalid
	if want == ErrInvalid {
		other = ErrExpired
	}
	if !errors.Is(err, want) || errors.Is(err, other) {
		t.Errorf("%s error = %v, want %v", call, err, want)
	}
}
