package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/metrics"
)

// RequestLog writes one line per request (method, route, status, duration_ms, ip) and feeds the
// request metrics. It never logs headers, bodies or query strings, where tokens could be.
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
		m.Requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
		m.Duration.WithLabelValues(route).Observe(d.Seconds())
		level := slog.LevelInfo
		if status >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		log.Log(c.Request.Context(), level, "request", "method", c.Request.Method, "route", route,
			"status", status, "duration_ms", float64(d.Microseconds())/1000, "ip", c.ClientIP())
	}
}

// Recover turns a panic into a 500 INTERNAL_ERROR and logs it with the route, never the request.
func Recover(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(c.Request.Context(), "panic", "route", c.FullPath(), "panic", slog.AnyValue(v).String())
				Fail(c, errPanic)
			}
		}()
		c.Next()
	}
}

// Deadline bounds the work of each request: its context ends after d, so a hung database
// call returns 503 instead of holding a connection forever.
func Deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
