// Package tokens issues and verifies access, refresh and MFA tokens and publishes the JWKS.
package tokens

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authserver/authserver/internal/keys"
)

// The typ header of each kind of token; a token of one kind never passes as the other.
const (
	accessType  = "at+jwt" // RFC 9068
	refreshType = "refresh+jwt"
)

// minSecretBytes is the shortest accepted HMAC secret.
const minSecretBytes = 32

// maxTokenBytes bounds the work spent on a presented token; real tokens are well under 2 KiB.
const maxTokenBytes = 8 << 10

var (
	// ErrExpired means the token was valid but its exp has passed (beyond the leeway).
	ErrExpired = errors.New("token expired")
	// ErrSessionEnded means an access token's exp has passed where it was capped to its
	// session's idle or absolute end: the session is over, not merely the token.
	ErrSessionEnded = errors.New("session ended")
	// ErrInvalid means the token cannot be trusted: malformed, badly signed, of another kind,
	// for another issuer or audience, not yet valid, or missing a required claim.
	ErrInvalid = errors.New("invalid token")
)

// Reasons the key functions give; they end up wrapped in ErrInvalid.
var (
	errNotAccess  = errors.New("typ header is not " + accessType)
	errNotRefresh = errors.New("typ header is not " + refreshType)
	errNoKID      = errors.New("kid header missing")
	errUnknownKID = errors.New("kid header names no known key")
)

// Options configures an Issuer.
type Options struct {
	Algorithm     string             // one of keys.Algorithms; it alone is accepted on access tokens
	AccessSecret  []byte             // HMAC secret of access tokens under HS256; ignored otherwise
	RefreshSecret []byte             // HMAC secret of refresh tokens (always HS256)
	SigningKey    crypto.Signer      // signs access tokens under the asymmetric algorithms; ignored under HS256
	VerifyKeys    []crypto.PublicKey // older public keys still accepted (rotation), listed in the JWKS; ignored under HS256
	Issuer        string             // iss of access tokens, required on verification
	Audience      string             // aud of access tokens, required on verification
	AccessTTL     time.Duration      // lifetime of access tokens
	Leeway        time.Duration      // clock skew allowed on exp, nbf and iat
	Now           func() time.Time   // clock; nil means time.Now
}

// JWKS is the JSON Web Key Set served at /.well-known/jwks.json.
type JWKS struct {
	Keys []keys.JWK `json:"keys"`
}

// Issuer issues and verifies access and refresh tokens. It is safe for concurrent use.
type Issuer struct {
	accessSecret  []byte // HS256 only
	publicKeys    map[string]crypto.PublicKey
	refreshSecret []byte
	mfaSecret     []byte // HMAC key of MFA tokens, derived from refreshSecret
	issuer        string
	audience      string
	accessTTL     time.Duration
	now           func() time.Time
	jwks          JWKS

	// Built once in New so that signing encodes no header and verification allocates no
	// parser or closure.
	accessSigner   signer
	refreshSigner  signer
	mfaSigner      signer
	accessParser   *jwt.Parser
	refreshParser  *jwt.Parser
	mfaParser      *jwt.Parser
	accessKeyfunc  jwt.Keyfunc
	refreshKeyfunc jwt.Keyfunc
	mfaKeyfunc     jwt.Keyfunc

	leeway   time.Duration
	verified *verifiedCache
}

