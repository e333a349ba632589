package redis_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	redigo "github.com/gomodule/redigo/redis"
	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/redis"
	"github.com/authserver/authserver/internal/store/storetest"
)

func TestNewRejectsBadURLs(t *testing.T) {
	for _, raw := range []string{
		"", "http://cache:6379", "redis://", "redis://cache:6379/zero", "redis://cache:6379/-1", "redis://%zz",
	} {
		if _, err := redis.New(raw); err == nil {
			t.Errorf("New(%q) = nil error, want an error", raw)
		}
	}
	for _, raw := range []string{"redis://cache", "redis://:pw@cache:6379/2", "rediss://user:pw@cache:6380/"} {
		c, err := redis.New(raw)
		if err != nil {
			t.Errorf("New(%q) = %v, want a client", raw, err)
			continue
		}
		_ = c.Close()
	}
}

// testURL returns TEST_REDIS_URL with its user information and database replaced.
func testURL(t *testing.T, user *url.Userinfo, db string) string {
	t.Helper()
	storetest.Redis(t) // skips without TEST_REDIS_URL
	u, err := url.Parse(os.Getenv("TEST_REDIS_URL"))
	if err != nil {
		t.Fatalf("parse TEST_REDIS_URL: %v", err)
	}
	u.User, u.Path = user, "/"+db
	return u.String()
}

// newClient returns a client of rawURL, closed in t.Cleanup.
func newClient(t *testing.T, rawURL string) *redis.Client {
	t.Helper()
	c, err := redis.New(rawURL)
	if err != nil {
		t.Fatalf("New(%q) = %v", rawURL, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestURLDatabaseAndPassword(t *testing.T) {
	ctx := context.Background()
	key := "test:redis:db:" + uuid.NewString()
	db5, db0 := newClient(t, testURL(t, nil, "5")), newClient(t, testURL(t, nil, "0"))
	t.Cleanup(func() { _, _ = db5.Do(context.Background(), "DEL", key) })
	if _, err := db5.Do(ctx, "SET", key, "five"); err != nil {
		t.Fatalf("SET in database 5 = %v", err)
	}
	if v, err := db0.Do(ctx, "GET", key); err != nil || v != nil {
		t.Errorf("GET in database 0 = %v, %v; want nil: the key is in database 5", v, err)
	}
	if v, err := redigo.String(db5.Do(ctx, "GET", key)); err != nil || v != "five" {
		t.Errorf("GET in database 5 = %q, %v; want five", v, err)
	}

	// The test Redis has no password: that it refuses this one shows the password is sent.
	err := newClient(t, testURL(t, url.UserPassword("", "wrong"), "0")).Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("Ping with a password the server does not expect = %v, want its AUTH error", err)
	}
}

func TestUnreachable(t *testing.T) {
	c := storetest.UnreachableRedis(t)
	start := time.Now()
	if err := c.Ping(context.Background()); err == nil {
		t.Fatal("Ping of a Redis where nothing listens = nil error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Ping of a Redis where nothing listens took %v, want it to fail fast", d)
	}
}

func TestDoAndErrors(t *testing.T) {
	c := storetest.Redis(t)
	ctx := context.Background()
	key := "test:redis:" + uuid.NewString()
	t.Cleanup(func() { _, _ = c.Do(context.Background(), "DEL", key) })
	if n, err := redigo.Int64(c.Do(ctx, "INCRBY", key, 5)); err != nil || n != 5 {
		t.Fatalf("INCRBY = %d, %v; want 5", n, err)
	}
	if v, err := redigo.String(c.Do(ctx, "GET", key)); err != nil || v != "5" {
		t.Errorf("GET = %q, %v; want 5", v, err)
	}
	_, err := c.Do(ctx, "LPUSH", key, "x") // the key holds a number, not a list
	if _, ok := errors.AsType[redigo.Error](err); !ok {
		t.Errorf("LPUSH on a string = %v, want Redis's WRONGTYPE error", err)
	}
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if _, err := c.Do(expired, "PING"); err == nil {
		t.Errorf("PING with an expired context = nil error, want an error")
	}
}

func TestEvalLoadsUnknownScripts(t *testing.T) {
	c := storetest.Redis(t)
	ctx := context.Background()
	// A script no Redis has seen: the first Eval finds it unknown and sends its source.
	s := redis.NewScript("-- " + uuid.NewString() + "\nreturn {KEYS[1], tonumber(ARGV[1]) * 2}")
	for i := range 2 {
		got, err := redigo.Values(c.Eval(ctx, s, []string{"k"}, 21))
		if err != nil || len(got) != 2 || string(got[0].([]byte)) != "k" || got[1].(int64) != 42 {
			t.Errorf("Eval %d = %v, %v; want [k 42]", i+1, got, err)
		}
	}
	if err := c.Load(ctx, s); err != nil {
		t.Errorf("Load = %v", err)
	}
}

// TestBrokenConnectionsAreNotReused: after the network drops every connection (as when Redis
// restarts), the next command succeeds on a new one instead of failing on a pooled dead one.
func TestBrokenConnectionsAreNotReused(t *testing.T) {
	c, proxy := storetest.RedisBehindProxy(t)
	ctx := context.Background()
	// Several connections in the pool at once.
	errs := make(chan error, 4)
	for range 4 {
		go func() { _, err := c.Do(ctx, "BLPOP", "test:redis:none:"+uuid.NewString(), "0.2"); errs <- err }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("BLPOP = %v", err)
		}
	}
	proxy.Cut()
	if err := c.Ping(ctx); err == nil {
		t.Fatal("Ping with the network cut = nil error")
	}
	proxy.Restore()
	for i := range 4 {
		if err := c.Ping(ctx); err != nil {
			t.Errorf("Ping %d after the network came back = %v, want nil", i+1, err)
		}
	}
}

// event is what a subscription handler was told.
type event struct {
	kind    string // subscribed, message, lost
	payload string
}

func TestSubscribeSurvivesConnectionLoss(t *testing.T) {
	c, proxy := storetest.RedisBehindProxy(t)
	pub := storetest.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	channel := "test:redis:" + uuid.NewString()
	events := make(chan event, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Subscribe(ctx, channel, redis.Handler{
			Subscribed: func() { events <- event{kind: "subscribed"} },
			Message:    func(p []byte) { events <- event{kind: "message", payload: string(p)} },
			Lost:       func(error) { events <- event{kind: "lost"} },
		})
	}()
	next := func(want string) event {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.kind == want {
					return e
				}
				if want != "subscribed" || e.kind != "lost" { // while reconnecting, tries may fail
					t.Fatalf("subscription event %+v, want %s", e, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s event within 10s", want)
			}
		}
	}

	next("subscribed")
	if err := pub.Publish(ctx, channel, []byte("one")); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	if e := next("message"); e.payload != "one" {
		t.Errorf("message = %q, want one", e.payload)
	}

	proxy.Cut()
	next("lost")
	proxy.Restore()
	next("subscribed")
	if err := pub.Publish(ctx, channel, []byte("two")); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	if e := next("message"); e.payload != "two" {
		t.Errorf("message after the loss = %q, want two", e.payload)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Subscribe did not return within 5s of its context ending")
	}
}
