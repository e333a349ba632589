package auth

import (
	"runtime"
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
	if before >= hashNice {
		t.Skipf("the test already runs at nice %d", before)
	}
	var inside int
	background(func() { inside = niceOfThisThread(t) })
	if inside != hashNice {
		t.Errorf("nice inside background() = %d, want %d", inside, hashNice)
	}
	if after := niceOfThisThread(t); after != before {
		t.Errorf("nice of the calling thread after background() = %d, want it unchanged at %d", after, before)
	}
}
