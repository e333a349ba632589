package config

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/joho/godotenv"

	"github.com/authserver/authserver/internal/passkeys"
)

// secretBytes is how many random bytes make a generated secret (64 hex characters).
const secretBytes = 32

// NewSecret returns a fresh secret of 64 hex characters (256 bits) read from random, as good as
// `openssl rand -hex 32`. It fails only when random does.
func NewSecret(random io.Reader) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// WithDotEnv returns a getenv that reads the .env file at path under getenv: a variable with a
// non-empty value in getenv wins over the file. A missing file is not an error (getenv comes back
// as it is); an unreadable or malformed one is.
func WithDotEnv(getenv func(string) string, path string) (func(string) string, error) {
	vars, err := godotenv.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return vars[name]
	}, nil
}

// The rate limits of `server -dev`: generous, so that a walk-through can be run again and again.
const (
	devRateLimitMax     = "10000"
	devAuthRateLimitMax = "1000"
)

// DevEnv prepares the settings of `server -dev`. real is the process environment; getenv is the
// same with .env under it. What -dev promises wins over .env, while the real environment still
// wins over -dev:
//   - JWT_ACCESS_SECRET and JWT_REFRESH_SECRET that are empty, or still the placeholders of
//     .env.example, and have no _FILE form set, get fresh secrets of 64 hex characters read from random;
//   - COOKIE_SECURE is false, so the refresh cookie travels over plain HTTP;
//   - RATE_LIMIT_MAX and AUTH_RATE_LIMIT_MAX are generous;
//   - HOST is 127.0.0.1 unless it is set (in .env or the environment);
//   - without SMTP_URL (or SMTP_URL_FILE), mails are written whole to the log (Mail.ToLog), with
//     APP_URL defaulting to http://localhost:PORT (where the example SPA takes the links) and
//     MAIL_FROM to auth-server <no-reply@localhost>;
//   - SERVE_SPA is true unless it is set; while the example SPA is served, CLIENT_URL also holds
//     the server's own origins (http://localhost:PORT and http://127.0.0.1:PORT), so the SPA's
//     calls are not refused as foreign (this addition wins over the real environment too);
//   - passkeys use the relying party localhost (see devPasskeys).
//
// It returns the layered getenv and one sentence per change, which the caller should print as a
// loud warning. When random fails, the secret stays as it was (so Load refuses to start) and the
// sentence says why; DevEnv itself never fails.
func DevEnv(real, getenv func(string) string, random io.Reader) (func(string) string, []string) {
	set := make(map[string]string)
	var notes []string
	for _, name := range []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"} {
		if v := getenv(name); (v != "" && !slices.Contains(placeholderSecrets, v)) || getenv(FileVariable(name)) != "" {
			continue
		}
		secret, err := NewSecret(random)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s is not set and no random secret could be made for it: %v", name, err))
			continue
		}
		set[name] = secret
		notes = append(notes, fmt.Sprintf("%s is a throw-away random secret: every token stops working when the server stops", name))
	}
	overrides := []struct{ name, value, note string }{
		{"COOKIE_SECURE", "false", "COOKIE_SECURE is false: the refresh cookie also travels over plain HTTP"},
		{"RATE_LIMIT_MAX", devRateLimitMax, "RATE_LIMIT_MAX is " + devRateLimitMax + " and AUTH_RATE_LIMIT_MAX " + devAuthRateLimitMax + " per window"},
		{"AUTH_RATE_LIMIT_MAX", devAuthRateLimitMax, ""},
	}
	for _, o := range overrides {
		if real(o.name) != "" {
			continue
		}
		set[o.name] = o.value
		if o.note != "" {
			notes = append(notes, o.note)
		}
	}
	if getenv("HOST") == "" {
		set["HOST"] = "127.0.0.1"
		notes = append(notes, "HOST is 127.0.0.1: only this machine can connect (set HOST to change it)")
	}
	if getenv("SERVE_SPA") == "" {
		set["SERVE_SPA"] = "true"
	}
	var clientURL string // wins over the real environment: it extends the CLIENT_URL of either
	if serve, err := strconv.ParseBool(cmp.Or(getenv("SERVE_SPA"), set["SERVE_SPA"])); err == nil && serve {
		port := cmp.Or(getenv("PORT"), "3000")
		own := "http://localhost:" + port + ",http://127.0.0.1:" + port
		clientURL = strings.TrimPrefix(getenv("CLIENT_URL")+","+own, ",")
		notes = append(notes, fmt.Sprintf("CLIENT_URL also allows %s, where the example SPA is served", own))
	}
	if note := devPasskeys(getenv, cmp.Or(clientURL, getenv("CLIENT_URL")), set); note != "" {
		notes = append(notes, note)
	}
	if getenv("SMTP_URL") == "" && getenv(FileVariable("SMTP_URL")) == "" {
		set[devMail] = "true"
		notes = append(notes, "SMTP_URL is empty: mails are not sent but written whole to the log, links included")
		if getenv("APP_URL") == "" {
			set["APP_URL"] = "http://localhost:" + cmp.Or(getenv("PORT"), "3000")
			notes = append(notes, "APP_URL is "+set["APP_URL"]+": mail links point at this server")
		}
		if getenv("MAIL_FROM") == "" {
			set["MAIL_FROM"] = devMailFrom
		}
	}
	return func(name string) string {
		if name == "CLIENT_URL" && clientURL != "" {
			return clientURL
		}
		if v := real(name); v != "" {
			return v
		}
		if v, ok := set[name]; ok {
			return v
		}
		return getenv(name)
	}, notes
}

// devPasskeys sets the -dev defaults of the WebAuthn relying party in set and returns a note, or
// "" when it changes nothing; clientURL is the CLIENT_URL -dev serves with. When neither
// WEBAUTHN_RP_ID nor WEBAUTHN_ORIGINS is set, the RP ID is localhost and the origins are the
// CLIENT_URL origins on localhost, or the server's own http://localhost:PORT when CLIENT_URL is
// empty. A CLIENT_URL with no origin on localhost is left to the defaults outside -dev.
func devPasskeys(getenv func(string) string, clientURL string, set map[string]string) string {
	if getenv("WEBAUTHN_RP_ID") != "" || getenv("WEBAUTHN_ORIGINS") != "" {
		return ""
	}
	clients := splitList(clientURL)
	var local []string
	for _, origin := range clients {
		if host := passkeys.RPIDFromOrigin(origin); host == "localhost" || strings.HasSuffix(host, ".localhost") {
			local = append(local, origin)
		}
	}
	switch {
	case len(local) > 0:
	case len(clients) > 0:
		return ""
	default:
		local = []string{"http://localhost:" + cmp.Or(getenv("PORT"), "3000")}
	}
	set["WEBAUTHN_RP_ID"] = "localhost"
	set["WEBAUTHN_ORIGINS"] = strings.Join(local, ",")
	return "WEBAUTHN_RP_ID is localhost: passkeys work only in pages opened at http://localhost (not 127.0.0.1)"
}
