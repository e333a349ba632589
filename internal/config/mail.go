package config

import (
	"time"

	"github.com/authserver/authserver/internal/mail"
)

// devMail is the variable DevEnv sets to make Load write mails to the log. Its name holds a NUL
// byte, so no real environment or .env file can set it.
const devMail = "\x00DEV_MAIL_TO_LOG"

// devMailFrom is MAIL_FROM under server -dev when none is set.
const devMailFrom = "auth-server <no-reply@localhost>"

// Mail holds the mail settings. Without SMTP_URL (and outside -dev) the server sends no mail.
type Mail struct {
	SMTP             *mail.Transport // SMTP_URL; nil when unset
	ToLog            bool            // server -dev without SMTP_URL: mails are written whole to the log
	AppURL           string          // APP_URL without its trailing slash; "" when unset
	From             string          // MAIL_FROM
	RequireVerified  bool            // REQUIRE_EMAIL_VERIFICATION
	EmailTokenTTL    time.Duration   // EMAIL_TOKEN_EXPIRY
	PasswordResetTTL time.Duration   // PASSWORD_RESET_EXPIRY
	ResendInterval   time.Duration   // MAIL_RESEND_INTERVAL
}

// Sends reports whether the server sends mail: through SMTP, or to the log under -dev.
func (m Mail) Sends() bool { return m.SMTP != nil || m.ToLog }

// mail reads the mail settings. SMTP_URL needs APP_URL and MAIL_FROM;
// REQUIRE_EMAIL_VERIFICATION=true needs a way to send mail.
func (l *loader) mail() Mail {
	m := Mail{
		RequireVerified:  l.boolean("REQUIRE_EMAIL_VERIFICATION", false),
		EmailTokenTTL:    l.positiveDuration("EMAIL_TOKEN_EXPIRY", day, 30*day),
		PasswordResetTTL: l.positiveDuration("PASSWORD_RESET_EXPIRY", 30*time.Minute, day),
		ResendInterval:   l.duration("MAIL_RESEND_INTERVAL", time.Minute, day),
	}
	if raw := l.value("SMTP_URL"); raw != "" {
		t, err := mail.ParseURL(raw)
		if err != nil {
			l.fail("SMTP_URL", "%v (want smtp://[user:pass@]host:port, smtps://... or smtp://host:port?tls=none)", err)
		} else {
			m.SMTP = &t
		}
	}
	m.ToLog = m.SMTP == nil && l.getenv(devMail) != ""
	if raw := l.value("APP_URL"); raw != "" {
		u, err := mail.CheckAppURL(raw)
		if err != nil {
			l.fail("APP_URL", "%v", err)
		}
		m.AppURL = u
	}
	m.From = l.value("MAIL_FROM")
	if m.From != "" {
		if err := mail.CheckFrom(m.From); err != nil {
			l.fail("MAIL_FROM", "%v", err)
		}
	}
	if l.value("SMTP_URL") != "" {
		if m.AppURL == "" {
			l.fail("APP_URL", "required with SMTP_URL: the links in the mails point to it")
		}
		if m.From == "" {
			l.fail("MAIL_FROM", "required with SMTP_URL, e.g. Example <no-reply@example.com>")
		}
	}
	if m.RequireVerified && l.value("SMTP_URL") == "" && !m.ToLog {
		l.fail("REQUIRE_EMAIL_VERIFICATION", "true needs SMTP_URL (or server -dev): unverified users could never log in")
	}
	return m
}
