package ratelimit_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"

	"github.com/authserver/authserver/internal/ratelimit"
	"github.com/authserver/authserver/internal/store/storetest"
)

// guardStores are the ways a LoginGuard can keep its counters: each returns fresh options.
var guardStores = []struct {
	name string
	opts func(t *testing.T) ratelimit.Options
}{
	{"memory", func(t *testing.T) ratelimit.Options { return limitsOptions(100, 10) }},
	{"unreachable redis", func(t *testing.T) ratelimit.Options {
		opts := limitsOptions(100, 10)
		opts.Redis = storetest.UnreachableRedis(t)
		return opts
	}},
	{"redis", func(t *testing.T) ratelimit.Options {
		client := storetest.Redis(t)
		opts := limitsOptions(100, 10)
		opts.Redis = client
		opts.Prefix = uniquePrefix(t, client)
		return opts
	}},
}

func TestLoginGuardBlocksAfterFailures(t *testing.T) {
	for _, st := range guardStores {
		t.Run(st.name, func(t *testing.T) {
			opts := st.opts(t)
			g := newLimits(t, opts).LoginGuard()
			ctx := context.Background()
			const email = "victim@example.com"

			for i := range opts.LoginMaxFailures {
				if _, blocked, err := g.Blocked(ctx, email); err != nil || blocked {
					t.Fatalf("Blocked after %d failures = %v, %v; want false, nil", i, blocked, err)
				}
				if err := g.Failed(ctx, email); err != nil {
					t.Fatalf("Failed = %v", err)
				}
			}
			retryAfter, blocked, err := g.Blocked(ctx, email)
			if err != nil || !blocked {
				t.Fatalf("Blocked after %d failures = %v, %v; want true, nil", opts.LoginMaxFailures, blocked, err)
			}
			if retryAfter < time.Second || retryAfter > opts.LoginFailureWindow {
				t.Errorf("Blocked retryAfter = %v, want within [1s, %v]", retryAfter, opts.LoginFailureWindow)
			}
			if _, blocked, err := g.Blocked(ctx, "other@example.com"); err != nil || blocked {
				t.Errorf("Blocked(other email) = %v, %v; want false, nil", blocked, err)
			}

			if err := g.Succeeded(ctx, email); err != nil {
				t.Fatalf("Succeeded = %v", err)
			}
			if _, blocked, err := g.Blocked(ctx, email); err != nil || blocked {
				t.Errorf("Blocked after Succeeded = %v, %v; want false, nil", blocked, err)
			}
		})
	}
}

func TestLoginGuardSucceededResetsCount(t *testing.T) {
	g := newLimits(t, limitsOptions(100, 10)).LoginGuard() // 3 failures allowed
	ctx := context.Background()
	const email = "user@example.com"
	for _, step := range []string{"fail", "fail", "succeed", "fail", "fail"} {
		var err error
		if step == "fail" {
			err = g.Failed(ctx, email)
		} else {
			err = g.Succeeded(ctx, email)
		}
		if err != nil {
			t.Fatalf("%s = %v", step, err)
		}
	}
	if _, blocked, err := g.Blocked(ctx, email); err != nil || blocked {
		t.Errorf("Blocked after 2 failures, a success and 2 failures = %v, %v; want false, nil", blocked, err)
	}
}

func TestLoginGuardSharedAndHashedInRedis(t *testing.T) {
	client := storetest.Redis(t)
	var logs bytes.Buffer
	opts := limitsOptions(100, 10)
	opts.Redis = client
	opts.Prefix = uniquePrefix(t, client)
	opts.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	a := newLimits(t, opts).LoginGuard()
	b := newLimits(t, opts).LoginGuard()
	ctx := context.Background()
	const email = "shared@example.com"

	for i := range opts.LoginMaxFailures {
		guard := a
		if i%2 == 1 {
			guard = b
		}
		if err := guard.Failed(ctx, email); err != nil {
			t.Fatalf("Failed = %v", err)
		}
	}
	if _, blocked, err := b.Blocked(ctx, email); err != nil || !blocked {
		t.Errorf("Blocked on the second instance = %v, %v; want true, nil", blocked, err)
	}

	keys, err := redigo.Strings(client.Do(ctx, "KEYS", opts.Prefix+":*"))
	if err != nil {
		t.Fatalf("KEYS %s:* = %v", opts.Prefix, err)
	}
	if len(keys) != 1 {
		t.Errorf("KEYS %s:* = %q, want one counter", opts.Prefix, keys)
	}
	for _, k := range keys {
		if strings.Contains(k, email) {
			t.Errorf("Redis key %q holds the email", k)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("logged %s, want nothing while Redis answers", logs.String())
	}
}
