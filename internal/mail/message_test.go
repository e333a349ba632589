package mail

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/logtest"
)

func TestComposerLinks(t *testing.T) {
	c, err := NewComposer("https://app.example.com/base/", "Example <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	const tok = "AbC-_123"
	tests := []struct {
		name    string
		m       Message
		kind    Kind
		link    string
		expires string
	}{
		{"verify", c.VerifyEmail("u1", "a@example.com", tok, 24*time.Hour), KindVerifyEmail,
			"https://app.example.com/base/verify-email#token=AbC-_123", "The link works for 1 day."},
		{"reset", c.ResetPassword("u1", "a@example.com", tok, 30*time.Minute), KindResetPassword,
			"https://app.example.com/base/reset-password#token=AbC-_123", "The link works for 30 minutes."},
		{"confirm", c.ConfirmEmail("u1", "new@example.com", tok, 48*time.Hour), KindConfirmEmail,
			"https://app.example.com/base/confirm-email#token=AbC-_123", "The link works for 2 days."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.m.Kind != tt.kind || tt.m.From != "Example <no-reply@example.com>" || tt.m.Subject == "" || tt.m.UserID != "u1" {
				t.Errorf("message = %+v, want kind %s, the sender, a subject and the user id", tt.m, tt.kind)
			}
			if !strings.Contains(tt.m.Text, "\n"+tt.link+"\n") {
				t.Errorf("text part lacks the link %s on its own line:\n%s", tt.link, tt.m.Text)
			}
			if !strings.Contains(tt.m.Text, tt.expires) {
				t.Errorf("text part lacks %q:\n%s", tt.expires, tt.m.Text)
			}
			if !strings.Contains(tt.m.HTML, `href="`+tt.link+`"`) {
				t.Errorf("HTML part lacks the link %s:\n%s", tt.link, tt.m.HTML)
			}
		})
	}
}

func TestEmailChangedHasNoLink(t *testing.T) {
	c, err := NewComposer("https://app.example.com", "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := c.EmailChanged("u1", "old@example.com")
	if m.Kind != KindEmailChanged || m.To != "old@example.com" || m.Subject == "" {
		t.Errorf("EmailChanged = %+v, want kind %s to the old address with a subject", m, KindEmailChanged)
	}
	for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
		if strings.Contains(body, "http") || strings.Contains(body, "token") || strings.Contains(body, "href") {
			t.Errorf("%s part of the notice holds a link:\n%s", part, body)
		}
	}
}

func TestComposerEscapesHTML(t *testing.T) {
	c, err := NewComposer("https://app.example.com/a&b", "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := c.VerifyEmail("u1", "a@example.com", "t<x>", time.Hour)
	if strings.Contains(m.HTML, "<x>") || strings.Contains(m.HTML, "a&b") {
		t.Errorf("HTML part not escaped:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, "https://app.example.com/a&b/verify-email#token=t%3Cx%3E") {
		t.Errorf("text link not as expected:\n%s", m.Text)
	}
}

func TestNewComposerErrors(t *testing.T) {
	tests := []struct{ appURL, from, want string }{
		{"app.example.com", "a@example.com", "https://"},
		{"ftp://app.example.com", "a@example.com", "https://"},
		{"https://", "a@example.com", "missing host"},
		{"https://app.example.com/?x=1", "a@example.com", "query or fragment"},
		{"https://app.example.com/#/", "a@example.com", "query or fragment"},
		{"https://app.example.com/?", "a@example.com", "query or fragment"},
		{"https://u:p@app.example.com", "a@example.com", "user name"},
		{"https://app.example.com", "Example", "not an address"},
		{"https://app.example.com", "a@example.com, b@example.com", "not an address"},
		{"https://app.example.com", "Example <no-reply>", "not an address"},
	}
	for _, tt := range tests {
		_, err := NewComposer(tt.appURL, tt.from)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewComposer(%q, %q) error %v, want one containing %q", tt.appURL, tt.from, err, tt.want)
		}
	}
}

func TestResetLinkWithoutSender(t *testing.T) {
	c, err := NewComposer("https://app.example.com/", "")
	if err != nil {
		t.Fatalf("NewComposer without a sender = %v, want a link maker", err)
	}
	if got := c.ResetLink("abc"); got != "https://app.example.com/reset-password#token=abc" {
		t.Errorf("ResetLink = %q", got)
	}
}

func TestExpiryText(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{24 * time.Hour, "1 day"}, {72 * time.Hour, "3 days"}, {time.Hour, "1 hour"}, {36 * time.Hour, "36 hours"},
		{30 * time.Minute, "30 minutes"}, {time.Minute, "1 minute"}, {90 * time.Second, "1m30s"},
	}
	for _, tt := range tests {
		if got := expiryText(tt.in); got != "The link works for "+tt.want+"." {
			t.Errorf("expiryText(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMessageLogValueHidesBody(t *testing.T) {
	c, err := NewComposer("https://app.example.com", "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m := c.ResetPassword("user-1", "alice@example.com", "secret-token", time.Hour)
	var logs logtest.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "mail", m)
	out := logs.String()
	if strings.Contains(out, "secret-token") || strings.Contains(out, "alice@") || strings.Contains(out, "http") {
		t.Errorf("logged message shows its address or link: %s", out)
	}
	if !strings.Contains(out, `"mail":{"kind":"reset_password","user_id":"user-1"}`) {
		t.Errorf("logged message = %s, want its kind and user id", out)
	}
}

func TestLogSenderWritesWholeMail(t *testing.T) {
	c, err := NewComposer("http://localhost:3000", "Dev <dev@localhost.localdomain>")
	if err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	m := c.VerifyEmail("u1", "bob@example.com", "tok123", time.Hour)
	if err := NewLog(slog.New(slog.NewJSONHandler(&logs, nil))).Send(t.Context(), m); err != nil {
		t.Fatalf("Log.Send = %v", err)
	}
	out := logs.String()
	for _, want := range []string{"http://localhost:3000/verify-email#token=tok123", "bob@example.com",
		"Confirm your email address", "dev@localhost.localdomain", "The link works for 1 hour."} {
		if !strings.Contains(out, want) {
			t.Errorf("dev log lacks %q: %s", want, out)
		}
	}
}
