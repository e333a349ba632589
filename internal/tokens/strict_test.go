package tokens

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/keys"
)

// notNumbers are JSON values that RFC 7519 does not accept as a NumericDate; each is put in
// place of a genuine exp, nbf or iat, so only its type is wrong.
func notNumbers(unix int64) map[string]any {
	return map[string]any{
		"numeric string":   strconv.FormatInt(unix, 10),
		"decimal string":   strconv.FormatInt(unix, 10) + ".0",
		"null":             jsonNull{},
		"true":             true,
		"array of numbers": []int64{unix},
		"object":           map[string]int64{"seconds": unix},
	}
}

// jsonNull marshals as null (a nil value in a claims map would delete the member instead).
type jsonNull struct{}

func (jsonNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func TestVerifyAccessDatesMustBeNumbers(t *testing.T) {
	for _, alg := range keys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			f := fixtureFor(t, alg)
			v := issuerAt(t, f, t0)
			header := map[string]any{"alg": alg, "typ": "at+jwt"}
			var key any = accessSecret
			if f.key != nil {
				key = f.key
				header["kid"] = kidOf(t, f.key)
			}
			genuine := accessClaimsAt(t0)
			if _, err := v.VerifyAccess(sign(t, alg, key, header, genuine)); err != nil {
				t.Fatalf("VerifyAccess(crafted genuine token) error = %v, want nil", err)
			}
			for _, claim := range []string{"exp", "nbf", "iat"} {
				for kind, value := range notNumbers(genuine[claim].(int64)) {
					token := sign(t, alg, key, header, with(genuine, claim, value))
					claims, err := v.VerifyAccess(token)
					if claims != nil || !errors.Is(err, ErrInvalid) {
						t.Errorf("VerifyAccess(%s as %s, signed with the real key) = %v, %v; want nil, ErrInvalid", claim, kind, claims, err)
					}
				}
			}
			// A fraction of a second is still a JSON number, and so a NumericDate.
			fraction := with(genuine, "exp", float64(t0.Add(time.Minute).Unix())+0.5)
			if _, err := v.VerifyAccess(sign(t, alg, key, header, fraction)); err != nil {
				t.Errorf("VerifyAccess(exp with a fraction) error = %v, want nil", err)
			}
		})
	}
}

func TestVerifyRefreshDatesMustBeNumbers(t *testing.T) {
	v := issuerAt(t, fixtureFor(t, keys.HS256), t0.Add(time.Hour))
	header := map[string]any{"alg": "HS256", "typ": "refresh+jwt"}
	genuine := refreshClaimsAt(t0)
	genuine["nbf"] = t0.Unix() // refresh tokens carry no nbf, but one sent must be a number too
	if _, err := v.VerifyRefresh(sign(t, keys.HS256, refreshSecret, header, genuine)); err != nil {
		t.Fatalf("VerifyRefresh(crafted genuine token) error = %v, want nil", err)
	}
	for _, claim := range []string{"exp", "nbf", "iat"} {
		for kind, value := range notNumbers(genuine[claim].(int64)) {
			token := sign(t, keys.HS256, refreshSecret, header, with(genuine, claim, value))
			claims, err := v.VerifyRefresh(token)
			if claims != nil || !errors.Is(err, ErrInvalid) {
				t.Errorf("VerifyRefresh(%s as %s, signed with the refresh secret) = %v, %v; want nil, ErrInvalid", claim, kind, claims, err)
			}
		}
	}
}

// TestExpiryAfterTTLChange changes ACCESS_TOKEN_EXPIRY between issuing a token and its expiry (a
// restart with another setting, the same keys): whether an expired token means "session
// ended" must come from the token's sxp claim, not from comparing its age with the new TTL.
func TestExpiryAfterTTLChange(t *testing.T) {
	f := fixtureFor(t, keys.HS256)
	before := issuerAt(t, f, t0) // TTL testTTL (15m)
	full := mustIssueAccess(t, before, testInput())
	cappedIn := testInput()
	cappedIn.NotAfter = t0.Add(10 * time.Minute)
	capped := mustIssueAccess(t, before, cappedIn)

	tests := []struct {
		name  string
		ttl   time.Duration
		token string
		want  error
	}{
		{"full lifetime, TTL raised", time.Hour, full, ErrExpired},
		{"full lifetime, TTL lowered", time.Minute, full, ErrExpired},
		{"capped to the session's end, TTL raised", time.Hour, capped, ErrSessionEnded},
		{"capped to the session's end, TTL lowered below its lifetime", time.Minute, capped, ErrSessionEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := optionsAt(f, t0.Add(testTTL+time.Second))
			o.AccessTTL = tt.ttl
			after := mustNew(t, o)
			_, err := after.VerifyAccess(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyAccess(%s) error = %v, want %v", tt.name, err, tt.want)
			}
			if tt.want == ErrExpired && errors.Is(err, ErrSessionEnded) {
				t.Errorf("VerifyAccess(%s) error = %v, want ErrExpired without ErrSessionEnded", tt.name, err)
			}
		})
	}
}

func TestSessionEndClaim(t *testing.T) {
	i := issuerAt(t, fixtureFor(t, keys.HS256), t0)
	tests := []struct {
		name     string
		notAfter time.Time
		want     bool
	}{
		{"no session end", time.Time{}, false},
		{"session ends after the TTL", t0.Add(testTTL + time.Second), false},
		{"session ends exactly at the TTL", t0.Add(testTTL), false},
		{"session ends before the TTL", t0.Add(testTTL - time.Second), true},
	}
	for _, tt := range tests {
		in := testInput()
		in.NotAfter = tt.notAfter
		token, claims, err := i.IssueAccess(in)
		if err != nil {
			t.Fatalf("IssueAccess(%s) error: %v", tt.name, err)
		}
		_, payload, _ := segments(t, token)
		if claims.SessionEnd != tt.want || (payload["sxp"] == true) != tt.want {
			t.Errorf("IssueAccess(%s): SessionEnd = %v, payload sxp = %v; want %v", tt.name, claims.SessionEnd, payload["sxp"], tt.want)
		}
	}
}
