package main

import (
	"context"
	"database/sql"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/logtest"
)

// runCLI runs the whole program once with args and stdin, and returns its standard output and error.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var stdout, stderr logtest.Buffer
	err := run(ctx, args, mapEnv(env), strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), err
}

// createUser runs `user create --email email --role role` with testPassword and a newline on stdin.
func createUser(t *testing.T, env map[string]string, email, role string) {
	t.Helper()
	out, err := runCLI(t, env, testPassword+"\n", "user", "create", "--email", email, "--role", role)
	if err != nil {
		t.Fatalf("run(user create --email %s --role %s) = %v, want nil", email, role, err)
	}
	if want := strings.ToLower(email) + " (" + role + ")"; !strings.Contains(out, "created ") || !strings.Contains(out, want) {
		t.Fatalf("run(user create --email %s --role %s) printed %q, want \"created <id> %s\"", email, role, out, want)
	}
}

// migrationRows counts the rows of goose's version table in the database of databaseURL.
func migrationRows(t *testing.T, databaseURL string) int {
	t.Helper()
	driver, dsn := "pgx", databaseURL
	if path, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		driver, dsn = "sqlite", path // registered by the store's SQLite driver
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", databaseURL, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM goose_db_version").Scan(&n); err != nil {
		t.Fatalf("count goose_db_version rows: %v", err)
	}
	return n
}

// withoutSecrets returns env without the JWT secrets, which the command-line tools do not need.
func withoutSecrets(env map[string]string) map[string]string {
	env = maps.Clone(env)
	delete(env, "JWT_ACCESS_SECRET")
	delete(env, "JWT_REFRESH_SECRET")
	return env
}

func TestMigrate(t *testing.T) {
	env := withoutSecrets(baseEnv(testDatabaseURL(t)))
	out, err := runCLI(t, env, "", "migrate")
	if err != nil || !strings.Contains(out, "migrations applied") {
		t.Fatalf("run(migrate) = %v, printed %q; want nil and \"migrations applied\"", err, out)
	}
	applied := migrationRows(t, env["DATABASE_URL"])
	if applied == 0 {
		t.Fatal("after run(migrate), goose_db_version is empty, want the applied migrations")
	}
	out, err = runCLI(t, env, "", "migrate")
	if err != nil || !strings.Contains(out, "migrations applied") {
		t.Fatalf("second run(migrate) = %v, printed %q; want nil and \"migrations applied\"", err, out)
	}
	if again := migrationRows(t, env["DATABASE_URL"]); again != applied {
		t.Errorf("second run(migrate) left %d goose_db_version rows, want %d (a no-op)", again, applied)
	}
	if _, err := runCLI(t, env, "", "migrate", "now"); err == nil || !strings.Contains(err.Error(), "usage:") {
		t.Errorf("run(migrate now) = %v, want an error with the usage", err)
	}
}

// TestUserCommands manages users from the command line while a server shares the database,
// polling revocations every second (no Redis), so it must pick the changes up by polling.
func TestUserCommands(t *testing.T) {
	env := baseEnv(testDatabaseURL(t))
	env["REVOCATION_SYNC_INTERVAL"] = "1s"
	root, bob := uniqueEmail("root"), uniqueEmail("bob")

	createUser(t, withoutSecrets(env), strings.ToUpper(root), "admin") // stored lower-cased; no JWT secret needed
	t.Run("existing email", func(t *testing.T) {
		_, err := runCLI(t, env, "another-Secret-pass-77\n", "user", "create", "--email", root)
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("run(user create --email %s) for an existing email = %v, want \"already exists\"", root, err)
		}
	})
	t.Run("weak password", func(t *testing.T) {
		_, err := runCLI(t, env, "password\n", "user", "create", "--email", uniqueEmail("weak"))
		if err == nil || !strings.Contains(err.Error(), "password") {
			t.Errorf("run(user create) with password \"password\" = %v, want an error about the password", err)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		for _, args := range [][]string{
			{"user", "disable"},
			{"user", "set-role", "--email", root, "--role", "superuser"},
		} {
			if _, err := runCLI(t, env, "", args...); err == nil {
				t.Errorf("run(%q) = nil, want an error", args)
			}
		}
	})
	createUser(t, env, bob, "user")

	s := startServer(t, env)
	c := newClient(t, s.url)

	rootAccess, _ := c.login(root) // stdin had a trailing newline; the password has none
	expect(t, c.do("GET", "/api/admin", nil, rootAccess), http.StatusOK, "")
	bobAccess, _ := c.login(bob)
	expect(t, c.do("GET", "/api/admin", nil, bobAccess), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")

	user := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, env, "", append([]string{"user"}, args...)...)
		if err != nil {
			t.Fatalf("run(user %q) = %v, want nil", args, err)
		}
		return out
	}
	if out := user("set-role", "--email", bob, "--role", "admin"); !strings.Contains(out, "role=admin") {
		t.Errorf("run(user set-role --role admin) printed %q, want role=admin", out)
	}
	expect(t, c.do("GET", "/api/admin", nil, bobAccess), http.StatusOK, "") // the current role counts
	user("set-role", "--email", bob, "--role", "user")
	expect(t, c.do("GET", "/api/admin", nil, bobAccess), http.StatusForbidden, "INSUFFICIENT_PERMISSIONS")

	t.Run("last admin", func(t *testing.T) {
		for _, args := range [][]string{
			{"user", "disable", "--email", root},
			{"user", "set-role", "--email", root, "--role", "user"},
			{"user", "delete", "--email", root},
		} {
			if _, err := runCLI(t, env, "", args...); err == nil || !strings.Contains(err.Error(), "no enabled admin") {
				t.Errorf("run(%q) on the last admin = %v, want a refusal naming the last admin", args, err)
			}
		}
		expect(t, c.do("GET", "/api/admin", nil, rootAccess), http.StatusOK, "")
	})

	if out := user("disable", "--email", bob); !strings.Contains(out, "disabled=true") {
		t.Errorf("run(user disable) printed %q, want disabled=true", out)
	}
	waitRevoked(t, c, bobAccess, 4*time.Second, "bob's access token after `user disable` (REVOCATION_SYNC_INTERVAL=1s)")
	expect(t, c.do("POST", "/api/auth/login", map[string]string{"email": bob, "password": testPassword}, ""),
		http.StatusForbidden, "ACCOUNT_DISABLED")

	if out := user("enable", "--email", bob); !strings.Contains(out, "disabled=false") {
		t.Errorf("run(user enable) printed %q, want disabled=false", out)
	}
	bobAccess, _ = c.login(bob)
	expect(t, c.do("GET", "/api/profile", nil, bobAccess), http.StatusOK, "")

	out := user("list")
	if !strings.Contains(out, root) || !strings.Contains(out, bob) || !strings.Contains(out, "EMAIL") {
		t.Errorf("run(user list) printed %q, want a header and both %s and %s", out, root, bob)
	}

	if out := user("delete", "--email", bob); !strings.Contains(out, "deleted") {
		t.Errorf("run(user delete) printed %q, want \"deleted\"", out)
	}
	waitRevoked(t, c, bobAccess, 4*time.Second, "bob's access token after `user delete` (REVOCATION_SYNC_INTERVAL=1s)")
	if _, err := runCLI(t, env, "", "user", "delete", "--email", bob); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Errorf("run(user delete) of a deleted user = %v, want \"no user with that email\"", err)
	}
	expect(t, c.do("GET", "/api/admin", nil, rootAccess), http.StatusOK, "")
}
