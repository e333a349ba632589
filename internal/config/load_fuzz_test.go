package config_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// variables are the names Load reads, as .env.example lists them.
var variables = []string{
	"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "JWT_ALGORITHM", "JWT_PRIVATE_KEY_FILE", "JWT_VERIFY_KEY_FILES",
	"JWT_ISSUER", "JWT_AUDIENCE", "JWT_LEEWAY", "ACCESS_TOKEN_EXPIRY", "REFRESH_TOKEN_EXPIRY", "REFRESH_REUSE_GRACE",
	"SESSION_IDLE_TIMEOUT", "SESSION_MAX_LIFETIME", "REVOCATION_SYNC_INTERVAL", "TOKEN_FINGERPRINT",
	"PASSWORD_MIN_LENGTH", "BCRYPT_COST", "BCRYPT_CONCURRENCY", "LOGIN_MAX_FAILURES", "LOGIN_FAILURE_WINDOW",
	"ALLOW_REGISTRATION", "PORT", "CLIENT_URL", "COOKIE_SECURE", "TRUSTED_PROXIES", "RATE_LIMIT_WINDOW",
	"RATE_LIMIT_MAX", "AUTH_RATE_LIMIT_MAX", "SHUTDOWN_TIMEOUT", "DATABASE_URL", "REDIS_URL", "AUDIT_RETENTION",
	"AUDIT_QUEUE_SIZE",
}

// FuzzLoad sets one variable (picked by which) to any value over the smallest good environment.
// Load must not panic; it either loads the same Config every time, or fails with lines that each
// start with a variable's name, and never repeats a secret's value.
func FuzzLoad(f *testing.F) {
	for n := range variables {
		for _, v := range []string{"", " ", "0", "-1", "1d", "true", "x", "99999999999999999999", "\x00", "é"} {
			f.Add(uint8(n), v)
		}
	}
	f.Add(uint8(0), strings.Repeat("s3cr3t-", 6))
	f.Add(uint8(slices.Index(variables, "DATABASE_URL")), "postgres://user:hunter2-password@db:5432/auth")
	f.Add(uint8(slices.Index(variables, "CLIENT_URL")), "https://app.example.com,http://localhost:5173/,*")
	f.Add(uint8(slices.Index(variables, "TRUSTED_PROXIES")), "10.0.0.0/8, ::1, 300.1.1.1")
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := variables[int(which)%len(variables)]
		env := minimalEnv()
		env[name] = value
		c, err := load(env)
		if err == nil {
			again, err2 := load(env)
			if err2 != nil || !reflect.DeepEqual(c, again) {
				t.Fatalf("Load(%s=%q) twice = %+v then %+v, %v", name, value, c, again, err2)
			}
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			v, _, _ := strings.Cut(line, ": ")
			if !slices.Contains(variables, v) {
				t.Fatalf("Load(%s=%q) error line %q does not start with a variable's name", name, value, line)
			}
		}
		if strings.HasSuffix(name, "_SECRET") && len(strings.TrimSpace(value)) >= 8 && strings.Contains(err.Error(), strings.TrimSpace(value)) {
			t.Fatalf("Load(%s=%q) error repeats the secret: %v", name, value, err)
		}
	})
}
