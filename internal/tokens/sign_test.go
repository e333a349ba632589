package tokens

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authserver/authserver/internal/keys"
)

// TestSignerAsGolangJWT: every kind of token the issuer signs, under every algorithm and with
// claims that take every branch of their encoding, is what golang-jwt's own SignedString makes
// of the same header and claims: the same bytes where the signature is deterministic (HS256,
// RS256, EdDSA), else the same header and payload and a signature golang-jwt verifies.
func TestSignerAsGolangJWT(t *testing.T) {
	date := func(d time.Time) *jwt.NumericDate { return jwt.NewNumericDate(d) }
	registered := []jwt.RegisteredClaims{
		{},
		{Issuer: testIssuer, Subject: testUserID, Audience: jwt.ClaimStrings{testAudience}, ExpiresAt: date(t0.Add(time.Hour)),
			NotBefore: date(t0), IssuedAt: date(t0), ID: "jti"},
		{Subject: "<naïve & \"odd\" \xff>", Audience: jwt.ClaimStrings{"a", "b\u2028"}, ExpiresAt: date(t0.Add(1500 * time.Millisecond)),
			IssuedAt: date(time.Unix(-1, 0))},
		{Audience: jwt.ClaimStrings{}, NotBefore: date(time.Unix(0, 0))},
	}
	var claims []interface {
		jwt.Claims
		appendJSON([]byte) []byte
	}
	for _, r := range registered {
		claims = append(claims,
			&AccessClaims{RegisteredClaims: r},
			&AccessClaims{RegisteredClaims: r, Email: "a@example.com", Role: "admin", SessionID: testSessionID,
				Fingerprint: "f", AMR: []string{"pwd", "otp"}, SessionEnd: true},
			&AccessClaims{RegisteredClaims: r, Email: "é\t<x>", AMR: []string{}},
			&RefreshClaims{RegisteredClaims: r},
			&RefreshClaims{RegisteredClaims: r, SessionID: testSessionID},
			&MFAClaims{RegisteredClaims: r},
		)
	}
	for _, alg := range keys.Algorithms {
		i := issuerAt(t, fixtureFor(t, alg), t0)
		for _, s := range []struct {
			signer signer
			typ    string
		}{{i.accessSigner, accessType}, {i.refreshSigner, refreshType}, {i.mfaSigner, mfaType}} {
			for _, c := range claims {
				got, err := s.signer.sign(c.appendJSON(nil))
				if err != nil {
					t.Fatalf("%s %s: sign %+v: %v", alg, s.typ, c, err)
				}
				want := jwt.NewWithClaims(s.signer.method, c)
				want.Header["typ"] = s.typ
				if s.typ == accessType && alg != keys.HS256 {
					want.Header["kid"] = i.jwks.Keys[0].KID
				}
				wantToken, err := want.SignedString(s.signer.key)
				if err != nil {
					t.Fatalf("%s %s: golang-jwt sign: %v", alg, s.typ, err)
				}
				cut := strings.LastIndexByte(got, '.')
				if signed := wantToken[:strings.LastIndexByte(wantToken, '.')]; got[:cut] != signed {
					t.Errorf("%s %s: signed %s\nwant %s", alg, s.typ, got[:cut], signed)
					continue
				}
				switch alg := s.signer.method.Alg(); alg {
				case keys.PS256, keys.ES256:
					if _, err := jwt.NewParser(jwt.WithoutClaimsValidation()).Parse(got, func(*jwt.Token) (any, error) {
						return i.publicKeys[i.jwks.Keys[0].KID], nil
					}); err != nil {
						t.Errorf("%s %s: golang-jwt does not verify %s: %v", alg, s.typ, got, err)
					}
				default:
					if got != wantToken {
						t.Errorf("%s %s: token %s\nwant %s", alg, s.typ, got, wantToken)
					}
				}
			}
		}
	}
}
