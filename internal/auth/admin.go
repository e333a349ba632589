package auth

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
)

// Page bounds.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// pageSize clamps a requested page size.
func pageSize(n int) int {
	if n <= 0 {
		return DefaultPageSize
	}
	return min(n, MaxPageSize)
}

// page cuts items, fetched with one more than limit, to limit, and returns the cursor of the
// next page: that of the last item kept, or nil when there is no next page.
func page[T any](items []T, limit int, cursor func(T) models.Cursor) ([]T, *models.Cursor) {
	if len(items) <= limit {
		return items, nil
	}
	next := cursor(items[limit-1])
	return items[:limit], &next
}

// ListUsers returns a page of users and the cursor of the next page (nil on the last page).
func (s *Service) ListUsers(ctx context.Context, f models.UserFilter) ([]models.User, *models.Cursor, error) {
	limit := pageSize(f.Limit)
	f.Limit = limit + 1
	f.EmailPrefix = NormalizeEmail(f.EmailPrefix)
	users, err := s.store.ListUsers(ctx, f)
	if err != nil {
		return nil, nil, fmt.Errorf("list users: %w", err)
	}
	users, next := page(users, limit, func(u models.User) models.Cursor { return models.Cursor{CreatedAt: u.CreatedAt, ID: u.ID} })
	return users, next, nil
}

// CreateUserAs creates a user as CreateUser does, for an operator (the command line), and
// records it as a user_registered event with by as its actor.
func (s *Service) CreateUserAs(ctx context.Context, by Principal, email, password string, role models.Role, c Client) (*models.User, error) {
	u, err := s.CreateUser(ctx, email, password, role)
	if err != nil {
		return nil, err
	}
	s.record(ctx, models.AuditUserRegistered, u.ID, "", c, models.AuditDetail{AuditActor: actorDetail(by), Role: role})
	return u, nil
}

// UserByEmail returns the user with that email (normalised here), or models.ErrNotFound.
func (s *Service) UserByEmail(ctx context.Context, email string) (*models.User, error) {
	u, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

// UpdateUser changes, as by, a user's role and/or disabled flag. Disabling ends every session of the user
// and makes their access tokens fail at once, on every instance; a demotion takes effect at once
// because the admin check reads the current role. It fails with a *ValidationError,
// models.ErrNotFound or models.ErrLastAdmin.
func (s *Service) UpdateUser(ctx context.Context, by Principal, id string, p models.UserPatch, c Client) (*models.User, error) {
	if uuid.Validate(id) != nil {
		return nil, models.ErrNotFound
	}
	if p.Role != nil && !p.Role.Valid() {
		return nil, &ValidationError{Fields: map[string]string{"role": "must be user or admin"}}
	}
	now := s.now().UTC()
	u, revs, err := s.store.UpdateUser(ctx, id, p, now, s.denyUntil(now))
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", id, err)
	}
	s.revoker.Publish(ctx, revs)
	d := models.AuditDetail{AuditActor: actorDetail(by), Disabled: p.Disabled}
	if p.Role != nil {
		d.Role = *p.Role
	}
	s.record(ctx, models.AuditUserUpdated, id, "", c, d)
	return u, nil
}

// DeleteUser deletes a user, as by; their sessions and access tokens stop working at once. It fails
// with models.ErrNotFound or models.ErrLastAdmin.
func (s *Service) DeleteUser(ctx context.Context, by Principal, id string, c Client) error {
	if uuid.Validate(id) != nil {
		return models.ErrNotFound
	}
	now := s.now().UTC()
	revs, err := s.store.DeleteUser(ctx, id, now, s.denyUntil(now))
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, models.AuditUserDeleted, id, "", c, models.AuditDetail{AuditActor: actorDetail(by)})
	return nil
}

// EndUserSessions ends every session of a user, as by (an admin). It fails with models.ErrNotFound.
func (s *Service) EndUserSessions(ctx context.Context, by Principal, id string, c Client) error {
	if uuid.Validate(id) != nil {
		return models.ErrNotFound
	}
	if _, err := s.store.UserByID(ctx, id); err != nil {
		return fmt.Errorf("find user %s: %w", id, err)
	}
	now := s.now().UTC()
	revs, err := s.store.EndSessions(ctx, models.SessionFilter{UserID: id}, models.ReasonEndedByAdmin, now, s.denyUntil(now))
	if err != nil {
		return fmt.Errorf("end sessions of user %s: %w", id, err)
	}
	s.revoker.Publish(ctx, revs)
	s.record(ctx, models.AuditSessionRevoked, id, "", c, models.AuditDetail{AuditActor: actorDetail(by), Sessions: count(len(revs))})
	return nil
}

// AuditEvents returns a page of the audit trail, newest first, and the cursor of the next page
// (nil on the last page).
func (s *Service) AuditEvents(ctx context.Context, f models.AuditFilter) ([]models.AuditEvent, *models.Cursor, error) {
	limit := pageSize(f.Limit)
	f.Limit = limit + 1
	events, err := s.store.AuditEvents(ctx, f)
	if err != nil {
		return nil, nil, fmt.Errorf("list audit events: %w", err)
	}
	events, next := page(events, limit, func(e models.AuditEvent) models.Cursor { return models.Cursor{CreatedAt: e.CreatedAt, ID: e.ID} })
	return events, next, nil
}
