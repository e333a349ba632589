// Package metrics defines the Prometheus collectors the server exports on /metrics.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the server's collectors, registered on Registry.
type Metrics struct {
	Registry     *prometheus.Registry
	Requests     *prometheus.CounterVec   // by method, route, status
	Duration     *prometheus.HistogramVec // by route
	AuthEvents   *prometheus.CounterVec   // by audit event type
	AuditDropped prometheus.Counter
	AuditWritten prometheus.Counter
	DenyList     prometheus.Gauge
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
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		AuthEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_events_total", Help: "Auth events (the audit event types), by type.",
		}, []string{"type"}),
		AuditDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auth_audit_events_dropped_total", Help: "Audit events dropped because the write queue was full or the database failed.",
		}),
		AuditWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auth_audit_events_written_total", Help: "Audit events written to the database.",
		}),
		DenyList: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auth_deny_list_entries", Help: "Entries in this instance's in-memory access-token deny list.",
		}),
	}
	m.Registry.MustRegister(m.Requests, m.Duration, m.AuthEvents, m.AuditDropped, m.AuditWritten, m.DenyList,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
