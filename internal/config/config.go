// Package config reads, defaults and validates the server's settings from its environment.
package config

import (
	"crypto"
	"errors"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authserver/authserver/internal/keys"
	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/passkeys"
	"github.com/authserver/authserver/internal/redis"
)

// Config holds every setting of the server, parsed and validated by Load.
type Config struct {
	AccessSecret  Secret // JWT_ACCESS_SECRET; signs access tokens under HS256
	RefreshSecret Secret // JWT_REFRESH_SECRET; signs refresh tokens, always HS256
	Algorithm     string // JWT_ALGORITHM, one of keys.Algorithms

	SigningKey crypto.Signer      // from JWT_PRIVATE_KEY_FILE, asymmetric algorithms only
	VerifyKeys []crypto.PublicKey // from JWT_VERIFY_KEY_FILES, asymmetric algorithms only

	Issuer   string // JWT_ISSUER
	Audience string // JWT_AUDIENCE

	AccessTTL              time.Duration // ACCESS_TOKEN_EXPIRY
	RefreshTTL             time.Duration // REFRESH_TOKEN_EXPIRY
	ReuseGrace             time.Duration // REFRESH_REUSE_GRACE; 0 turns the grace off
	IdleTimeout            time.Duration // SESSION_IDLE_TIMEOUT
	MaxLifetime            time.Duration // SESSION_MAX_LIFETIME
	Leeway                 time.Duration // JWT_LEEWAY
	RevocationSyncInterval time.Duration // REVOCATION_SYNC_INTERVAL

	PasswordMinLength  int           // PASSWORD_MIN_LENGTH, in code points
	LoginMaxFailures   int           // LOGIN_MAX_FAILURES
	LoginFailureWindow time.Duration // LOGIN_FAILURE_WINDOW

	Host           string        // HOST: the address to listen on; "" means every interface
	Port           int           // PORT
	DatabaseDriver models.Driver // from DATABASE_URL
	DatabaseDSN    string        // for sqlite: a file path (default "data/auth.db"); for postgres: the URL as given
	RedisURL       string        // REDIS_URL; "" means in-memory rate limits and revocations

	ClientURLs     []string // CLIENT_URL as normalised origins "scheme://host[:port]"
	CookieSecure   bool     // COOKIE_SECURE
	TrustedProxies []string // TRUSTED_PROXIES as CIDRs (a bare IP becomes /32 or /128)

	BcryptCost        int  // BCRYPT_COST
	BcryptConcurrency int  // BCRYPT_CONCURRENCY: how many bcrypt hashes may run at once; 0 (unset): GOMAXPROCS, followed
	AllowRegistration bool // ALLOW_REGISTRATION

	RequireMFAForAdmin bool // REQUIRE_MFA_FOR_ADMIN: admin routes want "mfa" in the token's amr

	RateLimitWindow  time.Duration // RATE_LIMIT_WINDOW
	RateLimitMax     int           // RATE_LIMIT_MAX, requests per window to /api/* outside /api/auth/*
	AuthRateLimitMax int           // AUTH_RATE_LIMIT_MAX, requests per window to /api/auth/*

	// Passkeys is the WebAuthn relying party: WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME, WEBAUTHN_ORIGINS
	// (derived from CLIENT_URL when none is set). An empty RPID means passkeys are off.
	Passkeys passkeys.Config
	// PasskeysNote is a warning about the passkey settings for the log at start; "" when none.
	PasskeysNote string

	TokenFingerprint bool          // TOKEN_FINGERPRINT
	ServeSPA         bool          // SERVE_SPA: serve the example single-page app at / (-dev turns it on)
	AuditRetention   time.Duration // AUDIT_RETENTION
	AuditQueueSize   int           // AUDIT_QUEUE_SIZE
	ShutdownTimeout  time.Duration // SHUTDOWN_TIMEOUT
	RequestTimeout   time.Duration // REQUEST_TIMEOUT: how long one request may work before 503
	BcryptQueueWait  time.Duration // BCRYPT_QUEUE_TIMEOUT: how long a hash waits for a slot before 503

	// IntrospectionTokens (INTROSPECTION_TOKENS or INTROSPECTION_TOKENS_FILE) are the bearer
	// secrets that may call POST /oauth/introspect; without any, that route does not exist.
	IntrospectionTokens []Secret
	Mail                Mail // SMTP_URL, APP_URL, MAIL_FROM and the email flows' settings (mail.go)

	// Tokenless is set by LoadCommand: no JWT secret or key was read, so no token can be issued.
	Tokenless bool
}

