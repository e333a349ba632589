package config_test

import (
	"crypto"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/config"
	"github.com/authserver/authserver/internal/keys"
	"github.com/authserver/authserver/internal/mail"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/passkeys"
)

const (
	accessSecret  = "4f1c9a7e2b6d8035c1e7a9f2d4b6c8e0-access"
	refreshSecret = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b-refresh"
	day           = 24 * time.Hour
)

// minimalEnv returns the smallest environment Load accepts.
func minimalEnv() map[string]string {
	return map[string]string{"JWT_ACCESS_SECRET": accessSecret, "JWT_REFRESH_SECRET": refreshSecret}
}

// load calls config.Load with env as the environment.
func load(env map[string]string) (config.Config, error) {
	return config.Load(func(k string) string { return env[k] })
}

// defaults is the Config that minimalEnv loads to.
func defaults() config.Config {
	return config.Config{
		AccessSecret:           accessSecret,
		RefreshSecret:          refreshSecret,
		Algorithm:              "HS256",
		Issuer:                 "auth-server",
		Audience:               "api",
		AccessTTL:              15 * time.Minute,
		RefreshTTL:             7 * day,
		ReuseGrace:             10 * time.Second,
		IdleTimeout:            7 * day,
		MaxLifetime:            30 * day,
		Leeway:                 0,
		RevocationSyncInterval: 5 * time.Second,
		PasswordMinLength:      8,
		LoginMaxFailures:       5,
		LoginFailureWindow:     15 * time.Minute,
		Port:                   3000,
		DatabaseDriver:         models.DriverSQLite,
		DatabaseDSN:            "data/auth.db",
		CookieSecure:           true,
		BcryptCost:             12,
		AllowRegistration:      true,
		RateLimitWindow:        15 * time.Minute,
		RateLimitMax:           100,
		AuthRateLimitMax:       10,
		AuditRetention:         90 * day,
		AuditQueueSize:         4096,
		ShutdownTimeout:        15 * time.Second,
		RequestTimeout:         10 * time.Second,
		BcryptQueueWait:        5 * time.Second,
		PasskeysNote:           "passkeys are off: no CLIENT_URL to derive them from; set WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS to turn them on",
		Mail:                   config.Mail{EmailTokenTTL: day, PasswordResetTTL: 30 * time.Minute, ResendInterval: time.Minute},
	}
}

func TestLoadDefaults(t *testing.T) {
	got, err := load(minimalEnv())
	if err != nil {
		t.Fatalf("Load(minimal env) error = %v, want nil", err)
	}
	if want := defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load(minimal env) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoadCommand(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"no secrets", map[string]string{}},
		{"placeholder secrets and an unreadable key file", map[string]string{
			"JWT_ACCESS_SECRET": "short", "JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY_FILE": "/nonexistent/key.pem",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.LoadCommand(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatalf("LoadCommand(%v) error = %v, want nil: the command line needs no JWT secrets", tt.env, err)
			}
			if !got.Tokenless || got.AccessSecret != "" || got.RefreshSecret != "" || got.SigningKey != nil {
				t.Errorf("LoadCommand(%v) = Tokenless %v, secrets %q %q, key %v; want Tokenless and no secret or key",
					tt.env, got.Tokenless, got.AccessSecret, got.RefreshSecret, got.SigningKey)
			}
		})
	}
	if _, err := config.LoadCommand(func(k string) string { return map[string]string{"PORT": "0"}[k] }); err == nil {
		t.Errorf("LoadCommand(PORT=0) error = nil, want the other settings still checked")
	}
	want := defaults()
	want.AccessSecret, want.RefreshSecret, want.Tokenless = "", "", true
	if got, err := config.LoadCommand(func(string) string { return "" }); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("LoadCommand(empty env) = %+v, %v; want the defaults without secrets", got, err)
	}
}

