// Command server is the auth server: it serves the API (default), applies migrations, manages
// users from the command line and generates signing keys.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// usage is printed for -h and for an unknown command.
const usage = `usage:
  server [serve] [-dev]                      apply pending migrations, then serve the API
  server migrate                             apply pending migrations only
  server user create --email E [--role R]    create a user; the password is read from standard input
  server user set-role --email E --role R    change a user's role (user or admin)
  server user disable --email E              disable a user and end all their sessions
  server user enable --email E               re-enable a user
  server user delete --email E               delete a user and end all their sessions
  server user list [--q PREFIX]              list users
  server keys generate --alg A [--out DIR]   write a PEM key pair named after its kid`

// run is the whole program: it picks the subcommand and runs it until ctx ends or a signal comes.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := "serve"
	// A leading flag belongs to serve (server -dev), except -h and --help, which print the usage.
	if len(args) > 0 && args[0] != "" && (args[0][0] != '-' || args[0] == "-h" || args[0] == "--help") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "user":
		return userCommand(ctx, args, getenv, stdin, stdout)
	case "keys":
		return keysCommand(args, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}
