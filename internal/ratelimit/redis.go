package ratelimit

import (
	"context"
	"errors"
	"time"

	"github.com/ulule/limiter/v3"

	"github.com/authserver/authserver/internal/redis"
)

// countScript adds ARGV[1] (0: only reads) to the counter KEYS[1], whose window is ARGV[2]
// milliseconds from its first count, and returns {count, milliseconds left in the window}. A
// counter without an expiry, which only an outside write could leave, gets one.
var countScript = redis.NewScript(`
local add, window = tonumber(ARGV[1]), ARGV[2]
local n
if add > 0 then
	n = redis.call("INCRBY", KEYS[1], add)
	if n == add then
		redis.call("PEXPIRE", KEYS[1], window)
		return {n, tonumber(window)}
	end
else
	n = tonumber(redis.call("GET", KEYS[1]) or "0")
end
local left = redis.call("PTTL", KEYS[1])
if left == -1 and add > 0 then
	redis.call("PEXPIRE", KEYS[1], window)
	left = tonumber(window)
end
return {n, left}
`)

// redisStore is the limiter.Store in Redis: one fixed-window counter per key, under prefix + ":"
// + key, counted atomically by countScript, so every instance sharing the Redis shares the counts.
type redisStore struct {
	client *redis.Client
	prefix string
	now    func() time.Time
}

// newRedisStore loads countScript into Redis, so a Redis that does not answer is known at once.
func newRedisStore(ctx context.Context, client *redis.Client, prefix string, now func() time.Time) (*redisStore, error) {
	if err := client.Load(ctx, countScript); err != nil {
		return nil, err
	}
	return &redisStore{client: client, prefix: prefix, now: now}, nil
}

// count adds add to key's counter and returns its state.
func (s *redisStore) count(ctx context.Context, key string, add int64, rate limiter.Rate) (limiter.Context, error) {
	reply, err := s.client.Eval(ctx, countScript, []string{s.prefix + ":" + key}, add, rate.Period.Milliseconds())
	if err != nil {
		return limiter.Context{}, err
	}
	pair, ok := reply.([]any)
	if !ok || len(pair) != 2 {
		return limiter.Context{}, errors.New("rate limit script: want a count and a time left")
	}
	n, ok1 := pair[0].(int64)
	left, ok2 := pair[1].(int64)
	if !ok1 || !ok2 {
		return limiter.Context{}, errors.New("rate limit script: want integers")
	}
	now := s.now()
	end := now.Add(rate.Period)
	if left > 0 {
		end = now.Add(time.Duration(left) * time.Millisecond)
	}
	return state(rate, n, end.UnixNano()), nil
}

// Get counts one request for key.
func (s *redisStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.count(ctx, key, 1, rate)
}

// Increment counts count requests for key.
func (s *redisStore) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	return s.count(ctx, key, count, rate)
}

// Peek returns key's state without counting.
func (s *redisStore) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.count(ctx, key, 0, rate)
}

// Reset forgets key's count.
func (s *redisStore) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	if _, err := s.client.Do(ctx, "DEL", s.prefix+":"+key); err != nil {
		return limiter.Context{}, err
	}
	return state(rate, 0, s.now().Add(rate.Period).UnixNano()), nil
}
