package revoke_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/revoke"
	"github.com/authserver/authserver/internal/store/storetest"

	"github.com/authserver/authserver/internal/logtest"
)

var discard = slog.New(slog.DiscardHandler)

// waitDenied polls l until it denies session sid, failing the test after 10 seconds.
func waitDenied(t *testing.T, l *revoke.List, sid, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !l.Denied("", sid, "", time.Now()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: session %s not denied within 10s", what, sid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start runs r until the test ends.
func start(t *testing.T, r *revoke.Revoker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := r.Start(ctx); err != nil {
		t.Fatalf("Start error: %v", err)
	}
}

func sessionRev(sid string, expires time.Time) models.Revocation {
	return models.Revocation{Kind: models.RevokeSession, Subject: sid, ExpiresAt: expires}
}

func TestRevokerLoad(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			now := time.Now().UTC().Truncate(time.Second)
			live, gone, jti, user := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
			err := st.AddRevocations(ctx,
				sessionRev(live, now.Add(time.Hour)),
				sessionRev(gone, now.Add(-time.Second)),
				models.Revocation{Kind: models.RevokeToken, Subject: jti, ExpiresAt: now.Add(time.Hour)},
				models.Revocation{Kind: models.RevokeUser, Subject: user, Cutoff: now, ExpiresAt: now.Add(time.Hour)},
			)
			if err != nil {
				t.Fatalf("AddRevocations error: %v", err)
			}

			// A restarted instance: a fresh list, loaded from the store.
			l := revoke.NewList()
			r := revoke.New(l, revoke.Options{Store: st, SyncInterval: time.Hour, Log: discard, Now: func() time.Time { return now }})
			if err := r.Load(ctx); err != nil {
				t.Fatalf("Load error: %v", err)
			}
			checks := []struct {
				name           string
				user, sid, jti string
				iat            time.Time
				want           bool
			}{
				{"session", "", live, "", now, true},
				{"expired session", "", gone, "", now, false},
				{"jti", "", "", jti, now, true},
				{"user, token from before the cut-off", user, "", "", now.Add(-time.Minute), true},
				{"user, token from after the cut-off", user, "", "", now.Add(time.Minute), false},
			}
			for _, c := range checks {
				if got := l.Denied(c.user, c.sid, c.jti, c.iat); got != c.want {
					t.Errorf("after Load, Denied(%s) = %v, want %v", c.name, got, c.want)
				}
			}
			if n := l.Prune(now); n != 3 {
				t.Errorf("after Load, the list holds %d live entries, want 3 (the expired row is not loaded)", n)
			}
		})
	}
}

