package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// cpuSet is a Linux CPU affinity mask (1024 CPUs).
type cpuSet [16]uint64

// affinity reads (set == nil) or sets the CPU affinity of thread tid (0: the calling thread).
func affinity(tid int, set *cpuSet) (cpuSet, error) {
	var s cpuSet
	call, arg := uintptr(syscall.SYS_SCHED_GETAFFINITY), &s
	if set != nil {
		call, arg = syscall.SYS_SCHED_SETAFFINITY, set
	}
	if _, _, e := syscall.RawSyscall(call, uintptr(tid), unsafe.Sizeof(s), uintptr(unsafe.Pointer(arg))); e != 0 {
		return s, e
	}
	return *arg, nil
}

// count is how many CPUs s holds.
func (s cpuSet) count() int {
	n := 0
	for _, w := range s {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}

// gomaxprocs reads the server's GOMAXPROCS from its /metrics.
func (p *process) gomaxprocs(t *testing.T) int {
	t.Helper()
	m, err := p.metrics("go_gomaxprocs")
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	n, ok := m["go_gomaxprocs"]
	if !ok {
		t.Fatal("/metrics has no go_gomaxprocs")
	}
	return int(n)
}

// TestServerFollowsTheCPUCount: the server never sets GOMAXPROCS, so Go keeps it at its default
// (the CPUs the process may use, or its cgroup's CPU quota if lower) and follows changes of
// either. Started on one CPU (an affinity its threads inherit, as they would a quota of 1), it
// runs on 1 P; given every CPU back, it grows. A server that had called runtime.GOMAXPROCS(n),
// or set it from runtime.NumCPU, would stay where it was, or start too high.
func TestServerFollowsTheCPUCount(t *testing.T) {
	all, err := affinity(0, nil)
	if err != nil {
		t.Fatalf("sched_getaffinity: %v", err)
	}
	if all.count() < 2 {
		t.Skipf("this test needs two CPUs; it may use %d", all.count())
	}
	one := cpuSet{}
	for i, w := range all { // the lowest CPU of all
		if w != 0 {
			one[i] = w & -w
			break
		}
	}
	// The server inherits the affinity of the thread that starts it.
	runtime.LockOSThread()
	if _, err := affinity(0, &one); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("sched_setaffinity: %v", err)
	}
	p := startProcess(t, baseEnv(sqliteURL(t)))
	if _, err := affinity(0, &all); err != nil {
		t.Fatalf("sched_setaffinity back: %v", err) // the thread stays locked, and dies with the test's goroutine
	}
	runtime.UnlockOSThread()

	if got := p.gomaxprocs(t); got != 1 {
		t.Fatalf("GOMAXPROCS of a server started on one CPU = %d, want 1", got)
	}
	newClient(t, p.url).register(uniqueEmail("procs")) // a hash: the bcrypt worker runs too

	// Every CPU back, to every thread (again while new ones appear): Go notices within a second or so.
	deadline := time.Now().Add(20 * time.Second)
	for got := 1; got == 1; got = p.gomaxprocs(t) {
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS of the server stayed 1 after it was given %d CPUs", all.count())
		}
		tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), "task"))
		if err != nil {
			t.Fatalf("list the server's threads: %v", err)
		}
		for _, task := range tasks {
			if tid, err := strconv.Atoi(task.Name()); err == nil {
				_, _ = affinity(tid, &all) // a thread that just ended cannot be set
			}
		}
		time.Sleep(100 * time.Millisecond) // polling for a state, not timing anything
	}
}

// TestBcryptWorkerEndsWithTheServer: the server runs its hashes in a child process, the same
// program run as "bcrypt-worker"; when the server is killed, the worker ends too.
func TestBcryptWorkerEndsWithTheServer(t *testing.T) {
	p := startProcess(t, baseEnv(sqliteURL(t)))
	newClient(t, p.url).register(uniqueEmail("worker")) // the first hash starts the worker

	pid := strconv.Itoa(p.cmd.Process.Pid)
	children, err := filepath.Glob(filepath.Join("/proc", pid, "task", "*", "children"))
	if err != nil {
		t.Fatal(err)
	}
	var worker string
	for _, c := range children {
		b, _ := os.ReadFile(c) // a thread that just ended has none
		for _, child := range strings.Fields(string(b)) {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", child, "cmdline"))
			if strings.HasSuffix(string(cmdline), "\x00bcrypt-worker\x00") {
				worker = child
			}
		}
	}
	if worker == "" {
		t.Fatal("the server has no bcrypt-worker child after a registration")
	}

	p.signal(syscall.SIGKILL)
	if p.wait(10*time.Second) == nil {
		t.Fatal("the server did not die of SIGKILL")
	}
	deadline := time.Now().Add(10 * time.Second)
	for running(worker) {
		if time.Now().After(deadline) {
			t.Fatalf("the bcrypt worker (pid %s) still runs 10 s after its server was killed", worker)
		}
		time.Sleep(20 * time.Millisecond) // polling for a state, not timing anything
	}
}

// running reports whether process pid exists and has not ended (a zombie waits only to be reaped).
func running(pid string) bool {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
