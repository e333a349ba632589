package audit_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/audit"
	"github.com/authserver/authserver/internal/metrics"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/store/storetest"

	"github.com/authserver/authserver/internal/logtest"
)

var discard = slog.New(slog.DiscardHandler)

const (
	droppedMetric = "auth_audit_events_dropped_total"
	writtenMetric = "auth_audit_events_written_total"
)

// run starts w.Run and returns a func that stops it and waits until it returned.
func run(w *audit.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	go w.Run(ctx)
	return func() { cancel(); w.Wait() }
}

// eventsOf lists the stored events about user.
func eventsOf(t *testing.T, st *store.Store, user string) []models.AuditEvent {
	t.Helper()
	events, err := st.AuditEvents(context.Background(), models.AuditFilter{UserID: user})
	if err != nil {
		t.Fatalf("AuditEvents error: %v", err)
	}
	return events
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRecordAndRun(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			m := metrics.New()
			w := audit.New(st, discard, m, 100, 24*time.Hour)
			stop := run(w)
			defer stop()
			user, sid := uuid.NewString(), uuid.NewString()
			before := time.Now().UTC().Add(-time.Second)
			ctx := context.Background()
			w.Record(ctx, models.AuditEvent{Type: "login_succeeded", UserID: user, SessionID: sid, IP: "192.0.2.1", UserAgent: "ua"}, models.AuditDetail{})
			w.Record(ctx, models.AuditEvent{Type: models.AuditRefresh, UserID: user, SessionID: sid}, models.AuditDetail{Generation: 2})
			w.Record(ctx, models.AuditEvent{Type: "logout", UserID: user, ID: "ignored", CreatedAt: time.Unix(0, 0)}, models.AuditDetail{})

			var events []models.AuditEvent
			waitFor(t, "3 events written", func() bool {
				events = eventsOf(t, st, user)
				return len(events) == 3
			})
			after := time.Now().UTC().Add(time.Second)
			byType := map[models.AuditType]models.AuditEvent{}
			for _, e := range events {
				if uuid.Validate(e.ID) != nil {
					t.Errorf("event %s has id %q, want a UUID", e.Type, e.ID)
				}
				if e.CreatedAt.Before(before) || e.CreatedAt.After(after) {
					t.Errorf("event %s created at %v, want between %v and %v", e.Type, e.CreatedAt, before, after)
				}
				byType[e.Type] = e
			}
			if e := byType["login_succeeded"]; e.SessionID != sid || e.IP != "192.0.2.1" || e.UserAgent != "ua" || e.Detail != "{}" {
				t.Errorf("login_succeeded event = %+v, want session %s, IP, user agent and detail {}", e, sid)
			}
			if e := byType["refresh"]; !strings.Contains(e.Detail, `"generation"`) || !strings.Contains(e.Detail, "2") {
				t.Errorf("refresh event detail = %q, want the generation", e.Detail)
			}
			if e := byType["logout"]; e.ID == "ignored" || e.SessionID != "" {
				t.Errorf("logout event = %+v, want a fresh id and no session", e)
			}
			if got := m.AuditWritten.Get(); got != 3 {
				t.Errorf("%s = %v, want 3", writtenMetric, got)
			}
			if got := m.AuditDropped.Get(); got != 0 {
				t.Errorf("%s = %v, want 0", droppedMetric, got)
			}
		})
	}
}

func TestRecordQueueFull(t *testing.T) {
	m := metrics.New()
	w := audit.New(&fakeStore{}, discard, m, 1, time.Hour) // never run: nothing leaves the queue
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 {
			w.Record(context.Background(), models.AuditEvent{Type: "login_failed"}, models.AuditDetail{})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Record on a full queue blocked")
	}
	if got := m.AuditDropped.Get(); got != 4 {
		t.Errorf("%s after 5 events into a queue of 1 = %v, want 4", droppedMetric, got)
	}
}

// fakeStore is an audit store that fails every write, or calls insert when it is set.
type fakeStore struct {
	mu      sync.Mutex
	inserts int
	insert  func(ctx context.Context, events []models.AuditEvent) error
}

func (f *fakeStore) InsertAuditEvents(ctx context.Context, events []models.AuditEvent) error {
	f.mu.Lock()
	f.inserts++
	insert := f.insert
	f.mu.Unlock()
	if insert != nil {
		return insert(ctx, events)
	}
	return errors.New("database on fire")
}

func (f *fakeStore) PruneAuditEvents(context.Context, time.Time) (int64, error) { return 0, nil }

