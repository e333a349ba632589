package tokens

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/keys"
)

func TestRefreshRoundTrip(t *testing.T) {
	for _, alg := range keys.Algorithms { // refresh tokens are HS256 whatever signs access tokens
		t.Run(alg, func(t *testing.T) {
			i := issuerAt(t, fixtureFor(t, alg), t0.Add(time.Hour))
			in := refreshInput("")
			token := mustIssueRefresh(t, i, in)

			header, payload, _ := segments(t, token)
			if len(header) != 2 || header["alg"] != "HS256" || header["typ"] != "refresh+jwt" {
				t.Errorf("IssueRefresh header = %v, want alg HS256 and typ refresh+jwt only", header)
			}
			if got, want := slices.Sorted(maps.Keys(payload)), []string{"exp", "iat", "jti", "sid", "sub"}; !slices.Equal(got, want) {
				t.Errorf("IssueRefresh claims = %v, want exactly %v", got, want)
			}

			got, err := i.VerifyRefresh(token)
			if err != nil {
				t.Fatalf("VerifyRefresh(IssueRefresh(...)) error: %v", err)
			}
			if got.Subject != testUserID || got.SessionID != testSessionID ||
				!got.IssuedAt.Equal(in.IssuedAt) || !got.ExpiresAt.Equal(in.ExpiresAt) {
				t.Errorf("VerifyRefresh(IssueRefresh(%+v)) = sub %q sid %q iat %v exp %v, want the input",
					in, got.Subject, got.SessionID, got.IssuedAt, got.ExpiresAt)
			}
			id, err := uuid.Parse(got.ID)
			if err != nil || id.Version() != 8 || id.Variant() != uuid.RFC4122 {
				t.Errorf("refresh jti = %q, want a version 8 UUID of the RFC 9562 variant", got.ID)
			}
		})
	}
}

func TestIssueRefreshDeterministic(t *testing.T) {
	f := fixtureFor(t, keys.ES256)
	i := issuerAt(t, f, t0)
	twin := issuerAt(t, f, t0.Add(time.Hour)) // another instance with the same secret and another clock
	o := optionsAt(f, t0)
	o.RefreshSecret = otherSecret
	stranger := mustNew(t, o)

	// Computed outside Go from the documented derivation; a change would make old and new
	// instances hand racing refreshes different tokens.
	const firstJTI, secondJTI = "9826636c-e701-8792-8453-d4ec1332ca57", "b1539c29-0333-8e3b-b242-4df33fdb21a1"
	_, firstPayload, _ := segments(t, mustIssueRefresh(t, i, refreshInput("")))
	if firstPayload["jti"] != firstJTI {
		t.Errorf("IssueRefresh of a session's first token: jti = %v, want %v", firstPayload["jti"], firstJTI)
	}
	base := refreshInput(firstJTI)
	token := mustIssueRefresh(t, i, base)
	_, basePayload, _ := segments(t, token)
	if basePayload["jti"] != secondJTI {
		t.Errorf("IssueRefresh(%+v) jti = %v, want %v", base, basePayload["jti"], secondJTI)
	}

	tests := []struct {
		name     string
		issuer   *Issuer
		edit     func(*RefreshInput)
		wantSame bool // same token
		sameJTI  bool
	}{
		{"same input", i, func(*RefreshInput) {}, true, true},
		{"same input, twin issuer", twin, func(*RefreshInput) {}, true, true},
		{"sub-second differences", i, func(in *RefreshInput) {
			in.IssuedAt = in.IssuedAt.Add(300 * time.Millisecond)
			in.ExpiresAt = in.ExpiresAt.Add(700 * time.Millisecond)
		}, true, true},
		{"next generation", i, func(in *RefreshInput) { in.Follows = secondJTI }, false, false},
		{"other session", i, func(in *RefreshInput) { in.SessionID = "0e6b1c0a-1111-4222-8333-444455556666" }, false, false},
		{"other secret", stranger, func(*RefreshInput) {}, false, false},
		{"later iat", i, func(in *RefreshInput) { in.IssuedAt = in.IssuedAt.Add(time.Minute) }, false, true},
		{"other user", i, func(in *RefreshInput) { in.UserID = "11111111-2222-4333-8444-555566667777" }, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.edit(&in)
			got := mustIssueRefresh(t, tt.issuer, in)
			if (got == token) != tt.wantSame {
				t.Errorf("IssueRefresh(%+v) == IssueRefresh(%+v) is %v, want %v", in, base, got == token, tt.wantSame)
			}
			_, payload, _ := segments(t, got)
			if (payload["jti"] == basePayload["jti"]) != tt.sameJTI {
				t.Errorf("IssueRefresh(%+v) jti = %v, base jti %v; want same %v", in, payload["jti"], basePayload["jti"], tt.sameJTI)
			}
		})
	}
}

func TestIssueRefreshRejects(t *testing.T) {
	i := issuerAt(t, fixtureFor(t, keys.HS256), t0)
	tests := []struct {
		name string
		edit func(*RefreshInput)
	}{
		{"no user id", func(in *RefreshInput) { in.UserID = "" }},
		{"no session id", func(in *RefreshInput) { in.SessionID = "" }},
		{"expires before issue", func(in *RefreshInput) { in.ExpiresAt = in.IssuedAt.Add(-time.Hour) }},
		{"expires within the issue second", func(in *RefreshInput) { in.ExpiresAt = in.IssuedAt.Add(500 * time.Millisecond) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := refreshInput("")
			tt.edit(&in)
			if token, err := i.IssueRefresh(in); err == nil {
				t.Errorf("IssueRefresh(%+v) = %q, nil; want an error", in, token)
			}
		})
	}
}

