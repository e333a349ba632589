package app_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/authserver/authserver/internal/app"
	"github.com/authserver/authserver/internal/app/apptest"
	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/config"
	"github.com/authserver/authserver/internal/models"
)

func TestTokenlessAppRunsAdminUseCasesOnly(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "auth.db"), "BCRYPT_COST": "10"}
	cfg, err := config.LoadCommand(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LoadCommand: %v", err)
	}
	a, err := app.New(t.Context(), cfg, slog.New(slog.DiscardHandler), app.Overrides{})
	if err != nil {
		t.Fatalf("app.New(command-line config) = %v, want an app without tokens", err)
	}
	a.Start(t.Context())
	if a.Tokens != nil {
		t.Errorf("app.New(command-line config).Tokens = %v, want nil", a.Tokens)
	}
	if h, err := a.Handler(); err == nil {
		t.Errorf("Handler() of a tokenless app = %v, nil; want an error", h)
	}
	ctx := context.Background()
	u, err := a.Auth.CreateUserAs(ctx, auth.Principal{}, "ops@example.com", "a-Long-enough-pass-42", models.RoleAdmin, auth.Client{UserAgent: "test"})
	if err != nil {
		t.Fatalf("CreateUserAs on a tokenless app = %v", err)
	}
	a.Stop() // writes the queued event
	events, err := a.Store.AuditEvents(ctx, models.AuditFilter{UserID: u.ID})
	if err != nil || len(events) != 1 || events[0].Type != models.AuditUserRegistered {
		t.Errorf("audit events of the new user = %+v, %v; want one user_registered", events, err)
	}
	a.Close()
	if err := a.Store.Ping(ctx); err == nil {
		t.Errorf("store answers after Close, want it closed (New opened it)")
	}
}

func TestCloseLeavesAGivenStoreOpen(t *testing.T) {
	cfg := apptest.Config(t)
	a := apptest.New(t, cfg, nil, app.Overrides{})
	if _, err := a.Handler(); err != nil {
		t.Fatalf("Handler() = %v", err)
	}
	a.Close()
	a.Close() // twice is harmless
	if err := a.Store.Ping(context.Background()); err != nil {
		t.Errorf("a store handed in through Overrides was closed by App.Close: %v", err)
	}
}
