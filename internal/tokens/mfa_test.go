package tokens

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authserver/authserver/internal/keys"
)

const testChallengeID = "3c9e1f4a-7b2d-4e8f-a6c5-0d1b2a3f4e5c"

func mustIssueMFA(tb testing.TB, i *Issuer, exp time.Time) string {
	tb.Helper()
	s, err := i.IssueMFA(testUserID, testChallengeID, exp)
	if err != nil {
		tb.Fatalf("IssueMFA error: %v", err)
	}
	return s
}

func TestMFARoundTrip(t *testing.T) {
	i := issuerAt(t, fixtureFor(t, keys.HS256), t0)
	token := mustIssueMFA(t, i, t0.Add(5*time.Minute))
	header, payload, _ := segments(t, token)
	if len(header) != 2 || header["alg"] != "HS256" || header["typ"] != "mfa+jwt" {
		t.Errorf("IssueMFA header = %v, want alg HS256 and typ mfa+jwt only", header)
	}
	if got, want := slices.Sorted(maps.Keys(payload)), []string{"exp", "iat", "iss", "jti", "sub"}; !slices.Equal(got, want) {
		t.Errorf("IssueMFA claims = %v, want exactly %v", got, want)
	}
	got, err := i.VerifyMFA(token)
	if err != nil {
		t.Fatalf("VerifyMFA(IssueMFA(...)) error: %v", err)
	}
	if got.Subject != testUserID || got.ID != testChallengeID || !got.ExpiresAt.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("VerifyMFA = sub %q jti %q exp %v, want the input", got.Subject, got.ID, got.ExpiresAt)
	}
	// Another instance with the same refresh secret accepts it.
	if _, err := issuerAt(t, fixtureFor(t, keys.ES256), t0.Add(time.Minute)).VerifyMFA(token); err != nil {
		t.Errorf("VerifyMFA on a twin instance error: %v", err)
	}
}

func TestIssueMFARefusesBadInput(t *testing.T) {
	i := issuerAt(t, fixtureFor(t, keys.HS256), t0)
	for name, call := range map[string]func() (string, error){
		"no user":      func() (string, error) { return i.IssueMFA("", testChallengeID, t0.Add(time.Minute)) },
		"no challenge": func() (string, error) { return i.IssueMFA(testUserID, "", t0.Add(time.Minute)) },
		"past expiry":  func() (string, error) { return i.IssueMFA(testUserID, testChallengeID, t0) },
	} {
		if tok, err := call(); err == nil {
			t.Errorf("IssueMFA with %s = %q, nil error", name, tok)
		}
	}
}

func TestMFAExpiry(t *testing.T) {
	f := fixtureFor(t, keys.HS256)
	token := mustIssueMFA(t, issuerAt(t, f, t0), t0.Add(5*time.Minute))
	_, err := issuerAt(t, f, t0.Add(5*time.Minute-time.Second)).VerifyMFA(token)
	if err != nil {
		t.Errorf("VerifyMFA one second before exp error: %v", err)
	}
	_, err = issuerAt(t, f, t0.Add(5*time.Minute)).VerifyMFA(token)
	wantErr(t, "VerifyMFA at exp", err, ErrExpired)
}

// No kind of token passes as another: MFA tokens are neither access nor refresh tokens, and neither of
// those is an MFA token, under every access-token algorithm.
func TestMFATokenConfusion(t *testing.T) {
	for _, alg := range keys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			i := issuerAt(t, fixtureFor(t, alg), t0)
			mfa := mustIssueMFA(t, i, t0.Add(5*time.Minute))
			if _, err := i.VerifyAccess(mfa); err == nil {
				t.Error("VerifyAccess(mfa token) = nil error")
			}
			if _, err := i.VerifyRefresh(mfa); err == nil {
				t.Error("VerifyRefresh(mfa token) = nil error")
			}
			_, err := i.VerifyMFA(mustIssueAccess(t, i, testInput()))
			wantErr(t, "VerifyMFA(access token)", err, ErrInvalid)
			_, err = i.VerifyMFA(mustIssueRefresh(t, i, refreshInput("")))
			wantErr(t, "VerifyMFA(refresh token)", err, ErrInvalid)
		})
	}
}

func TestVerifyMFARefusesForgeries(t *testing.T) {
	i := issuerAt(t, fixtureFor(t, keys.HS256), t0)
	mfaKey, err := deriveMFASecret(refreshSecret)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{
		"iss": testIssuer, "sub": testUserID, "jti": testChallengeID,
		"iat": t0.Unix(), "exp": t0.Add(5 * time.Minute).Unix(),
	}
	mfaHeader := map[string]any{"typ": "mfa+jwt"}
	// The forgery kit works: with the right key, header and claims the token passes.
	if _, err := i.VerifyMFA(sign(t, "HS256", mfaKey, mfaHeader, claims)); err != nil {
		t.Fatalf("VerifyMFA(well-formed token) error: %v", err)
	}
	good := mustIssueMFA(t, i, t0.Add(5*time.Minute))
	header, payload, sig := segments(t, good)
	tests := map[string]string{
		"signed with the refresh secret":   sign(t, "HS256", refreshSecret, mfaHeader, claims),
		"signed with the access secret":    sign(t, "HS256", accessSecret, mfaHeader, claims),
		"signed with another secret's key": sign(t, "HS256", otherSecret, mfaHeader, claims),
		"typ refresh+jwt":                  sign(t, "HS256", mfaKey, map[string]any{"typ": "refresh+jwt"}, claims),
		"typ at+jwt":                       sign(t, "HS256", mfaKey, map[string]any{"typ": "at+jwt"}, claims),
		"no typ":                           sign(t, "HS256", mfaKey, map[string]any{}, claims),
		"HS384":                            sign(t, "HS384", mfaKey, mfaHeader, claims),
		"other issuer":                     sign(t, "HS256", mfaKey, mfaHeader, with(claims, "iss", "elsewhere")),
		"no issuer":                        sign(t, "HS256", mfaKey, mfaHeader, with(claims, "iss", nil)),
		"no sub":                           sign(t, "HS256", mfaKey, mfaHeader, with(claims, "sub", nil)),
		"no jti":                           sign(t, "HS256", mfaKey, mfaHeader, with(claims, "jti", nil)),
		"no exp":                           sign(t, "HS256", mfaKey, mfaHeader, with(claims, "exp", nil)),
		"iat in the future":                sign(t, "HS256", mfaKey, mfaHeader, with(claims, "iat", t0.Add(time.Hour).Unix())),
		"alg none":                         rawToken(t, with(header, "alg", "none"), payload, ""),
		"sub changed":                      rawToken(t, header, with(payload, "sub", "someone-else"), sig),
		"jti changed":                      rawToken(t, header, with(payload, "jti", "another-challenge"), sig),
		"exp pushed back":                  rawToken(t, header, with(payload, "exp", t0.Add(time.Hour).Unix()), sig),
		"garbage":                          "not.a.token",
		"empty":                            "",
		"oversized":                        strings.Repeat("a", 9<<10),
	}
	for name, token := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := i.VerifyMFA(token)
			wantErr(t, "VerifyMFA", err, ErrInvalid)
		})
	}
}