func (f *fakeStore) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inserts
}

func TestRunStoreFails(t *testing.T) {
	m := metrics.New()
	var logs logtest.Buffer
	fs := &fakeStore{}
	w := audit.New(fs, slog.New(slog.NewTextHandler(&logs, nil)), m, 100, time.Hour)
	stop := run(w)
	defer stop()
	for range 3 {
		w.Record(context.Background(), models.AuditEvent{Type: "refresh"}, models.AuditDetail{})
	}
	waitFor(t, "3 events counted as dropped", func() bool { return m.AuditDropped.Get() == 3 })
	if fs.calls() == 0 {
		t.Errorf("the store was never asked to insert")
	}
	if got := logs.String(); !strings.Contains(got, "audit write failed") || !strings.Contains(got, "database on fire") {
		t.Errorf("log = %q, want a warning with the store's error", got)
	}
	// Still accepting events without blocking after failures.
	w.Record(context.Background(), models.AuditEvent{Type: "refresh"}, models.AuditDetail{})
	waitFor(t, "the fourth event counted as dropped", func() bool { return m.AuditDropped.Get() == 4 })
	if got := m.AuditWritten.Get(); got != 0 {
		t.Errorf("%s = %v, want 0", writtenMetric, got)
	}
}

func TestRunDrainsOnCancel(t *testing.T) {
	st := storetest.Open(t)
	m := metrics.New()
	w := audit.New(st, discard, m, 100, 24*time.Hour)
	user := uuid.NewString()
	for range 5 {
		w.Record(context.Background(), models.AuditEvent{Type: "refresh", UserID: user}, models.AuditDetail{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stopped before it writes a single batch
	w.Run(ctx)
	w.Wait()
	if got := eventsOf(t, st, user); len(got) != 5 {
		t.Errorf("after Run on a canceled context, %d events stored, want the 5 queued", len(got))
	}
	if got := m.AuditWritten.Get(); got != 5 {
		t.Errorf("%s = %v, want 5", writtenMetric, got)
	}
}

// A shutdown that arrives while a batch is being written must not drop that batch.
func TestRunCancelDuringWrite(t *testing.T) {
	st := storetest.Open(t)
	m := metrics.New()
	writing := make(chan struct{})
	cancelled := make(chan struct{})
	var once sync.Once
	fs := &fakeStore{insert: func(ctx context.Context, events []models.AuditEvent) error {
		once.Do(func() {
			close(writing)
			<-cancelled // the write is under way when the shutdown comes
		})
		return st.InsertAuditEvents(ctx, events)
	}}
	w := audit.New(fs, discard, m, 100, 24*time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	go w.Run(ctx)
	user := uuid.NewString()
	w.Record(context.Background(), models.AuditEvent{Type: "logout", UserID: user}, models.AuditDetail{})
	select {
	case <-writing:
	case <-time.After(10 * time.Second):
		t.Fatalf("the writer did not write the event within 10s")
	}
	cancel()
	close(cancelled)
	w.Wait()
	if got := eventsOf(t, st, user); len(got) != 1 {
		t.Errorf("after a shutdown during the write, %d events stored, want 1 (dropped: %v)", len(got), m.AuditDropped.Get())
	}
}

func TestRunPrunes(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			ctx := context.Background()
			user := uuid.NewString()
			now := time.Now().UTC()
			old := []models.AuditEvent{
				{Type: "login_failed", UserID: user, CreatedAt: now.Add(-49 * time.Hour)},
				{Type: "login_failed", UserID: user, CreatedAt: now.Add(-30 * 24 * time.Hour)},
			}
			recent := []models.AuditEvent{
				{Type: "login_succeeded", UserID: user, CreatedAt: now.Add(-47 * time.Hour)},
				{Type: "refresh", UserID: user, CreatedAt: now.Add(-time.Minute)},
			}
			if err := st.InsertAuditEvents(ctx, append(old, recent...)); err != nil {
				t.Fatalf("InsertAuditEvents error: %v", err)
			}
			w := audit.New(st, discard, metrics.New(), 10, 48*time.Hour)
			stop := run(w) // prunes when it starts
			defer stop()
			waitFor(t, "events older than 48h pruned", func() bool { return len(eventsOf(t, st, user)) <= len(recent) })
			got := eventsOf(t, st, user)
			if len(got) != 2 || got[0].Type != "refresh" || got[1].Type != "login_succeeded" {
				t.Errorf("events after pruning = %+v, want the 2 younger than 48h", got)
			}
		})
	}
}
