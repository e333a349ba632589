// Package mail sends the server's mails: it parses SMTP URLs, writes the messages (verify an
// address, reset a password, confirm a new address, tell the old one), and delivers them in the
// background from a bounded queue with retries, over SMTP (go-mail) or, in development, to the log.
package mail

import (
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"
)

// Kind says which mail a Message is; it labels logs and counters.
type Kind string

// The mails the server sends.
const (
	KindVerifyEmail   Kind = "verify_email"
	KindResetPassword Kind = "reset_password"
	KindConfirmEmail  Kind = "confirm_email"
	KindEmailChanged  Kind = "email_changed"
)

// Message is one mail, ready to send. Text and HTML hold the link, the mail's only secret, so a
// Message logs only its kind and user (LogValue).
type Message struct {
	Kind    Kind
	UserID  string // whom it is about, for logs
	From    string // "Name <addr>" or "addr"
	To      string // a bare address
	Subject string
	Text    string // the text/plain part
	HTML    string // the text/html alternative; optional
}

// LogValue shows the kind and user id only: never the address, the body or its link.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", string(m.Kind)), slog.String("user_id", m.UserID))
}

// Link paths under the application's URL; the token travels in the fragment, so it never reaches
// a web server's log or a Referer header.
const (
	verifyPath  = "/verify-email"
	resetPath   = "/reset-password"
	confirmPath = "/confirm-email"
)

// Composer writes the server's mails, with links under the application's URL.
type Composer struct {
	appURL string // without a trailing slash
	from   string
}

// NewComposer returns a Composer whose links start with appURL (an absolute http or https URL,
// without query or fragment; a path is kept) and whose mails come from from ("Name <addr>" or
// "addr"). from may be empty for a Composer that only makes links (ResetLink). It fails when
// either is malformed.
func NewComposer(appURL, from string) (*Composer, error) {
	u, err := CheckAppURL(appURL)
	if err != nil {
		return nil, err
	}
	if from != "" {
		if err := CheckFrom(from); err != nil {
			return nil, err
		}
	}
	return &Composer{appURL: u, from: from}, nil
}

// CheckAppURL returns appURL without its trailing slash, or an error saying why it cannot carry
// the links: not absolute http(s), or with a query, fragment or user information.
func CheckAppURL(appURL string) (string, error) {
	u, err := url.Parse(appURL)
	switch {
	case err != nil:
		return "", errors.New("not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("must start with https:// (or http://)")
	case u.Host == "":
		return "", errors.New("missing host")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(appURL, "#"):
		return "", errors.New("must not hold a query or fragment: the links add their own")
	case u.User != nil:
		return "", errors.New("must not hold a user name or password")
	}
	return strings.TrimRight(appURL, "/"), nil
}

// CheckFrom reports whether from is a usable sender: one address, optionally with a display name.
func CheckFrom(from string) error {
	if _, err := netmail.ParseAddress(from); err != nil {
		return fmt.Errorf("not an address like Example <no-reply@example.com>: %w", err)
	}
	return nil
}

// link returns the application's page for path with token in the fragment.
func (c *Composer) link(path, token string) string {
	return c.appURL + path + "#token=" + url.QueryEscape(token)
}

// ResetLink is the password-reset page's link for token, for an operator to hand over by other
// means than mail.
func (c *Composer) ResetLink(token string) string { return c.link(resetPath, token) }

// VerifyEmail is the mail that confirms a new account's address; the link lives for ttl.
func (c *Composer) VerifyEmail(userID, to, token string, ttl time.Duration) Message {
	return c.compose(KindVerifyEmail, userID, to, letter{
		Subject: "Confirm your email address",
		Intro:   "Please confirm that this is your email address by opening this link:",
		Link:    c.link(verifyPath, token),
		Button:  "Confirm email address",
		Expiry:  expiryText(ttl),
		Outro:   "If you did not create an account, you can ignore this mail.",
	})
}

// ResetPassword is the mail with a password-reset link that lives for ttl.
func (c *Composer) ResetPassword(userID, to, token string, ttl time.Duration) Message {
	return c.compose(KindResetPassword, userID, to, letter{
		Subject: "Reset your password",
		Intro:   "Someone, hopefully you, asked to reset the password of your account. Choose a new one here:",
		Link:    c.link(resetPath, token),
		Button:  "Choose a new password",
		Expiry:  expiryText(ttl),
		Outro: "Resetting the password signs you out everywhere. If you did not ask for this, ignore this mail: " +
			"your password stays as it is.",
	})
}

// ConfirmEmail goes to a new address the user wants for their account; the link lives for ttl.
func (c *Composer) ConfirmEmail(userID, to, token string, ttl time.Duration) Message {
	return c.compose(KindConfirmEmail, userID, to, letter{
		Subject: "Confirm your new email address",
		Intro:   "Please confirm that you want to use this address for your account by opening this link:",
		Link:    c.link(confirmPath, token),
		Button:  "Use this email address",
		Expiry:  expiryText(ttl),
		Outro:   "Until you do, the account keeps its old address. If you did not ask for this, ignore this mail.",
	})
}

// EmailChanged tells the current address that a change to another one was asked for. It holds
// no link and no token: the change needs the new address's confirmation.
func (c *Composer) EmailChanged(userID, to string) Message {
	return c.compose(KindEmailChanged, userID, to, letter{
		Subject: "Your email address is being changed",
		Intro: "Someone signed in to your account and asked to change its email address to another one. " +
			"The change takes effect once the new address is confirmed; until then nothing changes.",
		Outro: "If this was not you, your password is known to someone else: sign in and change it now, " +
			"which also signs everyone else out.",
	})
}

// expiryText says how long a link lives, in the largest unit that divides it.
func expiryText(ttl time.Duration) string {
	units := []struct {
		d          time.Duration
		one, other string
	}{{24 * time.Hour, "day", "days"}, {time.Hour, "hour", "hours"}, {time.Minute, "minute", "minutes"}}
	for _, u := range units {
		if ttl >= u.d && ttl%u.d == 0 {
			n := int64(ttl / u.d)
			if n == 1 {
				return "The link works for 1 " + u.one + "."
			}
			return fmt.Sprintf("The link works for %d %s.", n, u.other)
		}
	}
	return "The link works for " + ttl.String() + "."
}
