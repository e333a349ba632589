package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authserver/authserver/internal/app"
	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/models"
)

// maxPasswordInput bounds what `user create` reads from standard input.
const maxPasswordInput = 4 << 10

// userActions are the actions of `server user`.
var userActions = []string{"create", "set-role", "disable", "enable", "delete", "reset-mfa", "list", "reset-link"}

// userCommand runs `server user ...`, doing what the admin routes do, for operators without a
// token. It says on stderr which database it opened, and refuses to create the default SQLite
// file: an operator in the wrong folder would otherwise act on a new, empty database.
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	action, args, done, err := subcommand("user", args, userActions, userUsage, stdout)
	if done || err != nil {
		return err
	}
	flags := flag.NewFlagSet("user "+action, flag.ContinueOnError)
	email := flags.String("email", "", "the user's email")
	role := flags.String("role", string(models.RoleUser), "user or admin")
	prefix := flags.String("q", "", "email prefix to list")
	if done, err := parseFlags(flags, args, userUsage, stdout); done || err != nil {
		return err
	}
	if action != "list" && *email == "" {
		return fmt.Errorf("user %s: --email is required", action)
	}
	cfg, err := loadConfig(getenv, commandConfig, io.Discard)
	if err != nil {
		return err
	}
	if cfg.DefaultSQLite() {
		if _, err := os.Stat(cfg.DatabaseDSN); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no database here: %s does not exist (DATABASE_URL is empty, so the server "+
				"uses data/auth.db under the folder it runs in); run this command in that folder, or set DATABASE_URL", cfg.DatabaseDescription())
		}
	}
	fmt.Fprintf(stderr, "database: %s\n", cfg.DatabaseDescription())
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), app.Overrides{})
	if err != nil {
		return err
	}
	defer a.Close() // after writing the queued audit events
	a.Start(ctx)

	// The operator acts as the zero Principal: the audit trail says "via": "cli".
	svc, by, cli := a.Auth, auth.Principal{}, auth.Client{UserAgent: "server-cli"}
	switch action {
	case "create":
		password, err := readPassword(stdin)
		if err != nil {
			return err
		}
		u, err := svc.CreateUserAs(ctx, by, *email, password, models.Role(*role), cli)
		if err != nil {
			return describeCLIError(err)
		}
		fmt.Fprintf(stdout, "created %s %s (%s)\n", u.ID, u.Email, u.Role)
		return nil
	case "list":
		return listUsers(ctx, svc, *prefix, stdout)
	case "reset-link":
		link, err := svc.ResetLink(ctx, *email, cli)
		if err != nil {
			return describeCLIError(err)
		}
		fmt.Fprintln(stdout, link)
		return nil
	}
	u, err := svc.UserByEmail(ctx, *email)
	if err != nil {
		return describeCLIError(err)
	}
	var patch models.UserPatch
	switch action {
	case "set-role":
		r := models.Role(*role)
		patch.Role = &r
	case "disable", "enable":
		off := action == "disable"
		patch.Disabled = &off
	case "delete":
		if err := svc.DeleteUser(ctx, by, u.ID, cli); err != nil {
			return describeCLIError(err)
		}
		fmt.Fprintf(stdout, "deleted %s\n", u.Email)
		return nil
	case "reset-mfa":
		if err := svc.ResetMFA(ctx, by, u.ID, cli); err != nil {
			return describeCLIError(err)
		}
		fmt.Fprintf(stdout, "removed every second factor of %s and ended all their sessions\n", u.Email)
		return nil
	}
	u, err = svc.UpdateUser(ctx, by, u.ID, patch, cli)
	if err != nil {
		return describeCLIError(err)
	}
	fmt.Fprintf(stdout, "updated %s: role=%s disabled=%t\n", u.Email, u.Role, u.Disabled)
	return nil
}

// readPassword reads the password from standard input, dropping one trailing newline.
func readPassword(stdin io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(stdin), maxPasswordInput+1))
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if len(b) > maxPasswordInput {
		return "", errors.New("read password: standard input is too long")
	}
	p := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if p == "" {
		return "", errors.New("read password: standard input is empty; pipe the password in, e.g. echo 'pw' | server user create ...")
	}
	return p, nil
}

// listUsers prints every user whose email starts with prefix, a page at a time.
func listUsers(ctx context.Context, svc *auth.Service, prefix string, stdout io.Writer) error {
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tEMAIL\tROLE\tDISABLED\tMFA\tCREATED")
	f := models.UserFilter{EmailPrefix: prefix, Limit: auth.MaxPageSize}
	for {
		users, next, err := svc.ListUsers(ctx, f)
		if err != nil {
			return err
		}
		for _, u := range users {
			fmt.Fprintf(w, "%s\t%s\t%s\t%t\t%t\t%s\n", u.ID, u.Email, u.Role, u.Disabled, u.MFA, u.CreatedAt.Format(time.RFC3339))
		}
		if next == nil {
			return w.Flush()
		}
		f.After = next
	}
}

// describeCLIError turns the service's outcomes into one clear line for the operator.
func describeCLIError(err error) error {
	var v *auth.ValidationError
	switch {
	case errors.As(err, &v):
		parts := make([]string, 0, len(v.Fields))
		for field, problem := range v.Fields {
			parts = append(parts, field+" "+problem)
		}
		return fmt.Errorf("invalid input: %s", strings.Join(parts, "; "))
	case errors.Is(err, models.ErrEmailTaken):
		return errors.New("a user with that email already exists")
	case errors.Is(err, models.ErrNotFound):
		return errors.New("no user with that email")
	case errors.Is(err, models.ErrLastAdmin):
		return errors.New("refused: that would leave no enabled admin")
	case errors.Is(err, auth.ErrAccountDisabled):
		return errors.New("refused: the account is disabled (enable it first)")
	case errors.Is(err, auth.ErrNoAppURL):
		return errors.New("APP_URL is not set: set it to your app's URL (the link leads to its /reset-password page)")
	}
	return err
}
