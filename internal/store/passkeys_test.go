package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/passkeys"
	"github.com/authserver/authserver/internal/store"
)

var _ passkeys.Store = (*store.Store)(nil)

func newPasskey(t *testing.T, s *store.Store, userID string, credentialID string, createdAt time.Time) *models.Passkey {
	t.Helper()
	p := &models.Passkey{
		ID: uuid.NewString(), UserID: userID, CredentialID: []byte(credentialID), PublicKey: []byte("cose key"),
		SignCount: 5, Transports: "internal,hybrid", AAGUID: make([]byte, 16), AttestationFormat: "none",
		BackupEligible: true, Name: "Laptop", CreatedAt: createdAt,
	}
	if err := s.CreatePasskey(context.Background(), p); err != nil {
		t.Fatalf("CreatePasskey(%s) = %v", credentialID, err)
	}
	return p
}

func TestPasskeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		alice := newUser(t, s, "alice@example.com", models.RoleUser, t0)
		bob := newUser(t, s, "bob@example.com", models.RoleAdmin, t0)
		first := newPasskey(t, s, alice.ID, "cred-1", t0)
		second := newPasskey(t, s, alice.ID, "cred-2", t0.Add(time.Second))

		dup := &models.Passkey{ID: uuid.NewString(), UserID: bob.ID, CredentialID: []byte("cred-1"), PublicKey: []byte("k"), AAGUID: []byte{}, Name: "x", CreatedAt: t0}
		if err := s.CreatePasskey(ctx, dup); !errors.Is(err, models.ErrPasskeyExists) {
			t.Fatalf("CreatePasskey(taken credential id) = %v, want models.ErrPasskeyExists", err)
		}

		list, err := s.Passkeys(ctx, alice.ID)
		if err != nil || len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
			t.Fatalf("Passkeys(alice) = %+v, %v; want her two passkeys, oldest first", list, err)
		}
		got := list[0]
		if string(got.CredentialID) != "cred-1" || got.SignCount != 5 || got.Transports != "internal,hybrid" ||
			len(got.AAGUID) != 16 || !got.BackupEligible || got.BackupState || got.Name != "Laptop" ||
			!got.CreatedAt.Equal(t0) || got.LastUsedAt != nil || got.User != nil {
			t.Fatalf("Passkeys(alice)[0] = %+v, want the passkey as stored", got)
		}
		if list, err := s.Passkeys(ctx, bob.ID); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("Passkeys(bob) = %#v, %v; want an empty, non-nil list", list, err)
		}
		if st, err := s.MFAState(ctx, alice.ID); err != nil || st.Passkeys != 2 {
			t.Fatalf("MFAState(alice).Passkeys = %d, %v; want 2", st.Passkeys, err)
		}

		p, err := s.PasskeyByCredentialID(ctx, []byte("cred-2"))
		if err != nil || p.ID != second.ID || p.User == nil || p.User.ID != alice.ID || p.User.Email != alice.Email ||
			p.User.Role != models.RoleUser || p.User.Disabled {
			t.Fatalf("PasskeyByCredentialID(cred-2) = %+v, %v; want alice's second passkey with alice as User", p, err)
		}
		if _, err := s.PasskeyByCredentialID(ctx, []byte("nope")); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("PasskeyByCredentialID(unknown) = %v, want models.ErrNotFound", err)
		}

		used := t0.Add(time.Hour)
		if err := s.UsePasskey(ctx, first.ID, 4, 9, true, used); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("UsePasskey(stale count 4) = %v, want models.ErrNotFound", err)
		}
		if err := s.UsePasskey(ctx, first.ID, 5, 9, true, used); err != nil {
			t.Fatalf("UsePasskey(count 5 -> 9) = %v", err)
		}
		p, _ = s.PasskeyByCredentialID(ctx, []byte("cred-1"))
		if p.SignCount != 9 || !p.BackupState || p.LastUsedAt == nil || !p.LastUsedAt.Equal(used) {
			t.Fatalf("after UsePasskey: %+v, want count 9, backed up, last used %v", p, used)
		}

		for _, tc := range []struct{ who, id string }{{bob.ID, first.ID}, {alice.ID, uuid.NewString()}, {alice.ID, "not-a-uuid"}} {
			if err := s.DeletePasskey(ctx, tc.who, tc.id); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("DeletePasskey(%s, %s) = %v, want models.ErrNotFound", tc.who, tc.id, err)
			}
		}
		if err := s.DeletePasskey(ctx, alice.ID, first.ID); err != nil {
			t.Fatalf("DeletePasskey(alice, first) = %v", err)
		}
		if err := s.UsePasskey(ctx, first.ID, 9, 10, false, used); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("UsePasskey(deleted) = %v, want models.ErrNotFound", err)
		}
		if _, err := s.DeleteUser(ctx, alice.ID, t0, t0); err != nil {
			t.Fatalf("DeleteUser(alice) = %v", err)
		}
		if _, err := s.PasskeyByCredentialID(ctx, []byte("cred-2")); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("PasskeyByCredentialID after the user was deleted = %v, want models.ErrNotFound", err)
		}
	})
}

func TestWebAuthnChallenges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c := &models.WebAuthnChallenge{
			IDHash: []byte("hash-1"), Purpose: models.ChallengeLogin, Email: "a@example.com", Session: `{"challenge":"x"}`,
			CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute),
		}
		if err := s.CreateChallenge(ctx, c); err != nil {
			t.Fatalf("CreateChallenge = %v", err)
		}
		got, err := s.TakeChallenge(ctx, []byte("hash-1"))
		if err != nil || got.Purpose != models.ChallengeLogin || got.Email != "a@example.com" || got.UserID != "" ||
			got.Session != c.Session || !got.ExpiresAt.Equal(c.ExpiresAt) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("TakeChallenge = %+v, %v; want the challenge as stored", got, err)
		}
		if _, err := s.TakeChallenge(ctx, []byte("hash-1")); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("second TakeChallenge = %v, want models.ErrNotFound", err)
		}

		// A new challenge sweeps away those that expired before it was made.
		old := &models.WebAuthnChallenge{IDHash: []byte("old"), Purpose: models.ChallengeRegistration, UserID: uuid.NewString(),
			Session: "{}", CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
		live := &models.WebAuthnChallenge{IDHash: []byte("live"), Purpose: models.ChallengeLogin, Session: "{}",
			CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(6 * time.Minute)}
		for _, c := range []*models.WebAuthnChallenge{old, live} {
			if err := s.CreateChallenge(ctx, c); err != nil {
				t.Fatalf("CreateChallenge = %v", err)
			}
		}
		later := &models.WebAuthnChallenge{IDHash: []byte("later"), Purpose: models.ChallengeLogin, Session: "{}",
			CreatedAt: t0.Add(5*time.Minute + time.Second), ExpiresAt: t0.Add(10 * time.Minute)}
		if err := s.CreateChallenge(ctx, later); err != nil {
			t.Fatalf("CreateChallenge(later) = %v", err)
		}
		if _, err := s.TakeChallenge(ctx, []byte("old")); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("TakeChallenge(expired before a newer one) = %v, want models.ErrNotFound", err)
		}
		if _, err := s.TakeChallenge(ctx, []byte("live")); err != nil {
			t.Errorf("TakeChallenge(still live) = %v", err)
		}

		bad := &models.WebAuthnChallenge{IDHash: []byte("bad"), Purpose: "other", Session: "{}", CreatedAt: t0, ExpiresAt: t0}
		if err := s.CreateChallenge(ctx, bad); err == nil {
			t.Errorf("CreateChallenge(purpose other) = nil, want the database's check to refuse it")
		}
	})
}
