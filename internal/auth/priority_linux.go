package auth

import "syscall"

// hashNice is the nice value of bcrypt threads: the kernel then gives a thread handling
// requests (nice 0) about nine times their share of a contended core.
const hashNice = 10

// lowerThreadPriority lowers the scheduling priority of the calling OS thread (Linux sets nice
// per thread). Failure only costs the preference, so it is ignored.
func lowerThreadPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), hashNice)
}