// refreshClaimsAt are the claims of a genuine refresh token issued at iat.
func refreshClaimsAt(iat time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": testUserID,
		"sid": testSessionID,
		"jti": "0b4f7d6e-5c3a-8b21-9f0e-1d2c3b4a5f6e",
		"iat": iat.Unix(),
		"exp": iat.Add(7 * 24 * time.Hour).Unix(),
	}
}

func TestVerifyRefreshAttacks(t *testing.T) {
	header := map[string]any{"alg": "HS256", "typ": "refresh+jwt"}
	hs := fixtureFor(t, keys.HS256)
	v := issuerAt(t, hs, t0.Add(time.Hour))
	valid := mustIssueRefresh(t, v, refreshInput(""))
	if _, err := v.VerifyRefresh(sign(t, keys.HS256, refreshSecret, header, refreshClaimsAt(t0))); err != nil {
		t.Fatalf("VerifyRefresh(crafted genuine token) error: %v", err)
	}

	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  error
	}{
		{"expired", func(t *testing.T) string {
			in := refreshInput("")
			in.ExpiresAt = t0.Add(time.Hour)
			return mustIssueRefresh(t, v, in)
		}, ErrExpired},
		{"expired and issued in the future", func(t *testing.T) string {
			return sign(t, keys.HS256, refreshSecret, header, with(refreshClaimsAt(t0.Add(2*time.Hour)), "exp", t0.Unix()))
		}, ErrInvalid},
		{"issued in the future", func(t *testing.T) string {
			return sign(t, keys.HS256, refreshSecret, header, refreshClaimsAt(t0.Add(2*time.Hour)))
		}, ErrInvalid},
		{"missing exp", func(t *testing.T) string {
			return sign(t, keys.HS256, refreshSecret, header, with(refreshClaimsAt(t0), "exp", nil))
		}, ErrInvalid},
		{"missing sub", func(t *testing.T) string {
			return sign(t, keys.HS256, refreshSecret, header, with(refreshClaimsAt(t0), "sub", nil))
		}, ErrInvalid},
		{"missing sid", func(t *testing.T) string {
			return sign(t, keys.HS256, refreshSecret, header, with(refreshClaimsAt(t0), "sid", nil))
		}, ErrInvalid},
		{"missing jti", func(t *testing.T) string {
			return sign(t, keys.HS256, refreshSecret, header, with(refreshClaimsAt(t0), "jti", nil))
		}, ErrInvalid},
		{"wrong secret", func(t *testing.T) string {
			return sign(t, keys.HS256, otherSecret, header, refreshClaimsAt(t0))
		}, ErrInvalid},
		{"signed with the access secret", func(t *testing.T) string {
			return sign(t, keys.HS256, accessSecret, header, refreshClaimsAt(t0))
		}, ErrInvalid},
		{"typ at+jwt", func(t *testing.T) string {
			return sign(t, keys.HS256, refreshSecret, with(header, "typ", "at+jwt"), refreshClaimsAt(t0))
		}, ErrInvalid},
		{"typ JWT", func(t *testing.T) string {
			return sign(t, keys.HS256, refreshSecret, with(header, "typ", "JWT"), refreshClaimsAt(t0))
		}, ErrInvalid},
		{"missing typ", func(t *testing.T) string {
			return sign(t, keys.HS256, refreshSecret, with(header, "typ", nil), refreshClaimsAt(t0))
		}, ErrInvalid},
		{"alg none", func(t *testing.T) string {
			return rawToken(t, with(header, "alg", "none"), refreshClaimsAt(t0), "")
		}, ErrInvalid},
		{"alg NONE with a signature", func(t *testing.T) string {
			_, _, sig := segments(t, valid)
			return rawToken(t, with(header, "alg", "NONE"), refreshClaimsAt(t0), sig)
		}, ErrInvalid},
		{"alg HS512 with the refresh secret", func(t *testing.T) string {
			return sign(t, "HS512", refreshSecret, with(header, "alg", "HS512"), refreshClaimsAt(t0))
		}, ErrInvalid},
		{"tampered payload", func(t *testing.T) string {
			h, payload, sig := segments(t, valid)
			return rawToken(t, h, with(payload, "sub", "11111111-2222-4333-8444-555566667777"), sig)
		}, ErrInvalid},
		{"malformed", func(*testing.T) string { return "not.a.token" }, ErrInvalid},
		{"empty", func(*testing.T) string { return "" }, ErrInvalid},
	}
	for _, alg := range keys.Algorithms {
		tests = append(tests, struct {
			name  string
			token func(t *testing.T) string
			want  error
		}{"access token of " + alg, func(t *testing.T) string {
			return mustIssueAccess(t, issuerAt(t, fixtureFor(t, alg), t0.Add(time.Hour)), testInput())
		}, ErrInvalid})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.VerifyRefresh(tt.token(t))
			if claims != nil {
				t.Errorf("VerifyRefresh(%s) claims = %+v, want nil", tt.name, claims)
			}
			wantErr(t, "VerifyRefresh("+tt.name+")", err, tt.want)
		})
	}
}