const (
	// day is the unit "d" of durations.
	day = 24 * time.Hour
	// defaultSQLitePath is the database file used when DATABASE_URL is empty.
	defaultSQLitePath = "data/auth.db"
	// minSecretLength is the fewest characters a secret may have.
	minSecretLength = 32
	// minDistinctSecretChars is the fewest different characters a secret may have.
	minDistinctSecretChars = 8
	// maxBcryptConcurrency bounds BCRYPT_CONCURRENCY.
	maxBcryptConcurrency = 256
	// generateHint tells how to make a good secret.
	generateHint = "generate one with: openssl rand -hex 32"
)

// placeholderSecrets are the secret values of .env.example; Load refuses them.
var placeholderSecrets = []string{
	"replace-with-64-random-hex-chars-openssl-rand-hex-32",
	"replace-with-another-64-random-hex-chars-openssl-rand-hex-32",
}

// Load reads every setting through getenv (an unset variable reads as ""), applies the defaults
// and checks every rule. It returns all problems at once, joined with errors.Join, one line each,
// each starting with the variable's name; no line holds a secret's value.
// It also reads the key files named by JWT_PRIVATE_KEY_FILE and JWT_VERIFY_KEY_FILES.
func Load(getenv func(string) string) (Config, error) { return load(getenv, true) }

// LoadCommand reads the settings the command-line tools need (migrate, user ...) as Load does,
// except the JWT secrets and key files, which it neither reads nor requires: the Config it
// returns is Tokenless.
func LoadCommand(getenv func(string) string) (Config, error) { return load(getenv, false) }

