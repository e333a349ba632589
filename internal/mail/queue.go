package mail

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Sender delivers one mail. SMTP and Log implement it.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Outcome is what became of a mail, or of one attempt to deliver it.
type Outcome string

// The outcomes a Queue counts.
const (
	Sent    Outcome = "sent"    // delivered
	Retried Outcome = "retried" // an attempt failed; another follows after a pause
	Failed  Outcome = "failed"  // given up: refused for good, out of attempts, or still undelivered at shutdown
	Dropped Outcome = "dropped" // never queued: the queue was full or stopping
)

// Counter is told every outcome, for metrics. It must not block.
type Counter func(kind Kind, o Outcome)

// QueueOptions tunes a Queue; zero fields take the defaults shown.
type QueueOptions struct {
	Size           int           // mails accepted and not yet finished, retries included (1000)
	Workers        int           // deliveries at once (2)
	Attempts       int           // tries per mail before giving up (8)
	FirstRetry     time.Duration // pause after the first failure, doubling after each further one (5s)
	MaxRetry       time.Duration // longest pause (5m)
	AttemptTimeout time.Duration // one attempt as a whole (2m)
	DrainTimeout   time.Duration // how long a stopping queue keeps delivering (10s)
	Count          Counter       // nil counts nothing
	// After is the timer the queue waits on (time.After); tests pass one they control.
	After func(time.Duration) <-chan time.Time
}

func (o *QueueOptions) defaults() {
	setDefault(&o.Size, 1000)
	setDefault(&o.Workers, 2)
	setDefault(&o.Attempts, 8)
	setDefault(&o.FirstRetry, 5*time.Second)
	setDefault(&o.MaxRetry, 5*time.Minute)
	setDefault(&o.AttemptTimeout, 2*time.Minute)
	setDefault(&o.DrainTimeout, 10*time.Second)
	if o.Count == nil {
		o.Count = func(Kind, Outcome) {}
	}
	if o.After == nil {
		o.After = time.After
	}
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// job is a mail and the number of its next attempt.
type job struct {
	m       Message
	attempt int
}

// Queue sends mails in the background. Enqueue never blocks: a mail that finds the queue full is
// dropped and counted. A failed attempt is tried again after a pause that doubles each time, without
// holding up the other mails; a mail refused for good or out of attempts is logged (kind and user
// id, never the address or the link) and counted.
type Queue struct {
	send Sender
	log  *slog.Logger
	o    QueueOptions
	jobs chan job // capacity o.Size: as pending never exceeds it, a send on jobs never blocks

	mu      sync.Mutex
	pending int           // accepted and not finished: queued, being sent or waiting to retry
	closed  bool          // Run's context ended: nothing more is accepted
	idle    chan struct{} // closed when closed and pending reaches 0

	closing chan struct{} // closed when Run's context ends: retries stop waiting
	waiters sync.WaitGroup
	done    chan struct{} // closed when Run returns
}

// NewQueue returns a Queue delivering through send. Call Run to start it.
func NewQueue(send Sender, log *slog.Logger, o QueueOptions) *Queue {
	o.defaults()
	return &Queue{send: send, log: log, o: o, jobs: make(chan job, o.Size),
		idle: make(chan struct{}), closing: make(chan struct{}), done: make(chan struct{})}
}

// Enqueue accepts m for delivery and reports whether it did. It never blocks: when the queue is
// full or stopping, m is dropped, logged and counted.
func (q *Queue) Enqueue(ctx context.Context, m Message) bool {
	q.mu.Lock()
	accepted := !q.closed && q.pending < q.o.Size
	if accepted {
		q.pending++
		q.jobs <- job{m: m, attempt: 1}
	}
	q.mu.Unlock()
	if !accepted {
		q.o.Count(m.Kind, Dropped)
		q.log.WarnContext(ctx, "mail dropped: queue full or stopping", "mail", m)
	}
	return accepted
}

// Run delivers mails until ctx ends, then stops accepting new ones and keeps delivering what it
// holds for up to DrainTimeout, giving each mail one more attempt at once instead of its pause.
// Mails still undelivered then are logged and counted as failed. Run returns when it is done.
func (q *Queue) Run(ctx context.Context) {
	defer close(q.done)
	hard, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	quit := make(chan struct{})
	var workers sync.WaitGroup
	for range q.o.Workers {
		workers.Go(func() {
			for {
				select {
				case j := <-q.jobs:
					q.attempt(hard, j)
				case <-quit:
					return
				}
			}
		})
	}

	<-ctx.Done()
	q.mu.Lock()
	q.closed = true
	if q.pending == 0 {
		close(q.idle)
	}
	q.mu.Unlock()
	close(q.closing)
	select {
	case <-q.idle:
	case <-q.o.After(q.o.DrainTimeout):
		cancel() // cuts attempts short; they and the waiting retries end as failed
	}
	close(quit)
	workers.Wait()
	q.waiters.Wait()
	for {
		select {
		case j := <-q.jobs:
			q.fail(hard, j, errors.New("shutting down"))
		default:
			return
		}
	}
}

// Pending returns how many mails are accepted and not finished: queued, being sent or waiting to
// be retried.
func (q *Queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending
}

// Wait blocks until Run has returned.
func (q *Queue) Wait() { <-q.done }

// attempt tries to deliver j once, then finishes it or schedules its retry.
func (q *Queue) attempt(ctx context.Context, j job) {
	actx, cancel := context.WithTimeout(ctx, q.o.AttemptTimeout)
	err := q.send.Send(actx, j.m)
	cancel()
	if err == nil {
		q.o.Count(j.m.Kind, Sent)
		q.finish()
		return
	}
	if errors.Is(err, ErrRejected) || j.attempt >= q.o.Attempts || ctx.Err() != nil || q.stopping() {
		q.fail(ctx, j, err)
		return
	}
	pause := q.pause(j.attempt)
	q.o.Count(j.m.Kind, Retried)
	q.log.WarnContext(ctx, "mail delivery failed, will retry", "mail", j.m, "attempt", j.attempt,
		"retry_in", pause.String(), "error", err.Error())
	j.attempt++
	q.waiters.Go(func() {
		select {
		case <-q.o.After(pause):
		case <-q.closing: // stopping: try once more at once
		}
		q.jobs <- j
	})
}

// fail gives j up.
func (q *Queue) fail(ctx context.Context, j job, err error) {
	q.o.Count(j.m.Kind, Failed)
	q.log.ErrorContext(ctx, "mail not delivered", "mail", j.m, "attempts", j.attempt, "error", err.Error())
	q.finish()
}

// finish notes that a mail left the queue for good.
func (q *Queue) finish() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending--
	if q.closed && q.pending == 0 {
		close(q.idle)
	}
}

// stopping reports whether Run's context has ended.
func (q *Queue) stopping() bool {
	select {
	case <-q.closing:
		return true
	default:
		return false
	}
}

// pause is how long to wait after the given failed attempt: FirstRetry, doubling, at most MaxRetry.
func (q *Queue) pause(attempt int) time.Duration {
	d := q.o.FirstRetry
	for i := 1; i < attempt && d < q.o.MaxRetry; i++ {
		d *= 2
	}
	return min(d, q.o.MaxRetry)
}
