package tokens

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/keys"
)

func TestAccessRoundTrip(t *testing.T) {
	for _, alg := range keys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			f := fixtureFor(t, alg)
			now := t0.Add(400 * time.Millisecond) // iat and nbf drop the fraction
			i := issuerAt(t, f, now)
			in := testInput()
			in.Fingerprint = "fp-hash"
			token, issued, err := i.IssueAccess(in)
			if err != nil {
				t.Fatalf("IssueAccess error: %v", err)
			}

			header, payload, _ := segments(t, token)
			wantHeader := map[string]any{"alg": alg, "typ": "at+jwt"}
			if kid := kidOf(t, f.key); kid != "" {
				wantHeader["kid"] = kid
			}
			if len(header) != len(wantHeader) {
				t.Errorf("IssueAccess header = %v, want %v", header, wantHeader)
			}
			for k, v := range wantHeader {
				if header[k] != v {
					t.Errorf("IssueAccess header[%q] = %v, want %v", k, header[k], v)
				}
			}
			for _, k := range []string{"sub", "email", "role", "iss", "aud", "iat", "nbf", "exp", "jti", "sid", "fgp"} {
				if _, ok := payload[k]; !ok {
					t.Errorf("IssueAccess payload = %v, missing %q", payload, k)
				}
			}

			got, err := i.VerifyAccess(token)
			if err != nil {
				t.Fatalf("VerifyAccess(issued token) error: %v", err)
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"sub", got.Subject, testUserID},
				{"email", got.Email, in.Email},
				{"role", got.Role, in.Role},
				{"sid", got.SessionID, testSessionID},
				{"fgp", got.Fingerprint, "fp-hash"},
				{"iss", got.Issuer, testIssuer},
				{"aud", strings.Join(got.Audience, ","), testAudience},
				{"iat", got.IssuedAt.Unix(), t0.Unix()},
				{"nbf", got.NotBefore.Unix(), t0.Unix()},
				{"exp", got.ExpiresAt.Unix(), t0.Add(testTTL).Unix()},
				{"jti", got.ID, issued.ID},
				{"issued exp", issued.ExpiresAt.Unix(), got.ExpiresAt.Unix()},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("VerifyAccess(IssueAccess(...)) %s = %v, want %v", c.name, c.got, c.want)
				}
			}
			if id, err := uuid.Parse(got.ID); err != nil || id.Version() != 4 {
				t.Errorf("jti = %q, want a random (version 4) UUID", got.ID)
			}
			again := mustIssueAccess(t, i, in)
			if _, p2, _ := segments(t, again); p2["jti"] == payload["jti"] {
				t.Errorf("two IssueAccess calls gave the same jti %v, want a fresh one each", p2["jti"])
			}
		})
	}
}

func TestIssueAccessNotAfter(t *testing.T) {
	f := fixtureFor(t, keys.HS256)
	i := issuerAt(t, f, t0)
	tests := []struct {
		name     string
		notAfter time.Time
		wantExp  time.Time
		wantErr  bool
	}{
		{"zero means TTL", time.Time{}, t0.Add(testTTL), false},
		{"later than TTL", t0.Add(time.Hour), t0.Add(testTTL), false},
		{"earlier than TTL", t0.Add(5 * time.Minute), t0.Add(5 * time.Minute), false},
		{"fraction rounds down", t0.Add(5*time.Minute + 900*time.Millisecond), t0.Add(5 * time.Minute), false},
		{"session already over", t0.Add(-time.Second), time.Time{}, true},
		{"session ends now", t0, time.Time{}, true},
		{"session ends within the second", t0.Add(500 * time.Millisecond), time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput()
			in.NotAfter = tt.notAfter
			token, claims, err := i.IssueAccess(in)
			if tt.wantErr {
				if err == nil {
					t.Errorf("IssueAccess(NotAfter %v) = %q, nil; want an error", tt.notAfter, token)
				}
				return
			}
			if err != nil {
				t.Fatalf("IssueAccess(NotAfter %v) error: %v", tt.notAfter, err)
			}
			if !claims.ExpiresAt.Equal(tt.wantExp) {
				t.Errorf("IssueAccess(NotAfter %v) exp = %v, want %v", tt.notAfter, claims.ExpiresAt, tt.wantExp)
			}
			got, err := i.VerifyAccess(token)
			if err != nil {
				t.Fatalf("VerifyAccess error: %v", err)
			}
			if !got.ExpiresAt.Equal(tt.wantExp) {
				t.Errorf("VerifyAccess(...) exp = %v, want %v", got.ExpiresAt, tt.wantExp)
			}
		})
	}
}

