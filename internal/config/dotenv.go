package config

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/joho/godotenv"
)

// secretBytes is how many random bytes make a generated secret (64 hex characters).
const secretBytes = 32

// NewSecret returns a fresh secret of 64 hex characters (256 bits) read from random, as good as
// `openssl rand -hex 32`. It fails only when random does.
func NewSecret(random io.Reader) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// WithDotEnv returns a getenv that reads the .env file at path under getenv: a variable with a
// non-empty value in getenv wins over the file. A missing file is not an error (getenv comes back
// as it is); an unreadable or malformed one is.
func WithDotEnv(getenv func(string) string, path string) (func(string) string, error) {
	vars, err := godotenv.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return vars[name]
	}, nil
}

// The rate limits of `server -dev`: generous, so that a walk-through can be run again and again.
const (
	devRateLimitMax     = "10000"
	devAuthRateLimitMax = "1000"
)

// DevEnv prepares the settings of `server -dev`. real is the process environment; getenv is the
// same with .env under it. What -dev promises wins over .env, while the real environment still
// wins over -dev:
//   - JWT_ACCESS_SECRET and JWT_REFRESH_SECRET that are empty, or still the placeholders of
//     .env.example, and have no _FILE form set, get fresh secrets of 64 hex characters read from random;
//   - COOKIE_SECURE is false, so the refresh cookie travels over plain HTTP;
//   - RATE_LIMIT_MAX and AUTH_RATE_LIMIT_MAX are generous;
//   - HOST is 127.0.0.1 unless it is set (in .env or the environment);
//   - SERVE_SPA is true unless it is set; while the example SPA is served, CLIENT_URL also holds
//     the server's own origins (http://localhost:PORT and http://127.0.0.1:PORT), so the SPA's
//     calls are not refused as foreign (this addition wins over the real environment too).
//
// It returns the layered getenv and one sentence per change, which the caller should print as a
// loud warning. When random fails, the secret stays as it was (so Load refuses to start) and the
// sentence says why; DevEnv itself never fails.
func DevEnv(real, getenv func(string) string, random io.Reader) (func(string) string, []string) {
	set := make(map[string]string)
	var notes []string
	for _, name := range []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"} {
		if v := getenv(name); (v != "" && !slices.Contains(placeholderSecrets, v)) || getenv(FileVariable(name)) != "" {
			continue
		}
		secret, err := NewSecret(random)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s is not set and no random secret could be made for it: %v", name, err))
			continue
		}
		set[name] = secret
		notes = append(notes, fmt.Sprintf("%s is a throw-away random secret: every token stops working when the server stops", name))
	}
	overrides := []struct{ name, value, note string }{
		{"COOKIE_SECURE", "false", "COOKIE_SECURE is false: the refresh cookie also travels over plain HTTP"},
		{"RATE_LIMIT_MAX", devRateLimitMax, "RATE_LIMIT_MAX is " + devRateLimitMax + " and AUTH_RATE_LIMIT_MAX " + devAuthRateLimitMax + " per window"},
		{"AUTH_RATE_LIMIT_MAX", devAuthRateLimitMax, ""},
	}
	for _, o := range overrides {
		if real(o.name) != "" {
			continue
		}
		set[o.name] = o.value
		if o.note != "" {
			notes = append(notes, o.note)
		}
	}
	if getenv("HOST") == "" {
		set["HOST"] = "127.0.0.1"
		notes = append(notes, "HOST is 127.0.0.1: only this machine can connect (set HOST to change it)")
	}
	if getenv("SERVE_SPA") == "" {
		set["SERVE_SPA"] = "true"
	}
	var clientURL string // wins over the real environment: it extends the CLIENT_URL of either
	if serve, err := strconv.ParseBool(cmp.Or(getenv("SERVE_SPA"), set["SERVE_SPA"])); err == nil && serve {
		port := cmp.Or(getenv("PORT"), "3000")
		own := "http://localhost:" + port + ",http://127.0.0.1:" + port
		clientURL = strings.TrimPrefix(getenv("CLIENT_URL")+","+own, ",")
		notes = append(notes, fmt.Sprintf("CLIENT_URL also allows %s, where the example SPA is served", own))
	}
	return func(name string) string {
		if name == "CLIENT_URL" && clientURL != "" {
			return clientURL
		}
		if v := real(name); v != "" {
			return v
		}
		if v, ok := set[name]; ok {
			return v
		}
		return getenv(name)
	}, notes
}
