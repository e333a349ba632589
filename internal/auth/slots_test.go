package auth

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// waiting returns how many callers wait for a slot.
func (s *slots) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// enqueue starts acquire in a goroutine and returns once it waits (waiting() reaches want);
// the channel gets its result.
func enqueue(t *testing.T, s *slots, ctx context.Context, wait time.Duration, want int) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.acquire(ctx, wait) }()
	for s.waiting() != want {
		select {
		case err := <-done:
			t.Fatalf("acquire returned %v at once, want it to wait", err)
		default:
		}
		time.Sleep(time.Millisecond) // polling for a state, not timing anything
	}
	return done
}

// TestSlotsFollowTheLimit fakes GOMAXPROCS: the limit is read at every acquire and release,
// so a quota raised or lowered while hashes run changes how many run next, and waiters are
// served in arrival order.
func TestSlotsFollowTheLimit(t *testing.T) {
	ctx := context.Background()
	var procs atomic.Int64
	procs.Store(1)
	s := &slots{limit: func() int { return int(procs.Load()) }}

	if err := s.acquire(ctx, time.Hour); err != nil {
		t.Fatalf("acquire with a free slot: %v", err)
	}
	first := enqueue(t, s, ctx, time.Hour, 1)
	second := enqueue(t, s, ctx, time.Hour, 2)

	// The quota grew: the next caller lets the first waiter in, then queues itself (in the
	// same step, so once the first waiter is in, the third waits).
	procs.Store(2)
	third := make(chan error, 1)
	go func() { third <- s.acquire(ctx, time.Hour) }()
	if err := <-first; err != nil {
		t.Fatalf("first waiter after the limit grew: %v", err)
	}
	if got := s.waiting(); got != 2 {
		t.Fatalf("waiting = %d, want 2 (second and third)", got)
	}

	procs.Store(1) // the quota shrank: one release frees no slot while two run
	s.release()
	if got := s.waiting(); got != 2 {
		t.Fatalf("after a release over the lowered limit, waiting = %d, want 2", got)
	}
	s.release()
	if err := <-second; err != nil {
		t.Fatalf("second waiter: %v", err)
	}
	select {
	case err := <-third:
		t.Fatalf("third waiter got %v while the one slot is taken", err)
	default:
	}
	s.release()
	if err := <-third; err != nil {
		t.Fatalf("third waiter: %v", err)
	}
	s.release()
	if s.busy != 0 || s.waiting() != 0 {
		t.Fatalf("at rest: busy %d, waiting %d, want 0 and 0", s.busy, s.waiting())
	}
}

// TestSlotsGiveUp: a waiter that times out gets ErrBusy, one whose context ends gets its error,
// and neither keeps a slot or a place in the queue.
func TestSlotsGiveUp(t *testing.T) {
	s := &slots{limit: FixedSlots(1)}
	if err := s.acquire(context.Background(), time.Hour); err != nil {
		t.Fatalf("acquire with a free slot: %v", err)
	}
	if err := s.acquire(context.Background(), time.Millisecond); !errors.Is(err, ErrBusy) {
		t.Fatalf("acquire while full, short wait = %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := enqueue(t, s, ctx, time.Hour, 1)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire with its context cancelled = %v, want context.Canceled", err)
	}
	if got := s.waiting(); got != 0 {
		t.Fatalf("waiting after both gave up = %d, want 0", got)
	}
	s.release()
	if err := s.acquire(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("acquire after the release: %v", err)
	}
}

// TestSchedulerSlotsFollowGOMAXPROCS: the default limit is the scheduler's, read at each call.
func TestSchedulerSlotsFollowGOMAXPROCS(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(was) })
	for _, n := range []int{1, 3} {
		runtime.GOMAXPROCS(n)
		if got := SchedulerSlots(); got != n {
			t.Errorf("SchedulerSlots() with GOMAXPROCS %d = %d", n, got)
		}
	}
}