func TestLoadEveryVariable(t *testing.T) {
	smtp, err := mail.ParseURL("smtps://apikey:s3cret@smtp.example.com")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"JWT_ACCESS_SECRET":          accessSecret,
		"JWT_REFRESH_SECRET":         refreshSecret,
		"JWT_ALGORITHM":              "HS256",
		"JWT_ISSUER":                 "https://auth.example.com",
		"JWT_AUDIENCE":               " shop ",
		"ACCESS_TOKEN_EXPIRY":        "5m",
		"REFRESH_TOKEN_EXPIRY":       "14d",
		"REFRESH_REUSE_GRACE":        "0s",
		"SESSION_IDLE_TIMEOUT":       "1d12h",
		"SESSION_MAX_LIFETIME":       "60d",
		"JWT_LEEWAY":                 "60s",
		"REVOCATION_SYNC_INTERVAL":   "1m",
		"PASSWORD_MIN_LENGTH":        "64",
		"LOGIN_MAX_FAILURES":         "3",
		"LOGIN_FAILURE_WINDOW":       "1h30m",
		"PORT":                       "8080",
		"DATABASE_URL":               "postgres://auth:pw@db.internal:5432/auth?sslmode=require",
		"REDIS_URL":                  "rediss://:pw@cache.internal:6380/0",
		"CLIENT_URL":                 "https://App.Example.com/, http://localhost:5173",
		"COOKIE_SECURE":              "false",
		"TRUSTED_PROXIES":            "10.0.0.0/8, 192.168.1.10,::1",
		"BCRYPT_COST":                "10",
		"BCRYPT_CONCURRENCY":         "256",
		"ALLOW_REGISTRATION":         "0",
		"REQUIRE_MFA_FOR_ADMIN":      "true",
		"RATE_LIMIT_WINDOW":          "1m",
		"RATE_LIMIT_MAX":             "1000",
		"AUTH_RATE_LIMIT_MAX":        "1",
		"TOKEN_FINGERPRINT":          "true",
		"SERVE_SPA":                  "true",
		"AUDIT_RETENTION":            "365d",
		"AUDIT_QUEUE_SIZE":           "1000000",
		"SHUTDOWN_TIMEOUT":           "30s",
		"REQUEST_TIMEOUT":            "45s",
		"BCRYPT_QUEUE_TIMEOUT":       "2s",
		"WEBAUTHN_RP_ID":             "example.com",
		"WEBAUTHN_RP_NAME":           "Example Shop",
		"WEBAUTHN_ORIGINS":           "https://App.Example.com, https://example.com:8443",
		"SMTP_URL":                   "smtps://apikey:s3cret@smtp.example.com",
		"APP_URL":                    "https://app.example.com/account/",
		"MAIL_FROM":                  "Example <no-reply@example.com>",
		"REQUIRE_EMAIL_VERIFICATION": "true",
		"EMAIL_TOKEN_EXPIRY":         "2d",
		"PASSWORD_RESET_EXPIRY":      "1h",
		"MAIL_RESEND_INTERVAL":       "0s",
	}
	want := config.Config{
		AccessSecret:           accessSecret,
		RefreshSecret:          refreshSecret,
		Algorithm:              "HS256",
		Issuer:                 "https://auth.example.com",
		Audience:               "shop",
		AccessTTL:              5 * time.Minute,
		RefreshTTL:             14 * day,
		ReuseGrace:             0,
		IdleTimeout:            36 * time.Hour,
		MaxLifetime:            60 * day,
		Leeway:                 time.Minute,
		RevocationSyncInterval: time.Minute,
		PasswordMinLength:      64,
		LoginMaxFailures:       3,
		LoginFailureWindow:     90 * time.Minute,
		Port:                   8080,
		DatabaseDriver:         models.DriverPostgres,
		DatabaseDSN:            "postgres://auth:pw@db.internal:5432/auth?sslmode=require",
		RedisURL:               "rediss://:pw@cache.internal:6380/0",
		ClientURLs:             []string{"https://app.example.com", "http://localhost:5173"},
		CookieSecure:           false,
		TrustedProxies:         []string{"10.0.0.0/8", "192.168.1.10/32", "::1/128"},
		BcryptCost:             10,
		BcryptConcurrency:      256,
		AllowRegistration:      false,
		RequireMFAForAdmin:     true,
		RateLimitWindow:        time.Minute,
		RateLimitMax:           1000,
		AuthRateLimitMax:       1,
		TokenFingerprint:       true,
		ServeSPA:               true,
		AuditRetention:         365 * day,
		AuditQueueSize:         1_000_000,
		ShutdownTimeout:        30 * time.Second,
		RequestTimeout:         45 * time.Second,
		BcryptQueueWait:        2 * time.Second,
		Passkeys: passkeys.Config{RPID: "example.com", RPName: "Example Shop",
			Origins: []string{"https://app.example.com", "https://example.com:8443"}},
		Mail: config.Mail{SMTP: &smtp, AppURL: "https://app.example.com/account", From: "Example <no-reply@example.com>",
			RequireVerified: true, EmailTokenTTL: 2 * day, PasswordResetTTL: time.Hour, ResendInterval: 0},
	}
	got, err := load(env)
	if err != nil {
		t.Fatalf("Load(every variable) error = %v, want nil", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load(every variable) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoadPasskeys(t *testing.T) {
	const turnOn = "set WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS to turn them on"
	tests := []struct {
		name     string
		env      map[string]string
		want     passkeys.Config
		wantNote string // a substring of PasskeysNote; "" = no note
	}{
		{"derived from CLIENT_URL", map[string]string{"CLIENT_URL": "https://app.example.com,https://www.app.example.com"},
			passkeys.Config{RPID: "app.example.com", RPName: "auth-server", Origins: []string{"https://app.example.com", "https://www.app.example.com"}}, ""},
		{"derived, an origin left out", map[string]string{"CLIENT_URL": "https://app.example.com, http://localhost:5173"},
			passkeys.Config{RPID: "app.example.com", RPName: "auth-server", Origins: []string{"https://app.example.com"}},
			"origins http://localhost:5173 cannot serve it"},
		{"derived from an IP address: off", map[string]string{"CLIENT_URL": "http://127.0.0.1:5173"},
			passkeys.Config{}, "passkeys are off: no CLIENT_URL origin can serve relying party \"127.0.0.1\""},
		{"derived from plain http: off", map[string]string{"CLIENT_URL": "http://app.example.com"},
			passkeys.Config{}, turnOn},
		{"only the RP ID set", map[string]string{"CLIENT_URL": "https://app.example.com", "WEBAUTHN_RP_ID": "example.com"},
			passkeys.Config{RPID: "example.com", RPName: "auth-server", Origins: []string{"https://app.example.com"}}, ""},
		{"only the origins set", map[string]string{"WEBAUTHN_ORIGINS": "http://localhost:3000"},
			passkeys.Config{RPID: "localhost", RPName: "auth-server", Origins: []string{"http://localhost:3000"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := minimalEnv()
			maps.Copy(env, tt.env)
			got, err := load(env)
			if err != nil {
				t.Fatalf("Load(%v) error = %v", tt.env, err)
			}
			if !reflect.DeepEqual(got.Passkeys, tt.want) {
				t.Errorf("Load(%v).Passkeys = %+v, want %+v", tt.env, got.Passkeys, tt.want)
			}
			if tt.wantNote == "" && got.PasskeysNote != "" || !strings.Contains(got.PasskeysNote, tt.wantNote) {
				t.Errorf("Load(%v).PasskeysNote = %q, want it to contain %q", tt.env, got.PasskeysNote, tt.wantNote)
			}
		})
	}
}

func TestLoadDurations(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"15m", 15 * time.Minute},
		{"7d", 7 * day},
		{"10s", 10 * time.Second},
		{"1h30m", 90 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"0d1h", time.Hour},
		{"1.5h", 90 * time.Minute},
		{"365d", 365 * day},
		{" 2h ", 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			env := minimalEnv()
			env["REFRESH_TOKEN_EXPIRY"] = tt.value
			got, err := load(env)
			if err != nil {
				t.Fatalf("Load(REFRESH_TOKEN_EXPIRY=%q) error = %v, want nil", tt.value, err)
			}
			if got.RefreshTTL != tt.want {
				t.Errorf("Load(REFRESH_TOKEN_EXPIRY=%q).RefreshTTL = %v, want %v", tt.value, got.RefreshTTL, tt.want)
			}
		})
	}
}

