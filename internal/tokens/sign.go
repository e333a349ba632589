package tokens

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
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
	sigLen int    // the encoded signature's length, so that a token is built in one allocation
}

// newSigner returns a signer whose header is alg, typ and, when not empty, kid.
func newSigner(method jwt.SigningMethod, key any, typ, kid string) (signer, error) {
	header := map[string]any{"alg": method.Alg(), "typ": typ}
	if kid != "" {
		header["kid"] = kid
	}
	h, _ := json.Marshal(header) // strings only: cannot fail
	sig, err := method.Sign("", key)
	if err != nil {
		return signer{}, fmt.Errorf("%s key: %w", method.Alg(), err)
	}
	return signer{method: method, key: key, head: base64.RawURLEncoding.EncodeToString(h) + ".",
		sigLen: base64.RawURLEncoding.EncodedLen(len(sig))}, nil
}

// sign returns the token whose payload is the JSON p: header, payload and signature, each
// base64url-encoded.
func (s signer) sign(p []byte) (string, error) {
	var b strings.Builder
	b.Grow(len(s.head) + base64.RawURLEncoding.EncodedLen(len(p)) + 1 + s.sigLen)
	b.WriteString(s.head)
	writeBase64(&b, p)
	sig, err := s.method.Sign(b.String(), s.key) // the string stays valid as b grows within its capacity
	if err != nil {
		return "", err
	}
	b.WriteByte('.')
	writeBase64(&b, sig)
	return b.String(), nil
}

// writeBase64 writes src to b in base64url without padding, encoded in a buffer on the stack
// (a payload over 768 bytes is encoded in one on the heap).
func writeBase64(b *strings.Builder, src []byte) {
	var buf [1024]byte
	b.Write(base64.RawURLEncoding.AppendEncode(buf[:0], src))
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
