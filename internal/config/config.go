// Package config reads, defaults and validates the server's settings from its environment.
package config

import (
	"crypto"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authserver/authserver/internal/keys"
)

// The values of Config.DatabaseDriver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
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

	Port           int    // PORT
	DatabaseDriver string // DriverSQLite or DriverPostgres, from DATABASE_URL
	DatabaseDSN    string // for sqlite: a file path (default "data/auth.db"); for postgres: the URL as given
	RedisURL       string // REDIS_URL; "" means in-memory rate limits and revocations

	ClientURLs     []string // CLIENT_URL as normalised origins "scheme://host[:port]"
	CookieSecure   bool     // COOKIE_SECURE
	TrustedProxies []string // TRUSTED_PROXIES as CIDRs (a bare IP becomes /32 or /128)

	BcryptCost        int  // BCRYPT_COST
	BcryptConcurrency int  // BCRYPT_CONCURRENCY: how many bcrypt hashes may run at once
	AllowRegistration bool // ALLOW_REGISTRATION

	RateLimitWindow  time.Duration // RATE_LIMIT_WINDOW
	RateLimitMax     int           // RATE_LIMIT_MAX, requests per window to /api/* outside /api/auth/*
	AuthRateLimitMax int           // AUTH_RATE_LIMIT_MAX, requests per window to /api/auth/*

	TokenFingerprint bool          // TOKEN_FINGERPRINT
	AuditRetention   time.Duration // AUDIT_RETENTION
	AuditQueueSize   int           // AUDIT_QUEUE_SIZE
	ShutdownTimeout  time.Duration // SHUTDOWN_TIMEOUT
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
	// maxBcryptConcurrency bounds BCRYPT_CONCURRENCY and its default.
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
func Load(getenv func(string) string) (Config, error) {
	l := &loader{getenv: getenv}
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

		Port:           l.number("PORT", 3000, 1, 65535),
		RedisURL:       l.redisURL(),
		ClientURLs:     l.origins(),
		CookieSecure:   l.boolean("COOKIE_SECURE", true),
		TrustedProxies: l.proxies(),

		BcryptCost:        l.number("BCRYPT_COST", 12, 10, 14),
		BcryptConcurrency: l.number("BCRYPT_CONCURRENCY", min(runtime.NumCPU(), maxBcryptConcurrency), 1, maxBcryptConcurrency),
		AllowRegistration: l.boolean("ALLOW_REGISTRATION", true),

		RateLimitWindow:  l.positiveDuration("RATE_LIMIT_WINDOW", 15*time.Minute, day),
		RateLimitMax:     l.number("RATE_LIMIT_MAX", 100, 1, math.MaxInt),
		AuthRateLimitMax: l.number("AUTH_RATE_LIMIT_MAX", 10, 1, math.MaxInt),

		TokenFingerprint: l.boolean("TOKEN_FINGERPRINT", false),
		AuditRetention:   l.positiveDuration("AUDIT_RETENTION", 90*day, 3650*day),
		AuditQueueSize:   l.number("AUDIT_QUEUE_SIZE", 4096, 1, 1_000_000),
		ShutdownTimeout:  l.positiveDuration("SHUTDOWN_TIMEOUT", 15*time.Second, 10*time.Minute),
	}
	c.AccessSecret, c.RefreshSecret = l.secrets(c.Algorithm)
	c.SigningKey, c.VerifyKeys = l.keyFiles(c.Algorithm)
	c.DatabaseDriver, c.DatabaseDSN = l.database()
	if err := errors.Join(l.problems...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// loader reads variables and collects every problem it finds in them.
type loader struct {
	getenv   func(string) string
	problems []error
}

// fail records a problem with the variable name.
func (l *loader) fail(name, format string, args ...any) {
	l.problems = append(l.problems, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// value returns the variable name without surrounding spaces.
func (l *loader) value(name string) string {
	return strings.TrimSpace(l.getenv(name))
}

// text returns the variable name, or def when it is empty.
func (l *loader) text(name, def string) string {
	if v := l.value(name); v != "" {
		return v
	}
	return def
}

// number returns the variable name as an integer in lo..hi, or def when it is empty.
// hi = math.MaxInt means no upper bound.
func (l *loader) number(name string, def, lo, hi int) int {
	v := l.value(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		l.fail(name, "%q is not a whole number", v)
	case hi == math.MaxInt && n < lo:
		l.fail(name, "must be at least %d", lo)
	case n < lo || n > hi:
		l.fail(name, "must be between %d and %d", lo, hi)
	default:
		return n
	}
	return def
}

// boolean returns the variable name as strconv.ParseBool reads it, or def when it is empty.
func (l *loader) boolean(name string, def bool) bool {
	v := l.value(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail(name, "%q is not a boolean (use true or false)", v)
		return def
	}
	return b
}

// duration returns the variable name as a duration in 0..hi, or def when it is empty.
func (l *loader) duration(name string, def, hi time.Duration) time.Duration {
	d, ok := l.parsedDuration(name, def)
	if ok && d > hi {
		l.fail(name, "must be at most %s", formatDuration(hi))
	}
	return d
}

// positiveDuration returns the variable name as a duration above 0 and at most hi, or def when it is empty.
func (l *loader) positiveDuration(name string, def, hi time.Duration) time.Duration {
	d, ok := l.parsedDuration(name, def)
	if ok && (d == 0 || d > hi) {
		l.fail(name, "must be more than 0s and at most %s", formatDuration(hi))
	}
	return d
}

// parsedDuration returns the variable name parsed by parseDuration, or def when it is empty.
// It reports false after recording a problem.
func (l *loader) parsedDuration(name string, def time.Duration) (time.Duration, bool) {
	v := l.value(name)
	if v == "" {
		return def, true
	}
	d, ok := parseDuration(v)
	switch {
	case !ok:
		l.fail(name, "%q is not a duration (use the units s, m, h and d, as in 15m, 7d or 1h30m)", v)
	case d < 0:
		l.fail(name, "%q is negative", v)
	default:
		return d, true
	}
	return def, false
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
		l.fail(name, "is the placeholder from .env.example (%s)", generateHint)
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
func (l *loader) database() (driver, dsn string) {
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

// redisURL returns REDIS_URL after checking it.
func (l *loader) redisURL() string {
	const name = "REDIS_URL"
	raw := l.value(name)
	if raw != "" && !validRedisURL(raw) {
		// The URL may hold a password, so the message does not repeat it.
		l.fail(name, "must be a redis:// or rediss:// URL with a host")
	}
	return raw
}

// origins returns the normalised, de-duplicated origins of CLIENT_URL.
func (l *loader) origins() []string {
	var out []string
	for _, item := range splitList(l.value("CLIENT_URL")) {
		origin, err := normaliseOrigin(item)
		if err != nil {
			l.fail("CLIENT_URL", "%v", err)
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
