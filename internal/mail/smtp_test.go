package mail_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/mail"
	"github.com/authserver/authserver/internal/mail/mailtest"
)

// transport parses the test server's URL, as the server parses SMTP_URL.
func transport(t *testing.T, rawURL string) mail.Transport {
	t.Helper()
	tr, err := mail.ParseURL(rawURL)
	if err != nil {
		t.Fatalf("ParseURL(%q) = %v", rawURL, err)
	}
	return tr
}

func composer(t *testing.T) *mail.Composer {
	t.Helper()
	c, err := mail.NewComposer("https://app.example.com/account", "Example App <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSMTPDelivers(t *testing.T) {
	tests := []struct {
		name    string
		o       mailtest.Options
		wantTLS bool
	}{
		{"starttls with login", mailtest.Options{Security: mailtest.StartTLS, Username: "app", Password: "p@ss:w/rd"}, true},
		{"starttls without login", mailtest.Options{Security: mailtest.StartTLS}, true},
		{"implicit tls with login", mailtest.Options{Security: mailtest.TLS, Username: "app", Password: "pw"}, true},
		{"plain relay", mailtest.Options{Security: mailtest.Plain}, false},
		{"plain relay on loopback with login", mailtest.Options{Security: mailtest.Plain, Username: "app", Password: "pw"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.o)
			s := mail.NewSMTP(transport(t, srv.URL()), mail.SMTPOptions{RootCAs: srv.RootCAs, StepTimeout: 10 * time.Second})
			m := composer(t).ResetPassword("user-1", "alice@example.org", "tok_EN-123", 30*time.Minute)
			if err := s.Send(t.Context(), m); err != nil {
				t.Fatalf("Send = %v", err)
			}
			got := srv.Next(t)
			if got.From != "no-reply@example.com" || len(got.To) != 1 || got.To[0] != "alice@example.org" {
				t.Errorf("envelope from %q to %q, want no-reply@example.com to alice@example.org", got.From, got.To)
			}
			if got.TLS != tt.wantTLS {
				t.Errorf("conversation encrypted = %v, want %v", got.TLS, tt.wantTLS)
			}
			link, err := got.Link("/reset-password")
			if err != nil {
				t.Fatal(err)
			}
			if link != "https://app.example.com/account/reset-password#token=tok_EN-123" {
				t.Errorf("link in the mail = %q", link)
			}
			headers := map[string]string{"Subject": "Reset your password", "From": `"Example App" <no-reply@example.com>`,
				"To": "<alice@example.org>", "Auto-Submitted": "auto-generated"}
			for name, want := range headers {
				if h, err := got.Header(name); err != nil || h != want {
					t.Errorf("header %s = %q (%v), want %q", name, h, err, want)
				}
			}
			for _, name := range []string{"Date", "Message-Id"} {
				if h, _ := got.Header(name); h == "" {
					t.Errorf("header %s missing", name)
				}
			}
			html, err := got.HTML()
			if err != nil || !strings.Contains(html, `href="https://app.example.com/account/reset-password#token=tok_EN-123"`) {
				t.Errorf("HTML part = %q (%v), want the link", html, err)
			}
			if c := srv.Counts(); tt.wantTLS && c.PlainMail != 0 {
				t.Errorf("server saw %d MAIL commands in plain text", c.PlainMail)
			}
		})
	}
}

// A smtp:// URL requires STARTTLS: a server that does not offer it gets nothing, neither the
// mail nor the password, rather than a plain-text conversation.
func TestSMTPRefusesServerWithoutStartTLS(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.Plain, Username: "app", Password: "pw"})
	s := mail.NewSMTP(transport(t, "smtp://app:pw@"+srv.Addr()), mail.SMTPOptions{RootCAs: srv.RootCAs})
	err := s.Send(t.Context(), composer(t).VerifyEmail("u", "bob@example.org", "tok", time.Hour))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send to a server without STARTTLS = %v, want an error naming STARTTLS", err)
	}
	if errors.Is(err, mail.ErrRejected) {
		t.Errorf("Send error %v is marked permanent; a server may gain STARTTLS, so it should be retried", err)
	}
	if c := srv.Counts(); c.Mail != 0 || c.Auth != 0 {
		t.Errorf("server saw %+v, want no MAIL and no AUTH", c)
	}
	if got := srv.Pending(); len(got) != 0 {
		t.Errorf("server received %d mails", len(got))
	}
}

