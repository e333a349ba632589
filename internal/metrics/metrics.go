// Package metrics defines the Prometheus collectors the server exports on /metrics.
package metrics

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the server's collectors, registered on Registry.
type Metrics struct {
	Registry     *prometheus.Registry
	Requests     *prometheus.CounterVec   // by method (Method folds it), route, status
	Duration     *prometheus.HistogramVec // by route
	BcryptWait   prometheus.Histogram     // how long a password check or hash waited for a bcrypt slot
	AuthEvents   *prometheus.CounterVec   // by audit event type
	AuditDropped prometheus.Counter
	AuditWritten prometheus.Counter
	DenyList     prometheus.Gauge
	Mail         *prometheus.CounterVec // by kind and outcome (sent, retried, failed, dropped)
}

// New returns Metrics registered on a fresh registry, with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_http_requests_total", Help: "HTTP requests served, by method, route and status.",
		}, []string{"method", "route", "status"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "auth_http_request_duration_seconds", Help: "HTTP request latency, by route.",
			// Up to the default 10 s deadline of every request (REQUEST_TIMEOUT).
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		BcryptWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auth_bcrypt_queue_wait_seconds",
			Help: "Time a password hash or check waited for a free bcrypt slot (BCRYPT_CONCURRENCY); over 5 s it gives up with 503.",
			// Up to the 5 s a caller waits before 503.
			Buckets: []float64{.0001, .0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		AuthEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_events_total", Help: "Auth events (the audit event types), by type.",
		}, []string{"type"}),
		AuditDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auth_audit_events_dropped_total", Help: "Audit events dropped because the write queue was full or the database failed.",
		}),
		AuditWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auth_audit_events_written_total", Help: "Audit events written to the database.",
		}),
		Mail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_mail_total", Help: "Mails by kind and outcome: sent, retried (an attempt failed), failed (given up), dropped (queue full or stopping).",
		}, []string{"kind", "outcome"}),
		DenyList: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auth_deny_list_entries", Help: "Entries in this instance's in-memory access-token deny list.",
		}),
	}
	m.Registry.MustRegister(m.Requests, m.Duration, m.BcryptWait, m.AuthEvents, m.AuditDropped, m.AuditWritten, m.DenyList,
		m.Mail, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	return m
}

// WatchPool exports the statistics of the database connection pool db (go_sql_* metrics with
// db_name="name": open, in use and idle connections, waits for a connection and their total time).
func (m *Metrics) WatchPool(db *sql.DB, name string) {
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// standardMethods are the HTTP methods that get their own label value; any other is "OTHER".
var standardMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true,
	"OPTIONS": true, "CONNECT": true, "TRACE": true,
}

// Method returns the label value for an HTTP method: the method itself when it is a standard
// one, else "OTHER", so clients cannot create a new series per invented method.
func Method(method string) string {
	if standardMethods[method] {
		return method
	}
	return "OTHER"
}
