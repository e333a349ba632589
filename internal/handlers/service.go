package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/authserver/authserver/internal/metrics"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/tokens"
)

// handleHealthz serves GET /healthz: 200 while the process runs.
func handleHealthz() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	}
}

// handleReadyz serves GET /readyz: 200 when the database (and Redis) answer within two seconds, else 503.
func handleReadyz(ready func(ctx context.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "message": "a backing service does not answer", "code": "SERVICE_UNAVAILABLE"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}

// handleMetrics serves GET /metrics in the Prometheus text format.
func handleMetrics(m *metrics.Metrics) gin.HandlerFunc {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
	return gin.WrapH(h)
}

// handleJWKS serves GET /.well-known/jwks.json.
func handleJWKS(t *tokens.Issuer) gin.HandlerFunc {
	jwks := t.JWKS()
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.JSON(http.StatusOK, jwks)
	}
}

// handleNotFound answers unknown paths with 404 NOT_FOUND.
func handleNotFound() gin.HandlerFunc {
	return func(c *gin.Context) {
		middleware.Fail(c, &middleware.Error{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "no such endpoint"})
	}
}

// handleMethodNotAllowed answers a known path with another method: 405 METHOD_NOT_ALLOWED (Gin sets Allow).
func handleMethodNotAllowed() gin.HandlerFunc {
	return func(c *gin.Context) {
		middleware.Fail(c, &middleware.Error{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED", Message: "method not allowed on this path"})
	}
}
