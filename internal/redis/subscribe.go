package redis

import (
	"context"
	"errors"
	"sync"
	"time"

	redigo "github.com/gomodule/redigo/redis"
)

const (
	// resubscribeDelay is the pause before subscribing again after a failure.
	resubscribeDelay = time.Second
	// pingInterval is how often a subscription's connection is checked; it counts as lost when
	// nothing, not even the answer to a check, arrived within two intervals.
	pingInterval = 15 * time.Second
)

// Handler receives what happens to a subscription. Its functions run one at a time, on the
// subscription's goroutine.
type Handler struct {
	Subscribed func()               // the subscription is in place: at first, and again after each loss
	Message    func(payload []byte) // a message published on the channel
	Lost       func(err error)      // subscribing failed, or the connection was lost; another try follows
}

// Subscribe delivers what is published on channel to h until ctx ends, on a connection of its
// own. It subscribes again resubscribeDelay after each failure; what is published in between
// is not delivered.
func (c *Client) Subscribe(ctx context.Context, channel string, h Handler) {
	for {
		err := c.subscribeOnce(ctx, channel, h)
		if ctx.Err() != nil {
			return
		}
		h.Lost(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(resubscribeDelay):
		}
	}
}

// subscribeOnce subscribes on a new connection and delivers messages until it fails or ctx ends.
func (c *Client) subscribeOnce(ctx context.Context, channel string, h Handler) error {
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	conn, err := c.dial(dialCtx, 2*pingInterval)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close()
	psc := redigo.PubSubConn{Conn: conn}
	if err := psc.Subscribe(channel); err != nil {
		return err
	}

	checks, stop := context.WithCancel(ctx)
	var pinger sync.WaitGroup
	defer pinger.Wait()
	defer stop()
	pinger.Go(func() {
		tick := time.NewTicker(pingInterval)
		defer tick.Stop()
		for {
			select {
			case <-checks.Done():
				return
			case <-tick.C:
				if psc.Ping("") != nil {
					return // the receive below fails too
				}
			}
		}
	})

	for {
		switch m := psc.ReceiveContext(ctx).(type) {
		case redigo.Message:
			h.Message(m.Data)
		case redigo.Subscription:
			if m.Kind == "subscribe" {
				h.Subscribed()
			} else {
				return errors.New("redis: subscription ended by the server")
			}
		case error:
			return m
		}
	}
}