// A certificate that does not verify is refused, for STARTTLS and for TLS.
func TestSMTPRefusesUntrustedCertificate(t *testing.T) {
	for _, sec := range []mailtest.Security{mailtest.StartTLS, mailtest.TLS} {
		srv := mailtest.Start(t, mailtest.Options{Security: sec, Username: "app", Password: "pw"})
		s := mail.NewSMTP(transport(t, srv.URL()), mail.SMTPOptions{}) // system roots: the test CA is unknown
		err := s.Send(t.Context(), composer(t).VerifyEmail("u", "bob@example.org", "tok", time.Hour))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("Send to %s with an untrusted certificate = %v, want a certificate error", srv.URL(), err)
		}
		if c := srv.Counts(); c.Mail != 0 || c.Auth != 0 {
			t.Errorf("server %s saw %+v, want no MAIL and no AUTH", srv.URL(), c)
		}
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS, Username: "app", Password: "right"})
	tr := transport(t, "smtp://app:wrong@"+srv.Addr())
	err := mail.NewSMTP(tr, mail.SMTPOptions{RootCAs: srv.RootCAs}).
		Send(t.Context(), composer(t).VerifyEmail("u", "bob@example.org", "tok", time.Hour))
	if err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Fatalf("Send with a wrong password = %v, want an AUTH error", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q shows the password", err)
	}
	if got := srv.Pending(); len(got) != 0 {
		t.Errorf("server received %d mails", len(got))
	}
}

// A server that hangs up after accepting the message: the mail is delivered, so Send succeeds
// (a retry would deliver it twice).
func TestSMTPHangUpAfterAcceptIsDelivered(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS, HangUp: true})
	err := mail.NewSMTP(transport(t, srv.URL()), mail.SMTPOptions{RootCAs: srv.RootCAs}).
		Send(t.Context(), composer(t).VerifyEmail("u", "bob@example.org", "tok", time.Hour))
	if err != nil {
		t.Errorf("Send to a server that hangs up after 250 = %v, want nil", err)
	}
	srv.Next(t)
}

// A server that refuses the mail for good (here: it wants a login the URL does not give) is
// ErrRejected: retrying cannot help.
func TestSMTPRejectedIsPermanent(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS, Username: "app", Password: "pw"})
	err := mail.NewSMTP(transport(t, "smtp://"+srv.Addr()), mail.SMTPOptions{RootCAs: srv.RootCAs}).
		Send(t.Context(), composer(t).VerifyEmail("u", "bob@example.org", "tok", time.Hour))
	if !errors.Is(err, mail.ErrRejected) {
		t.Fatalf("Send without the login the server wants = %v, want ErrRejected", err)
	}
}

// A server that accepts the connection and never speaks, and one that stalls after DATA: each
// step has a deadline, so Send gives up instead of hanging.
func TestSMTPTimeouts(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	stalled := mailtest.Start(t, mailtest.Options{Security: mailtest.StartTLS, Hold: hold})

	for name, rawURL := range map[string]string{"silent": "smtp://" + silent.Addr().String(),
		"silent tls": "smtps://" + silent.Addr().String(), "stalls after DATA": stalled.URL()} {
		t.Run(name, func(t *testing.T) {
			s := mail.NewSMTP(transport(t, rawURL), mail.SMTPOptions{RootCAs: stalled.RootCAs, StepTimeout: 200 * time.Millisecond})
			err := s.Send(t.Context(), composer(t).VerifyEmail("u", "bob@example.org", "tok", time.Hour))
			if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Send = %v, want a deadline error", err)
			}
		})
	}
}
