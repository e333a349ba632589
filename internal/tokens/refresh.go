package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// RefreshClaims are the claims of a refresh token: sub, sid, jti, iat and exp only.
type RefreshClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
}

// RefreshInput is everything a refresh token is made from.
type RefreshInput struct {
	UserID    string
	SessionID string
	// Follows is the jti of the token this one replaces, "" for a session's first token: each
	// token's jti is derived from its predecessor's, so the next token can be built from the one
	// presented without reading the session first.
	Follows   string
	IssuedAt  time.Time // the session's last rotation
	ExpiresAt time.Time
}

// IssueRefresh signs a refresh token (HS256 with the refresh secret, typ refresh+jwt). It is a pure
// function of in: the same input gives the same token, byte for byte, and the jti is a version 8 UUID
// derived from the refresh secret, the session id and in.Follows. Times are truncated to the second.
// It returns an error when UserID or SessionID is empty, when ExpiresAt is not after IssuedAt, or when signing fails.
func (i *Issuer) IssueRefresh(in RefreshInput) (string, error) {
	if in.UserID == "" || in.SessionID == "" {
		return "", errors.New("issue refresh token: user and session ids are required")
	}
	iat := jwt.NewNumericDate(in.IssuedAt)
	exp := jwt.NewNumericDate(in.ExpiresAt)
	if !exp.After(iat.Time) {
		return "", fmt.Errorf("issue refresh token: expiry %s is not after issue time %s", exp, iat)
	}
	claims := &RefreshClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   in.UserID,
			ExpiresAt: exp,
			IssuedAt:  iat,
			ID:        i.refreshJTI(in.SessionID, in.Follows),
		},
		SessionID: in.SessionID,
	}
	var buf [256]byte
	s, err := i.refreshSigner.sign(claims.appendJSON(buf[:0]))
	if err != nil {
		return "", fmt.Errorf("issue refresh token: sign: %w", err)
	}
	return s, nil
}

// refreshJTI derives the jti of the session's refresh token that follows the token whose jti is
// follows ("" for the session's first): HMAC-SHA256(refresh secret, "refresh-jti|" the length of
// sid as 8 big-endian bytes, sid, follows), whose first 16 bytes are laid out as a version 8 UUID
// (RFC 9562 section 5.8). With sid's length in front no two (sid, follows) pairs share a message.
func (i *Issuer) refreshJTI(sessionID, follows string) string {
	mac := hmac.New(sha256.New, i.refreshSecret)
	mac.Write(binary.BigEndian.AppendUint64([]byte("refresh-jti|"), uint64(len(sessionID))))
	mac.Write([]byte(sessionID))
	mac.Write([]byte(follows))
	var id uuid.UUID
	copy(id[:], mac.Sum(nil))
	id[6] = id[6]&0x0f | 0x80 // version 8
	id[8] = id[8]&0x3f | 0x80 // variant 10, RFC 9562
	return id.String()
}

// VerifyRefresh checks a refresh token: HS256 with the refresh secret, typ refresh+jwt, exp and iat
// with the leeway, and sub, jti and sid present. It returns ErrExpired when the only fault is an
// expired exp, and ErrInvalid, wrapping the reason, for anything else. Whether the session still
// accepts this token is for the caller to decide.
func (i *Issuer) VerifyRefresh(token string) (*RefreshClaims, error) {
	if err := checkLength(token); err != nil {
		return nil, err
	}
	claims := &RefreshClaims{}
	if _, err := i.refreshParser.ParseWithClaims(token, claims, i.refreshKeyfunc); err != nil {
		return nil, classify(err)
	}
	if err := checkPresent(claims.Subject, claims.ID, claims.SessionID); err != nil {
		return nil, err
	}
	return claims, nil
}

// refreshKey is the key function of refresh tokens: it checks typ and returns the refresh secret.
func (i *Issuer) refreshKey(t *jwt.Token) (any, error) {
	if typ, _ := t.Header["typ"].(string); typ != refreshType {
		return nil, errNotRefresh
	}
	return i.refreshSecret, nil
}
