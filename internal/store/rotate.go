package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/google/uuid"

	"github.com/authserver/authserver/internal/models"
)

// On PostgreSQL the rotations of concurrent refreshes are sent together. A rotation that finds
// no other on its way goes out at once, alone, as rotateSQL on its own connection: a quiet
// server answers exactly as before. One that arrives while others are on their way is handed to
// the store's one sender, whose statement carries every rotation waiting, so that PostgreSQL
// parses, executes and commits once for all of them instead of once each (docs/performance.md,
// "Refresh rotations sent together"). One sender keeps the batches largest; it was the fastest
// of one, two, four and eight on 2 CPUs. The sender's statement never waits for a row another
// transaction holds (SKIP LOCKED): that rotation does not apply, and its caller takes the
// locked path, where only it waits.
const (
	maxRotationBatch = 128 // rotations per statement
	rotationTimeout  = 5 * time.Second
)

// rotateBatchSQL is rotateSQL for many rotations, given as parallel arrays (one element each):
// the rows it returns are those of the rotations that applied. Ids are passed as text and cast:
// each one has been checked to be a UUID first, so that no rotation can fail the others.
const rotateBatchSQL = `WITH free AS (
  SELECT id FROM sessions WHERE id = ANY ($1::text[]::uuid[]) FOR UPDATE SKIP LOCKED
)
UPDATE sessions AS s
SET prev_token_hash = s.token_hash, token_hash = r.next, generation = s.generation + 1,
    rotated_at = r.at, last_used_at = r.at, ip = r.ip, user_agent = r.ua
FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::timestamptz[], $6::timestamptz[],
            $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[])
       AS r(id, user_id, presented, next, at, idle_since, end_from, end_to, ip, ua)
WHERE s.id = r.id::uuid AND s.id IN (SELECT id FROM free) AND s.user_id = r.user_id::uuid
  AND s.token_hash = r.presented AND s.revoked_at IS NULL AND s.expires_at > r.at
  AND s.last_used_at > r.idle_since AND s.expires_at BETWEEN r.end_from AND r.end_to
  AND (SELECT NOT disabled FROM users WHERE users.id = s.user_id)
RETURNING s.id::text, s.generation, s.expires_at, s.amr,
  (SELECT email FROM users WHERE users.id = s.user_id),
  (SELECT role FROM users WHERE users.id = s.user_id)`

// pendingRotation is one refresh's rotation waiting for its statement.
type pendingRotation struct {
	r    models.Rotation
	key  string       // r.ID in canonical form, as the statement returns it
	done chan rotated // buffered: the sender never waits for a caller that has given up
}

type rotated struct {
	sess *models.Session
	err  error
}

// RotateSession applies r (see models.Rotation) and returns the session with its new generation,
// end and AMR, and its User (id, email, role); models.ErrNotFound when a condition does not hold.
// A statement that failed on a broken connection is sent once more: if the first one was applied,
// the second finds the token rotated and returns models.ErrNotFound, and the caller's locked path
// hands out the same next token again. On PostgreSQL, while other rotations are on their way, r
// travels with the rotations of other refreshes in one statement; a caller whose ctx ends while
// it waits gets ctx's error, and its rotation may still apply (as a statement cancelled too late
// would).
func (s *Store) RotateSession(ctx context.Context, r models.Rotation) (*models.Session, error) {
	if s.rotations == nil {
		return s.rotateOne(ctx, r)
	}
	defer s.rotating.Add(-1)
	if s.rotating.Add(1) == 1 {
		return s.rotateOne(ctx, r)
	}
	id, err := uuid.Parse(r.ID)
	if err != nil || uuid.Validate(r.UserID) != nil {
		return nil, models.ErrNotFound
	}
	p := &pendingRotation{r: r, key: id.String(), done: make(chan rotated, 1)}
	select {
	case s.rotations <- p:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stop:
		return nil, errStopped
	}
	select {
	case res := <-p.done:
		return res.sess, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stop:
		return nil, errStopped
	}
}

// errStopped answers a rotation that arrives or waits after Close.
var errStopped = fmt.Errorf("rotate session: store closed: %w", models.ErrUnavailable)

