// Package handlers serves the HTTP API: NewServer builds the Gin engine, routes.go lists every
// endpoint, and each endpoint has one maker func.
package handlers

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/metrics"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/ratelimit"
	"github.com/authserver/authserver/internal/revoke"
	"github.com/authserver/authserver/internal/tokens"
)

// maxBodyBytes is the largest request body accepted: 10 KiB.
const maxBodyBytes = 10 << 10

// Deps are the parts the HTTP layer is built from; internal/app wires them.
type Deps struct {
	Auth           *auth.Service
	Tokens         *tokens.Issuer
	DenyList       *revoke.List
	Limits         *ratelimit.Limits
	Metrics        *metrics.Metrics
	Log            *slog.Logger
	Ready          func(ctx context.Context) error // nil error: the database (and Redis) answer
	ClientURLs     []string
	TrustedProxies []string
	CookieSecure   bool
	Fingerprint    bool  // TOKEN_FINGERPRINT
	SPA            fs.FS // the example SPA's files, served at / (SERVE_SPA); nil serves none
	// IntrospectionTokens may call POST /oauth/introspect; none: that route does not exist.
	IntrospectionTokens []string
	// RequireMFAForAdmin makes admin routes answer 403 MFA_REQUIRED to tokens without "mfa" in amr.
	RequireMFAForAdmin bool
	OpenAPI            []byte        // the OpenAPI document as JSON, served at GET /openapi.json
	RequestTimeout     time.Duration // REQUEST_TIMEOUT: the work of one request is bounded to it
}

// NewServer returns the HTTP handler of the API. It fails on a bad trusted-proxy list or SPA
// files without an index.html.
func NewServer(d Deps) (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.RedirectTrailingSlash = false
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	r.Use(
		middleware.RequestID(),
		middleware.RequestLog(d.Log, d.Metrics),
		middleware.Errors(d.Log),
		middleware.Recover(),
		middleware.SecurityHeaders(),
		middleware.Except(proxyPaths, middleware.Origins(d.ClientURLs, "/api/auth/refresh", "/api/auth/logout")),
		middleware.Except(proxyPaths, middleware.CORS(d.ClientURLs)),
		middleware.BodyLimit(maxBodyBytes),
		middleware.Deadline(d.RequestTimeout),
	)
	pages, err := loadSPA(d.SPA)
	if err != nil {
		return nil, err
	}
	addRoutes(r, d, pages)
	return r, nil
}
