package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
)

// auditRow is how an audit event is stored: an empty user or session id is NULL,
// since the columns hold UUIDs on PostgreSQL.
type auditRow struct {
	ID        string `gorm:"primaryKey"`
	Type      models.AuditType
	UserID    *string
	SessionID *string
	IP        string
	UserAgent string
	CreatedAt time.Time
	Detail    string
}

// TableName tells GORM where audit rows live.
func (auditRow) TableName() string { return "audit_events" }

// newAuditRow converts e for storage. An empty ID gets a new UUID, an empty Detail
// becomes {}, and a zero CreatedAt becomes now.
func newAuditRow(e models.AuditEvent) auditRow {
	r := auditRow{
		ID:        e.ID,
		Type:      e.Type,
		UserID:    nullIfEmpty(e.UserID),
		SessionID: nullIfEmpty(e.SessionID),
		IP:        e.IP,
		UserAgent: e.UserAgent,
		CreatedAt: e.CreatedAt.UTC(),
		Detail:    e.Detail,
	}
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	if r.Detail == "" {
		r.Detail = "{}"
	}
	return r
}

// event converts r back.
func (r auditRow) event() models.AuditEvent {
	e := models.AuditEvent{
		ID:        r.ID,
		Type:      r.Type,
		IP:        r.IP,
		UserAgent: r.UserAgent,
		CreatedAt: r.CreatedAt,
		Detail:    r.Detail,
	}
	if r.UserID != nil {
		e.UserID = *r.UserID
	}
	if r.SessionID != nil {
		e.SessionID = *r.SessionID
	}
	return e
}

// nullIfEmpty returns nil for "", else a pointer to s.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InsertAuditEvents inserts events in one statement. Events without an ID get a new UUID;
// Detail must be a JSON object or empty.
func (s *Store) InsertAuditEvents(ctx context.Context, events []models.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]auditRow, len(events))
	for i, e := range events {
		rows[i] = newAuditRow(e)
	}
	if err := s.db.WithContext(ctx).Create(&rows).Error; err != nil {
		// Not translated: a malformed id or detail here is a bug, not a missing row.
		return fmt.Errorf("insert audit events: %w", err)
	}
	return nil
}

// AuditEvents returns a page of audit events, newest first by (CreatedAt, ID), before
// f.Before when set, about f.UserID and of f.Type when set. At most f.Limit events come
// back; a Limit of zero or less means no limit. A UserID that is not a UUID matches nothing.
func (s *Store) AuditEvents(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, error) {
	q := s.db.WithContext(ctx).Order("created_at DESC, id DESC")
	if f.UserID != "" {
		if uuid.Validate(f.UserID) != nil {
			return nil, nil
		}
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.Before != nil {
		q = q.Where("(created_at, id) < (?, ?)", f.Before.CreatedAt.UTC(), f.Before.ID)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []auditRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, translate("audit events", err)
	}
	events := make([]models.AuditEvent, len(rows))
	for i, r := range rows {
		events[i] = r.event()
	}
	return events, nil
}

// PruneAuditEvents deletes, in batches, the audit events created before before and
// returns how many went.
func (s *Store) PruneAuditEvents(ctx context.Context, before time.Time) (int64, error) {
	n, err := deleteInBatches(s.db.WithContext(ctx), &auditRow{}, "created_at < ?", before.UTC())
	if err != nil {
		return n, translate("prune audit events", err)
	}
	return n, nil
}
