package tokens

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// mfaType is the typ header of the token that carries a login from its password to its second factor.
const mfaType = "mfa+jwt"

// mfaKeyInfo names the purpose of the key that signs MFA tokens, derived from the refresh secret.
const mfaKeyInfo = "authserver/mfa-token/v1"

var errNotMFA = errors.New("typ header is not " + mfaType)

// MFAClaims are the claims of an MFA token: sub (the user), jti (the server-side challenge), iat, exp.
type MFAClaims struct {
	jwt.RegisteredClaims
}

// deriveMFASecret is the HMAC key of MFA tokens: HKDF-SHA256 of the refresh secret under its own
// purpose, so that no MFA token verifies as a refresh token, nor the reverse, even without the typ check.
func deriveMFASecret(refreshSecret []byte) ([]byte, error) {
	key, err := hkdf.Key(sha256.New, refreshSecret, nil, mfaKeyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive mfa token key: %w", err)
	}
	return key, nil
}

// IssueMFA signs an MFA token (HS256 with the MFA key, typ mfa+jwt) for the user userID and the
// challenge challengeID, valid from now until expiresAt. It returns an error when an id is empty,
// when expiresAt is not after now, or when signing fails.
func (i *Issuer) IssueMFA(userID, challengeID string, expiresAt time.Time) (string, error) {
	if userID == "" || challengeID == "" {
		return "", errors.New("issue mfa token: user and challenge ids are required")
	}
	iat := jwt.NewNumericDate(i.now())
	exp := jwt.NewNumericDate(expiresAt)
	if !exp.After(iat.Time) {
		return "", fmt.Errorf("issue mfa token: expiry %s is not after issue time %s", exp, iat)
	}
	claims := &MFAClaims{jwt.RegisteredClaims{
		Issuer: i.issuer, Subject: userID, ID: challengeID, IssuedAt: iat, ExpiresAt: exp,
	}}
	s, err := i.mfaSigner.sign(claims.appendJSON(nil))
	if err != nil {
		return "", fmt.Errorf("issue mfa token: sign: %w", err)
	}
	return s, nil
}

// VerifyMFA checks an MFA token: HS256 with the MFA key, typ mfa+jwt, iss, exp and iat with the leeway,
// and sub and jti present. It returns ErrExpired when the only fault is an expired exp, and ErrInvalid,
// wrapping the reason, for anything else. Whether the challenge is still open is for the caller to decide.
func (i *Issuer) VerifyMFA(token string) (*MFAClaims, error) {
	if err := checkLength(token); err != nil {
		return nil, err
	}
	claims := &MFAClaims{}
	if _, err := i.mfaParser.ParseWithClaims(token, claims, i.mfaKeyfunc); err != nil {
		return nil, classify(err)
	}
	switch {
	case claims.Subject == "":
		return nil, fmt.Errorf("%w: sub claim missing", ErrInvalid)
	case claims.ID == "":
		return nil, fmt.Errorf("%w: jti claim missing", ErrInvalid)
	}
	return claims, nil
}

// mfaKey is the key function of MFA tokens: it checks typ and returns the MFA key.
func (i *Issuer) mfaKey(t *jwt.Token) (any, error) {
	if typ, _ := t.Header["typ"].(string); typ != mfaType {
		return nil, errNotMFA
	}
	return i.mfaSecret, nil
}