// rotateOne applies r alone, in one statement (SQLite, and PostgreSQL when no other rotation is
// on its way).
func (s *Store) rotateOne(ctx context.Context, r models.Rotation) (*models.Session, error) {
	sess := rotatedSession(r)
	rotate := func() error {
		return s.sqlDB.QueryRowContext(ctx, rotateSQL, r.Next, sess.RotatedAt, r.IP, r.UserAgent, r.ID, r.UserID, r.Presented,
			r.IdleSince.UTC(), r.EndFrom.UTC(), r.EndTo.UTC()).
			Scan(&sess.Generation, &sess.ExpiresAt, &sess.AMR, &sess.User.Email, &sess.User.Role)
	}
	err := rotate()
	if s.broken(ctx, err) {
		err = rotate()
	}
	if s.driver == models.DriverSQLite {
		// SQLite has one connection. The pool has just handed it to the next refresh waiting for
		// it, whose goroutine now runs next on this P, but only once this one stops, after it has
		// written its answer; meanwhile the connection sits unused. Yielding here lets the next
		// rotation start at once: 1,940-2,130 rotations/s went to 2,350-2,640 on 2 CPUs.
		runtime.Gosched()
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, models.ErrNotFound
	case err != nil:
		return nil, translate("rotate session", err)
	}
	sess.ExpiresAt = sess.ExpiresAt.UTC()
	return sess, nil
}

// rotatedSession is the session r leaves, but for what the database returns (generation, end,
// AMR, and the user's email and role).
func rotatedSession(r models.Rotation) *models.Session {
	at := r.At.UTC()
	return &models.Session{
		ID: r.ID, UserID: r.UserID, TokenHash: r.Next, PrevTokenHash: r.Presented,
		RotatedAt: at, LastUsedAt: at, IP: r.IP, UserAgent: r.UserAgent,
		User: &models.User{ID: r.UserID},
	}
}

// sendRotations is the sender: it takes the first rotation waiting and every other one already
// waiting, sends them as one statement and answers each. A second rotation of a session already
// in the batch is held for the next statement (one statement changes a row once). It returns
// when stop is closed.
func (s *Store) sendRotations(stop <-chan struct{}) {
	var held []*pendingRotation
	for {
		if len(held) == 0 {
			select {
			case p := <-s.rotations:
				held = append(held, p)
			case <-stop:
				return
			}
		}
		var batch []*pendingRotation
		index := make(map[string]int, len(held)) // a rotation's key -> its place in batch
		take := func(p *pendingRotation) {
			if _, in := index[p.key]; in {
				held = append(held, p)
				return
			}
			index[p.key] = len(batch)
			batch = append(batch, p)
		}
		waiting := held
		held = nil
		for _, p := range waiting {
			take(p)
		}
	drain:
		for len(batch) < maxRotationBatch {
			select {
			case p := <-s.rotations:
				take(p)
			default:
				break drain
			}
		}
		s.rotateBatch(batch, index)
	}
}

// rotateBatch applies batch in one statement and answers every rotation in it; index gives each
// rotation's place in batch by its key.
func (s *Store) rotateBatch(batch []*pendingRotation, index map[string]int) {
	ctx, cancel := context.WithTimeout(context.Background(), rotationTimeout)
	defer cancel()
	n := len(batch)
	var (
		ids, users, ips, agents = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		presented, next         = make([][]byte, n), make([][]byte, n)
		at, idle, from, to      = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		applied                 = make([]*models.Session, n)
	)
	for i, p := range batch {
		r := p.r
		ids[i], users[i], ips[i], agents[i] = r.ID, r.UserID, r.IP, r.UserAgent
		presented[i], next[i] = r.Presented, r.Next
		at[i], idle[i], from[i], to[i] = r.At.UTC(), r.IdleSince.UTC(), r.EndFrom.UTC(), r.EndTo.UTC()
	}
	send := func() error {
		clear(applied)
		rows, err := s.sqlDB.QueryContext(ctx, rotateBatchSQL, ids, users, presented, next, at, idle, from, to, ips, agents)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id   string
				sess models.Session
				u    models.User
			)
			if err := rows.Scan(&id, &sess.Generation, &sess.ExpiresAt, &sess.AMR, &u.Email, &u.Role); err != nil {
				return err
			}
			i := index[id] // the statement returns only rows of the batch
			full := rotatedSession(batch[i].r)
			full.Generation, full.ExpiresAt, full.AMR = sess.Generation, sess.ExpiresAt.UTC(), sess.AMR
			full.User.Email, full.User.Role = u.Email, u.Role
			applied[i] = full
		}
		return rows.Err()
	}
	err := send()
	if s.broken(ctx, err) {
		err = send()
	}
	if err != nil {
		err = translate("rotate sessions", err)
	}
	for i, p := range batch {
		res := rotated{err: err}
		if err == nil {
			if res.sess = applied[i]; res.sess == nil {
				res.err = models.ErrNotFound
			}
		}
		p.done <- res
	}
}
