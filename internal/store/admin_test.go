package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/store"
)

func TestListUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var want []string
		for i := range 7 {
			// Two users share each creation time, so the id breaks the tie.
			u := newUser(t, s, fmt.Sprintf("user%d@example.com", i), models.RoleUser, t0.Add(time.Duration(i/2)*time.Second))
			want = append(want, u.ID)
		}
		// Order want by (created_at, id) as the store must.
		for i := 0; i+1 < len(want); i += 2 {
			if want[i] > want[i+1] {
				want[i], want[i+1] = want[i+1], want[i]
			}
		}

		var got []string
		var pages int
		f := models.UserFilter{Limit: 3}
		for {
			page, err := s.ListUsers(ctx, f)
			if err != nil {
				t.Fatalf("ListUsers(%+v) = %v", f, err)
			}
			if len(page) == 0 {
				break
			}
			pages++
			for _, u := range page {
				got = append(got, u.ID)
			}
			last := page[len(page)-1]
			f.After = &models.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		if pages != 3 || !equal(got, want) {
			t.Errorf("ListUsers pages of 3: %d pages, ids %v, want 3 pages, ids %v", pages, got, want)
		}

		all, err := s.ListUsers(ctx, models.UserFilter{})
		if err != nil || len(all) != 7 {
			t.Errorf("ListUsers(no limit) = %d users, %v, want 7", len(all), err)
		}
	})
}

