package app

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/authserver/authserver/internal/mail"
)

// MailOverrides tune the mail parts for tests; the zero value is the production setting.
type MailOverrides struct {
	FirstRetry time.Duration  // pause before the first retry of a failed delivery; 0 = the queue's default
	RootCAs    *x509.CertPool // trusted for the SMTP server's certificate; nil = the system's roots
}

// newMail builds what the mail settings call for: the Composer when APP_URL is set (links, and the
// mails when the server sends any), and the queue in a.Mail when the server sends mail, through
// SMTP or, under -dev, to the log. Its outcomes are counted in auth_mail_total.
func (a *App) newMail(o MailOverrides) (*mail.Composer, error) {
	cfg := a.Config.Mail
	if cfg.AppURL == "" {
		return nil, nil
	}
	letters, err := mail.NewComposer(cfg.AppURL, cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	if !cfg.Sends() {
		return letters, nil
	}
	var sender mail.Sender = mail.NewLog(a.log)
	via := "log (development)"
	if cfg.SMTP != nil {
		sender = mail.NewSMTP(*cfg.SMTP, mail.SMTPOptions{RootCAs: o.RootCAs})
		via = cfg.SMTP.String()
	}
	a.Mail = mail.NewQueue(sender, a.log, mail.QueueOptions{
		FirstRetry: o.FirstRetry,
		Count: func(k mail.Kind, out mail.Outcome) {
			a.Metrics.Mail.WithLabelValues(string(k), string(out)).Inc()
		},
	})
	a.log.Info("mail ready", "via", via, "app_url", cfg.AppURL)
	return letters, nil
}