func TestRevokerPolling(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	a, b := revoke.NewList(), revoke.NewList()
	ra := revoke.New(a, revoke.Options{Store: st, SyncInterval: 50 * time.Millisecond, Log: discard})
	rb := revoke.New(b, revoke.Options{Store: st, SyncInterval: 50 * time.Millisecond, Log: discard})
	start(t, ra)
	start(t, rb)

	// Written straight to the store, as another instance without Redis would.
	sid := uuid.NewString()
	if err := st.AddRevocations(ctx, sessionRev(sid, time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("AddRevocations error: %v", err)
	}
	waitDenied(t, a, sid, "first revoker after a store write")
	waitDenied(t, b, sid, "second revoker after a store write")

	// Published by one revoker (and written to the store, as the service does): the other polls it in.
	sid2 := uuid.NewString()
	rev := sessionRev(sid2, time.Now().Add(time.Hour))
	if err := st.AddRevocations(ctx, rev); err != nil {
		t.Fatalf("AddRevocations error: %v", err)
	}
	ra.Publish(ctx, []models.Revocation{rev})
	if !a.Denied("", sid2, "", time.Now()) {
		t.Errorf("Publish did not apply to its own list at once")
	}
	waitDenied(t, b, sid2, "other revoker after Publish without Redis")
}

func TestRevokerRedis(t *testing.T) {
	ctx := context.Background()
	rc := storetest.Redis(t)
	st := storetest.Open(t)
	channel := "test:revocations:" + uuid.NewString()
	a, b := revoke.NewList(), revoke.NewList()
	// An hour between polls: only pub/sub can bring the revocation over within the test.
	ra := revoke.New(a, revoke.Options{Store: st, Redis: rc, Channel: channel, SyncInterval: time.Hour, Log: discard})
	rb := revoke.New(b, revoke.Options{Store: st, Redis: rc, Channel: channel, SyncInterval: time.Hour, Log: discard})
	start(t, ra)
	start(t, rb)

	now := time.Now().UTC().Truncate(time.Second)
	sid, jti, user := uuid.NewString(), uuid.NewString(), uuid.NewString()
	ra.Publish(ctx, []models.Revocation{
		sessionRev(sid, now.Add(time.Hour)),
		{Kind: models.RevokeToken, Subject: jti, ExpiresAt: now.Add(time.Hour)},
		{Kind: models.RevokeUser, Subject: user, Cutoff: now, ExpiresAt: now.Add(time.Hour)},
	})
	waitDenied(t, b, sid, "other revoker after Publish on Redis")
	if !b.Denied("", "", jti, now) {
		t.Errorf("jti revocation did not arrive with the session one")
	}
	if !b.Denied(user, "", "", now.Add(-time.Second)) || b.Denied(user, "", "", now) {
		t.Errorf("user cut-off arrived wrong: want tokens before %v denied and at it allowed", now)
	}
	if n := b.Prune(now.Add(time.Hour)); n != 0 {
		t.Errorf("received revocations outlive their expiry: %d left after it, want 0", n)
	}

	// A message that is not a list of revocations is skipped; later ones still arrive.
	if err := rc.Publish(ctx, channel, []byte("not json")); err != nil {
		t.Fatalf("publish garbage: %v", err)
	}
	sid2 := uuid.NewString()
	rb.Publish(ctx, []models.Revocation{sessionRev(sid2, now.Add(time.Hour))})
	waitDenied(t, a, sid2, "first revoker after a bad message and a Publish")
}

func TestRevokerRedisDown(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	rc := storetest.UnreachableRedis(t)
	var logs logtest.Buffer
	l := revoke.NewList()
	r := revoke.New(l, revoke.Options{
		Store: st, Redis: rc, SyncInterval: time.Hour,
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := r.Start(runCtx); err != nil {
		t.Fatalf("Start with Redis down error = %v, want nil", err)
	}
	sid := uuid.NewString()
	r.Publish(ctx, []models.Revocation{sessionRev(sid, time.Now().Add(time.Hour))})
	if !l.Denied("", sid, "", time.Now()) {
		t.Errorf("Publish with Redis down did not apply the revocation locally")
	}
	got := logs.String()
	for _, want := range []string{"revocation channel unavailable", "revocation broadcast failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("log = %q, want a warning %q", got, want)
		}
	}
}

// TestRevokerCatchesUpAfterLostChannel: while the channel is lost, revocations published by
// others do not arrive; once it is back the revoker reads the store at once instead of waiting
// for its next poll (an hour here). The loss and the recovery are logged once each.
func TestRevokerCatchesUpAfterLostChannel(t *testing.T) {
	ctx := context.Background()
	rc, proxy := storetest.RedisBehindProxy(t)
	st := storetest.Open(t)
	var logs logtest.Buffer
	l := revoke.NewList()
	r := revoke.New(l, revoke.Options{
		Store: st, Redis: rc, Channel: "test:revocations:" + uuid.NewString(), SyncInterval: time.Hour,
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	start(t, r)

	proxy.Cut()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "revocation channel lost") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning of the lost channel within 10s; log: %s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Revoked meanwhile by another instance: in the store, its broadcast lost.
	sid := uuid.NewString()
	if err := st.AddRevocations(ctx, sessionRev(sid, time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("AddRevocations error: %v", err)
	}
	proxy.Restore()
	waitDenied(t, l, sid, "revoker once its channel is back")
	got := logs.String()
	if n := strings.Count(got, "revocation channel lost"); n != 1 {
		t.Errorf("logged the loss %d times, want once; log: %s", n, got)
	}
	if !strings.Contains(got, "revocation channel available again") {
		t.Errorf("log = %q, want the recovery", got)
	}
}