func TestListUsersPrefix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, email := range []string{"a%b@example.com", "a_b@example.com", "axb@example.com", `a\b@example.com`, "b@example.com"} {
			newUser(t, s, email, models.RoleUser, t0)
		}
		tests := []struct {
			prefix string
			want   []string
		}{
			{"a%", []string{"a%b@example.com"}},
			{"a_", []string{"a_b@example.com"}},
			{`a\`, []string{`a\b@example.com`}},
			{"AX", []string{"axb@example.com"}},
			{"a", []string{"a%b@example.com", "a_b@example.com", `a\b@example.com`, "axb@example.com"}},
			{"z", nil},
		}
		for _, tt := range tests {
			users, err := s.ListUsers(ctx, models.UserFilter{EmailPrefix: tt.prefix})
			if err != nil {
				t.Fatalf("ListUsers(prefix %q) = %v", tt.prefix, err)
			}
			got := map[string]bool{}
			for _, u := range users {
				got[u.Email] = true
			}
			if len(got) != len(tt.want) {
				t.Errorf("ListUsers(prefix %q) = %v, want %v", tt.prefix, got, tt.want)
				continue
			}
			for _, e := range tt.want {
				if !got[e] {
					t.Errorf("ListUsers(prefix %q) = %v, want %v", tt.prefix, got, tt.want)
				}
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestUpdateUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		deny := t0.Add(time.Hour)
		admin := newUser(t, s, "admin@example.com", models.RoleAdmin, t0)
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		s1 := newSession(t, s, u.ID, t0)
		s2 := newSession(t, s, u.ID, t0)

		got, revs, err := s.UpdateUser(ctx, u.ID, models.UserPatch{Role: ptr(models.RoleAdmin)}, t0, deny)
		if err != nil || got.Role != models.RoleAdmin || got.Disabled || len(revs) != 0 || !got.UpdatedAt.Equal(t0) {
			t.Fatalf("UpdateUser(promote) = %+v, %v, %v, want an admin and no revocations", got, revs, err)
		}

		got, revs, err = s.UpdateUser(ctx, u.ID, models.UserPatch{Disabled: ptr(true)}, t0, deny)
		if err != nil || !got.Disabled || got.Role != models.RoleAdmin {
			t.Fatalf("UpdateUser(disable) = %+v, %v, want a disabled admin", got, err)
		}
		wantSubjects := map[string]models.RevocationKind{s1.ID: models.RevokeSession, s2.ID: models.RevokeSession, u.ID: models.RevokeUser}
		gotSubjects := map[string]models.RevocationKind{}
		for _, r := range revs {
			gotSubjects[r.Subject] = r.Kind
			if !r.ExpiresAt.Equal(deny) || r.ID == 0 {
				t.Errorf("UpdateUser(disable) revocation %+v, want stored, expiring at %v", r, deny)
			}
			if r.Kind == models.RevokeUser && !r.Cutoff.Equal(t0) {
				t.Errorf("UpdateUser(disable) user revocation cutoff = %v, want %v", r.Cutoff, t0)
			}
		}
		if !reflect.DeepEqual(gotSubjects, wantSubjects) {
			t.Errorf("UpdateUser(disable) revocations = %v, want %v", gotSubjects, wantSubjects)
		}
		if ids := activeIDs(t, s, u.ID); len(ids) != 0 {
			t.Errorf("active sessions of a disabled user = %v, want none", ids)
		}
		stored, err := s.UserByID(ctx, u.ID)
		if err != nil || !stored.Disabled || stored.Role != models.RoleAdmin {
			t.Errorf("UserByID after disable = %+v, %v, want a disabled admin", stored, err)
		}

		// ann is a disabled admin: admin is the only enabled one.
		for _, p := range []models.UserPatch{{Role: ptr(models.RoleUser)}, {Disabled: ptr(true)}} {
			if _, _, err := s.UpdateUser(ctx, admin.ID, p, t0, deny); !errors.Is(err, models.ErrLastAdmin) {
				t.Errorf("UpdateUser(last admin, %+v) = %v, want ErrLastAdmin", p, err)
			}
		}
		if _, _, err := s.UpdateUser(ctx, admin.ID, models.UserPatch{Role: ptr(models.RoleAdmin), Disabled: ptr(false)}, t0, deny); err != nil {
			t.Errorf("UpdateUser(last admin, no loss) = %v, want nil", err)
		}
		if _, _, err := s.UpdateUser(ctx, u.ID, models.UserPatch{Disabled: ptr(false)}, t0, deny); err != nil {
			t.Fatalf("UpdateUser(enable) = %v", err)
		}
		if _, _, err := s.UpdateUser(ctx, admin.ID, models.UserPatch{Role: ptr(models.RoleUser)}, t0, deny); err != nil {
			t.Errorf("UpdateUser(demote, another admin enabled) = %v, want nil", err)
		}

		for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
			if _, _, err := s.UpdateUser(ctx, id, models.UserPatch{Disabled: ptr(true)}, t0, deny); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("UpdateUser(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})
}

func TestConcurrentDemotionsKeepAnAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const n = 5
		errs := make(chan error, n)
		var admins []string
		for i := range n {
			admins = append(admins, newUser(t, s, fmt.Sprintf("admin%d@example.com", i), models.RoleAdmin, t0).ID)
		}
		for _, id := range admins {
			go func() {
				_, _, err := s.UpdateUser(ctx, id, models.UserPatch{Role: ptr(models.RoleUser)}, t0, t0)
				errs <- err
			}()
		}
		var ok, last int
		for range n {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, models.ErrLastAdmin):
				last++
			default:
				t.Errorf("concurrent demotion = %v", err)
			}
		}
		if ok != n-1 || last != 1 {
			t.Errorf("%d concurrent demotions of the %d admins: %d passed, %d ErrLastAdmin, want %d and 1", n, n, ok, last, n-1)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		deny := t0.Add(time.Hour)
		admin := newUser(t, s, "admin@example.com", models.RoleAdmin, t0)
		u := newUser(t, s, "ann@example.com", models.RoleUser, t0)
		live := newSession(t, s, u.ID, t0)
		ended := newSession(t, s, u.ID, t0)
		if _, err := s.EndSessions(ctx, models.SessionFilter{ID: ended.ID}, models.ReasonLogout, t0, deny); err != nil {
			t.Fatalf("EndSessions() = %v", err)
		}

		revs, err := s.DeleteUser(ctx, u.ID, t0, deny)
		if err != nil {
			t.Fatalf("DeleteUser() = %v", err)
		}
		gotSubjects := map[string]models.RevocationKind{}
		for _, r := range revs {
			gotSubjects[r.Subject] = r.Kind
		}
		wantSubjects := map[string]models.RevocationKind{live.ID: models.RevokeSession, u.ID: models.RevokeUser}
		if !reflect.DeepEqual(gotSubjects, wantSubjects) {
			t.Errorf("DeleteUser() revocations = %v, want %v", gotSubjects, wantSubjects)
		}
		if _, err := s.UserByID(ctx, u.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("UserByID(deleted) = %v, want ErrNotFound", err)
		}
		if err := s.UpdateSession(ctx, live.ID, func(*models.Session) (bool, []models.Revocation, error) { return true, nil, nil }); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("UpdateSession(session of deleted user) = %v, want ErrNotFound", err)
		}
		if n := len(allRevocations(t, s)); n != 3 {
			t.Errorf("stored revocations = %d, want 3 (logout, session, user)", n)
		}

		if _, err := s.DeleteUser(ctx, admin.ID, t0, deny); !errors.Is(err, models.ErrLastAdmin) {
			t.Errorf("DeleteUser(last admin) = %v, want ErrLastAdmin", err)
		}
		other := newUser(t, s, "other@example.com", models.RoleAdmin, t0)
		if _, err := s.DeleteUser(ctx, admin.ID, t0, deny); err != nil {
			t.Errorf("DeleteUser(admin, another enabled) = %v, want nil", err)
		}
		if _, err := s.DeleteUser(ctx, other.ID, t0, deny); !errors.Is(err, models.ErrLastAdmin) {
			t.Errorf("DeleteUser(new last admin) = %v, want ErrLastAdmin", err)
		}
		for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
			if _, err := s.DeleteUser(ctx, id, t0, deny); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("DeleteUser(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})
}

func TestAuditEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ann, bob := uuid.NewString(), uuid.NewString()
		var events []models.AuditEvent
		for i := range 6 {
			e := models.AuditEvent{
				ID:        uuid.NewString(),
				Type:      "login_succeeded",
				UserID:    ann,
				SessionID: uuid.NewString(),
				IP:        "192.0.2.1",
				UserAgent: "agent",
				CreatedAt: t0.Add(time.Duration(i) * time.Minute),
				Detail:    `{"n":` + fmt.Sprint(i) + `}`,
			}
			if i%2 == 1 {
				e.Type, e.UserID = "logout", bob
			}
			events = append(events, e)
		}
		anonymous := models.AuditEvent{ID: uuid.NewString(), Type: "rate_limited", CreatedAt: t0.Add(-time.Hour)}
		events = append(events, anonymous)
		if err := s.InsertAuditEvents(ctx, events); err != nil {
			t.Fatalf("InsertAuditEvents() = %v", err)
		}
		if err := s.InsertAuditEvents(ctx, nil); err != nil {
			t.Errorf("InsertAuditEvents(nil) = %v", err)
		}

		all, err := s.AuditEvents(ctx, models.AuditFilter{})
		if err != nil || len(all) != 7 {
			t.Fatalf("AuditEvents() = %d events, %v, want 7", len(all), err)
		}
		newest := all[0]
		if newest.ID != events[5].ID || newest.UserID != bob || newest.SessionID != events[5].SessionID ||
			newest.IP != "192.0.2.1" || newest.UserAgent != "agent" || !newest.CreatedAt.Equal(events[5].CreatedAt) {
			t.Errorf("newest event = %+v, want %+v", newest, events[5])
		}
		var detail map[string]int
		if err := json.Unmarshal([]byte(newest.Detail), &detail); err != nil || detail["n"] != 5 {
			t.Errorf("newest event detail = %q (%v), want {\"n\":5}", newest.Detail, err)
		}
		if last := all[6]; last.ID != anonymous.ID || last.UserID != "" || last.SessionID != "" || last.Detail == "" {
			t.Errorf("oldest event = %+v, want %s without user or session, detail {}", last, anonymous.ID)
		}

		tests := []struct {
			name string
			f    models.AuditFilter
			want []string
		}{
			{"by user", models.AuditFilter{UserID: ann}, []string{events[4].ID, events[2].ID, events[0].ID}},
			{"by type", models.AuditFilter{Type: "logout"}, []string{events[5].ID, events[3].ID, events[1].ID}},
			{"by user and type", models.AuditFilter{UserID: ann, Type: "logout"}, nil},
			{"user id not a uuid", models.AuditFilter{UserID: "not-a-uuid"}, nil},
			{"before", models.AuditFilter{Before: &models.Cursor{CreatedAt: events[2].CreatedAt, ID: events[2].ID}, Limit: 2},
				[]string{events[1].ID, events[0].ID}},
		}
		for _, tt := range tests {
			got, err := s.AuditEvents(ctx, tt.f)
			if err != nil {
				t.Fatalf("AuditEvents(%s) = %v", tt.name, err)
			}
			ids := []string{}
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if len(ids) != len(tt.want) || (len(ids) > 0 && !equal(ids, tt.want)) {
				t.Errorf("AuditEvents(%s) = %v, want %v", tt.name, ids, tt.want)
			}
		}

		var paged []string
		f := models.AuditFilter{Limit: 3}
		for {
			page, err := s.AuditEvents(ctx, f)
			if err != nil {
				t.Fatalf("AuditEvents(%+v) = %v", f, err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				paged = append(paged, e.ID)
			}
			last := page[len(page)-1]
			f.Before = &models.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		var wantAll []string
		for _, e := range all {
			wantAll = append(wantAll, e.ID)
		}
		if !equal(paged, wantAll) {
			t.Errorf("AuditEvents pages of 3 = %v, want %v", paged, wantAll)
		}

		n, err := s.PruneAuditEvents(ctx, t0.Add(2*time.Minute))
		if err != nil || n != 3 {
			t.Errorf("PruneAuditEvents(t0+2m) = %d, %v, want 3 (the anonymous one and the first two)", n, err)
		}
		if left, err := s.AuditEvents(ctx, models.AuditFilter{}); err != nil || len(left) != 4 {
			t.Errorf("AuditEvents() after prune = %d events, %v, want 4", len(left), err)
		}
	})
}
