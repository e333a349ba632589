// Package redis is the server's Redis client: a pool of connections for commands, with short
// timeouts and one retry on a broken connection, Lua scripts sent by their SHA-1, and a
// subscription that subscribes again by itself after a connection loss. It is a thin layer on
// github.com/gomodule/redigo, whose client is a handful of types: go-redis, used before, carries
// hundreds of command methods that the linker must keep (see docs/performance.md).
package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

const (
	dialTimeout = time.Second     // to connect, and for the TLS handshake and AUTH of rediss:// URLs
	ioTimeout   = time.Second     // to send a command and to read its reply
	poolWait    = 2 * time.Second // for a free connection when all are busy
	idleTimeout = 5 * time.Minute // an idle connection is closed after this
)

// Client sends commands to the Redis of one URL. It is safe for concurrent use.
type Client struct {
	url  string
	pool *redigo.Pool
	// brokenAt is when a connection last broke (Unix nanoseconds): a connection that went back
	// to the pool before then may be broken too (Redis restarted), so it is closed, not reused.
	brokenAt atomic.Int64
}

// New returns a client for rawURL: redis:// or rediss:// (TLS), with an optional user and
// password and a database number as the path, as in redis://:password@host:6379/0. It connects
// only when a command needs a connection.
func New(rawURL string) (*Client, error) {
	if err := CheckURL(rawURL); err != nil {
		return nil, err
	}
	c := &Client{url: rawURL}
	size := 10 * runtime.GOMAXPROCS(0)
	c.pool = &redigo.Pool{
		DialContext: func(ctx context.Context) (redigo.Conn, error) { return c.dial(ctx, ioTimeout) },
		TestOnBorrow: func(_ redigo.Conn, lastUsed time.Time) error {
			if lastUsed.UnixNano() <= c.brokenAt.Load() {
				return errors.New("redis: connection idle since a connection broke")
			}
			return nil
		},
		MaxIdle: size, MaxActive: size, Wait: true, IdleTimeout: idleTimeout,
	}
	return c, nil
}

// CheckURL rejects what the connection would reject, or ignore: another scheme, no host, a
// database that is not a number, query parameters (no option is read from them). Its messages
// never repeat the URL, which may hold a password.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return errors.New("redis URL: not a URL")
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return fmt.Errorf("redis URL: scheme %q, want redis or rediss", u.Scheme)
	case u.Hostname() == "":
		return errors.New("redis URL: no host")
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("redis URL: query parameters are not supported")
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return errors.New("redis URL: the database (the path) is not a number")
		}
	}
	return nil
}

// dial opens a connection whose replies must come within readTimeout (0: no limit).
func (c *Client) dial(ctx context.Context, readTimeout time.Duration) (redigo.Conn, error) {
	return redigo.DialURLContext(ctx, c.url,
		redigo.DialConnectTimeout(dialTimeout), redigo.DialTLSHandshakeTimeout(dialTimeout),
		redigo.DialReadTimeout(readTimeout), redigo.DialWriteTimeout(ioTimeout))
}

// Close closes the idle connections; a command still running closes its own when done.
func (c *Client) Close() error { return c.pool.Close() }

// Do sends one command and returns its reply: int64, string for a status, []byte for a bulk
// string, []any for an array, nil for a nil reply; a reply that is a Redis error is returned
// as the error. A command whose connection broke (a Redis that restarted, a network that
// dropped it) is sent once more on a new connection, as long as ctx allows.
func (c *Client) Do(ctx context.Context, cmd string, args ...any) (any, error) {
	reply, broken, err := c.do(ctx, cmd, args)
	if broken && ctx.Err() == nil {
		reply, _, err = c.do(ctx, cmd, args)
	}
	return reply, err
}

// do sends one command on a pooled connection; broken reports that the connection failed (not
// Redis answering with an error, nor no connection to be had).
func (c *Client) do(ctx context.Context, cmd string, args []any) (reply any, broken bool, err error) {
	wait, cancel := context.WithTimeout(ctx, poolWait)
	conn, err := c.pool.GetContext(wait)
	cancel()
	if err != nil {
		return nil, false, fmt.Errorf("redis: %w", err)
	}
	defer conn.Close()
	timeout := ioTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	if timeout <= 0 {
		return nil, false, context.DeadlineExceeded
	}
	reply, err = redigo.DoWithTimeout(conn, timeout, cmd, args...)
	if err != nil && conn.Err() != nil {
		c.brokenAt.Store(time.Now().UnixNano())
		return nil, true, fmt.Errorf("redis %s: %w", cmd, err)
	}
	return reply, false, err
}

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.Do(ctx, "PING")
	return err
}

// Publish sends message to the subscribers of channel.
func (c *Client) Publish(ctx context.Context, channel string, message []byte) error {
	_, err := c.Do(ctx, "PUBLISH", channel, message)
	return err
}

// Script is a Lua script, sent by its SHA-1 once Redis knows it.
type Script struct {
	src, sha string
}

// NewScript returns the script src.
func NewScript(src string) *Script {
	sum := sha1.Sum([]byte(src))
	return &Script{src: src, sha: hex.EncodeToString(sum[:])}
}

// Load sends the script to Redis, which keeps it until it restarts (or SCRIPT FLUSH).
func (c *Client) Load(ctx context.Context, s *Script) error {
	_, err := c.Do(ctx, "SCRIPT", "LOAD", s.src)
	return err
}

// Eval runs s on keys and args, by its SHA-1, and by its source when Redis does not know it
// (a Redis that restarted), which makes Redis know it again.
func (c *Client) Eval(ctx context.Context, s *Script, keys []string, args ...any) (any, error) {
	cmdArgs := make([]any, 0, 2+len(keys)+len(args))
	cmdArgs = append(cmdArgs, s.sha, len(keys))
	for _, k := range keys {
		cmdArgs = append(cmdArgs, k)
	}
	cmdArgs = append(cmdArgs, args...)
	reply, err := c.Do(ctx, "EVALSHA", cmdArgs...)
	if rerr, ok := errors.AsType[redigo.Error](err); ok && strings.HasPrefix(string(rerr), "NOSCRIPT") {
		cmdArgs[0] = s.src
		reply, err = c.Do(ctx, "EVAL", cmdArgs...)
	}
	return reply, err
}
