package revoke

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/authserver/authserver/internal/models"
	"github.com/authserver/authserver/internal/redis"
)

// Store is the persistence the revoker needs; internal/store implements it.
type Store interface {
	RevocationsSince(ctx context.Context, since, now time.Time) ([]models.Revocation, error)
	PurgeExpired(ctx context.Context, now, idleSince, revokedBefore time.Time) (sessions, revocations int64, err error)
}

// Options configure a Revoker.
type Options struct {
	Store        Store
	Redis        *redis.Client // nil: no pub/sub, other instances learn by polling
	Channel      string        // Redis channel; "" = "auth:revocations"
	SyncInterval time.Duration
	// IdleTimeout and RetainRevoked say which session rows the background cleanup deletes: those
	// idle longer than IdleTimeout, and those revoked more than RetainRevoked ago.
	IdleTimeout   time.Duration
	RetainRevoked time.Duration
	Log           *slog.Logger
	Now           func() time.Time // nil = time.Now
	// Entries, when set, is told the size of the in-memory deny list after each prune.
	Entries func(n int)
}

// Revoker keeps a List in step with the store and the other instances.
type Revoker struct {
	list     *List
	opts     Options
	lastSync time.Time     // written only by Load, and then by loop
	catchUp  chan struct{} // asks loop to poll now: the subscription is back after a loss
}

// syncOverlap is how far back each poll re-reads, to catch rows committed late or written
// by an instance whose clock is behind.
const syncOverlap = time.Minute

// subscribeWait is how long Start waits for the first subscription before it warns and goes on.
const subscribeWait = 2 * time.Second

// New returns a Revoker feeding list.
func New(list *List, o Options) *Revoker {
	if o.Channel == "" {
		o.Channel = "auth:revocations"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Revoker{list: list, opts: o, catchUp: make(chan struct{}, 1)}
}

// Load reads every revocation still in force from the store into the list, so a restarted
// instance still denies what was revoked.
func (r *Revoker) Load(ctx context.Context) error {
	return r.sync(ctx, time.Time{})
}

// sync applies the store's revocations created at or after since.
func (r *Revoker) sync(ctx context.Context, since time.Time) error {
	now := r.opts.Now().UTC()
	revs, err := r.opts.Store.RevocationsSince(ctx, since, now)
	if err != nil {
		return fmt.Errorf("read revocations: %w", err)
	}
	r.list.Apply(revs)
	r.lastSync = now
	return nil
}

// Publish applies revocations that were just written to the store, and sends them to the other
// instances through Redis. A Redis failure is logged: the others still learn by polling.
func (r *Revoker) Publish(ctx context.Context, revs []models.Revocation) {
	if len(revs) == 0 {
		return
	}
	r.list.Apply(revs)
	if r.opts.Redis == nil {
		return
	}
	msg, err := json.Marshal(toWire(revs))
	if err == nil {
		err = r.opts.Redis.Publish(ctx, r.opts.Channel, msg)
	}
	if err != nil {
		r.opts.Log.WarnContext(ctx, "revocation broadcast failed", "error", err.Error(), "count", len(revs))
	}
}

// Start loads the store's revocations (see Load), subscribes to Redis when configured, and then
// keeps the list in step in the background until ctx ends: it applies what other instances
// publish, polls the store every sync interval, and prunes expired entries and rows once a minute.
// It fails only when the first load fails; Redis being down is logged, and the subscription is
// tried again every second until Redis answers.
func (r *Revoker) Start(ctx context.Context) error {
	if err := r.Load(ctx); err != nil {
		return err
	}
	if r.opts.Redis != nil {
		first := make(chan error, 1)
		go r.listen(ctx, first)
		select {
		case err := <-first:
			if err != nil {
				r.opts.Log.WarnContext(ctx, "revocation channel unavailable, relying on polling until it answers", "error", err.Error())
			}
		case <-time.After(subscribeWait):
			r.opts.Log.WarnContext(ctx, "revocation channel unavailable, relying on polling until it answers", "error", "no answer within "+subscribeWait.String())
		}
	}
	go r.loop(ctx)
	return nil
}

// loop polls (every sync interval, and at once when asked through catchUp) and prunes until ctx ends.
func (r *Revoker) loop(ctx context.Context) {
	poll := time.NewTicker(r.opts.SyncInterval)
	defer poll.Stop()
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-prune.C:
			r.prune(ctx)
		case <-poll.C:
			r.poll(ctx)
		case <-r.catchUp:
			r.poll(ctx)
		}
	}
}

