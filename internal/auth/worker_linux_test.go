package auth

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// niceOfThisThread returns the nice value of the calling OS thread (the raw syscall answers 20-nice).
func niceOfThisThread(t *testing.T) int {
	t.Helper()
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatalf("getpriority: %v", err)
	}
	return 20 - p
}

func TestBackgroundRunsAtLowerPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := niceOfThisThread(t)
	if before+hashNice > 19 {
		t.Skipf("the test already runs at nice %d", before)
	}
	var inside int
	background(func() { inside = niceOfThisThread(t) })
	if inside != before+hashNice {
		t.Errorf("nice inside background() = %d, want %d (%d more than the caller's)", inside, before+hashNice, hashNice)
	}
	if after := niceOfThisThread(t); after != before {
		t.Errorf("nice of the calling thread after background() = %d, want it unchanged at %d", after, before)
	}
}

// TestWorkerRunsAtLowerPriority: every thread of the bcrypt worker runs hashNice nicer than this
// process.
func TestWorkerRunsAtLowerPriority(t *testing.T) {
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, os.Getpid())
	if err != nil {
		t.Fatalf("getpriority: %v", err)
	}
	want := 20 - p + hashNice
	if want > 19 {
		t.Skipf("the test already runs at nice %d", 20-p)
	}
	w := newWorker(t)
	pid := strconv.Itoa(started(t, w).cmd.Process.Pid)
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		t.Fatalf("list the worker's threads: %v", err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + task.Name() + "/stat")
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:])) // fields from the 3rd on
		if f[16] != strconv.Itoa(want) {                                         // field 19: nice
			t.Errorf("worker thread %s runs at nice %s, want %d", task.Name(), f[16], want)
		}
	}
	if len(tasks) < 2 {
		t.Errorf("worker has %d threads; a Go program has several", len(tasks))
	}
}

// TestWorkerReadsThroughThePoller: the worker's standard input is in non-blocking mode (read by
// the runtime's poller, so a read holds no P; see workerInput), as /proc shows its descriptor 0.
func TestWorkerReadsThroughThePoller(t *testing.T) {
	w := newWorker(t)
	pid := strconv.Itoa(started(t, w).cmd.Process.Pid)
	b, err := os.ReadFile("/proc/" + pid + "/fdinfo/0")
	if err != nil {
		t.Skipf("no /proc fdinfo: %v", err)
	}
	var flags string
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags = strings.TrimSpace(v)
		}
	}
	n, err := strconv.ParseUint(flags, 8, 64)
	if err != nil {
		t.Fatalf("flags of the worker's descriptor 0 in %q: %v", b, err)
	}
	if n&syscall.O_NONBLOCK == 0 {
		t.Errorf("the worker's standard input has flags %s: not O_NONBLOCK, so each read holds a P", flags)
	}
}
