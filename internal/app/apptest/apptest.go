// Package apptest builds the whole application for tests through app.New, on a real store.
package apptest

import (
	"log/slog"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/authserver/authserver/internal/app"
	"github.com/authserver/authserver/internal/config"
	"github.com/authserver/authserver/internal/store/storetest"
)

// The JWT secrets of Config.
const (
	AccessSecret  = "access-secret-for-tests-0123456789abcdef"
	RefreshSecret = "refresh-secret-for-tests-fedcba9876543210"
)

// Config returns what config.Load makes of an environment holding only the test secrets: every
// default, HS256. A test changes the fields it cares about.
func Config(t testing.TB) config.Config {
	t.Helper()
	env := map[string]string{"JWT_ACCESS_SECRET": AccessSecret, "JWT_REFRESH_SECRET": RefreshSecret}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Load(test secrets): %v", err)
	}
	return cfg
}

// New builds the app from cfg and o with app.New, logging to log (discarded when nil). A nil
// o.Store becomes a fresh storetest.Open store, and a zero o.BcryptCost bcrypt.MinCost. The
// audit writer runs until t's cleanup, which writes what is queued and closes the app.
func New(t testing.TB, cfg config.Config, log *slog.Logger, o app.Overrides) *app.App {
	t.Helper()
	if o.Store == nil {
		o.Store = storetest.Open(t)
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.MinCost
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a, err := app.New(t.Context(), cfg, log, o)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	a.Start(t.Context())
	t.Cleanup(a.Close) // runs before the store's own cleanup closes it
	return a
}
