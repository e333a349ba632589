package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestCrashDuringRefreshes SIGKILLs the real server binary in the middle of a burst of refreshes
// and logins, starts it again on the same database, and checks every session: the last refresh
// token its client received must still work (it is the current one, or the one just replaced and
// inside the reuse grace), and the session must go on rotating. A session left half-rotated (the
// database moved on, the client never heard of it, the grace refusing the client's token) would
// answer TOKEN_REUSE or INVALID_REFRESH_TOKEN instead.
func TestCrashDuringRefreshes(t *testing.T) {
	requireServices(t)
	dbURL, _ := trackedDatabase(t)
	env := baseEnv(dbURL)
	env["REFRESH_REUSE_GRACE"] = "5m" // outlives the restart
	p := startProcess(t, env)

	const users = 6
	type tab struct {
		c     *client
		email string
		last  string // the last refresh token this client received
	}
	tabs := make([]*tab, users)
	for n := range tabs {
		tb := &tab{c: &client{t: t, base: p.url, http: &http.Client{Timeout: 30 * time.Second}}, email: uniqueEmail("crash")}
		tb.c.register(tb.email)
		_, tb.last = tb.c.login(tb.email)
		tabs[n] = tb
	}

	var refreshed atomic.Int64
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for n, tb := range tabs {
		wg.Go(func() {
			for {
				select {
				case <-killed:
					return
				default:
				}
				if n == 0 { // one client keeps logging in too: sessions being created when the kill lands
					if _, err := tb.c.try("POST", "/api/auth/login", map[string]string{"email": tb.email, "password": testPassword}, ""); err != nil {
						return
					}
				}
				r, err := tb.c.try("POST", "/api/auth/refresh", nil, "", "Cookie", "refreshToken="+tb.last)
				if err != nil {
					return // the server died under this request: its answer never came
				}
				if r.status != http.StatusOK {
					t.Errorf("%s before the kill: refresh = %d %s", tb.email, r.status, r.raw)
					return
				}
				tb.last = r.cookieValue("refreshToken")
				refreshed.Add(1)
			}
		})
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	for refreshed.Load() < 60 {
		select {
		case <-stopped:
			t.Fatalf("the clients stopped after %d refreshes, before the kill", refreshed.Load())
		case <-time.After(5 * time.Millisecond):
		}
	}
	p.signal(syscall.SIGKILL)
	close(killed)
	wg.Wait()
	if p.wait(30*time.Second) == nil {
		t.Fatal("the server did not die of SIGKILL within 30s")
	}
	t.Logf("killed after %d completed refreshes", refreshed.Load())

	p2 := startProcess(t, env)
	for _, tb := range tabs {
		tb.c.base = p2.url
		for round := range 2 {
			r := tb.c.do("POST", "/api/auth/refresh", nil, "", "Cookie", "refreshToken="+tb.last)
			if r.status != http.StatusOK {
				t.Errorf("%s after the restart, refresh %d with the last token it received = %d %s, want 200", tb.email, round+1, r.status, r.raw)
				break
			}
			tb.last = r.cookieValue("refreshToken")
		}
	}
}

// heldRequest is a POST whose handler is already running, reading its body, which has not
// been sent yet: a request in flight for as long as the test wants.
type heldRequest struct {
	conn net.Conn
	br   *bufio.Reader
	body string
}

// holdPost sends the head of POST path with body's length and Expect: 100-continue, and returns
// once the server answers 100 Continue, which it does when the handler chain starts reading.
func holdPost(t *testing.T, base, path, body string) *heldRequest {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatalf("dial %s: %v", base, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(90 * time.Second)); err != nil {
		t.Fatal(err)
	}
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", path, host, len(body))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatalf("write the head of POST %s: %v", path, err)
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("after the head of POST %s, read %q, %v; want HTTP/1.1 100 Continue", path, line, err)
	}
	if blank, err := br.ReadString('\n'); err != nil || blank != "\r\n" {
		t.Fatalf("after 100 Continue, read %q, %v; want an empty line", blank, err)
	}
	return &heldRequest{conn: conn, br: br, body: body}
}

// finish sends the body and reads the answer.
func (h *heldRequest) finish() (status int, body string, err error) {
	if _, err := io.WriteString(h.conn, h.body); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), err
}

// TestSIGTERMUnderLoad sends SIGTERM to the real server binary while logins and refreshes are in
// flight (their handlers running) and other clients keep calling it: every request in flight gets
// its full answer, 200, after the signal; the process exits with status 0 (it exits 1 when
// SHUTDOWN_TIMEOUT passes with requests still running); afterwards the port is closed.
func TestSIGTERMUnderLoad(t *testing.T) {
	requireServices(t)
	dbURL, _ := trackedDatabase(t)
	env := baseEnv(dbURL)
	env["SHUTDOWN_TIMEOUT"] = "60s"
	p := startProcess(t, env)
	c := newClient(t, p.url)
	email := uniqueEmail("sigterm")
	c.register(email)
	login := fmt.Sprintf(`{"email":%q,"password":%q}`, email, testPassword)

	// Tokens first: a held request's 10s deadline runs from the moment its handler starts.
	access, _ := c.login(email)
	var refreshes []string
	for range 2 {
		_, refresh := c.login(email)
		refreshes = append(refreshes, refresh)
	}
	// Other clients keep the server busy with protected reads until it stops answering.
	var background sync.WaitGroup
	var served atomic.Int64
	for range 4 {
		background.Go(func() {
			bc := &client{t: t, base: p.url, http: &http.Client{Timeout: 10 * time.Second}}
			for {
				r, err := bc.try("GET", "/api/profile", nil, access)
				if err != nil || r.status != http.StatusOK {
					return
				}
				served.Add(1)
			}
		})
	}
	var held []*heldRequest
	for _, refresh := range refreshes {
		held = append(held, holdPost(t, p.url, "/api/auth/login", login),
			holdPost(t, p.url, "/api/auth/refresh", fmt.Sprintf(`{"refreshToken":%q}`, refresh)))
	}

	sent := time.Now()
	p.signal(syscall.SIGTERM)
	eventually(t, 30*time.Second, `log line "shutting down" after SIGTERM`, func() (bool, string) {
		return strings.Contains(p.stdout.String(), `"msg":"shutting down"`), tail(p.stdout.String(), 500)
	})
	for n, h := range held {
		status, body, err := h.finish()
		if err != nil || status != http.StatusOK {
			t.Errorf("request %d in flight at SIGTERM = %d %s, %v; want 200", n, status, body, err)
		}
	}
	state := p.wait(90 * time.Second)
	took := time.Since(sent)
	background.Wait()
	if state == nil {
		t.Fatal("the server had not exited 90s after SIGTERM")
	}
	t.Logf("SIGTERM: %d requests in flight all answered; exit status %d %s after the signal; %d profile reads served meanwhile",
		len(held), state.ExitCode(), took.Round(time.Millisecond), served.Load())
	if state.ExitCode() != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0", state.ExitCode())
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(p.url, "http://"), 2*time.Second); err == nil {
		_ = conn.Close()
		t.Errorf("dial %s after the server exited succeeded, want the port closed", p.url)
	}
}
