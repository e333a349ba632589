package metrics_test

import (
	"bytes"
	"database/sql"
	"strings"
	"sync"
	"testing"

	"github.com/authserver/authserver/internal/metrics"
)

// exposition returns m's /metrics text.
func exposition(m *metrics.Metrics) string {
	var b bytes.Buffer
	m.WritePrometheus(&b)
	return b.String()
}

func TestExposition(t *testing.T) {
	m := metrics.New()
	m.WatchPool(&sql.DB{}, "postgres")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				m.Requests.WithLabelValues("GET", "/api/profile", "200").Inc()
			}
		})
	}
	wg.Wait()
	m.Requests.WithLabelValues("POST", `/odd"route\`+"\n", "400").Inc()
	m.Duration.WithLabelValues("/api/profile").Observe(0.003)
	m.BcryptWait.Observe(0.2)
	m.AuditDropped.Add(3)
	m.DenyList.Set(4)
	m.Mail.WithLabelValues("verify", "sent").Inc()
	m.AuthEvents.WithLabelValues("login_succeeded").Inc()

	got := exposition(m)
	for _, want := range []string{
		"# TYPE auth_http_requests_total counter\n",
		`auth_http_requests_total{method="GET",route="/api/profile",status="200"} 800` + "\n",
		`auth_http_requests_total{method="POST",route="/odd\"route\\\n",status="400"} 1` + "\n",
		"# TYPE auth_http_request_duration_seconds histogram\n",
		`auth_http_request_duration_seconds_bucket{route="/api/profile",le="0.0025"} 0` + "\n",
		`auth_http_request_duration_seconds_bucket{route="/api/profile",le="0.005"} 1` + "\n",
		`auth_http_request_duration_seconds_bucket{route="/api/profile",le="+Inf"} 1` + "\n",
		`auth_http_request_duration_seconds_count{route="/api/profile"} 1` + "\n",
		`auth_bcrypt_queue_wait_seconds_bucket{le="0.25"} 1` + "\n",
		"auth_audit_events_dropped_total 3\n",
		"auth_audit_events_written_total 0\n",
		"auth_deny_list_entries 4\n",
		`auth_mail_total{kind="verify",outcome="sent"} 1` + "\n",
		`auth_events_total{type="login_succeeded"} 1` + "\n",
		`go_sql_max_open_connections{db_name="postgres"} 0` + "\n",
		"# TYPE go_sql_wait_count_total counter\n",
		"go_build_info{checksum=",
		"go_goroutines ", "go_memstats_heap_inuse_bytes ", "process_resident_memory_bytes ", "process_open_fds ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("exposition has no %q", want)
		}
	}
}

func TestWrongLabelCountPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("WithLabelValues with one value for three labels did not panic")
		}
	}()
	metrics.New().Requests.WithLabelValues("GET")
}

func TestMethodFoldsInventedMethods(t *testing.T) {
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": "OTHER", "PROPFIND": "OTHER"} {
		if got := metrics.Method(in); got != want {
			t.Errorf("Method(%q) = %q, want %q", in, got, want)
		}
	}
}
