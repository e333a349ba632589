package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// maxPasswordBytes is bcrypt's input limit: it silently ignores anything past it.
const maxPasswordBytes = 72

// Hasher runs bcrypt with at most a given number of hashes at once, so a login flood
// queues here instead of starving token verification of CPU. The hashes run in the bcrypt
// worker, a process of their own at a lowered scheduling priority (worker.go), so that while
// hashes keep the cores busy, the kernel still runs request handling first.
type Hasher struct {
	cost   int
	slots  *slots
	wait   time.Duration
	bcrypt *worker
	dummy  func() []byte // a hash at the same cost, compared against for unknown emails; made on first use
	// observeWait, when set, is told how long each caller waited for a slot (ending in a slot,
	// ErrBusy or the context's end).
	observeWait func(time.Duration)
}

// ObserveWait makes h tell observe how long each caller waited for a free slot. Call it before
// the Hasher is used.
func (h *Hasher) ObserveWait(observe func(time.Duration)) { h.observeWait = observe }

// NewHasher returns a Hasher using cost, running at most concurrency() hashes at once (read at
// every hash: SchedulerSlots or FixedSlots) and queueing a caller, first come first served, for
// at most wait before ErrBusy. It fails for a cost bcrypt does not accept.
func NewHasher(cost int, concurrency func() int, wait time.Duration) (*Hasher, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("bcrypt cost %d is outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	dummy := sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword(randomBytes(16), cost) // cannot fail: the cost is checked above
		return h
	})
	go dummy() // ready before the first unknown email, without holding up start-up
	return &Hasher{cost: cost, slots: &slots{limit: concurrency}, wait: wait, bcrypt: processWorker, dummy: dummy}, nil
}

// acquire takes a slot, or returns ErrBusy after the wait or the context's error.
func (h *Hasher) acquire(ctx context.Context) error {
	if h.observeWait != nil {
		start := time.Now()
		defer func() { h.observeWait(time.Since(start)) }()
	}
	return h.slots.acquire(ctx, h.wait)
}

// Hash returns the bcrypt hash of password's NFKC form (normalisePassword), or ErrBusy. It fails
// for a form over 72 bytes, which bcrypt would truncate.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.slots.release()
	b, err := h.bcrypt.generate([]byte(normalisePassword(password)), h.cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(b), nil
}

// Verify reports whether password matches hash: its NFKC form, as Hash stores it, or else the
// password exactly as typed, which is how hashes made before passwords were normalised store a
// password that NFKC changes (ASCII never changes, so every ASCII hash matches at the first try).
// An empty hash is compared against a dummy hash so that an unknown email costs the same time as a
// wrong password; a password over 72 bytes never matches. It fails with ErrBusy, the context's
// error, or bcrypt's error for a malformed hash.
func (h *Hasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.slots.release()
	target := []byte(hash)
	if hash == "" {
		target = h.dummy()
	}
	var candidates []string // what may have been hashed; the same steps run for the dummy hash
	for _, p := range []string{normalisePassword(password), password} {
		if len(candidates) == 0 || p != candidates[0] {
			candidates = append(candidates, p)
		}
	}
	for _, p := range candidates {
		err := h.bcrypt.compare(target, []byte(p[:min(len(p), maxPasswordBytes)]))
		switch {
		case errors.Is(err, ErrBusy):
			return false, err
		case hash == "" || len(p) > maxPasswordBytes:
			// the dummy and overlong passwords never match; the compare only spent the time
		case err == nil:
			return true, nil
		case !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, fmt.Errorf("compare password: %w", err)
		}
	}
	return false, nil
}
