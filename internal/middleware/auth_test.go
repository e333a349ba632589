package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/tokens"
)

// oneToken verifies the token "good" only.
type oneToken struct{ claims *tokens.AccessClaims }

func (v oneToken) VerifyAccess(token string) (*tokens.AccessClaims, error) {
	if token != "good" {
		return nil, tokens.ErrInvalid
	}
	return v.claims, nil
}

// denySession denies the tokens of one session.
type denySession string

func (d denySession) Denied(_, sessionID, _ string, _ time.Time) bool { return sessionID == string(d) }

// TestWithAccessToken: the handler is given the verified claims, and nothing is kept on the Gin
// context; a missing, invalid or denied token never reaches it and is answered as by
// RequireAccessToken.
func TestWithAccessToken(t *testing.T) {
	claims := &tokens.AccessClaims{SessionID: "s1"}
	claims.Subject, claims.IssuedAt = "u1", jwt.NewNumericDate(time.Now())
	for _, tt := range []struct {
		name, auth, denied, wantCode string
		wantStatus                   int
	}{
		{"valid", "Bearer good", "", "", http.StatusOK},
		{"scheme in any case", "bEARER good", "", "", http.StatusOK},
		{"no token", "", "", "NO_TOKEN", http.StatusUnauthorized},
		{"another scheme", "Basic good", "", "NO_TOKEN", http.StatusUnauthorized},
		{"invalid", "Bearer bad", "", "INVALID_TOKEN", http.StatusUnauthorized},
		{"denied", "Bearer good", "s1", "TOKEN_REVOKED", http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got *tokens.AccessClaims
			var keys map[any]any
			r := newEdgeEngine(t)
			r.GET("/p", middleware.WithAccessToken(oneToken{claims}, denySession(tt.denied), false,
				func(c *gin.Context, cl *tokens.AccessClaims) {
					got, keys = cl, c.Keys
					c.Status(http.StatusOK)
				}))
			headers := map[string]string{}
			if tt.auth != "" {
				headers["Authorization"] = tt.auth
			}
			rec := serveEdge(r, http.MethodGet, "/p", headers)
			if rec.Code != tt.wantStatus || edgeErrorCode(t, rec) != tt.wantCode {
				t.Fatalf("GET /p = %d %s, want %d %q", rec.Code, rec.Body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus != http.StatusOK {
				if got != nil {
					t.Errorf("the handler ran for a refused token")
				}
				return
			}
			if got != claims {
				t.Errorf("the handler was given %v, want the verified claims", got)
			}
			if keys != nil {
				t.Errorf("c.Keys = %v, want nil (nothing kept on the context)", keys)
			}
		})
	}
}
