package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// fileSettings are the secret settings that also have a NAME_FILE form: the value is read from
// the file NAME_FILE names (one trailing newline dropped). A new secret setting gets its _FILE
// form by being listed here and read through the loader as usual.
var fileSettings = []string{
	"JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "DATABASE_URL", "REDIS_URL", "SMTP_URL", "INTROSPECTION_TOKENS",
}

// maxSecretFileBytes bounds what a NAME_FILE may hold.
const maxSecretFileBytes = 64 << 10

// FileVariable returns "NAME_FILE", the variable naming the file that holds setting name.
func FileVariable(name string) string { return name + "_FILE" }

// withFiles returns getenv with every file setting whose NAME_FILE is set read from that file.
// Setting both NAME and NAME_FILE, or naming a file that cannot be read, is a problem recorded
// under NAME_FILE; the setting then reads as empty from the file side, so no secret is guessed.
func (l *loader) withFiles(getenv func(string) string) func(string) string {
	read := make(map[string]string)
	for _, name := range fileSettings {
		fileVar := FileVariable(name)
		path := strings.TrimSpace(getenv(fileVar))
		if path == "" {
			continue
		}
		if getenv(name) != "" {
			l.fail(fileVar, "is set together with %s: set only one of them", name)
			continue
		}
		v, err := readSecretFile(path)
		if err != nil {
			l.fail(fileVar, "%v", err)
			continue
		}
		read[name] = v
	}
	return func(name string) string {
		if v, ok := read[name]; ok {
			return v
		}
		return getenv(name)
	}
}

// readSecretFile returns the content of the file at path with one trailing newline ("\n" or
// "\r\n") dropped. Its errors name the path, never the content.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s does not exist", path)
		}
		return "", fmt.Errorf("cannot open %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	if len(b) > maxSecretFileBytes {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFileBytes)
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
