package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// requireServices skips the test when TEST_DATABASE_URL or TEST_REDIS_URL is not set, or fails
// it under CI=true, where both must be there.
func requireServices(t *testing.T) {
	t.Helper()
	for _, name := range []string{"TEST_DATABASE_URL", "TEST_REDIS_URL"} {
		if os.Getenv(name) != "" {
			continue
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set (CI=true: PostgreSQL and Redis must be there)", name)
		}
		t.Skipf("%s is not set", name)
	}
}

// soakPasswords are the two passphrases each simulated user changes between.
var soakPasswords = [2]string{testPassword, "amber-Otter-meadow-17"}

// soakStats counts what the simulated users saw.
type soakStats struct {
	requests, fiveXX, falseReuse, lost, transport, races, changes, logoutAlls atomic.Int64

	mu       sync.Mutex
	problems []string
}

// problem records one unexpected answer (the first 20 are kept for the report).
func (s *soakStats) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) < 20 {
		s.problems = append(s.problems, fmt.Sprintf(format, args...))
	}
}

// soakUser is one simulated user: one browser whose tabs share a session.
type soakUser struct {
	c               *client
	email           string
	pw              int // index into soakPasswords
	access, refresh string
	cycles          int
}

// call sends one request and counts it: transport failures, 5xx and TOKEN_REUSE are problems.
func (u *soakUser) call(st *soakStats, method, path string, body any, bearer string, headers ...string) (reply, bool) {
	st.requests.Add(1)
	r, err := u.c.try(method, path, body, bearer, headers...)
	switch {
	case err != nil:
		st.transport.Add(1)
		st.problem("%s: %v", u.email, err)
		return r, false
	case r.status >= 500:
		st.fiveXX.Add(1)
		st.problem("%s: %s = %d %s", u.email, r.what, r.status, r.raw)
	case r.str("code") == "TOKEN_REUSE":
		st.falseReuse.Add(1)
		st.problem("%s: %s = TOKEN_REUSE", u.email, r.what)
	}
	return r, true
}

// want counts r as a lost session unless it has status.
func (u *soakUser) want(st *soakStats, r reply, status int) bool {
	if r.status != status {
		st.lost.Add(1)
		st.problem("%s: %s = %d %s, want %d", u.email, r.what, r.status, tail(r.raw, 200), status)
		return false
	}
	return true
}

// refreshOnce rotates the session's refresh token; with two tabs, both present the same token at
// once and must both get the same new one.
func (u *soakUser) refreshOnce(st *soakStats, tabs int) bool {
	replies := make([]reply, tabs)
	oks := make([]bool, tabs)
	var wg sync.WaitGroup
	for n := range tabs {
		wg.Go(func() {
			replies[n], oks[n] = u.call(st, "POST", "/api/auth/refresh", nil, "", "Cookie", "refreshToken="+u.refresh)
		})
	}
	wg.Wait()
	for n := range tabs {
		if !oks[n] || !u.want(st, replies[n], http.StatusOK) {
			return false
		}
	}
	next := replies[0].cookieValue("refreshToken")
	for _, r := range replies[1:] {
		if r.cookieValue("refreshToken") != next {
			st.problem("%s: racing tabs got different refresh tokens", u.email)
			return false
		}
	}
	if tabs > 1 {
		st.races.Add(1)
	}
	u.access, u.refresh = replies[0].str("accessToken"), next
	return true
}

