package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheckTimeout bounds the whole probe of `server healthcheck`.
const healthcheckTimeout = 3 * time.Second

// healthcheck runs `server healthcheck`: it asks the server on HOST:PORT (the loopback address
// when HOST means every interface) for GET /readyz and succeeds only on 200. It is the Docker
// HEALTHCHECK of an image without a shell.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if done, err := parseFlags(flag.NewFlagSet("healthcheck", flag.ContinueOnError), args, healthcheckUsage, stdout); done || err != nil {
		return err
	}
	cfg, err := loadConfig(getenv, commandConfig, io.Discard)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	url := baseURL(cfg.Host, cfg.Port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: GET %s: %w", url, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s answered %s, want 200", url, resp.Status)
	}
	fmt.Fprintf(stdout, "ready: GET %s answered 200\n", url)
	return nil
}