// load reads every setting; withTokens says whether the JWT secrets and key files are read too.
func load(getenv func(string) string, withTokens bool) (Config, error) {
	l := &loader{}
	l.getenv = l.withFiles(getenv)
	c := Config{
		Algorithm: l.algorithm(),
		Issuer:    l.text("JWT_ISSUER", "auth-server"),
		Audience:  l.text("JWT_AUDIENCE", "api"),

		AccessTTL:              l.positiveDuration("ACCESS_TOKEN_EXPIRY", 15*time.Minute, day),
		RefreshTTL:             l.positiveDuration("REFRESH_TOKEN_EXPIRY", 7*day, 365*day),
		ReuseGrace:             l.duration("REFRESH_REUSE_GRACE", 10*time.Second, 5*time.Minute),
		IdleTimeout:            l.positiveDuration("SESSION_IDLE_TIMEOUT", 7*day, 365*day),
		MaxLifetime:            l.positiveDuration("SESSION_MAX_LIFETIME", 30*day, 365*day),
		Leeway:                 l.duration("JWT_LEEWAY", 0, time.Minute),
		RevocationSyncInterval: l.positiveDuration("REVOCATION_SYNC_INTERVAL", 5*time.Second, time.Hour),

		PasswordMinLength:  l.number("PASSWORD_MIN_LENGTH", 8, 8, 64),
		LoginMaxFailures:   l.number("LOGIN_MAX_FAILURES", 5, 1, math.MaxInt),
		LoginFailureWindow: l.positiveDuration("LOGIN_FAILURE_WINDOW", 15*time.Minute, day),

		Host:           l.host(),
		Port:           l.number("PORT", 3000, 1, 65535),
		RedisURL:       l.redisURL(),
		ClientURLs:     l.origins("CLIENT_URL"),
		CookieSecure:   l.boolean("COOKIE_SECURE", true),
		TrustedProxies: l.proxies(),

		BcryptCost:        l.number("BCRYPT_COST", 12, 10, 14),
		BcryptConcurrency: l.number("BCRYPT_CONCURRENCY", 0, 1, maxBcryptConcurrency),
		AllowRegistration: l.boolean("ALLOW_REGISTRATION", true),

		RequireMFAForAdmin: l.boolean("REQUIRE_MFA_FOR_ADMIN", false),

		RateLimitWindow:  l.positiveDuration("RATE_LIMIT_WINDOW", 15*time.Minute, day),
		RateLimitMax:     l.number("RATE_LIMIT_MAX", 100, 1, math.MaxInt),
		AuthRateLimitMax: l.number("AUTH_RATE_LIMIT_MAX", 10, 1, math.MaxInt),

		TokenFingerprint: l.boolean("TOKEN_FINGERPRINT", false),
		ServeSPA:         l.boolean("SERVE_SPA", false),
		AuditRetention:   l.positiveDuration("AUDIT_RETENTION", 90*day, 3650*day),
		AuditQueueSize:   l.number("AUDIT_QUEUE_SIZE", 4096, 1, 1_000_000),
		ShutdownTimeout:  l.positiveDuration("SHUTDOWN_TIMEOUT", 15*time.Second, 10*time.Minute),
		RequestTimeout:   l.positiveDuration("REQUEST_TIMEOUT", 10*time.Second, 10*time.Minute),
		BcryptQueueWait:  l.positiveDuration("BCRYPT_QUEUE_TIMEOUT", 5*time.Second, 10*time.Minute),
	}
	if withTokens {
		c.AccessSecret, c.RefreshSecret = l.secrets(c.Algorithm)
		c.SigningKey, c.VerifyKeys = l.keyFiles(c.Algorithm)
		c.IntrospectionTokens = l.introspectionTokens()
	} else {
		c.Tokenless = true
	}
	c.DatabaseDriver, c.DatabaseDSN = l.database()
	c.Passkeys, c.PasskeysNote = l.passkeys(c.ClientURLs)
	c.Mail = l.mail()
	if err := errors.Join(l.problems...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// algorithm returns JWT_ALGORITHM, or "" after recording a problem when it is not supported.
func (l *loader) algorithm() string {
	alg := l.text("JWT_ALGORITHM", keys.HS256)
	if !slices.Contains(keys.Algorithms, alg) {
		l.fail("JWT_ALGORITHM", "%q is not supported (use one of %s)", alg, strings.Join(keys.Algorithms, ", "))
		return ""
	}
	return alg
}

// secrets returns JWT_ACCESS_SECRET and JWT_REFRESH_SECRET, as given, after checking them.
// alg is "" when JWT_ALGORITHM is unknown; then the access secret is checked only when set.
func (l *loader) secrets(alg string) (access, refresh Secret) {
	access = Secret(l.getenv("JWT_ACCESS_SECRET"))
	refresh = Secret(l.getenv("JWT_REFRESH_SECRET"))
	switch {
	case access != "":
		l.checkSecret("JWT_ACCESS_SECRET", access)
	case alg == keys.HS256:
		l.fail("JWT_ACCESS_SECRET", "required when JWT_ALGORITHM is HS256 (%s)", generateHint)
	}
	if refresh == "" {
		l.fail("JWT_REFRESH_SECRET", "required (%s)", generateHint)
	} else {
		l.checkSecret("JWT_REFRESH_SECRET", refresh)
	}
	if access != "" && access == refresh {
		l.fail("JWT_REFRESH_SECRET", "must differ from JWT_ACCESS_SECRET")
	}
	return access, refresh
}

// checkSecret records a problem when s is a placeholder, too short or has too few distinct characters.
func (l *loader) checkSecret(name string, s Secret) {
	switch {
	case slices.Contains(placeholderSecrets, string(s)):
		l.fail(name, "is the placeholder of an old .env.example (%s)", generateHint)
	case utf8.RuneCountInString(string(s)) < minSecretLength:
		l.fail(name, "must be at least %d characters (%s)", minSecretLength, generateHint)
	case distinctRunes(string(s)) < minDistinctSecretChars:
		l.fail(name, "is too weak: fewer than %d distinct characters (%s)", minDistinctSecretChars, generateHint)
	}
}

// distinctRunes counts the different characters of s.
func distinctRunes(s string) int {
	seen := make(map[rune]bool)
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// database returns the driver and DSN that DATABASE_URL names.
func (l *loader) database() (driver models.Driver, dsn string) {
	const name = "DATABASE_URL"
	raw := l.value(name)
	driver, dsn, ok := parseDatabaseURL(raw)
	if !ok {
		// The URL may hold a password, so the message does not repeat it.
		l.fail(name, "must be empty (SQLite file %s), sqlite:PATH, sqlite://PATH, "+
			"or a postgres:// or postgresql:// URL with a host", defaultSQLitePath)
	}
	return driver, dsn
}

// host returns HOST after checking that it is an IP address or a host name.
func (l *loader) host() string {
	const name = "HOST"
	h := l.value(name)
	if h != "" && !validHost(h) {
		l.fail(name, "%q is not an IP address or host name (leave it empty to listen on every interface)", h)
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// redisURL returns REDIS_URL after checking it.
func (l *loader) redisURL() string {
	const name = "REDIS_URL"
	raw := l.value(name)
	if raw == "" {
		return raw
	}
	if err := redis.CheckURL(raw); err != nil { // its message does not repeat the URL, which may hold a password
		l.fail(name, "must be a redis:// or rediss:// URL with a host (%v)", err)
	}
	return raw
}

// origins returns the normalised, de-duplicated origins listed in the variable name.
func (l *loader) origins(name string) []string {
	var out []string
	for _, item := range splitList(l.value(name)) {
		origin, err := normaliseOrigin(item)
		if err != nil {
			l.fail(name, "%v", err)
			continue
		}
		if !slices.Contains(out, origin) {
			out = append(out, origin)
		}
	}
	return out
}

// proxies returns the CIDRs of TRUSTED_PROXIES.
func (l *loader) proxies() []string {
	var out []string
	for _, item := range splitList(l.value("TRUSTED_PROXIES")) {
		p, err := parseProxy(item)
		if err != nil {
			l.fail("TRUSTED_PROXIES", "%q is not an IP address or CIDR", item)
			continue
		}
		out = append(out, p.String())
	}
	return out
}

// DatabaseDescription names the database for people, never with its password: "SQLite file
// /abs/path/auth.db" or "PostgreSQL database auth on db.example.com:5432 as auth".
func (c Config) DatabaseDescription() string {
	if c.DatabaseDriver == models.DriverSQLite {
		path, err := filepath.Abs(c.DatabaseDSN)
		if err != nil {
			path = c.DatabaseDSN
		}
		return "SQLite file " + path
	}
	u, err := url.Parse(c.DatabaseDSN)
	if err != nil {
		return "PostgreSQL"
	}
	d := "PostgreSQL database " + strings.TrimPrefix(u.Path, "/") + " on " + u.Host
	if name := u.User.Username(); name != "" {
		d += " as " + name
	}
	return d
}

// DefaultSQLite reports whether the database is the default SQLite file (DATABASE_URL empty),
// which is relative to the current folder.
func (c Config) DefaultSQLite() bool {
	return c.DatabaseDriver == models.DriverSQLite && c.DatabaseDSN == defaultSQLitePath
}
