package auth

import "syscall"

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
