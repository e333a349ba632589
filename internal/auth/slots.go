package auth

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// SchedulerSlots is how many bcrypt hashes may run at once when BCRYPT_CONCURRENCY is not set:
// runtime.GOMAXPROCS(0), the CPUs Go schedules on. Go derives that from the container's CPU
// quota and follows changes of the quota, and the Hasher reads it at every hash, so the
// limit follows the quota too. Hashes run on low-priority threads (background), so request
// handling keeps the CPU first.
func SchedulerSlots() int { return runtime.GOMAXPROCS(0) }

// FixedSlots is a limit of n hashes at once (BCRYPT_CONCURRENCY=n).
func FixedSlots(n int) func() int { return func() int { return n } }

// slots is a counting semaphore whose size is read from limit at every acquire and release,
// and whose waiters are served first come, first served.
type slots struct {
	limit func() int

	mu    sync.Mutex
	busy  int
	queue []chan struct{} // waiters in arrival order; closed when the slot is handed over
}

// full reports whether no slot is free; s.mu must be held.
func (s *slots) full() bool { return s.busy >= max(s.limit(), 1) }

// admit hands free slots to the longest waiters; s.mu must be held.
func (s *slots) admit() {
	for len(s.queue) > 0 && !s.full() {
		close(s.queue[0])
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.busy++
	}
}

// acquire takes a slot, or returns ErrBusy after wait or the context's error. A limit raised
// since the last release first admits the waiters.
func (s *slots) acquire(ctx context.Context, wait time.Duration) error {
	s.mu.Lock()
	s.admit()
	if len(s.queue) == 0 && !s.full() {
		s.busy++
		s.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	s.queue = append(s.queue, turn)
	s.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	var err error
	select {
	case <-turn:
		return nil
	case <-t.C:
		err = ErrBusy
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.mu.Lock()
	for i, w := range s.queue {
		if w == turn { // still waiting: leave the queue
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Unlock()
	s.release() // the slot was handed over as the wait ended: pass it on
	return err
}

// release gives a slot back and hands free slots to the longest waiters.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy--
	s.admit()
}