// cycle is one round of a user's life: log in when logged out, read the profile, refresh (every
// third time from two tabs at once), change the password every fifth round, and log out
// everywhere every seventh.
func (u *soakUser) cycle(st *soakStats) {
	defer func() { u.cycles++ }()
	if u.access == "" {
		r, ok := u.call(st, "POST", "/api/auth/login", map[string]string{"email": u.email, "password": soakPasswords[u.pw]}, "")
		if !ok || !u.want(st, r, http.StatusOK) {
			return
		}
		u.access, u.refresh = r.str("accessToken"), r.cookieValue("refreshToken")
	}
	if r, ok := u.call(st, "GET", "/api/profile", nil, u.access); !ok || !u.want(st, r, http.StatusOK) {
		u.access = ""
		return
	}
	tabs := 1
	if u.cycles%3 == 0 {
		tabs = 2
	}
	if !u.refreshOnce(st, tabs) {
		u.access = ""
		return
	}
	if u.cycles%5 == 4 {
		body := map[string]string{"currentPassword": soakPasswords[u.pw], "newPassword": soakPasswords[1-u.pw]}
		r, ok := u.call(st, "POST", "/api/auth/password", body, u.access)
		if !ok || !u.want(st, r, http.StatusOK) {
			u.access = ""
			return
		}
		u.pw = 1 - u.pw
		st.changes.Add(1)
		if r, ok := u.call(st, "GET", "/api/me", nil, u.access); !ok || !u.want(st, r, http.StatusOK) {
			u.access = ""
			return
		}
	}
	if u.cycles%7 == 6 {
		if r, ok := u.call(st, "POST", "/api/auth/logout-all", nil, u.access); ok && u.want(st, r, http.StatusOK) {
			st.logoutAlls.Add(1)
			if r, ok := u.call(st, "GET", "/api/profile", nil, u.access); ok && r.str("code") != "TOKEN_REVOKED" {
				st.problem("%s: profile after logout-all = %d %s, want TOKEN_REVOKED", u.email, r.status, r.raw)
			}
		}
		u.access = ""
	}
}

// sample is one reading of the server's resources.
type sample struct {
	at                             time.Duration
	goroutines, heapMB, rssMB, fds float64
	dbConns                        int
}

func (s sample) String() string {
	return fmt.Sprintf("t=%5.1fs goroutines=%4.0f heap_inuse=%6.1fMB rss=%6.1fMB open_fds=%3.0f db_conns=%2d",
		s.at.Seconds(), s.goroutines, s.heapMB, s.rssMB, s.fds, s.dbConns)
}

// read takes a sample of p's resources and of its database connections.
func read(p *process, start time.Time, conns func() (int, error)) (sample, error) {
	m, err := p.metrics("go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes", "process_open_fds")
	if err != nil {
		return sample{}, err
	}
	n, err := conns()
	if err != nil {
		return sample{}, err
	}
	return sample{at: time.Since(start), goroutines: m["go_goroutines"], heapMB: m["go_memstats_heap_inuse_bytes"] / (1 << 20),
		rssMB: m["process_resident_memory_bytes"] / (1 << 20), fds: m["process_open_fds"], dbConns: n}, nil
}

