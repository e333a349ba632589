// Package app builds the whole server from a config.Config: the store, Redis, the token issuer,
// the revocation list, the audit writer, the rate limits, the auth service and the HTTP handler.
// It is the one place that wires the parts together; cmd/server and the tests build through New,
// and nothing else imports this package.
//
// To add a service (mail, passkeys ...): give App a field, build it in New after
// what it needs, hand it to auth.Deps or handlers.Deps, and, when it works in the background,
// start it in Start or StartServing and end it in Stop.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/authserver/authserver/docs"
	"github.com/authserver/authserver/examples/spa"
	"github.com/authserver/authserver/internal/audit"
	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/config"
	"github.com/authserver/authserver/internal/handlers"
	"github.com/authserver/authserver/internal/mail"
	"github.com/authserver/authserver/internal/metrics"
	"github.com/authserver/authserver/internal/mfa"
	"github.com/authserver/authserver/internal/passkeys"
	"github.com/authserver/authserver/internal/ratelimit"
	"github.com/authserver/authserver/internal/redis"
	"github.com/authserver/authserver/internal/requestid"
	"github.com/authserver/authserver/internal/revoke"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/tokens"
)

// Overrides replace what New would otherwise build from the configuration; tests use them. The
// zero Overrides builds everything from the configuration.
type Overrides struct {
	Now        func() time.Time // the clock of tokens, sessions, revocations and audit events; nil = time.Now
	BcryptCost int              // 0 = Config.BcryptCost (tests use bcrypt.MinCost)
	// Store is an open, migrated store to use instead of opening Config.DatabaseDSN; Close leaves it open.
	Store *store.Store
	// AuthStore is what the auth service reads and writes through; nil = the store. Tests wrap
	// the store to inject a fault the real database cannot produce.
	AuthStore auth.Store
	// Redis is a client to use instead of connecting to Config.RedisURL; Close leaves it open.
	Redis *redis.Client
	// RateLimitPrefix starts every rate-limit counter's key; "" = "ratelimit".
	RateLimitPrefix string
	// Mail tunes the mail queue and the SMTP client (tests: a short first retry, the test server's CA).
	Mail MailOverrides
}

// App is the assembled server. Its parts are exported for the command line and the tests.
type App struct {
	Config   config.Config
	Store    *store.Store
	Redis    *redis.Client // nil without REDIS_URL
	Metrics  *metrics.Metrics
	Tokens   *tokens.Issuer // nil when Config.Tokenless
	DenyList *revoke.List
	Revoker  *revoke.Revoker
	Audit    *audit.Writer
	Limits   *ratelimit.Limits
	Auth     *auth.Service
	Passkeys *passkeys.Service // nil when no WebAuthn relying party is configured
	Mail     *mail.Queue       // nil when the server sends no mail

	log      *slog.Logger
	closers  []func() error     // what New opened, closed last-opened first
	stop     context.CancelFunc // ends the background work; nil when none runs
	mailStop context.CancelFunc // ends the mail queue; nil when none runs
}

