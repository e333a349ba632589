package config_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/authserver/authserver/internal/config"
)

func TestWithDotEnv(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, ".env", []byte("# a comment\nFROM_BOTH=file\nEMPTY_IN_ENV=file\nONLY_FILE='quoted value'\n"))
	realEnv := map[string]string{"FROM_BOTH": "real", "EMPTY_IN_ENV": "", "ONLY_ENV": "real"}
	getenv, err := config.WithDotEnv(func(k string) string { return realEnv[k] }, path)
	if err != nil {
		t.Fatalf("WithDotEnv(%s) error = %v, want nil", path, err)
	}
	tests := []struct{ name, want string }{
		{"FROM_BOTH", "real"},
		{"EMPTY_IN_ENV", "file"},
		{"ONLY_FILE", "quoted value"},
		{"ONLY_ENV", "real"},
		{"NOWHERE", ""},
	}
	for _, tt := range tests {
		if got := getenv(tt.name); got != tt.want {
			t.Errorf("getenv(%q) after WithDotEnv = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestWithDotEnvMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	getenv, err := config.WithDotEnv(func(k string) string { return "real " + k }, path)
	if err != nil {
		t.Fatalf("WithDotEnv(missing %s) error = %v, want nil", path, err)
	}
	if got := getenv("PORT"); got != "real PORT" {
		t.Errorf("getenv(PORT) after WithDotEnv(missing file) = %q, want %q", got, "real PORT")
	}
}

func TestWithDotEnvUnreadable(t *testing.T) {
	dir := t.TempDir()
	getenv, err := config.WithDotEnv(func(string) string { return "" }, dir)
	if err == nil || getenv != nil {
		t.Errorf("WithDotEnv(directory %s) = getenv set %t, error %v; want nil, an error", dir, getenv != nil, err)
	}
}

// none is an empty environment.
func none(string) string { return "" }

func TestDevEnvFillsSecrets(t *testing.T) {
	getenv, notes := config.DevEnv(none, none, rand.Reader)
	if len(notes) != 9 {
		t.Errorf("DevEnv(empty env) notes = %q, want 9 (two secrets, COOKIE_SECURE, rate limits, HOST, CLIENT_URL, passkeys, mail to the log, APP_URL)", notes)
	}
	got, err := config.Load(getenv)
	if err != nil {
		t.Fatalf("Load(DevEnv(empty env)) error = %v, want nil", err)
	}
	for _, s := range []config.Secret{got.AccessSecret, got.RefreshSecret} {
		if len(s) != 64 || strings.Trim(string(s), "0123456789abcdef") != "" {
			t.Errorf("DevEnv secret has %d characters, not all hex digits; want 64 hex digits", len(s))
		}
		for _, n := range notes {
			if strings.Contains(n, string(s)) {
				t.Errorf("DevEnv note %q shows a secret", n)
			}
		}
	}
	if got.CookieSecure || got.Host != "127.0.0.1" || got.RateLimitMax != 10000 || got.AuthRateLimitMax != 1000 {
		t.Errorf("Load(DevEnv(empty env)) = CookieSecure %t, Host %q, RateLimitMax %d, AuthRateLimitMax %d; want false, 127.0.0.1, 10000, 1000",
			got.CookieSecure, got.Host, got.RateLimitMax, got.AuthRateLimitMax)
	}
	if !got.ServeSPA {
		t.Error("Load(DevEnv(empty env)).ServeSPA = false, want true")
	}
	if want := []string{"http://localhost:3000", "http://127.0.0.1:3000"}; !slices.Equal(got.ClientURLs, want) {
		t.Errorf("Load(DevEnv(empty env)).ClientURLs = %q, want %q (the SPA's own origins)", got.ClientURLs, want)
	}
	if want := []string{"http://localhost:3000"}; got.Passkeys.RPID != "localhost" || !slices.Equal(got.Passkeys.Origins, want) {
		t.Errorf("Load(DevEnv(empty env)).Passkeys = %+v, want RP ID localhost and origins %q", got.Passkeys, want)
	}
	if m := got.Mail; !m.ToLog || m.SMTP != nil || m.AppURL != "http://localhost:3000" || m.From != "auth-server <no-reply@localhost>" {
		t.Errorf("Load(DevEnv(empty env)).Mail = %+v, want mail to the log, links to http://localhost:3000", m)
	}
}

func TestDevEnvPasskeys(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantRPID    string
		wantOrigins []string
	}{
		{"the server's own origin", map[string]string{"PORT": "8080", "SERVE_SPA": "false"}, "localhost", []string{"http://localhost:8080"}},
		{"the SPA's origin", map[string]string{"PORT": "8080"}, "localhost", []string{"http://localhost:8080"}},
		{"a local client", map[string]string{"CLIENT_URL": "http://localhost:5173", "SERVE_SPA": "false"},
			"localhost", []string{"http://localhost:5173"}},
		{"a client on an IP address: off", map[string]string{"CLIENT_URL": "http://127.0.0.1:5173", "SERVE_SPA": "false"}, "", nil},
		{"a real domain", map[string]string{"CLIENT_URL": "https://app.example.com", "SERVE_SPA": "false"},
			"app.example.com", []string{"https://app.example.com"}},
		{"set explicitly", map[string]string{"WEBAUTHN_ORIGINS": "https://example.com"}, "example.com", []string{"https://example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := minimalEnv()
			maps.Copy(env, tt.env)
			getenv, _ := config.DevEnv(none, func(k string) string { return env[k] }, rand.Reader)
			got, err := config.Load(getenv)
			if err != nil {
				t.Fatalf("Load(DevEnv(%v)) error = %v", tt.env, err)
			}
			if got.Passkeys.RPID != tt.wantRPID || !slices.Equal(got.Passkeys.Origins, tt.wantOrigins) {
				t.Errorf("Load(DevEnv(%v)).Passkeys = %+v, want RP ID %q, origins %q", tt.env, got.Passkeys, tt.wantRPID, tt.wantOrigins)
			}
		})
	}
}

// Under -dev, REQUIRE_EMAIL_VERIFICATION works without SMTP_URL; with SMTP_URL, mail goes there.
func TestDevEnvMail(t *testing.T) {
	env := minimalEnv()
	env["REQUIRE_EMAIL_VERIFICATION"], env["PORT"] = "true", "4000"
	getenv, _ := config.DevEnv(none, func(k string) string { return env[k] }, rand.Reader)
	got, err := config.Load(getenv)
	if err != nil || !got.Mail.ToLog || got.Mail.AppURL != "http://localhost:4000" {
		t.Fatalf("Load(DevEnv(REQUIRE_EMAIL_VERIFICATION=true, PORT=4000)) = %+v, %v; want mail to the log, links to port 4000", got.Mail, err)
	}
	env["SMTP_URL"], env["APP_URL"], env["MAIL_FROM"] = "smtp://mail.example.com", "https://app.example.com", "a@example.com"
	getenv, notes := config.DevEnv(none, func(k string) string { return env[k] }, rand.Reader)
	got, err = config.Load(getenv)
	if err != nil || got.Mail.ToLog || got.Mail.SMTP == nil || strings.Contains(strings.Join(notes, "\n"), "SMTP_URL") {
		t.Errorf("Load(DevEnv(SMTP_URL set)) = %+v, %v, notes %q; want SMTP and no note about it", got.Mail, err, notes)
	}
}

func TestDevEnvAddsOwnOriginsForTheSPA(t *testing.T) {
	for _, tt := range []struct {
		name      string
		env       map[string]string
		want      []string
		wantNotes int
	}{
		{"kept client origins, own port", map[string]string{"CLIENT_URL": "http://localhost:5173", "PORT": "8080"},
			[]string{"http://localhost:5173", "http://localhost:8080", "http://127.0.0.1:8080"}, 1},
		{"SPA asked for explicitly", map[string]string{"SERVE_SPA": "true"},
			[]string{"http://localhost:3000", "http://127.0.0.1:3000"}, 1},
		{"SPA off", map[string]string{"SERVE_SPA": "false", "CLIENT_URL": "http://localhost:5173"},
			[]string{"http://localhost:5173"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := minimalEnv()
			env["COOKIE_SECURE"] = "false"
			maps.Copy(env, tt.env)
			getenv, notes := config.DevEnv(none, func(k string) string { return env[k] }, rand.Reader)
			got, err := config.Load(getenv)
			if err != nil {
				t.Fatalf("Load(DevEnv(%v)) error = %v, want nil", tt.env, err)
			}
			notes = slices.DeleteFunc(notes, func(n string) bool { return !strings.HasPrefix(n, "CLIENT_URL") })
			if !slices.Equal(got.ClientURLs, tt.want) || len(notes) != tt.wantNotes {
				t.Errorf("Load(DevEnv(%v)): ClientURLs = %q with notes %q; want %q with %d notes", tt.env, got.ClientURLs, notes, tt.want, tt.wantNotes)
			}
		})
	}
}

// TestDevEnvWinsOverDotEnv: what -dev promises wins over .env (here: .env.example with its
// placeholders and COOKIE_SECURE=true), while the real environment still wins over -dev.
func TestDevEnvWinsOverDotEnv(t *testing.T) {
	dotenv, err := config.WithDotEnv(none, filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatalf("WithDotEnv(.env.example) error = %v", err)
	}
	getenv, _ := config.DevEnv(none, dotenv, rand.Reader)
	got, err := config.Load(getenv)
	if err != nil {
		t.Fatalf("Load(DevEnv(.env.example)) error = %v, want nil", err)
	}
	if got.CookieSecure || got.Host != "127.0.0.1" || got.AuthRateLimitMax != 1000 {
		t.Errorf("Load(DevEnv(.env.example)) = CookieSecure %t, Host %q, AuthRateLimitMax %d; want false, 127.0.0.1, 1000",
			got.CookieSecure, got.Host, got.AuthRateLimitMax)
	}

	real := map[string]string{"COOKIE_SECURE": "true", "AUTH_RATE_LIMIT_MAX": "7", "HOST": "0.0.0.0"}
	realEnv := func(k string) string { return real[k] }
	merged, err := config.WithDotEnv(realEnv, filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	getenv, _ = config.DevEnv(realEnv, merged, rand.Reader)
	got, err = config.Load(getenv)
	if err != nil {
		t.Fatalf("Load(DevEnv(real %v over .env.example)) error = %v", real, err)
	}
	if !got.CookieSecure || got.Host != "0.0.0.0" || got.AuthRateLimitMax != 7 || got.RateLimitMax != 10000 {
		t.Errorf("Load(DevEnv(real %v)) = CookieSecure %t, Host %q, AuthRateLimitMax %d, RateLimitMax %d; want the real values and RATE_LIMIT_MAX 10000",
			real, got.CookieSecure, got.Host, got.AuthRateLimitMax, got.RateLimitMax)
	}
}

// TestDevEnvReplacesPlaceholders: an older .env.example held placeholder secrets; -dev replaces them.
func TestDevEnvReplacesPlaceholders(t *testing.T) {
	env := map[string]string{"JWT_ACCESS_SECRET": "replace-with-64-random-hex-chars-openssl-rand-hex-32",
		"JWT_REFRESH_SECRET": "replace-with-another-64-random-hex-chars-openssl-rand-hex-32"}
	getenv, _ := config.DevEnv(none, func(k string) string { return env[k] }, rand.Reader)
	if _, err := config.Load(getenv); err != nil {
		t.Errorf("Load(DevEnv(placeholder secrets)) error = %v, want nil", err)
	}
}

func TestDevEnvKeepsSecrets(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"JWT_ACCESS_SECRET":       accessSecret,
		"JWT_REFRESH_SECRET_FILE": writeFile(t, dir, "refresh", []byte(refreshSecret+"\n")),
		"HOST":                    "::1",
		"SERVE_SPA":               "false",
		"CLIENT_URL":              "http://localhost:5173",
	}
	getenv, notes := config.DevEnv(none, func(k string) string { return env[k] }, iotest.ErrReader(errors.New("must not be read")))
	for _, n := range notes {
		if strings.Contains(n, "JWT_") || strings.Contains(n, "HOST") {
			t.Errorf("DevEnv(set secrets and HOST) note %q, want none about them", n)
		}
	}
	got, err := config.Load(getenv)
	if err != nil {
		t.Fatalf("Load(DevEnv(set secrets)) error = %v", err)
	}
	if got.AccessSecret != accessSecret || got.RefreshSecret != refreshSecret || got.Host != "::1" || got.ServeSPA ||
		!slices.Equal(got.ClientURLs, []string{"http://localhost:5173"}) {
		t.Errorf("Load(DevEnv(set secrets)) changed the secrets, HOST (%q), SERVE_SPA (%t) or CLIENT_URL (%q), want them kept",
			got.Host, got.ServeSPA, got.ClientURLs)
	}
}

func TestDevEnvRandomFails(t *testing.T) {
	env := map[string]string{"JWT_ACCESS_SECRET": accessSecret}
	// 10 bytes are too few for one secret.
	getenv, notes := config.DevEnv(none, func(k string) string { return env[k] }, bytes.NewReader(make([]byte, 10)))
	want := "JWT_REFRESH_SECRET is not set and no random secret could be made for it: unexpected EOF"
	if len(notes) == 0 || notes[0] != want {
		t.Errorf("DevEnv(short random) notes = %q, want first %q", notes, want)
	}
	if got := getenv("JWT_REFRESH_SECRET"); got != "" {
		t.Errorf("getenv(JWT_REFRESH_SECRET) after DevEnv(short random) is set, want empty")
	}
	if _, err := config.Load(getenv); err == nil || !strings.HasPrefix(err.Error(), "JWT_REFRESH_SECRET: required") {
		t.Errorf("Load(DevEnv(short random)) error = %v, want JWT_REFRESH_SECRET: required", err)
	}
}
