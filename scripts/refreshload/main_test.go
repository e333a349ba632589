package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestRun drives chains against a server that rotates numbered tokens (t1 → t2 → ...) and
// answers 401 to any other: every chain's refreshes are counted, and a chain that presents a
// spent token counts as a failure.
func TestRun(t *testing.T) {
	var (
		mu      sync.Mutex
		current = map[string]string{} // chain prefix -> its current token
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ RefreshToken string }
		if r.URL.Path != "/api/auth/refresh" || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		prefix, n, _ := strings.Cut(body.RefreshToken, ".")
		mu.Lock()
		defer mu.Unlock()
		if cur, ok := current[prefix]; ok && cur != body.RefreshToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"TOKEN_REUSE"}}`))
			return
		}
		i, _ := strconv.Atoi(n)
		next := prefix + "." + strconv.Itoa(i+1)
		current[prefix] = next
		_ = json.NewEncoder(w).Encode(map[string]any{"accessToken": "a", "tokenType": "Bearer", "expiresIn": 900, "refreshToken": next})
	}))
	defer srv.Close()

	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("a.1\nb.1\nc.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run([]string{"-url", srv.URL, "-tokens", file, "-c", "3", "-d", "300ms"}, &out); err != nil {
		t.Fatalf("run = %v", err)
	}
	var total int
	for _, p := range []string{"a", "b", "c"} {
		i, _ := strconv.Atoi(strings.TrimPrefix(current[p], p+"."))
		total += i - 1
	}
	if total == 0 || !strings.Contains(out.String(), strconv.Itoa(total)+" refreshes in") || !strings.Contains(out.String(), "refresh failures: 0") {
		t.Errorf("output %q, want %d refreshes and no failure", out.String(), total)
	}

	// The same tokens again: each chain's first token is spent now.
	out.Reset()
	if err := run([]string{"-url", srv.URL, "-tokens", file, "-c", "2", "-d", "100ms"}, &out); err != nil {
		t.Fatalf("second run = %v", err)
	}
	if !strings.Contains(out.String(), "0 refreshes in") || !strings.Contains(out.String(), "refresh failures: 2") {
		t.Errorf("output with spent tokens %q, want 0 refreshes and 2 failures", out.String())
	}
	if err := run([]string{"-url", srv.URL, "-tokens", file, "-c", "4"}, &out); err == nil {
		t.Error("run with 3 tokens for 4 connections succeeded, want an error")
	}
}
