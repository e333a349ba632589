package handlers_test

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/app/apptest"
	"github.com/authserver/authserver/internal/keys"
	"github.com/authserver/authserver/internal/tokens"
)

// forge signs claims with method and key, after applying header changes (a nil value deletes).
func forge(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = "at+jwt"
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign forged %s token: %v", method.Alg(), err)
	}
	return s
}

// unsigned builds a token with the given header and claims and an empty signature.
func unsigned(t *testing.T, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// claimsLike copies the payload of a real token with a fresh jti and applies changes (a nil value deletes).
func claimsLike(t *testing.T, token string, changes map[string]any) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims(jwtPart(t, token, 1))
	c["jti"] = uuid.NewString()
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestAccessTokenAttacks(t *testing.T) {
	e := newEnv(t, nil)
	e.register("victim@example.com")
	s := e.login("victim@example.com")
	hs := jwt.SigningMethodHS256
	secret := []byte(apptest.AccessSecret)
	now := e.clock.Now().Unix()
	like := func(changes map[string]any) jwt.MapClaims { return claimsLike(t, s.access, changes) }

	// The forging itself must be right: an unchanged copy signed with the real secret passes.
	t.Run("control: faithful forgery with the real secret", func(t *testing.T) {
		e.bearerOK(t, "forged token with the server's secret", forge(t, hs, secret, nil, like(nil)))
	})

	tests := []struct {
		name  string
		token string
		code  string
	}{
		{"alg none", unsigned(t, map[string]any{"alg": "none", "typ": "at+jwt"}, like(nil)), "INVALID_TOKEN"},
		{"alg None", unsigned(t, map[string]any{"alg": "None", "typ": "at+jwt"}, like(nil)), "INVALID_TOKEN"},
		{"alg NONE", unsigned(t, map[string]any{"alg": "NONE", "typ": "at+jwt"}, like(nil)), "INVALID_TOKEN"},
		{"alg nOnE", unsigned(t, map[string]any{"alg": "nOnE", "typ": "at+jwt"}, like(nil)), "INVALID_TOKEN"},
		{"alg none keeping a real signature", strings.TrimSuffix(unsigned(t, map[string]any{"alg": "none", "typ": "at+jwt"}, like(nil)), ".") +
			"." + s.access[strings.LastIndexByte(s.access, '.')+1:], "INVALID_TOKEN"},
		{"alg HS512 with the real secret", forge(t, jwt.SigningMethodHS512, secret, nil, like(nil)), "INVALID_TOKEN"},
		{"alg HS384 with the real secret", forge(t, jwt.SigningMethodHS384, secret, nil, like(nil)), "INVALID_TOKEN"},
		{"another secret", forge(t, hs, []byte("another-secret-of-sufficient-length-0123"), nil, like(nil)), "INVALID_TOKEN"},
		{"the refresh secret", forge(t, hs, []byte(apptest.RefreshSecret), nil, like(nil)), "INVALID_TOKEN"},
		{"payload edited after signing", editPayload(t, s.access, map[string]any{"role": "admin"}), "INVALID_TOKEN"},
		{"wrong iss", forge(t, hs, secret, nil, like(map[string]any{"iss": "evil"})), "INVALID_TOKEN"},
		{"no iss", forge(t, hs, secret, nil, like(map[string]any{"iss": nil})), "INVALID_TOKEN"},
		{"wrong aud", forge(t, hs, secret, nil, like(map[string]any{"aud": "other-api"})), "INVALID_TOKEN"},
		{"aud list without ours", forge(t, hs, secret, nil, like(map[string]any{"aud": []string{"x", "y"}})), "INVALID_TOKEN"},
		{"no aud", forge(t, hs, secret, nil, like(map[string]any{"aud": nil})), "INVALID_TOKEN"},
		{"typ JWT", forge(t, hs, secret, map[string]any{"typ": "JWT"}, like(nil)), "INVALID_TOKEN"},
		{"typ refresh+jwt", forge(t, hs, secret, map[string]any{"typ": "refresh+jwt"}, like(nil)), "INVALID_TOKEN"},
		{"no typ", forge(t, hs, secret, map[string]any{"typ": nil}, like(nil)), "INVALID_TOKEN"},
		{"nbf in the future", forge(t, hs, secret, nil, like(map[string]any{"nbf": now + 60})), "INVALID_TOKEN"},
		{"nbf one second ahead", forge(t, hs, secret, nil, like(map[string]any{"nbf": now + 1})), "INVALID_TOKEN"},
		{"no nbf", forge(t, hs, secret, nil, like(map[string]any{"nbf": nil})), "INVALID_TOKEN"},
		{"iat in the future", forge(t, hs, secret, nil, like(map[string]any{"iat": now + 60})), "INVALID_TOKEN"},
		{"no exp", forge(t, hs, secret, nil, like(map[string]any{"exp": nil})), "INVALID_TOKEN"},
		{"expired", forge(t, hs, secret, nil, like(map[string]any{"exp": now - 1, "iat": now - 901, "nbf": now - 901})), "TOKEN_EXPIRED"},
		{"expired and wrong aud", forge(t, hs, secret, nil, like(map[string]any{"exp": now - 1, "aud": "other"})), "INVALID_TOKEN"},
		{"no sub", forge(t, hs, secret, nil, like(map[string]any{"sub": nil})), "INVALID_TOKEN"},
		{"no sid", forge(t, hs, secret, nil, like(map[string]any{"sid": nil})), "INVALID_TOKEN"},
		{"no jti", forge(t, hs, secret, nil, like(map[string]any{"jti": nil})), "INVALID_TOKEN"},
		{"refresh token as bearer", s.refresh.Value, "INVALID_TOKEN"},
		{"garbage", "garbage", "INVALID_TOKEN"},
		{"three empty parts", "..", "INVALID_TOKEN"},
		{"bad base64", "a.b.c", "INVALID_TOKEN"},
		{"two parts", strings.Join(strings.Split(s.access, ".")[:2], "."), "INVALID_TOKEN"},
		{"token with trailing dot", s.access + ".", "INVALID_TOKEN"},
		{"huge token", strings.Repeat("A", 9<<10) + "." + strings.Repeat("B", 10) + ".c", "INVALID_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.bearerFails(t, tt.name, tt.token, tt.code)
		})
	}

	t.Run("access token as refresh token", func(t *testing.T) {
		rec := e.do(req{method: "POST", path: "/api/auth/refresh", body: map[string]string{"refreshToken": s.access}})
		expect401(t, "refresh with an access token in the body", rec, "INVALID_REFRESH_TOKEN")
		rec = e.do(req{method: "POST", path: "/api/auth/refresh", cookies: []*http.Cookie{{Name: "refreshToken", Value: s.access}}})
		expect401(t, "refresh with an access token in the cookie", rec, "INVALID_REFRESH_TOKEN")
	})

	t.Run("forged refresh tokens", func(t *testing.T) {
		rc := claimsLike(t, s.refresh.Value, map[string]any{"jti": jwtPart(t, s.refresh.Value, 1)["jti"]})
		refreshTyp := map[string]any{"typ": "refresh+jwt"}
		// Control: re-signing the real claims with the refresh secret gives a token the verifier takes.
		if _, err := e.issuer.VerifyRefresh(forge(t, hs, []byte(apptest.RefreshSecret), refreshTyp, rc)); err != nil {
			t.Fatalf("VerifyRefresh(faithful forgery) = %v, want nil; the forgery helper is off", err)
		}
		bad := []struct{ name, token string }{
			{"signed with the access secret", forge(t, hs, secret, refreshTyp, rc)},
			{"alg none", unsigned(t, map[string]any{"alg": "none", "typ": "refresh+jwt"}, rc)},
			{"typ at+jwt", forge(t, hs, []byte(apptest.RefreshSecret), map[string]any{"typ": "at+jwt"}, rc)},
			{"HS512 with the refresh secret", forge(t, jwt.SigningMethodHS512, []byte(apptest.RefreshSecret), refreshTyp, rc)},
			{"garbage", "garbage"},
		}
		for _, b := range bad {
			rec := e.do(req{method: "POST", path: "/api/auth/refresh", body: map[string]string{"refreshToken": b.token}})
			expect401(t, "refresh with a token "+b.name, rec, "INVALID_REFRESH_TOKEN")
		}
		// None of these counted as reuse: the real token still rotates.
		e.rotate(t, "refresh after the forgeries", s)
	})
}

