package tokens

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// AccessClaims are the claims of an access token.
type AccessClaims struct {
	jwt.RegisteredClaims
	Email       string   `json:"email"`
	Role        string   `json:"role"`
	SessionID   string   `json:"sid"`
	Fingerprint string   `json:"fgp,omitempty"`
	AMR         []string `json:"amr,omitempty"` // how the user authenticated (RFC 8176); left out when not set
	// SessionEnd is set when exp was cut short to AccessInput.NotAfter, the session's end as the
	// server knew it when it issued the token: once exp passes, the session is over.
	SessionEnd bool `json:"sxp,omitempty"`
}

// AccessInput is what an access token says about its user and session.
type AccessInput struct {
	UserID      string
	Email       string
	Role        string
	SessionID   string
	NotAfter    time.Time // when non-zero, exp is at most this (the session's end)
	Fingerprint string
	AMR         []string // the amr claim; nil leaves it out
}

// IssueAccess signs an access token for in, valid from now (iat = nbf, to the second) until
// now+AccessTTL or in.NotAfter, whichever is earlier (then with sxp: true), with a random jti. It returns the token and its claims,
// or an error when UserID or SessionID is empty, when the token would already be expired, or when signing fails.
func (i *Issuer) IssueAccess(in AccessInput) (string, *AccessClaims, error) {
	if in.UserID == "" || in.SessionID == "" {
		return "", nil, errors.New("issue access token: user and session ids are required")
	}
	now := i.now()
	exp := now.Add(i.accessTTL)
	capped := !in.NotAfter.IsZero() && in.NotAfter.Before(exp)
	if capped {
		exp = in.NotAfter
	}
	expiresAt := jwt.NewNumericDate(exp)
	if !expiresAt.After(now) {
		return "", nil, fmt.Errorf("issue access token: session %s ends at %s, before %s", in.SessionID, in.NotAfter, now)
	}
	jti, err := uuid.NewRandom()
	if err != nil {
		return "", nil, fmt.Errorf("issue access token: new jti: %w", err)
	}
	claims := &AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   in.UserID,
			Audience:  jwt.ClaimStrings{i.audience},
			ExpiresAt: expiresAt,
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti.String(),
		},
		Email:       in.Email,
		Role:        in.Role,
		SessionID:   in.SessionID,
		Fingerprint: in.Fingerprint,
		AMR:         in.AMR,
		SessionEnd:  capped,
	}
	var buf [512]byte
	s, err := i.accessSigner.sign(claims.appendJSON(buf[:0]))
	if err != nil {
		return "", nil, fmt.Errorf("issue access token: sign: %w", err)
	}
	return s, claims, nil
}

// VerifyAccess checks an access token: the configured algorithm only, typ at+jwt, the signature
// (by kid under the asymmetric algorithms), iss, aud, exp, nbf and iat with the leeway, and sub, jti and sid present.
// exp, nbf and iat must be JSON numbers. It returns ErrExpired when the only fault is an expired exp
// (ErrSessionEnded when the token says that exp was its session's end), and ErrInvalid, wrapping
// the reason, for anything else.
//
// A token verified before is found in a bounded cache (the whole token must match) and only its
// expiry is checked again; the claims returned are shared and must not be modified.
func (i *Issuer) VerifyAccess(token string) (*AccessClaims, error) {
	if err := checkLength(token); err != nil {
		return nil, err
	}
	if claims := i.verified.get(token); claims != nil {
		if !i.now().Before(claims.ExpiresAt.Add(i.leeway)) { // as golang-jwt judges exp: expired from exp on
			i.verified.drop(token)
			return nil, expired(claims, fmt.Errorf("%w: %w", ErrExpired, jwt.ErrTokenExpired))
		}
		return claims, nil
	}
	claims := &AccessClaims{}
	if _, err := i.accessParser.ParseWithClaims(token, claims, i.accessKeyfunc); err != nil {
		return nil, expired(claims, classify(err))
	}
	if err := checkPresent(claims.Subject, claims.ID, claims.SessionID); err != nil {
		return nil, err
	}
	i.verified.put(token, claims, i.now())
	return claims, nil
}

// expired turns err into ErrSessionEnded when it is ErrExpired for a token that carries sxp:
// the server capped its exp to the session's end. The token's age says nothing of the kind:
// ACCESS_TOKEN_EXPIRY may have been raised since it was issued.
func expired(claims *AccessClaims, err error) error {
	if errors.Is(err, ErrExpired) && claims.SessionEnd {
		return fmt.Errorf("%w: %w", ErrSessionEnded, err)
	}
	return err
}

// FingerprintHash is the fgp claim for a fingerprint cookie value: its SHA-256, in hex.
func FingerprintHash(fingerprint string) string {
	sum := sha256.Sum256([]byte(fingerprint))
	return hex.EncodeToString(sum[:])
}

// accessKey is the key function of access tokens: it checks typ and picks the key by kid.
// The parser has already checked that alg is the configured one.
func (i *Issuer) accessKey(t *jwt.Token) (any, error) {
	if typ, _ := t.Header["typ"].(string); typ != accessType {
		return nil, errNotAccess
	}
	if i.accessSecret != nil {
		return i.accessSecret, nil
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errNoKID
	}
	pub, ok := i.publicKeys[kid]
	if !ok {
		return nil, errUnknownKID
	}
	return pub, nil
}
