package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/authserver/authserver/internal/audit"
	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/config"
	"github.com/authserver/authserver/internal/handlers"
	"github.com/authserver/authserver/internal/metrics"
	"github.com/authserver/authserver/internal/middleware"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/revoke"
	"github.com/authserver/authserver/internal/store"
	"github.com/authserver/authserver/internal/tokens"
)

// hashWait is how long a login waits for a free bcrypt slot before 503.
const hashWait = 5 * time.Second

// loadConfig reads .env under the real environment and validates it. With dev, missing secrets
// are generated and COOKIE_SECURE defaults to false; what that did is printed to warn.
func loadConfig(getenv func(string) string, dev bool, warn io.Writer) (config.Config, error) {
	getenv, err := config.WithDotEnv(getenv, ".env")
	if err != nil {
		return config.Config{}, fmt.Errorf("read .env: %w", err)
	}
	if dev {
		var did []string
		getenv, did = config.DevEnv(getenv, rand.Reader)
		if len(did) > 0 {
			fmt.Fprintf(warn, "\n%s\n!! DEVELOPMENT MODE — NOT FOR PRODUCTION\n", strings.Repeat("!", 64))
			for _, d := range did {
				fmt.Fprintf(warn, "!! %s\n", d)
			}
			fmt.Fprintf(warn, "!! Tokens die with this process; set real secrets in .env for anything else.\n%s\n\n", strings.Repeat("!", 64))
		}
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return config.Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// openStore opens the configured database and applies pending migrations.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
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

// newRedis returns a client for REDIS_URL with short timeouts, or nil when it is not set.
func newRedis(cfg config.Config) (*redis.Client, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = time.Second, time.Second, time.Second, 2*time.Second
	opt.MaxRetries = 1 // a Redis that is gone must not hold requests for long: limits fall back to memory
	return redis.NewClient(opt), nil
}

// newIssuer builds the token issuer from the configuration.
func newIssuer(cfg config.Config) (*tokens.Issuer, error) {
	return tokens.New(tokens.Options{
		Algorithm: cfg.Algorithm, AccessSecret: []byte(cfg.AccessSecret), RefreshSecret: []byte(cfg.RefreshSecret),
		SigningKey: cfg.SigningKey, VerifyKeys: cfg.VerifyKeys, Issuer: cfg.Issuer, Audience: cfg.Audience,
		AccessTTL: cfg.AccessTTL, Leeway: cfg.Leeway,
	})
}

// app is everything serve and the user commands build from the configuration.
type app struct {
	store   *store.Store
	redis   *redis.Client
	metrics *metrics.Metrics
	issuer  *tokens.Issuer
	list    *revoke.List
	revoker *revoke.Revoker
	audit   *audit.Writer
	limits  *middleware.Limits
	auth    *auth.Service
}

// build opens the database and assembles the services. close releases what it opened.
func build(ctx context.Context, cfg config.Config, log *slog.Logger) (a *app, err error) {
	a = &app{metrics: metrics.New(), list: revoke.NewList()}
	if a.store, err = openStore(ctx, cfg, log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if a.redis, err = newRedis(cfg); err != nil {
		return nil, err
	}
	if a.issuer, err = newIssuer(cfg); err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	a.revoker = revoke.New(a.list, revoke.Options{
		Store: a.store, Redis: a.redis, SyncInterval: cfg.RevocationSyncInterval, IdleTimeout: cfg.IdleTimeout,
		RetainRevoked: cfg.AccessTTL + cfg.Leeway + time.Minute, Log: log,
		Entries: func(n int) { a.metrics.DenyList.Set(float64(n)) },
	})
	a.audit = audit.New(a.store, log, a.metrics, cfg.AuditQueueSize, cfg.AuditRetention)
	a.limits, err = middleware.NewLimits(middleware.LimitsOptions{
		Redis: a.redis, Window: cfg.RateLimitWindow, GeneralMax: int64(cfg.RateLimitMax), AuthMax: int64(cfg.AuthRateLimitMax),
		LoginMaxFailures: int64(cfg.LoginMaxFailures), LoginFailureWindow: cfg.LoginFailureWindow, Log: log,
		OnLimited: func(c *gin.Context) {
			a.audit.Record(c.Request.Context(), models.AuditEvent{Type: "rate_limited", IP: c.ClientIP(),
				UserAgent: c.Request.UserAgent(), Detail: `{"route":` + strconv.Quote(c.FullPath()) + `}`})
		},
	})
	if err != nil {
		return nil, fmt.Errorf("rate limits: %w", err)
	}
	hasher, err := auth.NewHasher(cfg.BcryptCost, cfg.BcryptConcurrency, hashWait)
	if err != nil {
		return nil, err
	}
	a.auth = auth.New(auth.Deps{
		Store: a.store, Tokens: a.issuer, Hasher: hasher, Revoker: a.revoker, Audit: a.audit,
		Guard: a.limits.LoginGuard(), Log: log,
		Settings: auth.Settings{
			RefreshTTL: cfg.RefreshTTL, ReuseGrace: cfg.ReuseGrace, IdleTimeout: cfg.IdleTimeout,
			MaxLifetime: cfg.MaxLifetime, Leeway: cfg.Leeway, PasswordMinLength: cfg.PasswordMinLength,
			AllowRegistration: cfg.AllowRegistration, Fingerprint: cfg.TokenFingerprint,
		},
	})
	return a, nil
}

// close releases the database and Redis connections.
func (a *app) close() {
	if a.redis != nil {
		_ = a.redis.Close()
	}
	_ = a.store.Close()
}

// ready reports whether the database and, when configured, Redis answer.
func (a *app) ready(ctx context.Context) error {
	if err := a.store.Ping(ctx); err != nil {
		return err
	}
	if a.redis != nil {
		return a.redis.Ping(ctx).Err()
	}
	return nil
}

// sparePProc keeps one Go scheduler slot (P) more than bcrypt can hold: bcrypt hashes run on
// low-priority threads, but a goroutine needs a P before the kernel can favour its thread.
// Without the spare P, a login flood holding every P delays requests by a preemption tick (10ms).
func sparePProc(hashes int) {
	if hashes >= runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(hashes + 1)
	}
}

// serve applies migrations and serves the API until ctx ends, then shuts down gracefully:
// in-flight requests finish, queued audit events are written, connections close last.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dev := fs.Bool("dev", false, "generate throw-away secrets and allow cookies over plain HTTP")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv, *dev, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	sparePProc(cfg.BcryptConcurrency)
	a, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()

	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	if err := a.revoker.Start(bg); err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	go a.audit.Run(bg)

	h, err := handlers.NewServer(handlers.Deps{
		Auth: a.auth, Tokens: a.issuer, DenyList: a.list, Limits: a.limits, Metrics: a.metrics, Log: log,
		Ready: a.ready, ClientURLs: cfg.ClientURLs, TrustedProxies: cfg.TrustedProxies,
		CookieSecure: cfg.CookieSecure, Fingerprint: cfg.TokenFingerprint,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "algorithm", cfg.Algorithm, "database", cfg.DatabaseDriver,
		"redis", a.redis != nil, "cookie_secure", cfg.CookieSecure)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopBackground()
	a.audit.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// migrate applies pending migrations and reports the database it used.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("migrate takes no arguments\n%s", usage)
	}
	cfg, err := loadConfig(getenv, true, io.Discard)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, slog.New(slog.NewJSONHandler(stdout, nil)))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrations applied (%s)\n", cfg.DatabaseDriver)
	return st.Close()
}
