package middleware

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/metrics"
)

// RequestLog writes one line per request (method, route, status, duration_ms, ip, and request_id
// through the logger) and feeds the request metrics (unknown methods and routes fold into one
// label value each). It never logs headers, bodies or query strings, where tokens could be.
func RequestLog(log *slog.Logger, m *metrics.Metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		d := time.Since(start)
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		m.Requests.WithLabelValues(metrics.Method(c.Request.Method), route, strconv.Itoa(status)).Inc()
		m.Duration.WithLabelValues(route).Observe(d.Seconds())
		level := slog.LevelInfo
		if status >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		log.Log(c.Request.Context(), level, "request", "method", c.Request.Method, "route", route,
			"status", status, "duration_ms", float64(d.Microseconds())/1000, "ip", c.ClientIP())
	}
}
