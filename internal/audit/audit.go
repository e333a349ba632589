// Package audit writes the audit trail asynchronously: events queue in memory and are written to
// the store in batches, so a slow database never slows a login.
package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/jsonenc"
	"github.com/authserver/authserver/internal/metrics"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/requestid"
)

// Store is the persistence the writer needs; internal/store implements it.
type Store interface {
	InsertAuditEvents(ctx context.Context, events []models.AuditEvent) error
	PruneAuditEvents(ctx context.Context, before time.Time) (int64, error)
}

// Batching limits.
const (
	maxBatch   = 256
	flushEvery = 200 * time.Millisecond
)

// Writer queues audit events and writes them in batches. Record never blocks: when the queue is
// full the event is dropped and counted in auth_audit_events_dropped_total.
type Writer struct {
	store     Store
	log       *slog.Logger
	m         *metrics.Metrics
	queue     chan models.AuditEvent
	retention time.Duration
	now       func() time.Time
	done      chan struct{}
}

// New returns a Writer with room for queueSize events, keeping events for retention.
func New(store Store, log *slog.Logger, m *metrics.Metrics, queueSize int, retention time.Duration) *Writer {
	return &Writer{store: store, log: log, m: m, queue: make(chan models.AuditEvent, queueSize),
		retention: retention, now: time.Now, done: make(chan struct{})}
}

// Record stamps e with an id and time, adds the request id ctx carries to d, marshals d as its
// detail, logs it as one line (the detail as a JSON object), and queues it for writing.
func (w *Writer) Record(ctx context.Context, e models.AuditEvent, d models.AuditDetail) {
	d.RequestID = requestid.From(ctx)
	e.ID = uuid.NewString()
	e.CreatedAt = w.now().UTC()
	detail := marshalDetail(d)
	e.Detail = string(detail)
	w.m.AuthEvents.WithLabelValues(string(e.Type)).Inc()
	w.log.InfoContext(ctx, "auth event", "event", e.Type, "user_id", e.UserID, "session_id", e.SessionID,
		"ip", e.IP, "detail", json.RawMessage(detail))
	select {
	case w.queue <- e:
	default:
		w.m.AuditDropped.Inc()
	}
}

// Run writes queued events until ctx ends, then writes what is left (within five seconds) and
// returns. It also prunes events older than the retention once an hour.
func (w *Writer) Run(ctx context.Context) {
	defer close(w.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	w.prune(ctx)
	// Writes are not cut short by ctx (flush bounds each one): a shutdown arriving during a
	// write would otherwise drop that batch.
	wctx := context.WithoutCancel(ctx)
	batch := make([]models.AuditEvent, 0, maxBatch)
	for {
		select {
		case e := <-w.queue:
			batch = append(batch, e)
			if len(batch) == maxBatch {
				batch = w.flush(wctx, batch)
			}
		case <-tick.C:
			batch = w.flush(wctx, batch)
		case <-prune.C:
			w.prune(ctx)
		case <-ctx.Done():
			w.drain(batch)
			return
		}
	}
}

// Wait blocks until Run has written its last batch.
func (w *Writer) Wait() { <-w.done }

// drain writes the batch and everything still queued, on a fresh short deadline.
func (w *Writer) drain(batch []models.AuditEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		select {
		case e := <-w.queue:
			batch = append(batch, e)
			if len(batch) == maxBatch {
				batch = w.flush(ctx, batch)
			}
		default:
			w.flush(ctx, batch)
			return
		}
	}
}

// flush writes batch and returns it emptied. A failed write drops the batch and counts it:
// the trail must never hold up the requests that feed it.
func (w *Writer) flush(ctx context.Context, batch []models.AuditEvent) []models.AuditEvent {
	if len(batch) == 0 {
		return batch
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := w.store.InsertAuditEvents(wctx, batch); err != nil {
		w.m.AuditDropped.Add(len(batch))
		w.log.WarnContext(ctx, "audit write failed, events dropped", "count", len(batch), "error", err.Error())
	} else {
		w.m.AuditWritten.Add(len(batch))
	}
	return batch[:0]
}

// prune deletes events older than the retention.
func (w *Writer) prune(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	n, err := w.store.PruneAuditEvents(ctx, w.now().Add(-w.retention))
	if err != nil {
		w.log.WarnContext(ctx, "audit prune failed", "error", err.Error())
		return
	}
	if n > 0 {
		w.log.InfoContext(ctx, "audit events pruned", "count", n)
	}
}

// marshalDetail is d as JSON. The detail of a refresh, the most frequent event, holds only the
// request id and the generation and is written without reflection; any other goes through
// encoding/json (TestMarshalDetail: the two agree).
func marshalDetail(d models.AuditDetail) []byte {
	rest := d
	rest.RequestID, rest.Generation = "", 0
	if rest == (models.AuditDetail{}) {
		o := jsonenc.NewObject(make([]byte, 0, 96))
		o.StringOmitEmpty("requestId", d.RequestID)
		if d.Generation != 0 {
			o.Int("generation", d.Generation)
		}
		return o.End()
	}
	detail, _ := json.Marshal(d) // only strings, numbers and booleans: marshalling cannot fail
	return detail
}
