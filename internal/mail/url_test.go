package mail

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/logtest"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want Transport
	}{
		{"smtp://mail.example.com", Transport{Host: "mail.example.com", Port: 587, Security: StartTLS}},
		{"smtp://mail.example.com:2525", Transport{Host: "mail.example.com", Port: 2525, Security: StartTLS}},
		{"smtps://mail.example.com", Transport{Host: "mail.example.com", Port: 465, Security: ImplicitTLS}},
		{"smtps://u:p@mail.example.com:4650/", Transport{Host: "mail.example.com", Port: 4650, Security: ImplicitTLS,
			Username: "u", password: "p"}},
		{"smtp://localhost?tls=none", Transport{Host: "localhost", Port: 25, Security: Plain}},
		{"smtp://relay.internal:25?tls=none", Transport{Host: "relay.internal", Port: 25, Security: Plain}},
		{"smtp://u:p@127.0.0.1:2525?tls=none", Transport{Host: "127.0.0.1", Port: 2525, Security: Plain,
			Username: "u", password: "p"}},
		{"smtp://me%40gmail.com:app%2Fpass%23word@smtp.gmail.com:587", Transport{Host: "smtp.gmail.com", Port: 587,
			Security: StartTLS, Username: "me@gmail.com", password: "app/pass#word"}},
		{"smtp://apikey:SG.x-y_z@smtp.sendgrid.net:587", Transport{Host: "smtp.sendgrid.net", Port: 587,
			Security: StartTLS, Username: "apikey", password: "SG.x-y_z"}},
		{"smtp://[::1]:25?tls=none", Transport{Host: "::1", Port: 25, Security: Plain}},
		{"SMTP://Mail.Example.com", Transport{Host: "Mail.Example.com", Port: 587, Security: StartTLS}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if err != nil {
				t.Fatalf("ParseURL(%q) error %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseURL(%q) = %+v (password %q), want %+v (password %q)", tt.in, got, got.password,
					tt.want, tt.want.password)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "missing scheme"},
		{"mail.example.com:587", "unsupported scheme"},
		{"http://mail.example.com", `unsupported scheme "http"`},
		{"smtp://", "missing host"},
		{"smtp:mail.example.com", "missing host"},
		{"smtp://:25", "missing host"},
		{"smtp://u:secretpw@mail.example.com:0", `port "0"`},
		{"smtp://u:secretpw@mail.example.com:70000", `port "70000"`},
		{"smtp://u:secretpw@mail.example.com:x", "invalid port"},
		{"smtp://mail.example.com/path", "unexpected path"},
		{"smtp://mail.example.com#frag", "unexpected #fragment"},
		{"smtp://mail.example.com?tls=yes", "tls may only be none"},
		{"smtp://mail.example.com?ssl=none", `unknown parameter "ssl"`},
		{"smtps://mail.example.com?tls=none", "contradicts smtps"},
		{"smtp://:secretpw@mail.example.com", "a password without a user name"},
		{"smtp://u:secretpw@relay.example.com?tls=none", "plain text"},
		{"smtp://u:secret pw@host", "not a valid URL"},
		{"smtp://u:secretpw@host\n", "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseURL(tt.in)
			if err == nil {
				t.Fatalf("ParseURL(%q) = nil error, want one containing %q", tt.in, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseURL(%q) error %q, want it to contain %q", tt.in, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseURL(%q) error %q shows the password", tt.in, err)
			}
		})
	}
}

func TestTransportNeverShowsPassword(t *testing.T) {
	tr, err := ParseURL("smtps://user:hunter2-secret@mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	var logs logtest.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "smtp", tr, "in_struct", struct{ T Transport }{tr})
	js, err := json.Marshal(struct{ T Transport }{tr})
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]string{
		"String": tr.String(), "%v": fmt.Sprintf("%v", tr), "%+v": fmt.Sprintf("%+v", tr),
		"%#v": fmt.Sprintf("%#v", tr), "%s": fmt.Sprintf("%s", tr), "json": string(js), "slog": logs.String(),
	}
	for how, s := range shown {
		if strings.Contains(s, "hunter2") {
			t.Errorf("%s shows the password: %s", how, s)
		}
		if !strings.Contains(s, "smtps://user:[REDACTED]@mail.example.com:465") {
			t.Errorf("%s = %s, want the redacted URL", how, s)
		}
	}
	plain, _ := ParseURL("smtp://localhost:25?tls=none")
	if got := plain.String(); got != "smtp://localhost:25?tls=none" {
		t.Errorf("String() = %q, want smtp://localhost:25?tls=none", got)
	}
}
