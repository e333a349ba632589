package auth

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/authserver/authserver/internal/models"
)

// record hands one audit event to the auditor.
func (s *Service) record(ctx context.Context, typ models.AuditType, userID, sessionID string, c Client, d models.AuditDetail) {
	s.audit.Record(ctx, models.AuditEvent{Type: typ, UserID: userID, SessionID: sessionID, IP: c.IP, UserAgent: clip(c.UserAgent, 512)}, d)
}

// RateLimited records that a request of c to route was refused by a per-IP rate limit.
func (s *Service) RateLimited(ctx context.Context, c Client, route string) {
	s.record(ctx, models.AuditRateLimited, "", "", c, models.AuditDetail{Route: route})
}

// actorDetail is the audit detail of an admin action by p: the acting admin, or the command line.
func actorDetail(p Principal) *models.AuditActor {
	if p.CommandLine() {
		return &models.AuditActor{Via: "cli"}
	}
	id := p.UserID
	return &models.AuditActor{ActorID: &id, Via: "api"}
}

// count is n as an audit detail count (a pointer, so that 0 is still written).
func count(n int) *int { return &n }

// clip makes client-supplied text safe to store: valid UTF-8 without NUL, at most n bytes, cut on
// a rune boundary.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD") // databases refuse NUL and bad UTF-8
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