func TestLoadDatabaseURL(t *testing.T) {
	tests := []struct {
		value      string
		wantDriver models.Driver
		wantDSN    string
	}{
		{"", models.DriverSQLite, "data/auth.db"},
		{"sqlite:/var/lib/auth/auth.db", models.DriverSQLite, "/var/lib/auth/auth.db"},
		{"sqlite://tmp/auth.db", models.DriverSQLite, "tmp/auth.db"},
		{"sqlite:///var/lib/auth.db", models.DriverSQLite, "/var/lib/auth.db"},
		{"postgres://u:p@localhost/auth", models.DriverPostgres, "postgres://u:p@localhost/auth"},
		{"postgresql://u@db:5433/auth?sslmode=disable", models.DriverPostgres, "postgresql://u@db:5433/auth?sslmode=disable"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			env := minimalEnv()
			env["DATABASE_URL"] = tt.value
			got, err := load(env)
			if err != nil {
				t.Fatalf("Load(DATABASE_URL=%q) error = %v, want nil", tt.value, err)
			}
			if got.DatabaseDriver != tt.wantDriver || got.DatabaseDSN != tt.wantDSN {
				t.Errorf("Load(DATABASE_URL=%q) = driver %q, DSN %q; want %q, %q",
					tt.value, got.DatabaseDriver, got.DatabaseDSN, tt.wantDriver, tt.wantDSN)
			}
		})
	}
}

func TestLoadLists(t *testing.T) {
	tests := []struct {
		name, variable, value string
		field                 func(config.Config) []string
		want                  []string
	}{
		{"origin lower-cased, slash dropped", "CLIENT_URL", "HTTPS://App.Example.COM/", clientURLs, []string{"https://app.example.com"}},
		{"default ports dropped", "CLIENT_URL", "https://a.example:443,http://b.example:80", clientURLs, []string{"https://a.example", "http://b.example"}},
		{"other ports kept", "CLIENT_URL", "http://localhost:5173,https://[::1]:8443", clientURLs, []string{"http://localhost:5173", "https://[::1]:8443"}},
		{"duplicates and empty items dropped", "CLIENT_URL", "https://a.example, ,https://A.example/", clientURLs, []string{"https://a.example"}},
		{"IPv4 CIDR masked", "TRUSTED_PROXIES", "10.1.2.3/8", trustedProxies, []string{"10.0.0.0/8"}},
		{"bare IPs", "TRUSTED_PROXIES", "127.0.0.1, 2001:db8::1", trustedProxies, []string{"127.0.0.1/32", "2001:db8::1/128"}},
		{"IPv6 CIDR", "TRUSTED_PROXIES", "fd00::/8", trustedProxies, []string{"fd00::/8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := minimalEnv()
			env[tt.variable] = tt.value
			got, err := load(env)
			if err != nil {
				t.Fatalf("Load(%s=%q) error = %v, want nil", tt.variable, tt.value, err)
			}
			if list := tt.field(got); !reflect.DeepEqual(list, tt.want) {
				t.Errorf("Load(%s=%q) gives %q, want %q", tt.variable, tt.value, list, tt.want)
			}
		})
	}
}

func clientURLs(c config.Config) []string     { return c.ClientURLs }
func trustedProxies(c config.Config) []string { return c.TrustedProxies }

