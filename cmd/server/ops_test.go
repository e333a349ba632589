package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/logtest"
)

// runOut runs the whole program once with env and returns its standard output, standard error and error.
func runOut(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut logtest.Buffer
	err = run(t.Context(), args, mapEnv(env), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"serve", "--help"}, {"-dev", "--help"}, {"migrate", "--help"},
		{"user", "--help"}, {"user", "help"}, {"user", "create", "--help"}, {"user", "set-role", "-h"}, {"user", "list", "--help"},
		{"keys", "--help"}, {"keys", "generate", "--help"},
		{"secrets", "--help"}, {"secrets", "init", "--help"},
		{"healthcheck", "--help"},
	} {
		out, _, err := runOut(t, map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "never.db")}, args...)
		if err != nil || !strings.HasPrefix(out, "usage:\n") {
			t.Errorf("run(%q) = %v, stdout %q; want nil and the usage", args, err, out)
		}
	}
}

func TestUnknownActions(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "foo", "--email", "x@example.com"}, `unknown user action "foo"`},
		{[]string{"keys", "rotate"}, `unknown keys action "rotate"`},
		{[]string{"secrets", "show"}, `unknown secrets action "show"`},
		{[]string{"user"}, "user: missing action"},
		{[]string{"migrate", "now"}, `migrate: unexpected argument "now"`},
		{[]string{"healthcheck", "--port", "1"}, "flag provided but not defined: -port"},
	} {
		_, _, err := runOut(t, nil, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "usage:") {
			t.Errorf("run(%q) = %v, want an error with %q and the usage", tt.args, err, tt.want)
		}
	}
}

// TestUserCommandElsewhere: in a folder without data/auth.db and with DATABASE_URL empty, a
// user command refuses to run and creates nothing; with a database it names the one it opened.
func TestUserCommandElsewhere(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_, _, err := runOut(t, nil, "user", "list")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "data", "auth.db")) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("run(user list) in an empty folder = %v, want a refusal naming %s", err, filepath.Join(dir, "data", "auth.db"))
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("run(user list) in an empty folder left %s (stat error %v), want nothing created", filepath.Join(dir, "data"), err)
	}
	out, _, err := runOut(t, nil, "migrate")
	if err != nil || !strings.Contains(out, "migrations applied to SQLite file "+filepath.Join(dir, "data", "auth.db")) {
		t.Fatalf("run(migrate) = %v, stdout %q; want the SQLite file named", err, out)
	}
	_, stderr, err := runOut(t, nil, "user", "list")
	if err != nil || stderr != "database: SQLite file "+filepath.Join(dir, "data", "auth.db")+"\n" {
		t.Errorf("run(user list) after migrate = %v, stderr %q; want nil and the database named", err, stderr)
	}
}

func TestSecretsInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	args := []string{"secrets", "init", "--dir", dir, "--database-url", "postgres://auth@postgres:5432/auth?sslmode=disable"}
	out, _, err := runOut(t, nil, args...)
	if err != nil || strings.Count(out, "wrote ") != 4 {
		t.Fatalf("run(%q) = %v, stdout %q; want nil and 4 files written", args, err, out)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("secrets dir %s: %v, mode %v; want 0700", dir, err, info.Mode().Perm())
	}
	first := make(map[string]string)
	for _, name := range []string{accessSecretFile, refreshSecretFile, postgresPasswordFile, databaseURLFile} {
		path := filepath.Join(dir, name)
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("stat %s = %v, mode %v; want a file of mode 0600", path, err, info.Mode().Perm())
		}
		b, _ := os.ReadFile(path)
		first[name] = string(b)
	}
	password := strings.TrimSuffix(first[postgresPasswordFile], "\n")
	if len(password) != 64 || first[accessSecretFile] == first[refreshSecretFile] {
		t.Errorf("secrets: password of %d characters, access == refresh %t; want 64 hex characters and two different secrets",
			len(password), first[accessSecretFile] == first[refreshSecretFile])
	}
	if want := "postgres://auth:" + password + "@postgres:5432/auth?sslmode=disable\n"; first[databaseURLFile] != want {
		t.Errorf("database_url = %q, want the URL with the generated password", first[databaseURLFile])
	}

	// Idempotent: a second run keeps every file; a file removed is written again, and
	// database_url is rebuilt from the kept password.
	if err := os.Remove(filepath.Join(dir, databaseURLFile)); err != nil {
		t.Fatal(err)
	}
	out, _, err = runOut(t, nil, args...)
	if err != nil || strings.Count(out, "kept ") != 3 || strings.Count(out, "wrote ") != 1 {
		t.Fatalf("second run(%q) = %v, stdout %q; want 3 kept, 1 written", args, err, out)
	}
	for name, want := range first {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != want {
			t.Errorf("after a second secrets init, %s changed, want it kept", name)
		}
	}

	// The server reads every secret through the _FILE forms.
	env := map[string]string{
		"JWT_ACCESS_SECRET_FILE":  filepath.Join(dir, accessSecretFile),
		"JWT_REFRESH_SECRET_FILE": filepath.Join(dir, refreshSecretFile),
		"DATABASE_URL":            sqliteURL(t),
		"BCRYPT_COST":             "10",
	}
	s := startServer(t, env)
	expect(t, newClient(t, s.url).do("GET", "/readyz", nil, ""), http.StatusOK, "")

	for _, bad := range [][]string{
		{"secrets", "init"},
		{"secrets", "init", "--dir", dir, "--database-url", "postgres://auth:pw@postgres/auth"},
		{"secrets", "init", "--dir", dir, "--database-url", "mysql://auth@db/auth"},
	} {
		if _, _, err := runOut(t, nil, bad...); err == nil {
			t.Errorf("run(%q) = nil, want an error", bad)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	env := baseEnv(sqliteURL(t))
	s := startServer(t, env)
	port := strings.TrimPrefix(s.url, "http://127.0.0.1:")
	probe := map[string]string{"PORT": port, "DATABASE_URL": env["DATABASE_URL"]}
	out, _, err := runOut(t, probe, "healthcheck")
	if err != nil || !strings.Contains(out, "answered 200") {
		t.Errorf("run(healthcheck) against a ready server on port %s = %v, stdout %q; want nil", port, err, out)
	}
	probe["HOST"] = "0.0.0.0" // every interface: probed on the loopback address
	if _, _, err := runOut(t, probe, "healthcheck"); err != nil {
		t.Errorf("run(healthcheck) with HOST=0.0.0.0 = %v, want nil", err)
	}
	probe["PORT"] = freePort(t)
	if _, _, err := runOut(t, probe, "healthcheck"); err == nil || !strings.Contains(err.Error(), "healthcheck: GET http://127.0.0.1:"+probe["PORT"]+"/readyz") {
		t.Errorf("run(healthcheck) with nothing listening = %v, want an error naming the URL", err)
	}
}