// envInt reads a positive integer setting, or def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// TestSoak runs the real server binary on PostgreSQL and Redis under simulated users for
// SOAK_DURATION (the test is skipped without it; .ci/run uses a short one), SOAK_USERS users
// (default 12), at most SOAK_CYCLES rounds each (default 100000). It fails on any 5xx, any
// TOKEN_REUSE (no user ever replays a token), any session that stops working while it should
// not, or resources that do not come back to where they were after the warm-up.
//
//	SOAK_DURATION=5m SOAK_USERS=40 go test ./cmd/server -run TestSoak -v -timeout 30m
func TestSoak(t *testing.T) {
	raw := os.Getenv("SOAK_DURATION")
	if raw == "" {
		t.Skip("SOAK_DURATION is not set (e.g. SOAK_DURATION=30s)")
	}
	duration, err := time.ParseDuration(raw)
	if err != nil || duration <= 0 {
		t.Fatalf("SOAK_DURATION=%q: want a positive duration", raw)
	}
	requireServices(t)
	users, maxCycles := envInt(t, "SOAK_USERS", 12), envInt(t, "SOAK_CYCLES", 100000)

	dbURL, conns := trackedDatabase(t)
	env := baseEnv(dbURL)
	env["REDIS_URL"] = os.Getenv("TEST_REDIS_URL")
	env["REFRESH_REUSE_GRACE"] = "30s"
	p := startProcess(t, env)

	st := &soakStats{}
	sim := make([]*soakUser, users)
	for n := range sim {
		u := &soakUser{c: &client{t: t, base: p.url, http: &http.Client{Timeout: 30 * time.Second}}, email: uniqueEmail("soak" + strconv.Itoa(n))}
		u.c.register(u.email)
		sim[n] = u
	}
	run := func(until time.Time, rounds int) {
		var wg sync.WaitGroup
		for _, u := range sim {
			wg.Go(func() {
				for r := 0; r < rounds && u.cycles < maxCycles && time.Now().Before(until); r++ {
					u.cycle(st)
				}
			})
		}
		wg.Wait()
		for _, u := range sim {
			u.c.http.CloseIdleConnections()
		}
	}
	start := time.Now()
	settle := func(what string) sample {
		// The server notices closed keep-alive connections a moment after the clients close
		// them: read until two readings in a row agree.
		var prev, s sample
		for n := range 50 {
			if s, err = read(p, start, conns); err != nil {
				t.Fatalf("read the server's resources (%s): %v", what, err)
			}
			if n > 0 && s.goroutines == prev.goroutines && s.fds == prev.fds && s.dbConns == prev.dbConns {
				break
			}
			prev = s
			time.Sleep(200 * time.Millisecond)
		}
		return s
	}

	run(start.Add(duration), 3) // warm-up: every pool, cache and buffer filled once
	base := settle("after the warm-up")

	curve := []sample{base}
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(max(duration/10, time.Second))
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if s, err := read(p, start, conns); err == nil {
					curve = append(curve, s)
				}
			}
		}
	}()
	run(start.Add(duration), maxCycles)
	close(stop)
	<-sampled
	end := settle("at the end")
	curve = append(curve, end)

	cycles := 0
	for _, u := range sim {
		cycles += u.cycles
	}
	t.Logf("soak: %d users, %d rounds, %d requests in %s; %d two-tab races, %d password changes, %d logout-alls",
		users, cycles, st.requests.Load(), time.Since(start).Round(time.Second), st.races.Load(), st.changes.Load(), st.logoutAlls.Load())
	t.Logf("soak: 5xx %d, false TOKEN_REUSE %d, lost sessions %d, transport errors %d",
		st.fiveXX.Load(), st.falseReuse.Load(), st.lost.Load(), st.transport.Load())
	var lines []string
	for _, s := range curve {
		lines = append(lines, s.String())
	}
	t.Logf("soak: server resources (first after the warm-up, last after the clients closed their connections):\n%s", strings.Join(lines, "\n"))

	for _, p := range st.problems {
		t.Error(p)
	}
	if n := st.fiveXX.Load() + st.falseReuse.Load() + st.lost.Load() + st.transport.Load(); n > 0 {
		t.Errorf("soak: %d problems, want none", n)
	}
	// The pools (database, Redis) may grow after the warm-up up to their bounds; anything else
	// must come back to where it was once the clients have gone.
	switch {
	case end.goroutines > base.goroutines+5:
		t.Errorf("soak: goroutines %v after the warm-up, %v at the end: they grew", base.goroutines, end.goroutines)
	case end.fds-float64(end.dbConns) > base.fds-float64(base.dbConns)+10:
		t.Errorf("soak: open files other than database connections %v after the warm-up, %v at the end: they grew",
			base.fds-float64(base.dbConns), end.fds-float64(end.dbConns))
	case end.heapMB > 2*base.heapMB+16:
		t.Errorf("soak: heap in use %.1fMB after the warm-up, %.1fMB at the end: it grew", base.heapMB, end.heapMB)
	case end.dbConns > 20:
		t.Errorf("soak: %d database connections at the end, want at most the pool's 20", end.dbConns)
	}
}
