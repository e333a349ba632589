package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/authserver/authserver/internal/config"
)

// The files `server secrets init` writes; each is read through the setting's _FILE form.
const (
	accessSecretFile     = "jwt_access_secret"  // JWT_ACCESS_SECRET_FILE
	refreshSecretFile    = "jwt_refresh_secret" // JWT_REFRESH_SECRET_FILE
	postgresPasswordFile = "postgres_password"  // PostgreSQL's POSTGRES_PASSWORD_FILE
	databaseURLFile      = "database_url"       // DATABASE_URL_FILE
)

// secretsCommand runs `server secrets init --dir DIR [--database-url URL]`.
func secretsCommand(args []string, stdout io.Writer) error {
	_, args, done, err := subcommand("secrets", args, []string{"init"}, secretsUsage, stdout)
	if done || err != nil {
		return err
	}
	fs := flag.NewFlagSet("secrets init", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to write the secrets into")
	dbURL := fs.String("database-url", "", "postgres:// URL without password")
	if done, err := parseFlags(fs, args, secretsUsage, stdout); done || err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("secrets init: --dir is required\nusage:\n%s", secretsUsage)
	}
	var base *url.URL
	if *dbURL != "" {
		u, err := url.Parse(*dbURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return errors.New("secrets init: --database-url must be a postgres:// URL with a host")
		}
		if _, has := u.User.Password(); has {
			return errors.New("secrets init: --database-url must not hold a password: the generated one is added")
		}
		base = u
	}
	return initSecrets(*dir, base, rand.Reader, stdout)
}

// initSecrets writes every secret file missing from dir (mode 0600, dir created 0700 if
// missing) and keeps those that exist, so it can run at every start. With base, database_url is
// base with the password of postgres_password.
func initSecrets(dir string, base *url.URL, random io.Reader, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secrets init: %w", err)
	}
	for _, name := range []string{accessSecretFile, refreshSecretFile, postgresPasswordFile} {
		secret, err := config.NewSecret(random)
		if err != nil {
			return fmt.Errorf("secrets init: random: %w", err)
		}
		if err := writeSecret(dir, name, secret, stdout); err != nil {
			return err
		}
	}
	if base == nil {
		return nil
	}
	password, err := os.ReadFile(filepath.Join(dir, postgresPasswordFile))
	if err != nil {
		return fmt.Errorf("secrets init: %w", err)
	}
	u := *base
	u.User = url.UserPassword(base.User.Username(), strings.TrimSuffix(string(password), "\n"))
	return writeSecret(dir, databaseURLFile, u.String(), stdout)
}

// writeSecret writes value and a newline to dir/name unless that file exists, and says which it did.
func writeSecret(dir, name, value string, stdout io.Writer) error {
	path := filepath.Join(dir, name)
	err := writeNew(path, []byte(value+"\n"), 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		fmt.Fprintf(stdout, "kept %s\n", path)
		return nil
	case err != nil:
		return fmt.Errorf("secrets init: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	return nil
}
