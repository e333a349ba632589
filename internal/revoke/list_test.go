package revoke_test

import (
	"testing"
	"time"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/revoke"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestListDenied(t *testing.T) {
	l := revoke.NewList()
	l.Apply([]models.Revocation{
		{Kind: models.RevokeSession, Subject: "sid-revoked", ExpiresAt: t0.Add(time.Hour)},
		{Kind: models.RevokeToken, Subject: "jti-revoked", ExpiresAt: t0.Add(time.Hour)},
		{Kind: models.RevokeUser, Subject: "user-cut", Cutoff: t0, ExpiresAt: t0.Add(time.Hour)},
	})
	tests := []struct {
		name           string
		user, sid, jti string
		iat            time.Time
		want           bool
	}{
		{"nothing revoked", "user-ok", "sid-ok", "jti-ok", t0, false},
		{"session revoked", "user-ok", "sid-revoked", "jti-ok", t0.Add(time.Minute), true},
		{"jti revoked", "user-ok", "sid-ok", "jti-revoked", t0.Add(time.Minute), true},
		{"user cut off, issued before", "user-cut", "sid-ok", "jti-ok", t0.Add(-time.Second), true},
		{"user cut off, issued at the cut-off", "user-cut", "sid-ok", "jti-ok", t0, false},
		{"user cut off, issued after", "user-cut", "sid-ok", "jti-ok", t0.Add(time.Second), false},
		{"a revoked subject of another kind", "sid-revoked", "jti-revoked", "user-cut", t0.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		if got := l.Denied(tt.user, tt.sid, tt.jti, tt.iat); got != tt.want {
			t.Errorf("Denied(%s: %q, %q, %q, %v) = %v, want %v", tt.name, tt.user, tt.sid, tt.jti, tt.iat, got, tt.want)
		}
	}
}

func TestListApplyIdempotent(t *testing.T) {
	revs := []models.Revocation{
		{Kind: models.RevokeSession, Subject: "sid", ExpiresAt: t0.Add(time.Hour)},
		{Kind: models.RevokeToken, Subject: "jti", ExpiresAt: t0.Add(time.Hour)},
		{Kind: models.RevokeUser, Subject: "user", Cutoff: t0, ExpiresAt: t0.Add(time.Hour)},
	}
	l := revoke.NewList()
	l.Apply(revs)
	l.Apply(revs)
	l.Apply(revs[:1])
	if n := l.Prune(t0); n != 3 {
		t.Errorf("after applying 3 revocations several times, Prune(t0) = %d entries, want 3", n)
	}
	if !l.Denied("user", "", "", t0.Add(-time.Second)) || l.Denied("user", "", "", t0) {
		t.Errorf("the user cut-off moved after applying it again, want it at %v", t0)
	}

	// An older revocation of the same subject neither shortens nor moves back an entry.
	l.Apply([]models.Revocation{
		{Kind: models.RevokeSession, Subject: "sid", ExpiresAt: t0.Add(time.Minute)},
		{Kind: models.RevokeUser, Subject: "user", Cutoff: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Minute)},
	})
	if n := l.Prune(t0.Add(30 * time.Minute)); n != 3 {
		t.Errorf("after applying shorter revocations, Prune(+30m) = %d entries, want 3 (the later expiry wins)", n)
	}
	if !l.Denied("user", "", "", t0.Add(-time.Second)) {
		t.Errorf("an earlier cut-off replaced a later one, want the later kept")
	}
	l.Apply(nil)
	l.Apply([]models.Revocation{})
}

func TestListPrune(t *testing.T) {
	l := revoke.NewList()
	l.Apply([]models.Revocation{
		{Kind: models.RevokeSession, Subject: "sid-old", ExpiresAt: t0},
		{Kind: models.RevokeSession, Subject: "sid-new", ExpiresAt: t0.Add(time.Second)},
		{Kind: models.RevokeToken, Subject: "jti-old", ExpiresAt: t0.Add(-time.Second)},
		{Kind: models.RevokeToken, Subject: "jti-new", ExpiresAt: t0.Add(time.Hour)},
		{Kind: models.RevokeUser, Subject: "user-old", Cutoff: t0.Add(-time.Hour), ExpiresAt: t0},
		{Kind: models.RevokeUser, Subject: "user-new", Cutoff: t0, ExpiresAt: t0.Add(time.Hour)},
	})
	if n := l.Prune(t0); n != 3 {
		t.Errorf("Prune(t0) = %d entries left, want 3", n)
	}
	iat := t0.Add(-2 * time.Hour)
	for _, c := range []struct {
		name           string
		user, sid, jti string
		want           bool
	}{
		{"expired session", "", "sid-old", "", false},
		{"live session", "", "sid-new", "", true},
		{"expired jti", "", "", "jti-old", false},
		{"live jti", "", "", "jti-new", true},
		{"expired user cut-off", "user-old", "", "", false},
		{"live user cut-off", "user-new", "", "", true},
	} {
		if got := l.Denied(c.user, c.sid, c.jti, iat); got != c.want {
			t.Errorf("after Prune(t0), Denied(%s) = %v, want %v", c.name, got, c.want)
		}
	}
	if n := l.Prune(t0.Add(time.Hour)); n != 0 {
		t.Errorf("Prune(t0+1h) = %d entries left, want 0", n)
	}
}
