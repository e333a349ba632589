package tokens

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authserver/authserver/internal/jsonenc"
)

// signer signs one kind of token with golang-jwt's signing method. The header is encoded once;
// the payload is appended by the claims themselves, without reflection. The token is byte for
// byte the one jwt.Token.SignedString makes of the same header and claims (TestSignerAsGolangJWT).
type signer struct {
	method jwt.SigningMethod
	key    any    // as the method wants it
	head   string // the encoded header and the dot after it
}

// newSigner returns a signer whose header is alg, typ and, when not empty, kid.
func newSigner(method jwt.SigningMethod, key any, typ, kid string) signer {
	header := map[string]any{"alg": method.Alg(), "typ": typ}
	if kid != "" {
		header["kid"] = kid
	}
	h, _ := json.Marshal(header) // strings only: cannot fail
	return signer{method: method, key: key, head: base64.RawURLEncoding.EncodeToString(h) + "."}
}

// payload is what a token says: its claims as one JSON object appended to a buffer.
type payload interface {
	appendJSON(dst []byte) []byte
}

// sign returns the token of claims: header, payload and signature, each base64url-encoded.
func (s signer) sign(claims payload) (string, error) {
	var raw [512]byte
	p := claims.appendJSON(raw[:0])
	b := make([]byte, 0, len(s.head)+base64.RawURLEncoding.EncodedLen(len(p))+1+base64.RawURLEncoding.EncodedLen(512))
	b = append(b, s.head...)
	b = base64.RawURLEncoding.AppendEncode(b, p)
	sig, err := s.method.Sign(string(b), s.key)
	if err != nil {
		return "", err
	}
	b = append(b, '.')
	return string(base64.RawURLEncoding.AppendEncode(b, sig)), nil
}

// appendRegistered appends the registered claims set in r, in the order and with the omissions of
// jwt.RegisteredClaims' own JSON: aud as an array (as a string when it has one member and
// jwt.MarshalSingleStringAsArray is off), dates in whole seconds.
func appendRegistered(o *jsonenc.Object, r *jwt.RegisteredClaims) {
	o.StringOmitEmpty("iss", r.Issuer)
	o.StringOmitEmpty("sub", r.Subject)
	switch {
	case len(r.Audience) == 1 && !jwt.MarshalSingleStringAsArray:
		o.String("aud", r.Audience[0])
	case len(r.Audience) > 0:
		o.Strings("aud", r.Audience)
	}
	appendDate(o, "exp", r.ExpiresAt)
	appendDate(o, "nbf", r.NotBefore)
	appendDate(o, "iat", r.IssuedAt)
	o.StringOmitEmpty("jti", r.ID)
}

// appendDate appends a NumericDate as golang-jwt writes it at its default precision of a second.
func appendDate(o *jsonenc.Object, name string, d *jwt.NumericDate) {
	if d != nil {
		o.Int(name, d.Truncate(time.Second).Unix())
	}
}

func (c *AccessClaims) appendJSON(dst []byte) []byte {
	o := jsonenc.NewObject(dst)
	appendRegistered(&o, &c.RegisteredClaims)
	o.String("email", c.Email)
	o.String("role", c.Role)
	o.String("sid", c.SessionID)
	o.StringOmitEmpty("fgp", c.Fingerprint)
	if len(c.AMR) > 0 {
		o.Strings("amr", c.AMR)
	}
	if c.SessionEnd {
		o.Bool("sxp", true)
	}
	return o.End()
}

func (c *RefreshClaims) appendJSON(dst []byte) []byte {
	o := jsonenc.NewObject(dst)
	appendRegistered(&o, &c.RegisteredClaims)
	o.String("sid", c.SessionID)
	return o.End()
}

func (c *MFAClaims) appendJSON(dst []byte) []byte {
	o := jsonenc.NewObject(dst)
	appendRegistered(&o, &c.RegisteredClaims)
	return o.End()
}