// publicKey is what every crypto.PublicKey of the standard library implements.
type publicKey interface {
	Equal(crypto.PublicKey) bool
}

func TestLoadAsymmetric(t *testing.T) {
	dir := t.TempDir()
	rsaKey, rsaOld := generate(t, keys.RS256), generate(t, keys.RS256)
	tests := []struct {
		alg          string
		signer, old  crypto.Signer
		oldAsPrivate bool
	}{
		{keys.RS256, rsaKey, rsaOld, false},
		{keys.PS256, rsaKey, rsaOld, true},
		{keys.ES256, generate(t, keys.ES256), generate(t, keys.ES256), false},
		{keys.EdDSA, generate(t, keys.EdDSA), generate(t, keys.EdDSA), true},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			privatePath := writePrivateKey(t, dir, tt.alg+".pem", tt.signer)
			oldPath := writePublicKey(t, dir, tt.alg+"-old.pub.pem", tt.old.Public())
			if tt.oldAsPrivate {
				oldPath = writePrivateKey(t, dir, tt.alg+"-old.pem", tt.old)
			}
			env := map[string]string{
				"JWT_REFRESH_SECRET":   refreshSecret,
				"JWT_ALGORITHM":        tt.alg,
				"JWT_PRIVATE_KEY_FILE": privatePath,
				"JWT_VERIFY_KEY_FILES": oldPath + ", " + privatePath,
			}
			got, err := load(env)
			if err != nil {
				t.Fatalf("Load(%s with key files) error = %v, want nil", tt.alg, err)
			}
			if got.Algorithm != tt.alg || got.AccessSecret != "" {
				t.Errorf("Load(%s) = algorithm %q, access secret set %t; want %q, false",
					tt.alg, got.Algorithm, got.AccessSecret != "", tt.alg)
			}
			if got.SigningKey == nil || !got.SigningKey.Public().(publicKey).Equal(tt.signer.Public()) {
				t.Errorf("Load(%s).SigningKey is not the key of %s", tt.alg, privatePath)
			}
			if len(got.VerifyKeys) != 2 ||
				!tt.old.Public().(publicKey).Equal(got.VerifyKeys[0]) ||
				!tt.signer.Public().(publicKey).Equal(got.VerifyKeys[1]) {
				t.Errorf("Load(%s).VerifyKeys = %d keys, want the keys of %s and %s in that order",
					tt.alg, len(got.VerifyKeys), oldPath, privatePath)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	rsaPath := writePrivateKey(t, dir, "rsa.pem", generate(t, keys.RS256))
	edPath := writePrivateKey(t, dir, "ed.pem", generate(t, keys.EdDSA))
	edPubPath := writePublicKey(t, dir, "ed.pub.pem", generate(t, keys.EdDSA).Public())
	ecPubPath := writePublicKey(t, dir, "ec.pub.pem", generate(t, keys.ES256).Public())
	missingPath := filepath.Join(dir, "missing.pem")
	junkPath := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junkPath, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		hint       = " (generate one with: openssl rand -hex 32)"
		badDur     = " is not a duration (use the units s, m, h and d, as in 15m, 7d or 1h30m)"
		dbForms    = "DATABASE_URL: must be empty (SQLite file data/auth.db), sqlite:PATH, sqlite://PATH, or a postgres:// or postgresql:// URL with a host"
		redisForms = "REDIS_URL: must be a redis:// or rediss:// URL with a host"
		notOrigin  = " is not an origin: want http://HOST[:PORT] or https://HOST[:PORT] with no path or query"
	)
	tests := []struct {
		name string
		env  map[string]string // applied over minimalEnv; "" unsets
		want []string          // the prefix of each line, in order; none when Load must succeed
	}{
		{"refresh secret missing", map[string]string{"JWT_REFRESH_SECRET": ""},
			[]string{"JWT_REFRESH_SECRET: required" + hint}},
		{"access secret missing under HS256", map[string]string{"JWT_ACCESS_SECRET": ""},
			[]string{"JWT_ACCESS_SECRET: required when JWT_ALGORITHM is HS256" + hint}},
		{"short secret", map[string]string{"JWT_ACCESS_SECRET": "0123456789abcdef0123456789abcde"},
			[]string{"JWT_ACCESS_SECRET: must be at least 32 characters" + hint}},
		{"eight distinct characters are enough", map[string]string{"JWT_REFRESH_SECRET": strings.Repeat("abcd1234", 5)},
			nil},
		{"seven distinct characters", map[string]string{"JWT_REFRESH_SECRET": strings.Repeat("passw0rd", 5)},
			[]string{"JWT_REFRESH_SECRET: is too weak: fewer than 8 distinct characters" + hint}},
		{"repeated character", map[string]string{"JWT_ACCESS_SECRET": strings.Repeat("z", 64)},
			[]string{"JWT_ACCESS_SECRET: is too weak: fewer than 8 distinct characters" + hint}},
		{"placeholder secret", map[string]string{"JWT_ACCESS_SECRET": "replace-with-64-random-hex-chars-openssl-rand-hex-32"},
			[]string{"JWT_ACCESS_SECRET: is the placeholder of an old .env.example" + hint}},
		{"equal secrets", map[string]string{"JWT_ACCESS_SECRET": refreshSecret},
			[]string{"JWT_REFRESH_SECRET: must differ from JWT_ACCESS_SECRET"}},
		{"algorithm in the wrong case", map[string]string{"JWT_ALGORITHM": "hs256"},
			[]string{`JWT_ALGORITHM: "hs256" is not supported (use one of HS256, RS256, PS256, ES256, EdDSA)`}},
		{"algorithm none", map[string]string{"JWT_ALGORITHM": "none"},
			[]string{`JWT_ALGORITHM: "none" is not supported`}},
		{"asymmetric without a key file", map[string]string{"JWT_ALGORITHM": "RS256"},
			[]string{"JWT_PRIVATE_KEY_FILE: required when JWT_ALGORITHM is RS256 (make one with: server keys generate --alg RS256)"}},
		{"missing key file", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": missingPath},
			[]string{"JWT_PRIVATE_KEY_FILE: cannot read it: open " + missingPath}},
		{"key file that is a directory", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": dir},
			[]string{"JWT_PRIVATE_KEY_FILE: cannot read it: read " + dir}},
		{"key file without a key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": junkPath},
			[]string{"JWT_PRIVATE_KEY_FILE: " + junkPath + ": "}},
		{"public key as the signing key", map[string]string{"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edPubPath},
			[]string{"JWT_PRIVATE_KEY_FILE: " + edPubPath + ": "}},
		{"Ed25519 key under RS256", map[string]string{"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY_FILE": edPath},
			[]string{"JWT_PRIVATE_KEY_FILE: " + edPath + ": RS256"}},
		{"RSA key under ES256", map[string]string{"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY_FILE": rsaPath},
			[]string{"JWT_PRIVATE_KEY_FILE: " + rsaPath + ": ES256"}},
		{"verify keys of the wrong type or missing", map[string]string{
			"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": edPath,
			"JWT_VERIFY_KEY_FILES": ecPubPath + "," + missingPath + "," + junkPath + "," + edPubPath,
		}, []string{
			"JWT_VERIFY_KEY_FILES: " + ecPubPath + ": EdDSA",
			"JWT_VERIFY_KEY_FILES: cannot read it: open " + missingPath,
			"JWT_VERIFY_KEY_FILES: " + junkPath + ": ",
		}},
		{"private key file under HS256", map[string]string{"JWT_PRIVATE_KEY_FILE": edPath},
			[]string{"JWT_PRIVATE_KEY_FILE: only for asymmetric algorithms (JWT_ALGORITHM is HS256)"}},
		{"verify key files under HS256", map[string]string{"JWT_VERIFY_KEY_FILES": edPubPath},
			[]string{"JWT_VERIFY_KEY_FILES: only for asymmetric algorithms (JWT_ALGORITHM is HS256)"}},
		{"unknown duration unit", map[string]string{"ACCESS_TOKEN_EXPIRY": "7x"},
			[]string{`ACCESS_TOKEN_EXPIRY: "7x"` + badDur}},
		{"negative duration", map[string]string{"ACCESS_TOKEN_EXPIRY": "-1s"},
			[]string{`ACCESS_TOKEN_EXPIRY: "-1s" is negative`}},
		{"negative days", map[string]string{"REFRESH_REUSE_GRACE": "-1d"},
			[]string{`REFRESH_REUSE_GRACE: "-1d" is negative`}},
		{"days after hours", map[string]string{"REFRESH_TOKEN_EXPIRY": "12h1d"},
			[]string{`REFRESH_TOKEN_EXPIRY: "12h1d"` + badDur}},
		{"negative part after days", map[string]string{"REFRESH_TOKEN_EXPIRY": "1d-1h"},
			[]string{`REFRESH_TOKEN_EXPIRY: "1d-1h"` + badDur}},
		{"fractional days", map[string]string{"SESSION_MAX_LIFETIME": "1.5d"},
			[]string{`SESSION_MAX_LIFETIME: "1.5d"` + badDur}},
		{"number without unit", map[string]string{"SHUTDOWN_TIMEOUT": "15"},
			[]string{`SHUTDOWN_TIMEOUT: "15"` + badDur}},
		{"zero expiry", map[string]string{"ACCESS_TOKEN_EXPIRY": "0s"},
			[]string{"ACCESS_TOKEN_EXPIRY: must be more than 0s and at most 1d"}},
		{"expiry too long", map[string]string{"ACCESS_TOKEN_EXPIRY": "25h"},
			[]string{"ACCESS_TOKEN_EXPIRY: must be more than 0s and at most 1d"}},
		{"zero idle timeout and window", map[string]string{"SESSION_IDLE_TIMEOUT": "0d", "LOGIN_FAILURE_WINDOW": "0m"}, []string{
			"SESSION_IDLE_TIMEOUT: must be more than 0s and at most 365d",
			"LOGIN_FAILURE_WINDOW: must be more than 0s and at most 1d",
		}},
		{"zero sync interval", map[string]string{"REVOCATION_SYNC_INTERVAL": "0s"},
			[]string{"REVOCATION_SYNC_INTERVAL: must be more than 0s and at most 1h"}},
		{"leeway over 60s", map[string]string{"JWT_LEEWAY": "61s"},
			[]string{"JWT_LEEWAY: must be at most 60s"}},
		{"reuse grace too long", map[string]string{"REFRESH_REUSE_GRACE": "6m"},
			[]string{"REFRESH_REUSE_GRACE: must be at most 5m"}},
		{"bcrypt cost too low", map[string]string{"BCRYPT_COST": "9"},
			[]string{"BCRYPT_COST: must be between 10 and 14"}},
		{"bcrypt cost too high", map[string]string{"BCRYPT_COST": "15"},
			[]string{"BCRYPT_COST: must be between 10 and 14"}},
		{"bcrypt cost not a number", map[string]string{"BCRYPT_COST": "twelve"},
			[]string{`BCRYPT_COST: "twelve" is not a whole number`}},
		{"port out of range", map[string]string{"PORT": "0"},
			[]string{"PORT: must be between 1 and 65535"}},
		{"port too big", map[string]string{"PORT": "65536"},
			[]string{"PORT: must be between 1 and 65535"}},
		{"password length out of range", map[string]string{"PASSWORD_MIN_LENGTH": "7"},
			[]string{"PASSWORD_MIN_LENGTH: must be between 8 and 64"}},
		{"counts below 1", map[string]string{"LOGIN_MAX_FAILURES": "0", "RATE_LIMIT_MAX": "0", "AUTH_RATE_LIMIT_MAX": "-1"}, []string{
			"LOGIN_MAX_FAILURES: must be at least 1",
			"RATE_LIMIT_MAX: must be at least 1",
			"AUTH_RATE_LIMIT_MAX: must be at least 1",
		}},
		{"bcrypt concurrency and audit queue too big", map[string]string{"BCRYPT_CONCURRENCY": "257", "AUDIT_QUEUE_SIZE": "1000001"}, []string{
			"BCRYPT_CONCURRENCY: must be between 1 and 256",
			"AUDIT_QUEUE_SIZE: must be between 1 and 1000000",
		}},
		{"bad booleans", map[string]string{"COOKIE_SECURE": "yes", "ALLOW_REGISTRATION": "on", "TOKEN_FINGERPRINT": "2", "SERVE_SPA": "y", "REQUIRE_MFA_FOR_ADMIN": "y"}, []string{
			`COOKIE_SECURE: "yes" is not a boolean (use true or false)`,
			`ALLOW_REGISTRATION: "on" is not a boolean (use true or false)`,
			`REQUIRE_MFA_FOR_ADMIN: "y" is not a boolean (use true or false)`,
			`TOKEN_FINGERPRINT: "2" is not a boolean (use true or false)`,
			`SERVE_SPA: "y" is not a boolean (use true or false)`,
		}},
		{"other database", map[string]string{"DATABASE_URL": "mysql://root:hunter2hunter2@db/app"}, []string{dbForms}},
		{"postgres without host", map[string]string{"DATABASE_URL": "postgres://app:hunter2hunter2@/app"}, []string{dbForms}},
		{"bare path database", map[string]string{"DATABASE_URL": "data/auth.db"}, []string{dbForms}},
		{"sqlite without path", map[string]string{"DATABASE_URL": "sqlite://"}, []string{dbForms}},
		{"redis with another scheme", map[string]string{"REDIS_URL": "http://cache:6379"}, []string{redisForms}},
		{"redis without host", map[string]string{"REDIS_URL": "redis://:hunter2hunter2@/0"}, []string{redisForms}},
		{"redis with options in the query", map[string]string{"REDIS_URL": "redis://:hunter2hunter2@cache:6379/0?dial_timeout=3s"}, []string{redisForms}},
		{"redis with a database that is not a number", map[string]string{"REDIS_URL": "redis://:hunter2hunter2@cache:6379/zero"}, []string{redisForms}},
		{"redis URL that does not parse", map[string]string{"REDIS_URL": "redis://:hunter2hunter2@cache:port/0"}, []string{redisForms}},
		{"wildcard origin", map[string]string{"CLIENT_URL": "https://app.example,*"},
			[]string{`CLIENT_URL: "*" is refused: wildcard origins cannot carry credentials, list each origin`}},
		{"origins that are not origins", map[string]string{
			"CLIENT_URL": "ftp://files.example,https://app.example/login,https://app.example?x=1,app.example,https://u@app.example",
		}, []string{
			`CLIENT_URL: "ftp://files.example"` + notOrigin,
			`CLIENT_URL: "https://app.example/login"` + notOrigin,
			`CLIENT_URL: "https://app.example?x=1"` + notOrigin,
			`CLIENT_URL: "app.example"` + notOrigin,
			`CLIENT_URL: "https://u@app.example"` + notOrigin,
		}},
		{"bad proxies", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33,proxy.internal,10.0.0.1"}, []string{
			`TRUSTED_PROXIES: "10.0.0.0/33" is not an IP address or CIDR`,
			`TRUSTED_PROXIES: "proxy.internal" is not an IP address or CIDR`,
		}},
		{"passkey RP ID an IP address", map[string]string{"WEBAUTHN_RP_ID": "127.0.0.1", "CLIENT_URL": "https://app.example.com"},
			[]string{`WEBAUTHN_RP_ID: "127.0.0.1" is not a domain name (no scheme, port, path or IP address)`}},
		{"passkey origin outside the RP ID", map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://app.example.com,https://example.org"},
			[]string{`WEBAUTHN_ORIGINS: "https://example.org" is not on example.com or one of its subdomains`}},
		{"passkey origin over plain http", map[string]string{"WEBAUTHN_ORIGINS": "http://app.example.com"},
			[]string{`WEBAUTHN_ORIGINS: "http://app.example.com" must use https (plain http is allowed only for localhost)`}},
		{"passkey RP ID without origins", map[string]string{"WEBAUTHN_RP_ID": "example.com"},
			[]string{"WEBAUTHN_ORIGINS: no origin is allowed; set it (or CLIENT_URL)"}},
		{"passkey origin that is not an origin", map[string]string{"WEBAUTHN_ORIGINS": "https://app.example.com/login"}, []string{
			`WEBAUTHN_ORIGINS: "https://app.example.com/login"` + notOrigin,
			"WEBAUTHN_RP_ID: is empty",
			"WEBAUTHN_ORIGINS: no origin is allowed",
		}},
		{"passkey RP name too long", map[string]string{"WEBAUTHN_RP_NAME": strings.Repeat("n", 65), "CLIENT_URL": "https://app.example.com"},
			[]string{"WEBAUTHN_RP_NAME: must be 1 to 64 bytes"}},
		{"several problems at once", map[string]string{
			"JWT_ACCESS_SECRET": "", "JWT_LEEWAY": "2m", "PORT": "http", "CLIENT_URL": "*", "DATABASE_URL": "mongodb://x",
		}, []string{
			"JWT_LEEWAY: must be at most 60s",
			`PORT: "http" is not a whole number`,
			`CLIENT_URL: "*" is refused`,
			"JWT_ACCESS_SECRET: required when JWT_ALGORITHM is HS256",
			dbForms,
		}},
		{"SMTP_URL of another scheme", map[string]string{"SMTP_URL": "http://u:hunter2@mail.example.com", "APP_URL": "https://a.example.com",
			"MAIL_FROM": "a@example.com"}, []string{`SMTP_URL: unsupported scheme "http"`}},
		{"SMTP_URL with a bad port", map[string]string{"SMTP_URL": "smtp://u:hunter2@mail.example.com:99999", "APP_URL": "https://a.example.com",
			"MAIL_FROM": "a@example.com"}, []string{`SMTP_URL: port "99999"`}},
		{"SMTP_URL with a password in plain text to another host", map[string]string{"SMTP_URL": "smtp://u:hunter2@relay.example.com?tls=none",
			"APP_URL": "https://a.example.com", "MAIL_FROM": "a@example.com"}, []string{"SMTP_URL: with tls=none the password would cross"}},
		{"SMTP_URL alone", map[string]string{"SMTP_URL": "smtp://u:hunter2@mail.example.com"},
			[]string{"APP_URL: required with SMTP_URL", "MAIL_FROM: required with SMTP_URL"}},
		{"APP_URL with a fragment", map[string]string{"APP_URL": "https://a.example.com/#/"}, []string{"APP_URL: must not hold a query or fragment"}},
		{"APP_URL without scheme", map[string]string{"APP_URL": "a.example.com"}, []string{"APP_URL: must start with https://"}},
		{"MAIL_FROM not an address", map[string]string{"MAIL_FROM": "Example"}, []string{"MAIL_FROM: not an address"}},
		{"REQUIRE_EMAIL_VERIFICATION without mail", map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"},
			[]string{"REQUIRE_EMAIL_VERIFICATION: true needs SMTP_URL"}},
		{"mail durations", map[string]string{"EMAIL_TOKEN_EXPIRY": "0s", "PASSWORD_RESET_EXPIRY": "2d", "MAIL_RESEND_INTERVAL": "soon"},
			[]string{"EMAIL_TOKEN_EXPIRY: must be more than 0s", "PASSWORD_RESET_EXPIRY: must be more than 0s", `MAIL_RESEND_INTERVAL: "soon"` + badDur}},
		{"mail set up", map[string]string{"SMTP_URL": "smtp://u:hunter2@mail.example.com", "APP_URL": "https://a.example.com",
			"MAIL_FROM": "a@example.com", "REQUIRE_EMAIL_VERIFICATION": "true"}, nil},
		{"APP_URL alone, for reset links from the command line", map[string]string{"APP_URL": "https://a.example.com"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := minimalEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			got, err := load(env)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Load(%v) error = %v, want nil", tt.env, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load(%v) = %+v, nil; want errors %q", tt.env, got, tt.want)
			}
			if !reflect.DeepEqual(got, config.Config{}) {
				t.Errorf("Load(%v) with an error returned a non-zero Config", tt.env)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("Load(%v) error has %d lines:\n%v\nwant %d, starting %q", tt.env, len(lines), err, len(tt.want), tt.want)
			}
			for i, line := range lines {
				if !strings.HasPrefix(line, tt.want[i]) {
					t.Errorf("Load(%v) error line %d = %q, want it to start with %q", tt.env, i, line, tt.want[i])
				}
			}
			for _, k := range []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"} {
				if v := env[k]; v != "" && strings.Contains(err.Error(), v) {
					t.Errorf("Load(%v) error shows the value of %s: %v", tt.env, k, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Load(%v) error shows a password: %v", tt.env, err)
			}
		})
	}
}

