// Command server is the auth server: it serves the API (default), applies migrations, manages
// users from the command line, generates signing keys and secrets, and probes its own health.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// The help of each command; usage is all of them.
const (
	serveUsage = `  server [serve] [-dev]                      apply pending migrations, then serve the API
                                             -dev: throw-away secrets, COOKIE_SECURE=false, generous rate
                                             limits, listening on 127.0.0.1 (HOST changes it)`
	migrateUsage = `  server migrate                             apply pending migrations only`
	userUsage    = `  server user create --email E [--role R]    create a user; the password is read from standard input
  server user set-role --email E --role R    change a user's role (user or admin)
  server user disable --email E              disable a user and end all their sessions
  server user enable --email E               re-enable a user
  server user delete --email E               delete a user and end all their sessions
  server user reset-mfa --email E            remove every second factor of a user and end all their sessions
  server user list [--q PREFIX]              list users
  server user reset-link --email E           print a password-reset link (needs APP_URL), for operators without mail
  (the user commands refuse to run when DATABASE_URL is empty and data/auth.db does not exist
  in the current folder: run them where the server runs, or set DATABASE_URL)`
	keysUsage    = `  server keys generate --alg A [--out DIR]   write a PEM key pair named after its kid`
	secretsUsage = `  server secrets init --dir DIR [--database-url URL]
                                             write random secrets into DIR (mode 0600), keeping files
                                             that exist: jwt_access_secret, jwt_refresh_secret,
                                             postgres_password and, with --database-url (a postgres://
                                             URL without password), database_url holding that password`
	healthcheckUsage = `  server healthcheck                         exit 0 when GET /readyz of the server on HOST:PORT
                                             answers 200 within 3 seconds, else 1`
	usage = "usage:\n" + serveUsage + "\n" + migrateUsage + "\n" + userUsage + "\n" + keysUsage + "\n" +
		secretsUsage + "\n" + healthcheckUsage + "\n\nSettings come from the environment and a .env file in the current folder."
)

// run is the whole program: it picks the subcommand and runs it until ctx ends or a signal comes.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := "serve"
	// A leading flag belongs to serve (server -dev), except -h and --help, which print the usage.
	if len(args) > 0 && args[0] != "" && (args[0][0] != '-' || isHelp(args[0])) {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "user":
		return userCommand(ctx, args, getenv, stdin, stdout, stderr)
	case "keys":
		return keysCommand(args, stdout)
	case "secrets":
		return secretsCommand(args, stdout)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "-help" || arg == "--help"
}

// parseFlags parses args into fs. For -h or --help it prints help to stdout and reports done;
// any other problem comes back as an error followed by help.
func parseFlags(fs *flag.FlagSet, args []string, help string, stdout io.Writer) (done bool, err error) {
	fs.SetOutput(io.Discard)
	err = fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(stdout, "usage:\n%s\n", help)
		return true, nil
	case err != nil:
		return false, fmt.Errorf("%s: %w\nusage:\n%s", fs.Name(), err, help)
	case fs.NArg() > 0:
		return false, fmt.Errorf("%s: unexpected argument %q\nusage:\n%s", fs.Name(), fs.Arg(0), help)
	}
	return false, nil
}

// subcommand splits args into the action of a command with actions (user, keys, secrets) and
// its flags. help reports that the command's help was asked for (no action, "help", -h or --help),
// after printing it.
func subcommand(command string, args []string, actions []string, help string, stdout io.Writer) (action string, rest []string, done bool, err error) {
	if len(args) == 0 {
		return "", nil, false, fmt.Errorf("%s: missing action (one of %s)\nusage:\n%s", command, strings.Join(actions, ", "), help)
	}
	if isHelp(args[0]) {
		fmt.Fprintf(stdout, "usage:\n%s\n", help)
		return "", nil, true, nil
	}
	if slices.Contains(actions, args[0]) {
		return args[0], args[1:], false, nil
	}
	return "", nil, false, fmt.Errorf("unknown %s action %q (one of %s)\nusage:\n%s", command, args[0], strings.Join(actions, ", "), help)
}
