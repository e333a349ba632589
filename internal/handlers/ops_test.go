package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/logtest"
	"github.com/authserver/authserver/internal/models"
)

// logLines returns the JSON log lines of buf that have request_id id.
func logLines(t *testing.T, buf *logtest.Buffer, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if m["request_id"] == id {
			out = append(out, m)
		}
	}
	return out
}

func TestRequestID(t *testing.T) {
	var logs logtest.Buffer
	e := newEnv(t, func(c *envConfig) { c.Log = &logs })
	email := "reqid@example.com"
	e.register(email)

	// A client's id is kept, echoed, and carried by the request log line, the auth event line
	// and the audit event.
	rec := e.do(req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": email, "password": "wrong-password-123"},
		headers: map[string]string{"X-Request-ID": "trace-7f3a:login/1"}})
	expect(t, "POST /api/auth/login (wrong password)", rec, http.StatusUnauthorized, "INVALID_CREDENTIALS")
	if got := rec.Header().Get("X-Request-ID"); got != "trace-7f3a:login/1" {
		t.Errorf("login X-Request-ID = %q, want the client's trace-7f3a:login/1", got)
	}
	e.flushAudit()
	msgs := map[any]bool{}
	for _, l := range logLines(t, &logs, "trace-7f3a:login/1") {
		msgs[l["msg"]] = true
	}
	if !msgs["request"] || !msgs["auth event"] {
		t.Errorf("log lines with request_id trace-7f3a:login/1 = %v, want the request line and the auth event line", msgs)
	}
	events, err := e.store.AuditEvents(context.Background(), models.AuditFilter{Type: models.AuditLoginFailed})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range events {
		var d models.AuditDetail
		if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
			t.Fatalf("audit detail %q: %v", ev.Detail, err)
		}
		found = found || d.RequestID == "trace-7f3a:login/1"
	}
	if !found {
		t.Errorf("login_failed audit events = %+v, want one with detail.requestId trace-7f3a:login/1", events)
	}

	// Anything else gets a fresh id.
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, bad := range []string{"", strings.Repeat("a", 65), "two words", "tab\tid", "é"} {
		rec := e.do(req{method: "GET", path: "/healthz", headers: map[string]string{"X-Request-ID": bad}})
		got := rec.Header().Get("X-Request-ID")
		if !generated.MatchString(got) {
			t.Errorf("GET /healthz with X-Request-ID %q answered X-Request-ID %q, want a fresh 32-hex id", bad, got)
		}
		if len(logLines(t, &logs, got)) != 1 {
			t.Errorf("log lines with the generated request_id %q: want exactly the request line", got)
		}
	}
	if a, b := e.do(req{method: "GET", path: "/healthz"}).Header().Get("X-Request-ID"),
		e.do(req{method: "GET", path: "/healthz"}).Header().Get("X-Request-ID"); a == b {
		t.Errorf("two requests without X-Request-ID got the same id %q", a)
	}
}

// metricLines returns the lines of GET /metrics that start with name.
func (e *testEnv) metricLines(name string) []string {
	e.t.Helper()
	rec := e.do(req{method: "GET", path: "/metrics"})
	expect(e.t, "GET /metrics", rec, http.StatusOK, "")
	var out []string
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, name) {
			out = append(out, line)
		}
	}
	return out
}

func TestMetricsFoldInventedMethodsAndRoutes(t *testing.T) {
	e := newEnv(t, nil)
	for _, m := range []string{"FOO1", "FOO2", "PROPFIND", "get"} {
		for _, path := range []string{"/healthz", "/no/such/path", "/api/me/x"} {
			e.do(req{method: m, path: path})
		}
	}
	e.do(req{method: "GET", path: "/no/such/path-either"})
	var labels []string
	for _, line := range e.metricLines("auth_http_requests_total{") {
		labels = append(labels, line[:strings.LastIndex(line, " ")])
	}
	for _, l := range labels {
		for _, invented := range []string{"FOO1", "FOO2", "PROPFIND", `"get"`, "/no/such", "/api/me/x"} {
			if strings.Contains(l, invented) {
				t.Errorf("auth_http_requests_total series %s: want no series per invented method or unknown path", l)
			}
		}
	}
	for _, want := range []string{
		`auth_http_requests_total{method="OTHER",route="unmatched",status="404"}`,
		`auth_http_requests_total{method="OTHER",route="unmatched",status="405"}`,
		`auth_http_requests_total{method="GET",route="unmatched",status="404"}`,
	} {
		found := false
		for _, l := range labels {
			found = found || l == want
		}
		if !found {
			t.Errorf("auth_http_requests_total series = %q, want %s", labels, want)
		}
	}
}

func TestMetricsOperations(t *testing.T) {
	e := newEnv(t, nil)
	e.register("metrics@example.com")
	e.login("metrics@example.com")
	for _, tt := range []struct{ prefix, why string }{
		{`auth_http_request_duration_seconds_bucket{route="/api/auth/login",le="10"}`, "buckets up to the 10 s deadline"},
		{"auth_bcrypt_queue_wait_seconds_count 2", "one wait per bcrypt use (register, login)"},
		{"go_sql_open_connections{db_name=", "database pool gauges"},
		{"go_sql_max_open_connections{db_name=", "database pool gauges"},
		{"go_build_info{", "build information"},
	} {
		if len(e.metricLines(tt.prefix)) == 0 {
			t.Errorf("GET /metrics has no line starting %s, want %s", tt.prefix, tt.why)
		}
	}
}
