package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// redisLog is the logger the go-redis client writes its own messages to (it would print plain
// text on standard error otherwise): the JSON logger of the most recently built App.
var (
	redisLog     atomic.Pointer[slog.Logger]
	redisLogOnce sync.Once
)

// forwardRedisLogs sends the go-redis client's messages to log, as warnings. The client's logger
// is one per process, so the latest App's logger wins.
func forwardRedisLogs(log *slog.Logger) {
	redisLog.Store(log)
	redisLogOnce.Do(func() { redis.SetLogger(redisLogger{}) })
}

// redisLogger implements the go-redis logging interface on top of redisLog.
type redisLogger struct{}

// Printf logs one go-redis message as a warning with the message text in "detail".
func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	redisLog.Load().WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}