func TestEnvExample(t *testing.T) {
	getenv, err := config.WithDotEnv(func(string) string { return "" }, filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatalf("WithDotEnv(.env.example) error = %v", err)
	}
	if v := getenv("PORT"); v != "3000" {
		t.Fatalf("WithDotEnv(.env.example) PORT = %q, want 3000", v)
	}

	_, err = config.Load(getenv)
	want := "JWT_ACCESS_SECRET: required when JWT_ALGORITHM is HS256 (generate one with: openssl rand -hex 32)\n" +
		"JWT_REFRESH_SECRET: required (generate one with: openssl rand -hex 32)"
	if err == nil || err.Error() != want {
		t.Errorf("Load(.env.example) error = %v, want\n%s", err, want)
	}

	secrets := minimalEnv()
	withSecrets := func(k string) string {
		if v := secrets[k]; v != "" {
			return v
		}
		return getenv(k)
	}
	got, err := config.Load(withSecrets)
	if err != nil {
		t.Fatalf("Load(.env.example with real secrets) error = %v, want nil", err)
	}
	if want := defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load(.env.example with real secrets) =\n%+v\nwant the defaults\n%+v", got, want)
	}
}

// generate makes a fresh key for alg.
func generate(t *testing.T, alg string) crypto.Signer {
	t.Helper()
	k, err := keys.Generate(alg)
	if err != nil {
		t.Fatalf("keys.Generate(%s) error = %v", alg, err)
	}
	return k
}