// editPayload replaces claims in a token's payload and keeps its original signature.
func editPayload(t *testing.T, token string, changes map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	c := jwtPart(t, token, 1)
	for k, v := range changes {
		c[k] = v
	}
	p, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
}

func TestAccessTokenExpiry(t *testing.T) {
	e := newEnv(t, nil)
	e.register("clock@example.com")
	s := e.login("clock@example.com")
	e.bearerOK(t, "fresh token", s.access) // verified once, so a verification cache holds it
	e.clock.Advance(15*time.Minute - time.Second)
	e.bearerOK(t, "token 1s before exp", s.access)
	e.clock.Advance(time.Second)
	e.bearerFails(t, "token at exp", s.access, "TOKEN_EXPIRED")
	e.clock.Advance(time.Hour)
	e.bearerFails(t, "token an hour after exp", s.access, "TOKEN_EXPIRED")
	// A token never seen before is judged the same way.
	other := newEnv(t, nil)
	other.register("clock2@example.com")
	s2 := other.login("clock2@example.com")
	other.clock.Advance(15 * time.Minute)
	other.bearerFails(t, "unseen token at exp", s2.access, "TOKEN_EXPIRED")
}

func TestAlgorithmConfusion(t *testing.T) {
	for _, alg := range []string{keys.RS256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			signer, err := keys.Generate(alg)
			if err != nil {
				t.Fatalf("keys.Generate(%s): %v", alg, err)
			}
			e := newEnv(t, func(c *envConfig) { c.Tokens = tokens.Options{Algorithm: alg, SigningKey: signer} })
			e.register("asym@example.com")
			s := e.login("asym@example.com")
			head := jwtPart(t, s.access, 0)
			if head["alg"] != alg || head["kid"] == nil {
				t.Fatalf("login token header = %v, want alg %s with a kid", head, alg)
			}
			kid := head["kid"]
			e.bearerOK(t, "real "+alg+" token", s.access)

			pubPEM, err := keys.EncodePublicPEM(signer.Public())
			if err != nil {
				t.Fatalf("EncodePublicPEM: %v", err)
			}
			other, err := keys.Generate(alg)
			if err != nil {
				t.Fatalf("keys.Generate(%s): %v", alg, err)
			}
			own := jwt.GetSigningMethod(alg)
			// Control: signing with the real key through the helper is accepted.
			e.bearerOK(t, "forged with the real key", forge(t, own, crypto.Signer(signer), map[string]any{"kid": kid}, claimsLike(t, s.access, nil)))

			tests := []struct{ name, token string }{
				{"HS256 keyed with the public key PEM", forge(t, jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": kid}, claimsLike(t, s.access, nil))},
				{"HS256 keyed with the public key PEM, no kid", forge(t, jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": nil}, claimsLike(t, s.access, nil))},
				{"HS256 keyed with the kid", forge(t, jwt.SigningMethodHS256, []byte(kid.(string)), map[string]any{"kid": kid}, claimsLike(t, s.access, nil))},
				{"alg none with the kid", unsigned(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}, claimsLike(t, s.access, nil))},
				{"another key claiming the kid", forge(t, own, other, map[string]any{"kid": kid}, claimsLike(t, s.access, nil))},
				{"unknown kid", forge(t, own, other, map[string]any{"kid": "not-a-known-kid"}, claimsLike(t, s.access, nil))},
				{"HS256 with the test access secret", forge(t, jwt.SigningMethodHS256, []byte(apptest.AccessSecret), map[string]any{"kid": kid}, claimsLike(t, s.access, nil))},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e.bearerFails(t, tt.name, tt.token, "INVALID_TOKEN")
				})
			}
		})
	}
}