func TestIssueAccessRequiresIDs(t *testing.T) {
	i := issuerAt(t, fixtureFor(t, keys.HS256), t0)
	tests := []struct {
		name string
		edit func(*AccessInput)
	}{
		{"no user id", func(in *AccessInput) { in.UserID = "" }},
		{"no session id", func(in *AccessInput) { in.SessionID = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInput()
			tt.edit(&in)
			if token, _, err := i.IssueAccess(in); err == nil {
				t.Errorf("IssueAccess(%+v) = %q, nil; want an error", in, token)
			}
		})
	}
}

// attackEnv is what an attack row builds its token from.
type attackEnv struct {
	f      fixture
	v      *Issuer // the verifier, at t0
	key    any     // the configured access signing key (secret or private key)
	kid    string  // "" under HS256
	header map[string]any
	valid  string // a genuine access token
}

func TestVerifyAccessAttacks(t *testing.T) {
	type attack struct {
		name  string
		asym  bool // only for the asymmetric algorithms
		token func(t *testing.T, e attackEnv) string
		want  error
	}
	var attacks []attack
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		attacks = append(attacks,
			attack{"alg " + alg + " unsigned", false, func(t *testing.T, e attackEnv) string {
				return rawToken(t, with(e.header, "alg", alg), accessClaimsAt(t0), "")
			}, ErrInvalid},
			attack{"alg " + alg + " with a signature", false, func(t *testing.T, e attackEnv) string {
				_, _, sig := segments(t, e.valid)
				return rawToken(t, with(e.header, "alg", alg), accessClaimsAt(t0), sig)
			}, ErrInvalid},
		)
	}
	attacks = append(attacks, []attack{
		{"golang-jwt none method", false, func(t *testing.T, e attackEnv) string {
			return sign(t, "none", jwt.UnsafeAllowNoneSignatureType, with(e.header, "alg", "none"), accessClaimsAt(t0))
		}, ErrInvalid},
		{"no alg header", false, func(t *testing.T, e attackEnv) string {
			_, _, sig := segments(t, e.valid)
			return rawToken(t, with(e.header, "alg", nil), accessClaimsAt(t0), sig)
		}, ErrInvalid},
		{"wrong key", false, func(t *testing.T, e attackEnv) string {
			if e.f.other == nil {
				return sign(t, e.f.alg, otherSecret, e.header, accessClaimsAt(t0))
			}
			return sign(t, e.f.alg, e.f.other, e.header, accessClaimsAt(t0))
		}, ErrInvalid},
		{"wrong key under its own kid", true, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.f.other, with(e.header, "kid", kidOf(t, e.f.other)), accessClaimsAt(t0))
		}, ErrInvalid},
		{"signed with the refresh secret", false, func(t *testing.T, e attackEnv) string {
			return sign(t, keys.HS256, refreshSecret, with(e.header, "alg", keys.HS256), accessClaimsAt(t0))
		}, ErrInvalid},
		{"RS256 public key PEM as HS256 secret", false, func(t *testing.T, e attackEnv) string {
			return confusion(t, e, fixtureFor(t, keys.RS256))
		}, ErrInvalid},
		{"EdDSA public key PEM as HS256 secret", false, func(t *testing.T, e attackEnv) string {
			return confusion(t, e, fixtureFor(t, keys.EdDSA))
		}, ErrInvalid},
		{"own public key PEM as HS256 secret", true, func(t *testing.T, e attackEnv) string {
			return confusion(t, e, e.f)
		}, ErrInvalid},
		{"expired", false, func(t *testing.T, e attackEnv) string {
			return mustIssueAccess(t, issuerAt(t, e.f, t0.Add(-testTTL-time.Second)), testInput())
		}, ErrExpired},
		{"expired exactly now", false, func(t *testing.T, e attackEnv) string {
			return mustIssueAccess(t, issuerAt(t, e.f, t0.Add(-testTTL)), testInput())
		}, ErrExpired},
		{"expired and wrong aud", false, func(t *testing.T, e attackEnv) string {
			c := with(accessClaimsAt(t0.Add(-time.Hour)), "aud", "elsewhere")
			return sign(t, e.f.alg, e.key, e.header, c)
		}, ErrInvalid},
		{"expired and not yet valid", false, func(t *testing.T, e attackEnv) string {
			c := with(accessClaimsAt(t0), "exp", t0.Add(-time.Minute).Unix(), "nbf", t0.Add(time.Minute).Unix())
			return sign(t, e.f.alg, e.key, e.header, c)
		}, ErrInvalid},
		{"issued in the future", false, func(t *testing.T, e attackEnv) string {
			return mustIssueAccess(t, issuerAt(t, e.f, t0.Add(time.Minute)), testInput())
		}, ErrInvalid},
		{"nbf in the future", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "nbf", t0.Add(time.Second).Unix()))
		}, ErrInvalid},
		{"iat in the future", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "iat", t0.Add(time.Second).Unix()))
		}, ErrInvalid},
		{"missing nbf", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "nbf", nil))
		}, ErrInvalid},
		{"missing exp", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "exp", nil))
		}, ErrInvalid},
		{"wrong iss", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "iss", "evil-server"))
		}, ErrInvalid},
		{"missing iss", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "iss", nil))
		}, ErrInvalid},
		{"wrong aud", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "aud", []string{"other-api"}))
		}, ErrInvalid},
		{"missing aud", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "aud", nil))
		}, ErrInvalid},
		{"missing sub", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "sub", nil))
		}, ErrInvalid},
		{"missing jti", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "jti", nil))
		}, ErrInvalid},
		{"missing sid", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "sid", nil))
		}, ErrInvalid},
		{"typ JWT", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, with(e.header, "typ", "JWT"), accessClaimsAt(t0))
		}, ErrInvalid},
		{"typ refresh+jwt", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, with(e.header, "typ", "refresh+jwt"), accessClaimsAt(t0))
		}, ErrInvalid},
		{"typ AT+JWT", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, with(e.header, "typ", "AT+JWT"), accessClaimsAt(t0))
		}, ErrInvalid},
		{"missing typ", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, with(e.header, "typ", nil), accessClaimsAt(t0))
		}, ErrInvalid},
		{"unknown kid", true, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, with(e.header, "kid", "no-such-key"), accessClaimsAt(t0))
		}, ErrInvalid},
		{"missing kid", true, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, with(e.header, "kid", nil), accessClaimsAt(t0))
		}, ErrInvalid},
		{"kid not a string", true, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, with(e.header, "kid", 7), accessClaimsAt(t0))
		}, ErrInvalid},
		{"tampered payload", false, func(t *testing.T, e attackEnv) string {
			header, payload, sig := segments(t, e.valid)
			return rawToken(t, header, with(payload, "role", "admin"), sig)
		}, ErrInvalid},
		{"tampered signature", false, func(t *testing.T, e attackEnv) string {
			parts := strings.Split(e.valid, ".")
			sig := []byte(parts[2])
			sig[len(sig)/2] = flip(sig[len(sig)/2])
			return parts[0] + "." + parts[1] + "." + string(sig)
		}, ErrInvalid},
		{"non-canonical signature encoding", false, func(t *testing.T, e attackEnv) string {
			// The last character carries unused low bits; a lax decoder would give the same signature.
			b := []byte(e.valid)
			b[len(b)-1] = flipLowBit(t, b[len(b)-1])
			return string(b)
		}, ErrInvalid},
		{"refresh token", false, func(t *testing.T, e attackEnv) string {
			return mustIssueRefresh(t, e.v, refreshInput(""))
		}, ErrInvalid},
		{"too long", false, func(t *testing.T, e attackEnv) string {
			return sign(t, e.f.alg, e.key, e.header, with(accessClaimsAt(t0), "pad", strings.Repeat("x", maxTokenBytes)))
		}, ErrInvalid},
	}...)
	for _, garbage := range []string{"", " ", "garbage", "a.b", "a.b.c", "a.b.c.d", "...", "e30.e30.", "!!.??.##", "Bearer x.y.z"} {
		attacks = append(attacks, attack{"malformed " + garbage, false, func(*testing.T, attackEnv) string { return garbage }, ErrInvalid})
	}
	attacks = append(attacks,
		attack{"extra segment", false, func(t *testing.T, e attackEnv) string { return e.valid + ".x" }, ErrInvalid},
		attack{"padded", false, func(t *testing.T, e attackEnv) string { return e.valid + "=" }, ErrInvalid},
		attack{"leading space", false, func(t *testing.T, e attackEnv) string { return " " + e.valid }, ErrInvalid},
	)

	for _, alg := range keys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			f := fixtureFor(t, alg)
			e := attackEnv{f: f, v: issuerAt(t, f, t0), key: accessSecret, kid: kidOf(t, f.key)}
			e.header = map[string]any{"alg": alg, "typ": "at+jwt"}
			if f.key != nil {
				e.key = f.key
				e.header["kid"] = e.kid
			}
			e.valid = mustIssueAccess(t, e.v, testInput())
			if _, err := e.v.VerifyAccess(e.valid); err != nil {
				t.Fatalf("VerifyAccess(genuine token) error: %v", err)
			}
			// The crafted claims must pass when nothing else is wrong, or the rows prove nothing.
			if _, err := e.v.VerifyAccess(sign(t, alg, e.key, e.header, accessClaimsAt(t0))); err != nil {
				t.Fatalf("VerifyAccess(crafted genuine token) error: %v", err)
			}
			for _, a := range attacks {
				if a.asym && f.key == nil {
					continue
				}
				t.Run(a.name, func(t *testing.T) {
					token := a.token(t, e)
					claims, err := e.v.VerifyAccess(token)
					if claims != nil {
						t.Errorf("VerifyAccess(%s) claims = %+v, want nil", a.name, claims)
					}
					wantErr(t, "VerifyAccess("+a.name+")", err, a.want)
				})
			}
			for _, other := range keys.Algorithms {
				if other == alg {
					continue
				}
				t.Run("token of an "+other+" issuer", func(t *testing.T) {
					token := mustIssueAccess(t, issuerAt(t, fixtureFor(t, other), t0), testInput())
					_, err := e.v.VerifyAccess(token)
					wantErr(t, "VerifyAccess("+other+" token)", err, ErrInvalid)
				})
			}
		})
	}
}

