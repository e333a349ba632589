package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/authserver/authserver/internal/mail"
	"github.com/authserver/authserver/internal/models"
)

// Outbox queues mail for delivery in the background; mail.Queue implements it.
type Outbox interface {
	Enqueue(ctx context.Context, m mail.Message) bool
}

// EmailSettings are the knobs of the email flows, from the configuration.
type EmailSettings struct {
	VerifyTTL       time.Duration // EMAIL_TOKEN_EXPIRY: verification and change-of-address links
	ResetTTL        time.Duration // PASSWORD_RESET_EXPIRY
	ResendInterval  time.Duration // MAIL_RESEND_INTERVAL: at most one mail per address and purpose
	RequireVerified bool          // REQUIRE_EMAIL_VERIFICATION: unverified accounts cannot log in
}

// maxLater is how many mail requests may be worked on in the background at once; beyond it they
// are dropped (and logged), as a full mail queue drops mail.
const maxLater = 64

// laterTimeout bounds the background work of one mail request.
const laterTimeout = 30 * time.Second

// emailTokenBytes is the randomness of an emailed token: 256 bits.
const emailTokenBytes = 32

// newEmailToken returns a random token for a link and its SHA-256, the only form stored.
func newEmailToken() (string, []byte) {
	t := base64.RawURLEncoding.EncodeToString(randomBytes(emailTokenBytes))
	return t, hashToken(t)
}

// mailOn reports whether the service can send mail.
func (s *Service) mailOn() bool { return s.outbox != nil && s.letters != nil }

// ttl is how long a link of purpose lives.
func (s *Service) ttl(p models.EmailPurpose) time.Duration {
	if p == models.PurposeResetPassword {
		return s.settings.Email.ResetTTL
	}
	return s.settings.Email.VerifyTTL
}

// issueLink stores a new token of purpose for u, for a link to address to, voiding u's older ones of
// that purpose, and returns it. With throttle, a link of that purpose sent to that address within
// the resend interval makes it fail with models.ErrSentRecently.
func (s *Service) issueLink(ctx context.Context, u *models.User, p models.EmailPurpose, to string, throttle bool) (string, error) {
	token, hash := newEmailToken()
	now := s.now().UTC()
	var sentAfter time.Time
	if throttle {
		sentAfter = now.Add(-s.settings.Email.ResendInterval)
	}
	t := &models.EmailToken{TokenHash: hash, UserID: u.ID, Purpose: p, Email: to, CreatedAt: now, ExpiresAt: now.Add(s.ttl(p))}
	if err := s.store.IssueEmailToken(ctx, t, sentAfter); err != nil {
		return "", fmt.Errorf("issue %s link: %w", p, err)
	}
	return token, nil
}

// send queues m; a full queue has already logged and counted the drop.
func (s *Service) send(ctx context.Context, m mail.Message) { s.outbox.Enqueue(ctx, m) }

// later runs fn after the request has been answered, so that the answer takes the same time
// whatever fn finds (forgot-password and resend must not tell which addresses have accounts). At
// most maxLater run at once; beyond that the request is dropped and logged. fn keeps ctx's values
// (the request id) but not its end, and gets laterTimeout.
func (s *Service) later(ctx context.Context, what string, fn func(ctx context.Context)) {
	select {
	case s.laterSlots <- struct{}{}:
	default:
		s.log.WarnContext(ctx, "mail request dropped: too many at once", "request", what)
		return
	}
	s.laterRuns.Add(1)
	go func() {
		defer func() { <-s.laterSlots; s.laterRuns.Done() }()
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), laterTimeout)
		defer cancel()
		fn(bctx)
	}()
}

// Wait blocks until the mail requests running in the background are done (shutdown, tests).
func (s *Service) Wait() { s.laterRuns.Wait() }

// quiet logs a background failure of what; a link not sent because one went out recently is normal.
func (s *Service) quiet(ctx context.Context, what string, err error) {
	if errors.Is(err, models.ErrSentRecently) {
		s.log.DebugContext(ctx, "mail not sent: one went out recently", "request", what)
		return
	}
	s.log.ErrorContext(ctx, "mail request failed", "request", what, "error", err.Error())
}