// writePrivateKey writes k as PEM to dir/name and returns the path.
func writePrivateKey(t *testing.T, dir, name string, k crypto.Signer) string {
	t.Helper()
	data, err := keys.EncodePrivatePEM(k)
	if err != nil {
		t.Fatalf("keys.EncodePrivatePEM error = %v", err)
	}
	return writeFile(t, dir, name, data)
}

// writePublicKey writes pub as PEM to dir/name and returns the path.
func writePublicKey(t *testing.T, dir, name string, pub crypto.PublicKey) string {
	t.Helper()
	data, err := keys.EncodePublicPEM(pub)
	if err != nil {
		t.Fatalf("keys.EncodePublicPEM error = %v", err)
	}
	return writeFile(t, dir, name, data)
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadIntrospectionTokens(t *testing.T) {
	const (
		one = "5b0e6c1d9a8f47e2b3c4d5e6f7a8b9c0-introspect-one"
		two = "e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4-introspect-two"
	)
	dir := t.TempDir()
	listFile := writeFile(t, dir, "tokens", []byte(one+","+two+"\n"))
	tests := []struct {
		name string
		env  map[string]string
		want []config.Secret
		errs []string
	}{
		{"unset: no route", nil, nil, nil},
		{"one", map[string]string{"INTROSPECTION_TOKENS": one}, []config.Secret{one}, nil},
		{"two with spaces", map[string]string{"INTROSPECTION_TOKENS": " " + one + " , " + two + ","}, []config.Secret{one, two}, nil},
		{"from a file", map[string]string{"INTROSPECTION_TOKENS_FILE": listFile}, []config.Secret{one, two}, nil},
		{"too short", map[string]string{"INTROSPECTION_TOKENS": one + ",short-secret"}, nil,
			[]string{"INTROSPECTION_TOKENS (token 2 of 2): must be at least 32 characters"}},
		{"weak", map[string]string{"INTROSPECTION_TOKENS": strings.Repeat("ab", 20)}, nil,
			[]string{"INTROSPECTION_TOKENS (token 1 of 1): is too weak"}},
		{"both forms", map[string]string{"INTROSPECTION_TOKENS": one, "INTROSPECTION_TOKENS_FILE": listFile}, nil,
			[]string{"INTROSPECTION_TOKENS_FILE: is set together with INTROSPECTION_TOKENS"}},
		{"missing file", map[string]string{"INTROSPECTION_TOKENS_FILE": filepath.Join(dir, "absent")}, nil,
			[]string{"INTROSPECTION_TOKENS_FILE: " + filepath.Join(dir, "absent") + " does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := minimalEnv()
			maps.Copy(env, tt.env)
			got, err := load(env)
			if len(tt.errs) == 0 {
				if err != nil {
					t.Fatalf("Load(%v) error = %v, want nil", tt.env, err)
				}
				if !reflect.DeepEqual(got.IntrospectionTokens, tt.want) {
					t.Errorf("Load(%v).IntrospectionTokens has %d tokens, want %d (values redacted)", tt.env, len(got.IntrospectionTokens), len(tt.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("Load(%v) error = nil, want %q", tt.env, tt.errs)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.errs) {
				t.Fatalf("Load(%v) error = %v, want %d lines %q", tt.env, err, len(tt.errs), tt.errs)
			}
			for i, line := range lines {
				if !strings.HasPrefix(line, tt.errs[i]) {
					t.Errorf("Load(%v) error line %d = %q, want it to start with %q", tt.env, i, line, tt.errs[i])
				}
				if strings.Contains(line, one[:20]) || strings.Contains(line, "short-secret") {
					t.Errorf("Load(%v) error line %q shows a token", tt.env, line)
				}
			}
		})
	}
}
