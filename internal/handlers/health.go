package handlers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/metrics"
	"github.com/authserver/authserver/internal/middleware"
)

// handleHealthz serves GET /healthz: 200 {"status":"ok"} while the process runs.
func handleHealthz() gin.HandlerFunc {
	body := []byte(`{"status":"ok"}`)
	return func(c *gin.Context) { c.Data(http.StatusOK, jsonContentType, body) }
}

// handleReadyz serves GET /readyz: 200 when the database (and Redis) answer within two seconds,
// else 503 SERVICE_UNAVAILABLE (middleware.ErrNotReady, logged with its cause).
func handleReadyz(ready func(ctx context.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			middleware.Fail(c, fmt.Errorf("%w: %w", middleware.ErrNotReady, err))
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}

// handleMetrics serves GET /metrics in the Prometheus text format.
func handleMetrics(m *metrics.Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		c.Status(http.StatusOK)
		m.WritePrometheus(c.Writer)
	}
}

// handleOpenAPI serves GET /openapi.json: the OpenAPI document of this API.
func handleOpenAPI(doc []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json", doc)
	}
}
