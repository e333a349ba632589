package mail_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/logtest"
	"github.com/authserver/authserver/internal/mail"
	"github.com/authserver/authserver/internal/mail/mailtest"
)

// timers is a clock for the queue's pauses that moves only when the test fires a timer.
type timers struct{ asked chan timer }

type timer struct {
	d    time.Duration
	fire chan time.Time
}

func newTimers() *timers { return &timers{asked: make(chan timer, 100)} }

func (ts *timers) After(d time.Duration) <-chan time.Time {
	c := make(chan time.Time, 1)
	ts.asked <- timer{d: d, fire: c}
	return c
}

// next returns the next timer the queue starts.
func (ts *timers) next(t *testing.T) timer {
	t.Helper()
	select {
	case tm := <-ts.asked:
		return tm
	case <-time.After(10 * time.Second):
		t.Fatal("the queue started no timer")
		return timer{}
	}
}

// counter records outcomes by kind.
type counter struct {
	mu sync.Mutex
	n  map[mail.Outcome]int
}

func (c *counter) count(_ mail.Kind, o mail.Outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[mail.Outcome]int{}
	}
	c.n[o]++
}

func (c *counter) get(o mail.Outcome) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[o]
}

// startQueue runs q until the test ends (or stop is called) and returns stop, which waits for Run.
func startQueue(t *testing.T, q *mail.Queue) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	go q.Run(ctx)
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); q.Wait() }) }
	t.Cleanup(stop)
	return stop
}

const drainTimeout = 7 * time.Hour // distinct from every pause, so tests tell the timers apart

func TestQueueRetriesUntilServerComesBack(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS, Username: "app", Password: "pw"})
	srv.Stop() // down
	ts := newTimers()
	var c counter
	var logs logtest.Buffer
	q := mail.NewQueue(mail.NewSMTP(transport(t, srv.URL()), mail.SMTPOptions{RootCAs: srv.RootCAs}),
		slog.New(slog.NewJSONHandler(&logs, nil)),
		mail.QueueOptions{FirstRetry: time.Second, MaxRetry: 3 * time.Second, After: ts.After, Count: c.count, DrainTimeout: drainTimeout})
	startQueue(t, q)

	m := composer(t).ResetPassword("user-7", "carol@example.org", "tok-retry", time.Hour)
	if !q.Enqueue(t.Context(), m) {
		t.Fatal("Enqueue = false on an empty queue")
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		tm := ts.next(t)
		if tm.d != want {
			t.Errorf("pause after failure %d = %v, want %v", i+1, tm.d, want)
		}
		if i == 3 {
			srv.Restart(t) // back up
		}
		tm.fire <- time.Now()
	}
	got := srv.Next(t)
	if tok, err := got.Token("/reset-password"); err != nil || tok != "tok-retry" {
		t.Errorf("delivered token = %q (%v), want tok-retry", tok, err)
	}
	if c.get(mail.Retried) != 4 || c.get(mail.Failed) != 0 {
		t.Errorf("counts retried %d failed %d, want 4 and 0", c.get(mail.Retried), c.get(mail.Failed))
	}
	waitFor(t, func() bool { return c.get(mail.Sent) == 1 }, "the delivery to be counted")
	if out := logs.String(); strings.Contains(out, "tok-retry") || strings.Contains(out, "carol@") ||
		!strings.Contains(out, `"user_id":"user-7"`) {
		t.Errorf("retry logs show the token or address, or not the user: %s", out)
	}
}

