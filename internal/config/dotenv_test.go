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

func TestDevEnvFillsSecrets(t *testing.T) {
	getenv, notes := config.DevEnv(func(string) string { return "" }, rand.Reader)
	if len(notes) != 4 {
		t.Errorf("DevEnv(empty env) notes = %q, want 4 (two secrets, COOKIE_SECURE, CLIENT_URL)", notes)
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
	if got.CookieSecure {
		t.Error("Load(DevEnv(empty env)).CookieSecure = true, want false")
	}
	if !got.ServeSPA {
		t.Error("Load(DevEnv(empty env)).ServeSPA = false, want true")
	}
	if want := []string{"http://localhost:3000", "http://127.0.0.1:3000"}; !slices.Equal(got.ClientURLs, want) {
		t.Errorf("Load(DevEnv(empty env)).ClientURLs = %q, want %q (the SPA's own origins)", got.ClientURLs, want)
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
			getenv, notes := config.DevEnv(func(k string) string { return env[k] }, rand.Reader)
			got, err := config.Load(getenv)
			if err != nil {
				t.Fatalf("Load(DevEnv(%v)) error = %v, want nil", tt.env, err)
			}
			if !slices.Equal(got.ClientURLs, tt.want) || len(notes) != tt.wantNotes {
				t.Errorf("Load(DevEnv(%v)): ClientURLs = %q with notes %q; want %q with %d notes", tt.env, got.ClientURLs, notes, tt.want, tt.wantNotes)
			}
		})
	}
}

func TestDevEnvKeepsSetValues(t *testing.T) {
	env := minimalEnv()
	env["COOKIE_SECURE"] = "true"
	env["SERVE_SPA"] = "false"
	getenv, notes := config.DevEnv(func(k string) string { return env[k] }, iotest.ErrReader(errors.New("must not be read")))
	if len(notes) != 0 {
		t.Errorf("DevEnv(set env) notes = %q, want none", notes)
	}
	for _, k := range []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "COOKIE_SECURE", "PORT", "SERVE_SPA", "CLIENT_URL"} {
		if got := getenv(k); got != env[k] {
			t.Errorf("getenv(%q) after DevEnv = %q, want %q", k, got, env[k])
		}
	}
}

func TestDevEnvRandomFails(t *testing.T) {
	env := map[string]string{"JWT_ACCESS_SECRET": accessSecret}
	// 10 bytes are too few for one secret.
	getenv, notes := config.DevEnv(func(k string) string { return env[k] }, bytes.NewReader(make([]byte, 10)))
	want := []string{
		"JWT_REFRESH_SECRET is empty and no random secret could be made for it: unexpected EOF",
		"COOKIE_SECURE is false: the refresh cookie also travels over plain HTTP",
		"CLIENT_URL also allows http://localhost:3000,http://127.0.0.1:3000, where the example SPA is served",
	}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Errorf("DevEnv(short random) notes = %q, want %q", notes, want)
	}
	if got := getenv("JWT_REFRESH_SECRET"); got != "" {
		t.Errorf("getenv(JWT_REFRESH_SECRET) after DevEnv(short random) is set, want empty")
	}
	if _, err := config.Load(getenv); err == nil || !strings.HasPrefix(err.Error(), "JWT_REFRESH_SECRET: required") {
		t.Errorf("Load(DevEnv(short random)) error = %v, want JWT_REFRESH_SECRET: required", err)
	}
}
