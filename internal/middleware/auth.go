package middleware

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/tokens"
)

// FingerprintCookie holds the random value whose SHA-256 access tokens carry when TOKEN_FINGERPRINT is on.
const FingerprintCookie = "__Secure-Fgp"

// Verifier checks an access token's signature and claims.
type Verifier interface {
	VerifyAccess(token string) (*tokens.AccessClaims, error)
}

// DenyList answers whether an access token was revoked; it must not touch the database.
type DenyList interface {
	Denied(userID, sessionID, tokenID string, issuedAt time.Time) bool
}

// Users reads the current state of an access token's user, for the role check; a user that
// no longer exists is an error the error table maps to TOKEN_REVOKED.
type Users interface {
	User(ctx context.Context, id string) (*models.User, error)
}

const claimsKey = "auth.claims"

// ClaimsFrom returns the verified access-token claims that RequireAccessToken or
// OptionalAccessToken stored on c, or nil. Only responses that echo the claims need them; the
// use cases take PrincipalFrom.
func ClaimsFrom(c *gin.Context) *tokens.AccessClaims {
	v, _ := c.Get(claimsKey)
	claims, _ := v.(*tokens.AccessClaims)
	return claims
}

// PrincipalFrom returns who the verified access token on c acts for, or nil when
// OptionalAccessToken found no valid token. Behind RequireAccessToken it is never nil.
func PrincipalFrom(c *gin.Context) *auth.Principal {
	claims := ClaimsFrom(c)
	if claims == nil {
		return nil
	}
	p := PrincipalOf(claims)
	return &p
}

// PrincipalOf is who verified access-token claims act for.
func PrincipalOf(claims *tokens.AccessClaims) auth.Principal {
	return auth.Principal{
		UserID: claims.Subject, SessionID: claims.SessionID, TokenID: claims.ID,
		ExpiresAt: claims.ExpiresAt.Time, AMR: claims.AMR,
	}
}

// bearer returns the token of an `Authorization: Bearer` header (scheme case-insensitive), or "".
// It reads the first value under the canonical key directly, as Header.Get would after
// canonicalising its argument again (net/http canonicalises the keys of the requests it reads).
func bearer(c *gin.Context) string {
	v := c.Request.Header["Authorization"]
	if len(v) == 0 {
		return ""
	}
	scheme, token, ok := strings.Cut(v[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// check verifies the request's bearer token: NO_TOKEN, TOKEN_EXPIRED, INVALID_TOKEN or TOKEN_REVOKED.
func check(c *gin.Context, v Verifier, deny DenyList, fingerprint bool) (*tokens.AccessClaims, error) {
	raw := bearer(c)
	if raw == "" {
		return nil, ErrNoToken
	}
	claims, err := Authenticate(v, deny, raw)
	if err != nil {
		return nil, err
	}
	if fingerprint && !fingerprintMatches(c, claims.Fingerprint) {
		return nil, tokens.ErrInvalid
	}
	return claims, nil
}

// Authenticate judges an access token as bearer auth does, apart from the fingerprint cookie:
// its signature and claims (TOKEN_EXPIRED, INVALID_TOKEN, TOKEN_REVOKED when its session ended),
// then the deny list (ErrTokenRevoked). It reads no database.
func Authenticate(v Verifier, deny DenyList, token string) (*tokens.AccessClaims, error) {
	claims, err := v.VerifyAccess(token)
	if err != nil {
		return nil, err
	}
	if deny.Denied(claims.Subject, claims.SessionID, claims.ID, claims.IssuedAt.Time) {
		return nil, ErrTokenRevoked
	}
	return claims, nil
}

// fingerprintMatches reports whether the fingerprint cookie hashes to the token's fgp claim.
func fingerprintMatches(c *gin.Context, want string) bool {
	fgp, err := c.Cookie(FingerprintCookie)
	if err != nil || fgp == "" || want == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(tokens.FingerprintHash(fgp)), []byte(want)) == 1
}

// ClaimsHandler serves a request whose access token WithAccessToken has verified; claims are
// that token's.
type ClaimsHandler func(c *gin.Context, claims *tokens.AccessClaims)

// WithAccessToken checks the bearer token as RequireAccessToken does and hands its claims to h
// as an argument, storing nothing on c: a route's last handler built this way costs the request
// no Gin Keys map (a map and its first group, and a lock around each Set and Get).
func WithAccessToken(v Verifier, deny DenyList, fingerprint bool, h ClaimsHandler) gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, err := check(c, v, deny, fingerprint)
		if err != nil {
			Fail(c, err)
			return
		}
		h(c, claims)
	}
}

// RequireAccessToken lets a request through only with a valid, unrevoked access token, whose
// claims it stores for ClaimsFrom. With fingerprint on, the token must come with its
// fingerprint cookie.
func RequireAccessToken(v Verifier, deny DenyList, fingerprint bool) gin.HandlerFunc {
	return WithAccessToken(v, deny, fingerprint, func(c *gin.Context, claims *tokens.AccessClaims) {
		c.Set(claimsKey, claims)
		c.Next()
	})
}

// OptionalAccessToken stores the claims of a valid, unrevoked access token when there is one and
// lets every request through (logout never fails on a stale token).
func OptionalAccessToken(v Verifier, deny DenyList, fingerprint bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if claims, err := check(c, v, deny, fingerprint); err == nil {
			c.Set(claimsKey, claims)
		}
		c.Next()
	}
}

// RequireRole lets a request through only when the user's CURRENT role, read from the store,
// is role; the token's role claim is not trusted. A disabled user is TOKEN_REVOKED.
func RequireRole(users Users, role models.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := CheckRole(c.Request.Context(), users, PrincipalFrom(c).UserID, role); err != nil {
			Fail(c, err)
			return
		}
		c.Next()
	}
}

// CheckRole reads the user's CURRENT state from the store and returns nil when their role is
// role, ErrInsufficientRole when it is another, ErrTokenRevoked when they are disabled, and the
// store's error (a vanished user is TOKEN_REVOKED, an unreachable database 503) otherwise.
func CheckRole(ctx context.Context, users Users, userID string, role models.Role) error {
	u, err := users.User(ctx, userID)
	switch {
	case err != nil:
		return err
	case u.Disabled:
		return ErrTokenRevoked
	case u.Role != role:
		return ErrInsufficientRole
	}
	return nil
}

// RequireMFA, when required, lets a request through only when its access token's amr has "mfa"
// (the login used a second factor); otherwise 403 MFA_REQUIRED. When not required it does nothing.
func RequireMFA(required bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if required && !PrincipalFrom(c).MFA() {
			Fail(c, ErrMFARequired)
			return
		}
		c.Next()
	}
}