// New opens the database (applying pending migrations) and Redis unless o provides them, and
// builds every service from cfg. On failure it closes what it opened.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, o Overrides) (a *App, err error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	log = slog.New(requestid.LogHandler(log.Handler())) // every line of a request carries its id
	a = &App{Config: cfg, Store: o.Store, Redis: o.Redis, Metrics: metrics.New(), DenyList: revoke.NewList(), log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.Store == nil {
		if a.Store, err = OpenStore(ctx, cfg, log); err != nil {
			return nil, err
		}
		a.closers = append(a.closers, a.Store.Close)
	}
	a.Metrics.WatchPool(a.Store.Pool(), string(cfg.DatabaseDriver))
	if a.Redis == nil && cfg.RedisURL != "" {
		if a.Redis, err = redis.New(cfg.RedisURL); err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		a.closers = append(a.closers, a.Redis.Close)
	}
	if !cfg.Tokenless {
		if a.Tokens, err = newIssuer(cfg, now); err != nil {
			return nil, fmt.Errorf("token issuer: %w", err)
		}
	}
	a.Revoker = revoke.New(a.DenyList, revoke.Options{
		Store: a.Store, Redis: a.Redis, SyncInterval: cfg.RevocationSyncInterval, IdleTimeout: cfg.IdleTimeout,
		RetainRevoked: cfg.AccessTTL + cfg.Leeway + time.Minute, Log: log, Now: now,
		Entries: func(n int) { a.Metrics.DenyList.Set(float64(n)) },
	})
	a.Audit = audit.New(a.Store, log, a.Metrics, cfg.AuditQueueSize, cfg.AuditRetention)
	a.Limits, err = ratelimit.New(ratelimit.Options{
		Redis: a.Redis, Prefix: o.RateLimitPrefix, Window: cfg.RateLimitWindow,
		GeneralMax: int64(cfg.RateLimitMax), AuthMax: int64(cfg.AuthRateLimitMax),
		LoginMaxFailures: int64(cfg.LoginMaxFailures), LoginFailureWindow: cfg.LoginFailureWindow, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	cost := cfg.BcryptCost
	if o.BcryptCost != 0 {
		cost = o.BcryptCost
	}
	hashes := auth.SchedulerSlots // follows GOMAXPROCS, which Go derives from the CPU quota
	if cfg.BcryptConcurrency > 0 {
		hashes = auth.FixedSlots(cfg.BcryptConcurrency)
	}
	hasher, err := auth.NewHasher(cost, hashes, cfg.BcryptQueueWait)
	if err != nil {
		return nil, err
	}
	if cfg.Passkeys.RPID != "" {
		if a.Passkeys, err = passkeys.New(cfg.Passkeys, a.Store, now); err != nil {
			return nil, fmt.Errorf("passkeys: %w", err)
		}
	}
	hasher.ObserveWait(func(d time.Duration) { a.Metrics.BcryptWait.Observe(d.Seconds()) })
	var sealer *mfa.Sealer
	if !cfg.Tokenless {
		if sealer, err = mfa.NewSealer([]byte(cfg.RefreshSecret)); err != nil {
			return nil, fmt.Errorf("totp sealer: %w", err)
		}
	}
	var authStore auth.Store = a.Store
	if o.AuthStore != nil {
		authStore = o.AuthStore
	}
	letters, err := a.newMail(o.Mail)
	if err != nil {
		return nil, err
	}
	var outbox auth.Outbox
	if a.Mail != nil {
		outbox = a.Mail
	}
	a.Auth = auth.New(auth.Deps{
		Store: authStore, Tokens: a.Tokens, Hasher: hasher, Revoker: a.Revoker, Audit: a.Audit,
		Guard: a.Limits.LoginGuard(), Sealer: sealer, Passkeys: a.Passkeys, Log: log, Now: now, Letters: letters, Outbox: outbox,
		Settings: auth.Settings{
			AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL, ReuseGrace: cfg.ReuseGrace, IdleTimeout: cfg.IdleTimeout,
			MaxLifetime: cfg.MaxLifetime, Leeway: cfg.Leeway, PasswordMinLength: cfg.PasswordMinLength,
			AllowRegistration: cfg.AllowRegistration, Fingerprint: cfg.TokenFingerprint, TOTPIssuer: cfg.Issuer,
			Email: auth.EmailSettings{
				VerifyTTL: cfg.Mail.EmailTokenTTL, ResetTTL: cfg.Mail.PasswordResetTTL,
				ResendInterval: cfg.Mail.ResendInterval, RequireVerified: cfg.Mail.RequireVerified,
			},
		},
	})
	return a, nil
}

// Handler returns the HTTP API, and the example SPA at / when Config.ServeSPA is set. It fails
// for a Tokenless app and on a bad trusted-proxy list.
func (a *App) Handler() (http.Handler, error) {
	if a.Tokens == nil {
		return nil, errors.New("the configuration has no JWT secrets or keys: no API can be served")
	}
	var pages fs.FS
	if a.Config.ServeSPA {
		pages = spa.Files()
	}
	return handlers.NewServer(handlers.Deps{
		Auth: a.Auth, Tokens: a.Tokens, DenyList: a.DenyList, Limits: a.Limits, Metrics: a.Metrics, Log: a.log,
		Ready: a.Ready, ClientURLs: a.Config.ClientURLs, TrustedProxies: a.Config.TrustedProxies,
		CookieSecure: a.Config.CookieSecure, Fingerprint: a.Config.TokenFingerprint, SPA: pages,
		IntrospectionTokens: secretStrings(a.Config.IntrospectionTokens),
		RequireMFAForAdmin:  a.Config.RequireMFAForAdmin, OpenAPI: docs.OpenAPIJSON(), RequestTimeout: a.Config.RequestTimeout,
	})
}

// secretStrings returns the values of secrets, for the part that compares them.
func secretStrings(secrets []config.Secret) []string {
	out := make([]string, len(secrets))
	for i, s := range secrets {
		out[i] = string(s)
	}
	return out
}

// Ready reports whether the database and, when configured, Redis answer.
func (a *App) Ready(ctx context.Context) error {
	if err := a.Store.Ping(ctx); err != nil {
		return err
	}
	if a.Redis != nil {
		if err := a.Redis.Ping(ctx); err != nil {
			return fmt.Errorf("ping redis: %w", err)
		}
	}
	return nil
}

// Start runs the audit writer and the mail queue until Stop. The command line and the tests need nothing more.
func (a *App) Start(ctx context.Context) {
	_ = a.start(ctx, false) // fails only when loading revocations, which it does not do
}

// StartServing runs what serve needs in the background until Stop: the deny list, loaded with
// every revocation in force and then kept in step with the database and the other instances,
// the audit writer and the mail queue. It fails only when the revocations cannot be loaded.
func (a *App) StartServing(ctx context.Context) error {
	return a.start(ctx, true)
}

// start runs the background work, with the revoker when revocations is set, on a context that
// only Stop ends.
func (a *App) start(ctx context.Context, revocations bool) error {
	if a.stop != nil {
		return nil
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	if revocations {
		if err := a.Revoker.Start(bg); err != nil {
			stop()
			return fmt.Errorf("load revocations: %w", err)
		}
	}
	a.stop = stop
	go a.Audit.Run(bg)
	if a.Mail != nil {
		mctx, mailStop := context.WithCancel(context.WithoutCancel(ctx))
		a.mailStop = mailStop
		go a.Mail.Run(mctx)
	}
	return nil
}

// Stop ends the background work and returns once the queued mail is delivered (or given up
// after the queue's drain time) and the queued audit events are written.
func (a *App) Stop() {
	if a.stop == nil {
		return
	}
	// Mail requests still at work may queue mail and record events: let them finish, then let the
	// queue deliver what it holds (within its drain time), then stop the rest.
	a.Auth.Wait()
	if a.mailStop != nil {
		a.mailStop()
		a.Mail.Wait()
		a.mailStop = nil
	}
	a.stop()
	a.Audit.Wait()
	a.stop = nil
}

// Close stops the background work and closes the connections New opened.
func (a *App) Close() {
	a.Stop()
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i]()
	}
	a.closers = nil
}

// OpenStore opens the configured database and applies pending migrations.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := store.Open(octx, cfg.DatabaseDriver, cfg.DatabaseDSN, log)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := st.Migrate(octx); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return st, nil
}

// newIssuer builds the token issuer from the configuration.
func newIssuer(cfg config.Config, now func() time.Time) (*tokens.Issuer, error) {
	return tokens.New(tokens.Options{
		Algorithm: cfg.Algorithm, AccessSecret: []byte(cfg.AccessSecret), RefreshSecret: []byte(cfg.RefreshSecret),
		SigningKey: cfg.SigningKey, VerifyKeys: cfg.VerifyKeys, Issuer: cfg.Issuer, Audience: cfg.Audience,
		AccessTTL: cfg.AccessTTL, Leeway: cfg.Leeway, Now: now,
	})
}
