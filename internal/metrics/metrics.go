// Package metrics defines the metrics the server exports on /metrics, in the Prometheus text
// format, with github.com/VictoriaMetrics/metrics: a small library next to the Prometheus client,
// whose protobuf model and collectors cost about 2 MB of binary (see docs/performance.md).
package metrics

import (
	"database/sql"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"

	vm "github.com/VictoriaMetrics/metrics"
)

// Metrics holds the server's metrics.
type Metrics struct {
	set          *vm.Set
	Requests     *CounterVec   // by method (Method folds it), route, status
	Duration     *HistogramVec // by route
	BcryptWait   *Histogram    // how long a password check or hash waited for a bcrypt slot
	AuthEvents   *CounterVec   // by audit event type
	AuditDropped *vm.Counter
	AuditWritten *vm.Counter
	DenyList     *vm.Gauge
	Mail         *CounterVec // by kind and outcome (sent, retried, failed, dropped)
}

// New returns a fresh set of the server's metrics; WritePrometheus adds the Go runtime and
// process metrics and the build information.
func New() *Metrics {
	vm.ExposeMetadata(true) // # TYPE lines, as Prometheus clients write them
	set := vm.NewSet()
	m := &Metrics{
		set:      set,
		Requests: newCounterVec(set, "auth_http_requests_total", "method", "route", "status"),
		// Up to the default 10 s deadline of every request (REQUEST_TIMEOUT).
		Duration: newHistogramVec(set, "auth_http_request_duration_seconds",
			[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}, "route"),
		// Up to the 5 s a caller waits before 503.
		BcryptWait: &Histogram{set.NewPrometheusHistogramExt("auth_bcrypt_queue_wait_seconds",
			[]float64{.0001, .0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5})},
		AuthEvents:   newCounterVec(set, "auth_events_total", "type"),
		AuditDropped: set.NewCounter("auth_audit_events_dropped_total"),
		AuditWritten: set.NewCounter("auth_audit_events_written_total"),
		Mail:         newCounterVec(set, "auth_mail_total", "kind", "outcome"),
		DenyList:     set.NewGauge("auth_deny_list_entries", nil),
	}
	set.RegisterMetricsWriter(writeBuildInfo)
	return m
}

// WritePrometheus writes every metric to w in the Prometheus text format (version 0.0.4).
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	vm.WriteProcessMetrics(w) // go_* and process_*
	vm.WriteFDMetrics(w)      // process_open_fds, process_max_fds
}

// WatchPool exports the statistics of the database connection pool db (go_sql_* metrics with
// db_name="name": open, in use and idle connections, waits for a connection and their total time,
// connections closed for being idle or old), the names Prometheus's Go client uses.
func (m *Metrics) WatchPool(db *sql.DB, name string) {
	label := "{db_name=" + quote(name) + "}"
	m.set.RegisterMetricsWriter(func(w io.Writer) {
		s := db.Stats()
		vm.WriteGaugeUint64(w, "go_sql_max_open_connections"+label, uint64(s.MaxOpenConnections))
		vm.WriteGaugeUint64(w, "go_sql_open_connections"+label, uint64(s.OpenConnections))
		vm.WriteGaugeUint64(w, "go_sql_in_use_connections"+label, uint64(s.InUse))
		vm.WriteGaugeUint64(w, "go_sql_idle_connections"+label, uint64(s.Idle))
		vm.WriteCounterUint64(w, "go_sql_wait_count_total"+label, uint64(s.WaitCount))
		vm.WriteCounterFloat64(w, "go_sql_wait_duration_seconds_total"+label, s.WaitDuration.Seconds())
		vm.WriteCounterUint64(w, "go_sql_max_idle_closed_total"+label, uint64(s.MaxIdleClosed))
		vm.WriteCounterUint64(w, "go_sql_max_idle_time_closed_total"+label, uint64(s.MaxIdleTimeClosed))
		vm.WriteCounterUint64(w, "go_sql_max_lifetime_closed_total"+label, uint64(s.MaxLifetimeClosed))
	})
}

// writeBuildInfo writes go_build_info{checksum,path,version} 1, for the main module.
func writeBuildInfo(w io.Writer) {
	path, version, sum := "unknown", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		path, version, sum = bi.Main.Path, bi.Main.Version, bi.Main.Sum
	}
	vm.WriteGaugeUint64(w, fmt.Sprintf("go_build_info{checksum=%s,path=%s,version=%s}", quote(sum), quote(path), quote(version)), 1)
}

// quote returns v as a quoted label value: backslash, double quote and newline escaped.
func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}

// Histogram counts observations in fixed buckets.
type Histogram struct {
	h *vm.PrometheusHistogram
}

// Observe counts one observation of v.
func (h *Histogram) Observe(v float64) { h.h.Update(v) }

// maxLabels is the most labels a vector has.
const maxLabels = 3

// vec holds one metric per combination of label values, made on first use.
type vec[M any] struct {
	set       *vm.Set
	name      string
	labels    []string
	newSeries func(set *vm.Set, series string) M

	mu     sync.RWMutex
	series map[[maxLabels]string]M
}

func newVec[M any](set *vm.Set, name string, labels []string, newSeries func(set *vm.Set, series string) M) *vec[M] {
	if len(labels) > maxLabels {
		panic("metrics: more than " + fmt.Sprint(maxLabels) + " labels for " + name)
	}
	return &vec[M]{set: set, name: name, labels: labels, newSeries: newSeries, series: map[[maxLabels]string]M{}}
}

// WithLabelValues returns the metric of these label values, in the order of the vector's labels.
func (v *vec[M]) WithLabelValues(values ...string) M {
	if len(values) != len(v.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", v.name, len(v.labels), len(values)))
	}
	var key [maxLabels]string
	copy(key[:], values)
	v.mu.RLock()
	m, ok := v.series[key]
	v.mu.RUnlock()
	if ok {
		return m
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if m, ok := v.series[key]; ok {
		return m
	}
	series, sep := v.name, "{"
	for i, l := range v.labels {
		series += sep + l + "=" + quote(values[i])
		sep = ","
	}
	m = v.newSeries(v.set, series+"}")
	v.series[key] = m
	return m
}

// CounterVec is a counter per combination of label values.
type CounterVec = vec[*vm.Counter]

func newCounterVec(set *vm.Set, name string, labels ...string) *CounterVec {
	return newVec(set, name, labels, (*vm.Set).NewCounter)
}

// HistogramVec is a histogram per combination of label values, with the same buckets.
type HistogramVec = vec[*Histogram]

func newHistogramVec(set *vm.Set, name string, buckets []float64, labels ...string) *HistogramVec {
	return newVec(set, name, labels, func(set *vm.Set, series string) *Histogram {
		return &Histogram{set.NewPrometheusHistogramExt(series, buckets)}
	})
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
