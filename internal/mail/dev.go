package mail

import (
	"context"
	"log/slog"
)

// Log is the development sender: instead of sending, it writes each mail whole (sender,
// recipient, subject and text, link included) to the log, so a developer without a mail server
// can follow the links. Never use it in production: the links are secrets.
type Log struct {
	log *slog.Logger
}

// NewLog returns a sender that writes mails to log.
func NewLog(log *slog.Logger) *Log { return &Log{log: log} }

// Send logs m at level warn, so it stands out; it never fails.
func (l *Log) Send(ctx context.Context, m Message) error {
	l.log.WarnContext(ctx, "mail not sent (development mode): this is its text",
		"kind", string(m.Kind), "user_id", m.UserID, "from", m.From, "to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}
