package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/models"
)

func TestFileForms(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"JWT_ACCESS_SECRET_FILE":  writeFile(t, dir, "access", []byte(accessSecret+"\n")),
		"JWT_REFRESH_SECRET_FILE": writeFile(t, dir, "refresh", []byte(refreshSecret+"\n\n")),
		"DATABASE_URL_FILE":       writeFile(t, dir, "db", []byte("postgres://auth:hunter2@db:5432/auth\r\n")),
		"REDIS_URL_FILE":          writeFile(t, dir, "redis", []byte("redis://:pw@cache:6379/0")),
	}
	got, err := load(env)
	if err != nil {
		t.Fatalf("Load(_FILE forms) error = %v, want nil", err)
	}
	// Only ONE trailing newline is dropped: the refresh secret keeps its second.
	if got.AccessSecret != accessSecret || got.RefreshSecret != refreshSecret+"\n" {
		t.Errorf("Load(_FILE forms) secrets differ from the files' content less one trailing newline")
	}
	if got.DatabaseDriver != models.DriverPostgres || got.DatabaseDSN != "postgres://auth:hunter2@db:5432/auth" {
		t.Errorf("Load(DATABASE_URL_FILE) = %s %q, want postgres and the file less its CRLF", got.DatabaseDriver, got.DatabaseDSN)
	}
	if got.RedisURL != "redis://:pw@cache:6379/0" {
		t.Errorf("Load(REDIS_URL_FILE) RedisURL = %q, want the file's content", got.RedisURL)
	}
}

func TestFileFormProblems(t *testing.T) {
	dir := t.TempDir()
	secretFile := writeFile(t, dir, "secret", []byte(accessSecret))
	tests := []struct {
		name string
		env  map[string]string
		want string // the line that names the problem
	}{
		{"both forms", map[string]string{"JWT_ACCESS_SECRET": accessSecret, "JWT_ACCESS_SECRET_FILE": secretFile,
			"JWT_REFRESH_SECRET": refreshSecret}, "JWT_ACCESS_SECRET_FILE: is set together with JWT_ACCESS_SECRET: set only one of them"},
		{"missing file", map[string]string{"JWT_ACCESS_SECRET": accessSecret, "JWT_REFRESH_SECRET_FILE": filepath.Join(dir, "nope")},
			"JWT_REFRESH_SECRET_FILE: " + filepath.Join(dir, "nope") + " does not exist"},
		{"directory", map[string]string{"JWT_ACCESS_SECRET": accessSecret, "JWT_REFRESH_SECRET": refreshSecret, "SMTP_URL_FILE": dir},
			"SMTP_URL_FILE: cannot read " + dir},
		{"too large", map[string]string{"JWT_ACCESS_SECRET": accessSecret, "JWT_REFRESH_SECRET": refreshSecret,
			"INTROSPECTION_TOKENS_FILE": writeFile(t, dir, "big", []byte(strings.Repeat("x", 70_000)))}, "INTROSPECTION_TOKENS_FILE: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load(%v) error = %v, want a line with %q", tt.env, err, tt.want)
			}
			if strings.Contains(err.Error(), accessSecret) {
				t.Errorf("Load(%v) error shows a secret: %v", tt.env, err)
			}
		})
	}
}

func TestHost(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""}, {"127.0.0.1", "127.0.0.1"}, {"::1", "::1"}, {"[::]", "::"}, {"localhost", "localhost"}, {"auth-1.internal", "auth-1.internal"},
	} {
		env := minimalEnv()
		env["HOST"] = tt.in
		got, err := load(env)
		if err != nil || got.Host != tt.want {
			t.Errorf("Load(HOST=%q) = %q, %v; want %q, nil", tt.in, got.Host, err, tt.want)
		}
	}
	for _, bad := range []string{"http://x", "a b", "-x.example", "1.2.3.4:80"} {
		env := minimalEnv()
		env["HOST"] = bad
		if _, err := load(env); err == nil || !strings.HasPrefix(err.Error(), "HOST: ") {
			t.Errorf("Load(HOST=%q) error = %v, want a HOST problem", bad, err)
		}
	}
}

func TestDatabaseDescription(t *testing.T) {
	env := minimalEnv()
	env["DATABASE_URL"] = "postgres://auth:hunter2@db.example.com:5432/auth?sslmode=disable"
	got, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.DatabaseDescription(); d != "PostgreSQL database auth on db.example.com:5432 as auth" {
		t.Errorf("DatabaseDescription() = %q, want the database, host and user, no password", d)
	}
	def, _ := load(minimalEnv())
	if d := def.DatabaseDescription(); !def.DefaultSQLite() || !strings.HasPrefix(d, "SQLite file /") || !strings.HasSuffix(d, "data/auth.db") {
		t.Errorf("default DatabaseDescription() = %q, DefaultSQLite %t; want an absolute path ending data/auth.db, true", d, def.DefaultSQLite())
	}
}
