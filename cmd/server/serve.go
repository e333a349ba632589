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
	"strconv"
	"strings"
	"time"

	"github.com/authserver/authserver/internal/app"
	"github.com/authserver/authserver/internal/config"
)

// configMode says which configuration a subcommand needs.
type configMode int

const (
	serveConfig   configMode = iota // every setting, JWT secrets included (serve)
	devConfig                       // as serveConfig, with missing secrets generated (serve -dev)
	commandConfig                   // every setting but the JWT secrets and keys (migrate, user ...)
)

// loadConfig reads .env under the real environment and validates it for mode. In devConfig,
// config.DevEnv applies what -dev promises; what that did is printed to warn.
func loadConfig(real func(string) string, mode configMode, warn io.Writer) (config.Config, error) {
	getenv, err := config.WithDotEnv(real, ".env")
	if err != nil {
		return config.Config{}, fmt.Errorf("read .env: %w", err)
	}
	if mode == devConfig {
		var did []string
		getenv, did = config.DevEnv(real, getenv, rand.Reader)
		if len(did) > 0 {
			fmt.Fprintf(warn, "\n%s\n!! DEVELOPMENT MODE — NOT FOR PRODUCTION\n", strings.Repeat("!", 64))
			for _, d := range did {
				fmt.Fprintf(warn, "!! %s\n", d)
			}
			fmt.Fprintf(warn, "!! Tokens die with this process; set real secrets in .env for anything else.\n%s\n\n", strings.Repeat("!", 64))
		}
	}
	load := config.Load
	if mode == commandConfig {
		load = config.LoadCommand
	}
	cfg, err := load(getenv)
	if err != nil {
		return config.Config{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// serve applies migrations and serves the API until ctx ends, then shuts down gracefully:
// in-flight requests finish, queued audit events are written, connections close last.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dev := fs.Bool("dev", false, "development mode")
	if done, err := parseFlags(fs, args, serveUsage, stdout); done || err != nil {
		return err
	}
	mode := serveConfig
	if *dev {
		mode = devConfig
	}
	cfg, err := loadConfig(getenv, mode, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	a, err := app.New(ctx, cfg, log, app.Overrides{})
	if err != nil {
		return err
	}
	defer a.Close()
	h, err := a.Handler()
	if err != nil {
		return err
	}
	if err := a.StartServing(ctx); err != nil {
		return err
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: cfg.RequestTimeout + 20*time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "algorithm", cfg.Algorithm, "database", cfg.DatabaseDescription(),
		"redis", a.Redis != nil, "cookie_secure", cfg.CookieSecure, "passkeys_rp_id", cfg.Passkeys.RPID)
	if cfg.PasskeysNote != "" {
		log.Warn(cfg.PasskeysNote)
	}
	if *dev {
		fmt.Fprintf(stderr, "auth server (development mode) on %s\ndatabase: %s\n", baseURL(cfg.Host, cfg.Port), cfg.DatabaseDescription())
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	a.Stop() // writes the queued audit events
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// migrate applies pending migrations and reports the database it used.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if done, err := parseFlags(flag.NewFlagSet("migrate", flag.ContinueOnError), args, migrateUsage, stdout); done || err != nil {
		return err
	}
	cfg, err := loadConfig(getenv, commandConfig, io.Discard)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg, slog.New(slog.NewJSONHandler(stderr, nil)))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrations applied to %s\n", cfg.DatabaseDescription())
	return st.Close()
}

// baseURL is the URL a browser on this machine reaches a server listening on host:port with.
func baseURL(host string, port int) string {
	return "http://" + net.JoinHostPort(localHost(host), strconv.Itoa(port))
}

// localHost is the address this machine reaches a server listening on host at: the loopback
// address when host means every interface.
func localHost(host string) string {
	switch host {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return host
}