func TestQueueGivesUpAfterAttempts(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS})
	srv.Stop()
	ts := newTimers()
	var c counter
	var logs logtest.Buffer
	q := mail.NewQueue(mail.NewSMTP(transport(t, srv.URL()), mail.SMTPOptions{RootCAs: srv.RootCAs}),
		slog.New(slog.NewJSONHandler(&logs, nil)),
		mail.QueueOptions{Attempts: 3, After: ts.After, Count: c.count, DrainTimeout: drainTimeout})
	startQueue(t, q)
	q.Enqueue(t.Context(), composer(t).VerifyEmail("user-9", "dave@example.org", "tok-lost", time.Hour))
	ts.next(t).fire <- time.Now()
	ts.next(t).fire <- time.Now()
	waitFor(t, func() bool { return c.get(mail.Failed) == 1 }, "the mail to be given up")
	if c.get(mail.Retried) != 2 || c.get(mail.Sent) != 0 {
		t.Errorf("counts retried %d sent %d, want 2 and 0", c.get(mail.Retried), c.get(mail.Sent))
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"mail not delivered"`) || !strings.Contains(out, `"attempts":3`) ||
		!strings.Contains(out, `"kind":"verify_email"`) {
		t.Errorf("final failure not logged with kind and attempts: %s", out)
	}
	if strings.Contains(out, "tok-lost") || strings.Contains(out, "dave@") || strings.Contains(out, "http") {
		t.Errorf("failure logs show the token, link or address: %s", out)
	}
}

func TestQueueDoesNotRetryRejectedMail(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS, Username: "app", Password: "pw"})
	ts := newTimers()
	var c counter
	q := mail.NewQueue(mail.NewSMTP(transport(t, "smtp://"+srv.Addr()), mail.SMTPOptions{RootCAs: srv.RootCAs}),
		slog.New(slog.DiscardHandler), mail.QueueOptions{After: ts.After, Count: c.count, DrainTimeout: drainTimeout})
	startQueue(t, q)
	q.Enqueue(t.Context(), composer(t).VerifyEmail("u", "erin@example.org", "tok", time.Hour))
	waitFor(t, func() bool { return c.get(mail.Failed) == 1 }, "the rejected mail to be given up")
	if c.get(mail.Retried) != 0 {
		t.Errorf("rejected mail retried %d times, want 0", c.get(mail.Retried))
	}
}

// A stalled server holds the one worker; Enqueue still answers at once, and beyond the queue's
// size mails are dropped and counted, not waited for.
func TestQueueFullDropsWithoutBlocking(t *testing.T) {
	hold := make(chan struct{})
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS, Hold: hold})
	var c counter
	q := mail.NewQueue(mail.NewSMTP(transport(t, srv.URL()), mail.SMTPOptions{RootCAs: srv.RootCAs}),
		slog.New(slog.DiscardHandler), mail.QueueOptions{Size: 3, Workers: 1, Count: c.count})
	startQueue(t, q)
	comp := composer(t)
	var accepted []bool
	for i := range 6 {
		accepted = append(accepted, q.Enqueue(t.Context(), comp.VerifyEmail("u", "f@example.org", "tok"+string(rune('a'+i)), time.Hour)))
	}
	if want := []bool{true, true, true, false, false, false}; !slices.Equal(accepted, want) {
		t.Errorf("Enqueue results = %v, want %v", accepted, want)
	}
	if c.get(mail.Dropped) != 3 {
		t.Errorf("dropped = %d, want 3", c.get(mail.Dropped))
	}
	if n := q.Pending(); n != 3 {
		t.Errorf("Pending() with a stalled server = %d, want 3", n)
	}
	close(hold)
	seen := map[string]bool{}
	for range 3 {
		tok, err := srv.Next(t).Token("/verify-email")
		if err != nil {
			t.Fatal(err)
		}
		seen[tok] = true
	}
	if !seen["toka"] || !seen["tokb"] || !seen["tokc"] {
		t.Errorf("delivered %v, want the three accepted mails", seen)
	}
	waitFor(t, func() bool { return c.get(mail.Sent) == 3 }, "three deliveries to be counted")
	if n := q.Pending(); n != 0 {
		t.Errorf("Pending() after every delivery = %d, want 0", n)
	}
	if !q.Enqueue(t.Context(), comp.VerifyEmail("u", "f@example.org", "tokz", time.Hour)) {
		t.Error("Enqueue = false once the queue had room again")
	}
}

// Stopping gives a mail waiting for its retry one more attempt at once; the stopped queue
// accepts nothing more.
func TestQueueStopDeliversWaitingMail(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.TLS})
	srv.Stop()
	ts := newTimers()
	var c counter
	q := mail.NewQueue(mail.NewSMTP(transport(t, srv.URL()), mail.SMTPOptions{RootCAs: srv.RootCAs}),
		slog.New(slog.DiscardHandler), mail.QueueOptions{After: ts.After, Count: c.count, DrainTimeout: drainTimeout})
	stop := startQueue(t, q)
	q.Enqueue(t.Context(), composer(t).ConfirmEmail("u", "gil@example.org", "tok-drain", time.Hour))
	if tm := ts.next(t); tm.d != 5*time.Second {
		t.Errorf("first pause = %v, want the default 5s", tm.d)
	}
	srv.Restart(t)
	stop() // not firing the pause: stopping must cut it short
	if tok, err := srv.Next(t).Token("/confirm-email"); err != nil || tok != "tok-drain" {
		t.Errorf("delivered token %q (%v), want tok-drain", tok, err)
	}
	if c.get(mail.Sent) != 1 {
		t.Errorf("sent = %d, want 1", c.get(mail.Sent))
	}
	if q.Enqueue(t.Context(), composer(t).VerifyEmail("u", "gil@example.org", "late", time.Hour)) {
		t.Error("Enqueue after stop = true, want false")
	}
	if c.get(mail.Dropped) != 1 {
		t.Errorf("dropped after stop = %d, want 1", c.get(mail.Dropped))
	}
}

// When draining outlives DrainTimeout, the stalled delivery is cut short, and it and the mails
// behind it are counted as failed: Run returns.
func TestQueueStopGivesUpAfterDrainTimeout(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS, Hold: hold})
	ts := newTimers()
	var c counter
	q := mail.NewQueue(mail.NewSMTP(transport(t, srv.URL()), mail.SMTPOptions{RootCAs: srv.RootCAs}),
		slog.New(slog.DiscardHandler), mail.QueueOptions{Workers: 1, After: ts.After, Count: c.count, DrainTimeout: drainTimeout})
	ctx, cancel := context.WithCancel(context.Background())
	go q.Run(ctx)
	comp := composer(t)
	q.Enqueue(t.Context(), comp.VerifyEmail("u", "h@example.org", "tok1", time.Hour))
	q.Enqueue(t.Context(), comp.VerifyEmail("u", "h@example.org", "tok2", time.Hour))
	waitFor(t, func() bool { return srv.Counts().Mail == 1 }, "the first delivery to reach the server")
	cancel()
	tm := ts.next(t)
	if tm.d != drainTimeout {
		t.Fatalf("timer after stop = %v, want the drain timeout %v", tm.d, drainTimeout)
	}
	tm.fire <- time.Now()
	q.Wait()
	if c.get(mail.Failed) != 2 || c.get(mail.Sent) != 0 {
		t.Errorf("failed %d sent %d, want 2 and 0", c.get(mail.Failed), c.get(mail.Sent))
	}
}

func TestQueueWithDevSender(t *testing.T) {
	var logs logtest.Buffer
	var c counter
	q := mail.NewQueue(mail.NewLog(slog.New(slog.NewJSONHandler(&logs, nil))), slog.New(slog.DiscardHandler),
		mail.QueueOptions{Count: c.count})
	stop := startQueue(t, q)
	q.Enqueue(t.Context(), composer(t).VerifyEmail("u", "ivy@example.org", "dev-token", time.Hour))
	stop()
	if !strings.Contains(logs.String(), "https://app.example.com/account/verify-email#token=dev-token") || c.get(mail.Sent) != 1 {
		t.Errorf("dev sender log = %s, sent %d; want the link and 1", logs.String(), c.get(mail.Sent))
	}
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