// confusion signs genuine claims with HS256, using the PEM of pub's public key as the secret,
// under the verifier's header: the classic RS256-to-HS256 downgrade.
func confusion(t *testing.T, e attackEnv, pub fixture) string {
	t.Helper()
	pemBytes, err := keys.EncodePublicPEM(pub.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return sign(t, keys.HS256, pemBytes, with(e.header, "alg", keys.HS256), accessClaimsAt(t0))
}

// flip swaps a base64url character for another one.
func flip(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

// flipLowBit changes the lowest of the six bits c encodes in base64url.
func flipLowBit(t *testing.T, c byte) byte {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	n := strings.IndexByte(alphabet, c)
	if n < 0 {
		t.Fatalf("%q is not base64url", c)
	}
	return alphabet[n^1]
}

func TestVerifyAccessLeeway(t *testing.T) {
	const leeway = 30 * time.Second
	tests := []struct {
		name    string
		claims  jwt.MapClaims
		wantErr error
	}{
		{"expired within leeway", accessClaimsAt(t0.Add(-testTTL - 20*time.Second)), nil},
		{"expired beyond leeway", accessClaimsAt(t0.Add(-testTTL - 40*time.Second)), ErrExpired},
		{"nbf within leeway", with(accessClaimsAt(t0), "nbf", t0.Add(20*time.Second).Unix()), nil},
		{"nbf beyond leeway", with(accessClaimsAt(t0), "nbf", t0.Add(40*time.Second).Unix()), ErrInvalid},
		{"iat within leeway", with(accessClaimsAt(t0), "iat", t0.Add(20*time.Second).Unix()), nil},
		{"iat beyond leeway", with(accessClaimsAt(t0), "iat", t0.Add(40*time.Second).Unix()), ErrInvalid},
	}
	for _, alg := range keys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			f := fixtureFor(t, alg)
			o := optionsAt(f, t0)
			o.Leeway = leeway
			v := mustNew(t, o)
			strict := issuerAt(t, f, t0)
			key, header := any(accessSecret), map[string]any{"typ": "at+jwt"}
			if f.key != nil {
				key, header["kid"] = f.key, kidOf(t, f.key)
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					token := sign(t, alg, key, header, tt.claims)
					_, err := v.VerifyAccess(token)
					if tt.wantErr == nil {
						if err != nil {
							t.Errorf("VerifyAccess(%s) with leeway %v error = %v, want nil", tt.name, leeway, err)
						}
						// Without leeway, the same token must fail: the row tests the leeway, not a valid token.
						if _, err := strict.VerifyAccess(token); err == nil {
							t.Errorf("VerifyAccess(%s) without leeway error = nil, want an error", tt.name)
						}
						return
					}
					wantErr(t, "VerifyAccess("+tt.name+")", err, tt.wantErr)
				})
			}
		})
	}
}

