package auth

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The workers of these tests are this test program, started as "auth.test bcrypt-worker" (init).

// slowHash is a cost-16 bcrypt hash: comparing anything with it keeps the worker busy for seconds,
// so a test can act on the worker in the middle of a compare.
const slowHash = "$2a$16$H20a1QHEv/OGoSGAHwGOU.ofLw65WuzvYuMbbAEAa/IZ6fccFSn0e"

// newWorker returns a worker of the test's own, whose process (if it has one) is killed at the
// test's end.
func newWorker(t *testing.T) *worker {
	t.Helper()
	w := &worker{stall: workerStall}
	t.Cleanup(func() {
		w.mu.Lock()
		p := w.proc
		w.mu.Unlock()
		if p != nil {
			p.kill()
			<-p.dead
		}
	})
	return w
}

// current returns the worker's process, failing when there is none.
func (w *worker) current(t *testing.T) *workerProc {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.proc == nil {
		t.Fatal("no worker process")
	}
	return w.proc
}

// started has w hash once, which starts a worker if none runs, and returns the worker's process.
func started(t *testing.T, w *worker) *workerProc {
	t.Helper()
	if _, err := w.generate([]byte("x"), bcrypt.MinCost); err != nil {
		t.Fatalf("generate: %v", err)
	}
	return w.current(t)
}

// busyCompare starts comparing with slowHash and returns once the worker spends CPU time on it
// (read from /proc; the test is skipped without it); the channel gets compare's result.
func busyCompare(t *testing.T, w *worker) (*workerProc, <-chan error) {
	t.Helper()
	p := started(t, w) // its CPU time is read before the slow compare
	before := cpuTicks(t, p.cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- w.compare([]byte(slowHash), []byte("x")) }()
	for cpuTicks(t, p.cmd.Process.Pid) < before+2 {
		select {
		case err := <-done:
			t.Fatalf("compare with a cost-16 hash returned %v at once", err)
		default:
		}
		time.Sleep(5 * time.Millisecond) // polling for a state, not timing anything
	}
	return p, done
}

// cpuTicks is the user and system CPU time of process pid so far, in clock ticks.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skipf("no /proc to read the worker's CPU time from: %v", err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:])) // fields from the 3rd on
	user, _ := strconv.Atoi(f[11])
	sys, _ := strconv.Atoi(f[12])
	return user + sys
}

func TestWorkerAnswers(t *testing.T) {
	w := newWorker(t)
	hash, err := w.generate([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte("correct horse")) != nil {
		t.Fatalf("generate gave %q, not a hash of the password", hash)
	}
	if err := w.compare(hash, []byte("correct horse")); err != nil {
		t.Errorf("compare(the right password) = %v, want nil", err)
	}
	if err := w.compare(hash, []byte("wrong horse")); !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Errorf("compare(a wrong password) = %v, want ErrMismatchedHashAndPassword", err)
	}
	if err := w.compare([]byte("not a hash"), []byte("x")); err == nil || errors.Is(err, ErrBusy) ||
		errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		t.Errorf("compare(a malformed hash) = %v, want bcrypt's error", err)
	}
	if _, err := w.generate([]byte(strings.Repeat("x", 73)), bcrypt.MinCost); err == nil || errors.Is(err, ErrBusy) {
		t.Errorf("generate(73 bytes) = %v, want bcrypt's error", err)
	}
	if _, err := w.generate([]byte("x"), bcrypt.MaxCost+1); err == nil || errors.Is(err, ErrBusy) {
		t.Errorf("generate(cost %d) = %v, want bcrypt's error", bcrypt.MaxCost+1, err)
	}

	// Many at once, each answered with its own result.
	errs := make(chan error, 16)
	for i := range cap(errs) {
		go func() {
			pw := []byte("password " + strconv.Itoa(i))
			h, err := w.generate(pw, bcrypt.MinCost)
			if err == nil {
				err = w.compare(h, pw)
			}
			if err == nil && !errors.Is(w.compare(h, []byte("other")), bcrypt.ErrMismatchedHashAndPassword) {
				err = errors.New("a wrong password matched")
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("concurrent generate and compare: %v", err)
		}
	}
}

// TestWorkerKilledMidCompare: the compare in flight fails with ErrBusy (503), and the next one
// starts a new worker.
func TestWorkerKilledMidCompare(t *testing.T) {
	w := newWorker(t)
	p, done := busyCompare(t, w)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill the worker: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrBusy) {
		t.Fatalf("compare whose worker was killed = %v, want ErrBusy", err)
	}
	if again := started(t, w); again == p {
		t.Errorf("the dead worker is still the current one")
	}
}

// TestWorkerEndsWithItsInput: when the server dies, the kernel closes the worker's input; the
// worker then ends at once, even in the middle of a compare.
func TestWorkerEndsWithItsInput(t *testing.T) {
	w := newWorker(t)
	p, done := busyCompare(t, w)
	if err := p.in.Close(); err != nil {
		t.Fatalf("close the worker's input: %v", err)
	}
	select {
	case <-p.dead:
	case <-time.After(30 * time.Second): // the compare itself takes longer than its end
		t.Fatal("the worker did not end with its input")
	}
	if !p.cmd.ProcessState.Success() {
		t.Errorf("worker exit = %v, want status 0", p.cmd.ProcessState)
	}
	if err := <-done; !errors.Is(err, ErrBusy) {
		t.Errorf("compare whose worker ended = %v, want ErrBusy", err)
	}
}

// TestWorkerStalled: a worker that stops answering is killed after the stall time, and the next
// compare starts a new one.
func TestWorkerStalled(t *testing.T) {
	w := newWorker(t)
	p := started(t, w)
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("stop the worker: %v", err)
	}
	w.stall = 100 * time.Millisecond
	if _, err := w.generate([]byte("x"), bcrypt.MinCost); !errors.Is(err, ErrBusy) {
		t.Fatalf("generate with a stopped worker = %v, want ErrBusy", err)
	}
	<-p.dead // killed
	w.stall = workerStall
	if again := started(t, w); again == p {
		t.Errorf("the stalled worker is still the current one")
	}
}

// TestWorkerGarbage: a worker whose input is not requests exits with status 1 and says why.
func TestWorkerGarbage(t *testing.T) {
	var out, errs strings.Builder
	if got := serveWorker(strings.NewReader("not json"), &out, &errs); got != 1 {
		t.Errorf("serveWorker(garbage) = %d, want 1", got)
	}
	if !strings.Contains(errs.String(), "bcrypt worker: read a request") {
		t.Errorf("serveWorker(garbage) said %q", errs.String())
	}
}
