package config

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/joho/godotenv"
)

// devSecretBytes is how many random bytes make a throw-away secret (64 hex characters).
const devSecretBytes = 32

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

// DevEnv prepares getenv for `server -dev`: an empty JWT_ACCESS_SECRET or JWT_REFRESH_SECRET
// gets a fresh secret of 64 hex characters read from random, an unset COOKIE_SECURE becomes
// "false", and an unset SERVE_SPA "true". While the example SPA is served, CLIENT_URL also holds
// the server's own origins (http://localhost:PORT and http://127.0.0.1:PORT), so the SPA's calls
// are not refused as foreign. It returns the wrapped getenv and one sentence per change, which the caller should
// print as a loud warning. When random fails, the secret stays empty (so Load refuses to start)
// and the sentence says why; DevEnv itself never fails.
func DevEnv(getenv func(string) string, random io.Reader) (func(string) string, []string) {
	set := make(map[string]string)
	var notes []string
	for _, name := range []string{"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"} {
		if getenv(name) != "" {
			continue
		}
		b := make([]byte, devSecretBytes)
		if _, err := io.ReadFull(random, b); err != nil {
			notes = append(notes, fmt.Sprintf("%s is empty and no random secret could be made for it: %v", name, err))
			continue
		}
		set[name] = hex.EncodeToString(b)
		notes = append(notes, fmt.Sprintf("%s is a throw-away random secret: every token stops working when the server stops", name))
	}
	if getenv("COOKIE_SECURE") == "" {
		set["COOKIE_SECURE"] = "false"
		notes = append(notes, "COOKIE_SECURE is false: the refresh cookie also travels over plain HTTP")
	}
	if getenv("SERVE_SPA") == "" {
		set["SERVE_SPA"] = "true"
	}
	if serve, err := strconv.ParseBool(cmp.Or(set["SERVE_SPA"], getenv("SERVE_SPA"))); err == nil && serve {
		port := cmp.Or(getenv("PORT"), "3000")
		own := "http://localhost:" + port + ",http://127.0.0.1:" + port
		set["CLIENT_URL"] = strings.TrimPrefix(getenv("CLIENT_URL")+","+own, ",")
		notes = append(notes, fmt.Sprintf("CLIENT_URL also allows %s, where the example SPA is served", own))
	}
	return func(name string) string {
		if v, ok := set[name]; ok {
			return v
		}
		return getenv(name)
	}, notes
}