func TestVerifyAccessKeyRotation(t *testing.T) {
	for _, alg := range keys.Algorithms {
		if !keys.IsAsymmetric(alg) {
			continue
		}
		t.Run(alg, func(t *testing.T) {
			f := fixtureFor(t, alg)
			// Before the rotation, the old key signed.
			before := mustNew(t, Options{
				Algorithm: alg, SigningKey: f.old, RefreshSecret: refreshSecret,
				Issuer: testIssuer, Audience: testAudience, AccessTTL: testTTL,
				Now: func() time.Time { return t0 },
			})
			token := mustIssueAccess(t, before, testInput())
			if h, _, _ := segments(t, token); h["kid"] != kidOf(t, f.old) {
				t.Fatalf("old issuer's kid = %v, want %v", h["kid"], kidOf(t, f.old))
			}

			after := issuerAt(t, f, t0) // signs with f.key, lists f.old in VerifyKeys
			if _, err := after.VerifyAccess(token); err != nil {
				t.Errorf("VerifyAccess(token of the old key in VerifyKeys) error = %v, want nil", err)
			}
			if _, err := after.VerifyAccess(mustIssueAccess(t, after, testInput())); err != nil {
				t.Errorf("VerifyAccess(token of the new key) error = %v, want nil", err)
			}

			o := optionsAt(f, t0)
			o.VerifyKeys = nil
			retired := mustNew(t, o)
			_, err := retired.VerifyAccess(token)
			wantErr(t, "VerifyAccess(token of a key no longer listed)", err, ErrInvalid)
		})
	}
}
