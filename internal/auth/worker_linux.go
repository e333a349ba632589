package auth

import (
	"os"
	"syscall"
)

// hashNice is how much nicer than the server bcrypt runs: at nice 10 beside the server's 0, the
// kernel gives a thread handling requests about nine times the share of a hashing thread on a
// contended core, and runs it first when it wakes.
const hashNice = 10

// lowerThreadPriority makes the calling OS thread hashNice nicer than it is (Linux sets nice per
// thread; a thread or process it starts inherits it). Failure only costs the preference, so it is
// ignored.
func lowerThreadPriority() {
	tid := syscall.Gettid()
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid) // the raw system call answers 20 - nice
	if err != nil {
		return
	}
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(20-p+hashNice, 19))
}

// workerInput is the worker's standard input in non-blocking mode, which the runtime's poller
// waits on. The pipe comes blocking (os/exec hands the child a blocking descriptor), and a
// blocking read keeps its P while it waits: the hash goroutine the last request started sits in
// that P's run queue until sysmon takes the P back, up to 10 ms later, while a CPU that has just
// finished a hash stays idle. Under a login flood that left 3-4% of both CPUs idle. When the mode
// cannot be changed, the worker reads os.Stdin as it is.
func workerInput() *os.File {
	if err := syscall.SetNonblock(0, true); err != nil {
		return os.Stdin
	}
	return os.NewFile(0, os.Stdin.Name())
}
