package config_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"path/filepath"
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
	if len(notes) != 3 {
		t.Errorf("DevEnv(empty env) notes = %q, want 3 (two secrets, COOKIE_SECURE)", notes)
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
}

func TestDevEnvKeepsSetValues(t *testing.T) {
	env := minimalEnv()
	env["COOKIE_SECURE"] = "true"
	getenv, notes := config.DevEnv(func(k string) string { return env[k] }, iotest.ErrReader(errors.New("must not be read")))
	if len(notes) != 0 {
		t.Errorf("DevEnv(set env) notes = %q, want none", notes)
	}
	for _, k := range []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "COOKIE_SECURE", "PORT"} {
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
