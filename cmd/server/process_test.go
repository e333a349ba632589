package main

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/logtest"
	"github.com/authserver/authserver/internal/store/storetest"
)

// binDir holds the binary built by binary; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds the server once per test run, into binDir, with the build tags of the shipped
// binary (scripts/build-tags).
var binary = sync.OnceValues(func() (string, error) {
	tags, err := os.ReadFile("../../scripts/build-tags")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "authserver-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	path := filepath.Join(dir, "server")
	out, err := exec.Command("go", "build", "-tags", strings.TrimSpace(string(tags)), "-o", path, ".").CombinedOutput()
	if err != nil {
		return "", errors.New("go build: " + err.Error() + "\n" + string(out))
	}
	return path, nil
})

// process is the real server binary, running.
type process struct {
	t      *testing.T
	url    string
	cmd    *exec.Cmd
	stdout *logtest.Buffer
	done   chan struct{}
	state  *os.ProcessState
}

// startProcess runs the built binary ("serve") with exactly env plus PORT (and PATH), and waits
// until /healthz answers 200. It is killed in t.Cleanup if still running.
func startProcess(t *testing.T, env map[string]string) *process {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("build the server: %v", err)
	}
	port := freePort(t)
	p := &process{t: t, url: "http://127.0.0.1:" + port, stdout: &logtest.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PORT=" + port}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("server process %s output (tail):\n%s", p.url, tail(p.stdout.String(), 4000))
		}
	})
	waitHealthy(t, p.url, func() string {
		select {
		case <-p.done:
			return fmt.Sprintf("server process exited (%v) before serving:\n%s", p.state, tail(p.stdout.String(), 4000))
		default:
			return ""
		}
	})
	return p
}

// signal sends sig to the process, unless it has exited.
func (p *process) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// wait waits up to within for the process to exit and returns its state (nil if it did not).
func (p *process) wait(within time.Duration) *os.ProcessState {
	select {
	case <-p.done:
		return p.state
	case <-time.After(within):
		return nil
	}
}

// metricsClient opens a connection per request, so that reading the metrics leaves no
// keep-alive connection (a goroutine and a file) in the server.
var metricsClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// metrics reads the named gauges of the process's /metrics (Go runtime and process collectors).
func (p *process) metrics(names ...string) (map[string]float64, error) {
	resp, err := metricsClient.Get(p.url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	got := make(map[string]float64, len(names))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && want[name] {
			if got[name], err = strconv.ParseFloat(value, 64); err != nil {
				return nil, err
			}
		}
	}
	return got, sc.Err()
}

// trackedDatabase returns a fresh PostgreSQL schema's DATABASE_URL whose connections carry a
// unique application_name, and a function counting the server's open connections to it.
func trackedDatabase(t *testing.T) (databaseURL string, conns func() (int, error)) {
	t.Helper()
	u, err := url.Parse(storetest.PostgresDSN(t))
	if err != nil {
		t.Fatalf("parse the test database URL: %v", err)
	}
	name := "authserver-test-" + uuid.NewString()[:8]
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	admin, err := sql.Open("pgx", os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		t.Fatalf("open TEST_DATABASE_URL: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return u.String(), func() (int, error) {
		var n int
		err := admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name).Scan(&n)
		return n, err
	}
}
