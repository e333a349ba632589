package mail

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Security is how a Transport protects the SMTP conversation.
type Security int

// The values of Transport.Security.
const (
	// StartTLS connects in plain text and upgrades with STARTTLS before anything else is sent; a
	// server that does not offer STARTTLS (or offers a certificate that does not verify) is refused.
	StartTLS Security = iota
	// ImplicitTLS speaks TLS from the first byte (smtps://, usually port 465).
	ImplicitTLS
	// Plain never encrypts: only for a relay on the same host or a private network (?tls=none).
	Plain
)

// String names the mode as it reads in logs.
func (s Security) String() string {
	switch s {
	case StartTLS:
		return "starttls"
	case ImplicitTLS:
		return "tls"
	case Plain:
		return "none"
	}
	return "unknown"
}

// Default ports when the URL names none.
const (
	defaultSubmissionPort = 587
	defaultSMTPSPort      = 465
	defaultRelayPort      = 25
)

// Transport is where and how mail is handed over: the parsed form of an SMTP URL. Its password
// never shows: String, Format (every fmt verb), LogValue and MarshalText print the URL with the
// password replaced.
type Transport struct {
	Host     string
	Port     int
	Security Security
	Username string
	password string
}

// ParseURL parses an SMTP URL:
//
//	smtp://[user:pass@]host[:port]            STARTTLS required (default port 587)
//	smtps://[user:pass@]host[:port]           TLS from the first byte (default port 465)
//	smtp://[user:pass@]host[:port]?tls=none   plain text (default port 25), for a relay nearby
//
// The user and password are percent-decoded. Errors say what is wrong without repeating the URL,
// which may hold a password.
func ParseURL(raw string) (Transport, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error repeats the whole URL, password included
		}
		return Transport{}, fmt.Errorf("not a valid URL: %w", err)
	}
	var t Transport
	switch u.Scheme {
	case "smtp":
		t.Security, t.Port = StartTLS, defaultSubmissionPort
	case "smtps":
		t.Security, t.Port = ImplicitTLS, defaultSMTPSPort
	case "":
		return Transport{}, errors.New("missing scheme: write smtp://host:port or smtps://host:port")
	default:
		return Transport{}, fmt.Errorf("unsupported scheme %q: use smtp (STARTTLS) or smtps (TLS)", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return Transport{}, errors.New("missing host: write smtp://host:port")
	}
	if u.Path != "" && u.Path != "/" {
		return Transport{}, errors.New("unexpected path after the host")
	}
	if u.Fragment != "" {
		return Transport{}, errors.New("unexpected #fragment")
	}
	if err := t.applyQuery(u.Query()); err != nil {
		return Transport{}, err
	}
	t.Host = u.Hostname()
	if t.Host == "" {
		return Transport{}, errors.New("missing host: write smtp://host:port")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Transport{}, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		t.Port = n
	}
	if u.User != nil {
		t.Username = u.User.Username()
		t.password, _ = u.User.Password()
		if t.Username == "" {
			return Transport{}, errors.New("a password without a user name")
		}
	}
	if t.Security == Plain && t.Username != "" && !isLoopback(t.Host) {
		return Transport{}, errors.New("with tls=none the password would cross the network in plain text: " +
			"use STARTTLS (smtp://) or TLS (smtps://), or a relay on this host")
	}
	return t, nil
}

// applyQuery reads the only parameter there is, tls=none.
func (t *Transport) applyQuery(q url.Values) error {
	for k, v := range q {
		if k != "tls" {
			return fmt.Errorf("unknown parameter %q: the only one is tls=none", k)
		}
		if len(v) != 1 || v[0] != "none" {
			return errors.New("tls may only be none (plain text); leave it out for STARTTLS")
		}
		if t.Security == ImplicitTLS {
			return errors.New("tls=none contradicts smtps://")
		}
		t.Security, t.Port = Plain, defaultRelayPort
	}
	return nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr returns "host:port".
func (t Transport) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// String returns the URL with the password replaced by "[REDACTED]".
func (t Transport) String() string {
	u := url.URL{Scheme: "smtp", Host: t.Addr()}
	if t.Security == ImplicitTLS {
		u.Scheme = "smtps"
	}
	if t.Security == Plain {
		u.RawQuery = "tls=none"
	}
	if t.Username != "" {
		u.User = url.User(t.Username)
		if t.password != "" {
			u.User = url.UserPassword(t.Username, "[REDACTED]")
		}
	}
	s := u.String()
	return strings.Replace(s, "%5BREDACTED%5D", "[REDACTED]", 1)
}

// Format writes String whatever the verb, so no fmt verb shows the password.
func (t Transport) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, t.String()) }

// LogValue returns String, so log/slog never writes the password.
func (t Transport) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalText returns String, so encoding a Transport (as slog's JSON handler does with a struct
// holding one) does not leak the password. It never fails.
func (t Transport) MarshalText() ([]byte, error) { return []byte(t.String()), nil }