// New checks o and returns an Issuer. It returns an error for an unknown algorithm, a secret under
// 32 bytes, a refresh secret equal to the access secret (HS256), a missing or unsupported signing key,
// a signing or verify key that does not fit the algorithm (see keys.CheckAlgorithm), an empty issuer
// or audience, a non-positive AccessTTL or a negative Leeway.
func New(o Options) (*Issuer, error) {
	if !slices.Contains(keys.Algorithms, o.Algorithm) {
		return nil, fmt.Errorf("unknown algorithm %q, want one of %v", o.Algorithm, keys.Algorithms)
	}
	if len(o.RefreshSecret) < minSecretBytes {
		return nil, fmt.Errorf("refresh secret has %d bytes, want at least %d", len(o.RefreshSecret), minSecretBytes)
	}
	if o.Issuer == "" || o.Audience == "" {
		return nil, errors.New("issuer and audience must not be empty")
	}
	if o.AccessTTL <= 0 {
		return nil, fmt.Errorf("access token lifetime %v must be positive", o.AccessTTL)
	}
	if o.Leeway < 0 {
		return nil, fmt.Errorf("leeway %v must not be negative", o.Leeway)
	}
	i := &Issuer{
		refreshSecret: bytes.Clone(o.RefreshSecret),
		issuer:        o.Issuer,
		audience:      o.Audience,
		accessTTL:     o.AccessTTL,
		leeway:        o.Leeway,
		now:           o.Now,
		jwks:          JWKS{Keys: []keys.JWK{}},
		verified:      newVerifiedCache(),
	}
	if i.now == nil {
		i.now = time.Now
	}
	mfaSecret, err := deriveMFASecret(o.RefreshSecret)
	if err != nil {
		return nil, err
	}
	i.mfaSecret = mfaSecret
	if keys.IsAsymmetric(o.Algorithm) {
		if err := i.useKeys(o.Algorithm, o.SigningKey, o.VerifyKeys); err != nil {
			return nil, err
		}
	} else {
		if len(o.AccessSecret) < minSecretBytes {
			return nil, fmt.Errorf("access secret has %d bytes, want at least %d", len(o.AccessSecret), minSecretBytes)
		}
		if bytes.Equal(o.AccessSecret, o.RefreshSecret) {
			return nil, errors.New("refresh secret must differ from the access secret")
		}
		i.accessSecret = bytes.Clone(o.AccessSecret)
		if i.accessSigner, err = newSigner(jwt.SigningMethodHS256, i.accessSecret, accessType, ""); err != nil {
			return nil, err
		}
	}
	if i.refreshSigner, err = newSigner(jwt.SigningMethodHS256, i.refreshSecret, refreshType, ""); err != nil {
		return nil, err
	}
	if i.mfaSigner, err = newSigner(jwt.SigningMethodHS256, i.mfaSecret, mfaType, ""); err != nil {
		return nil, err
	}

	i.accessParser = jwt.NewParser(
		jwt.WithValidMethods([]string{o.Algorithm}),
		jwt.WithIssuer(o.Issuer),
		jwt.WithAudience(o.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithNotBeforeRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(o.Leeway),
		jwt.WithTimeFunc(i.now),
		jwt.WithStrictDecoding(),
	)
	i.refreshParser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(o.Leeway),
		jwt.WithTimeFunc(i.now),
		jwt.WithStrictDecoding(),
	)
	i.mfaParser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(o.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(o.Leeway),
		jwt.WithTimeFunc(i.now),
		jwt.WithStrictDecoding(),
	)
	i.accessKeyfunc = i.accessKey
	i.refreshKeyfunc = i.refreshKey
	i.mfaKeyfunc = i.mfaKey
	return i, nil
}

// useKeys sets the signing key and the verification keys by kid, and builds the JWKS.
func (i *Issuer) useKeys(alg string, key crypto.Signer, verify []crypto.PublicKey) error {
	if key == nil {
		return fmt.Errorf("%s needs a signing key", alg)
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return fmt.Errorf("signing key of type %T is not supported", key)
	}
	i.publicKeys = make(map[string]crypto.PublicKey, 1+len(verify))
	for n, pub := range append([]crypto.PublicKey{key.Public()}, verify...) {
		j, err := keys.PublicJWK(alg, pub)
		if err != nil {
			if n == 0 {
				return fmt.Errorf("signing key: %w", err)
			}
			return fmt.Errorf("verify key %d: %w", n, err)
		}
		if _, dup := i.publicKeys[j.KID]; dup {
			continue
		}
		i.publicKeys[j.KID] = pub
		i.jwks.Keys = append(i.jwks.Keys, j)
	}
	var err error
	i.accessSigner, err = newSigner(jwt.GetSigningMethod(alg), key, accessType, i.jwks.Keys[0].KID)
	return err
}

// JWKS returns the public keys that verify access tokens: the signing key's first, then the
// distinct VerifyKeys. The list is empty, not nil, under HS256.
func (i *Issuer) JWKS() JWKS {
	return JWKS{Keys: slices.Clone(i.jwks.Keys)}
}

// classify turns a parser error into ErrExpired when an expired exp is its only reason, else into ErrInvalid.
func classify(err error) error {
	if errors.Is(err, jwt.ErrTokenExpired) && onlyExpiry(err) {
		return fmt.Errorf("%w: %w", ErrExpired, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// onlyExpiry reports whether every leaf of err's tree is jwt.ErrTokenExpired or the
// jwt.ErrTokenInvalidClaims that golang-jwt wraps claim failures in. A token that is both
// expired and, say, for another audience is invalid, not merely expired.
func onlyExpiry(err error) bool {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			if !onlyExpiry(inner) {
				return false
			}
		}
		return true
	case interface{ Unwrap() error }:
		return onlyExpiry(e.Unwrap())
	default:
		return err == jwt.ErrTokenExpired || err == jwt.ErrTokenInvalidClaims
	}
}

// checkPresent returns an ErrInvalid error naming the first empty claim of sub, jti and sid.
func checkPresent(sub, jti, sid string) error {
	switch {
	case sub == "":
		return fmt.Errorf("%w: sub claim missing", ErrInvalid)
	case jti == "":
		return fmt.Errorf("%w: jti claim missing", ErrInvalid)
	case sid == "":
		return fmt.Errorf("%w: sid claim missing", ErrInvalid)
	}
	return nil
}

// checkLength returns an ErrInvalid error for a token too long to be one of ours.
func checkLength(token string) error {
	if len(token) > maxTokenBytes {
		return fmt.Errorf("%w: %d bytes is too long", ErrInvalid, len(token))
	}
	return nil
}