// poll applies the revocations written since the last sync (less syncOverlap).
func (r *Revoker) poll(ctx context.Context) {
	if err := r.syncBounded(ctx, r.lastSync.Add(-syncOverlap)); err != nil {
		r.opts.Log.WarnContext(ctx, "revocation sync failed", "error", err.Error())
	}
}

// syncBounded is sync under a deadline of one sync interval, so a hung database cannot stall the loop.
func (r *Revoker) syncBounded(ctx context.Context, since time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, max(r.opts.SyncInterval, time.Second))
	defer cancel()
	return r.sync(ctx, since)
}

// prune drops expired entries from memory and deletes dead sessions and revocations from the store.
func (r *Revoker) prune(ctx context.Context) {
	now := r.opts.Now().UTC()
	left := r.list.Prune(now)
	if r.opts.Entries != nil {
		r.opts.Entries(left)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sessions, revs, err := r.opts.Store.PurgeExpired(ctx, now, now.Add(-r.opts.IdleTimeout), now.Add(-r.opts.RetainRevoked))
	if err != nil {
		r.opts.Log.WarnContext(ctx, "cleanup failed", "error", err.Error())
		return
	}
	if sessions+revs > 0 {
		r.opts.Log.InfoContext(ctx, "cleanup done", "sessions_deleted", sessions, "revocations_deleted", revs, "deny_list_entries", left)
	}
}

// listen applies revocations published by other instances until ctx ends, and tells first how
// the first subscription went (nil: subscribed). A lost subscription is logged once; when it is
// back, loop polls at once, since what was published in between is in the store.
func (r *Revoker) listen(ctx context.Context, first chan<- error) {
	tell := func(err error) {
		select {
		case first <- err:
		default:
		}
	}
	subscribed, lost := false, false
	r.opts.Redis.Subscribe(ctx, r.opts.Channel, redis.Handler{
		Subscribed: func() {
			tell(nil)
			if lost {
				r.opts.Log.InfoContext(ctx, "revocation channel available again")
				select {
				case r.catchUp <- struct{}{}:
				default:
				}
			}
			subscribed, lost = true, false
		},
		Message: func(payload []byte) {
			var w []wireRevocation
			if err := json.Unmarshal(payload, &w); err != nil {
				r.opts.Log.WarnContext(ctx, "bad revocation message", "error", err.Error())
				return
			}
			r.list.Apply(fromWire(w))
		},
		Lost: func(err error) {
			tell(err) // before the first subscription, Start warns
			if subscribed && !lost {
				r.opts.Log.WarnContext(ctx, "revocation channel lost, relying on polling until it answers", "error", err.Error())
			}
			lost = true
		},
	})
}

// wireRevocation is a revocation as sent on Redis.
type wireRevocation struct {
	Kind      models.RevocationKind `json:"k"`
	Subject   string                `json:"s"`
	Cutoff    time.Time             `json:"c,omitzero"`
	ExpiresAt time.Time             `json:"e"`
}

func toWire(revs []models.Revocation) []wireRevocation {
	w := make([]wireRevocation, len(revs))
	for i, r := range revs {
		w[i] = wireRevocation{Kind: r.Kind, Subject: r.Subject, Cutoff: r.Cutoff, ExpiresAt: r.ExpiresAt}
	}
	return w
}

func fromWire(w []wireRevocation) []models.Revocation {
	revs := make([]models.Revocation, len(w))
	for i, x := range w {
		revs[i] = models.Revocation{Kind: x.Kind, Subject: x.Subject, Cutoff: x.Cutoff, ExpiresAt: x.ExpiresAt}
	}
	return revs
}
