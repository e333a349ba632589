package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// ErrRejected marks a delivery the mail server refused for good (a 5xx answer, such as an unknown
// recipient): sending the same mail again cannot succeed.
var ErrRejected = errors.New("mail server rejected the message")

// defaultStepTimeout bounds each network step of a delivery when SMTPOptions leaves it zero.
const defaultStepTimeout = 30 * time.Second

// SMTPOptions tunes an SMTP sender; the zero value is the production setting.
type SMTPOptions struct {
	// StepTimeout bounds the dial, the TLS handshake, and each read and write of every command
	// (default 30s). The caller's context deadline bounds the delivery as a whole.
	StepTimeout time.Duration
	// RootCAs verifies the server's certificate; nil means the system's roots.
	RootCAs *x509.CertPool
}

// SMTP delivers mail to one SMTP server with go-mail. It is safe for concurrent use: each Send
// opens its own connection.
type SMTP struct {
	t    Transport
	step time.Duration
	tls  *tls.Config
}

// NewSMTP returns a sender for t.
func NewSMTP(t Transport, o SMTPOptions) *SMTP {
	step := o.StepTimeout
	if step <= 0 {
		step = defaultStepTimeout
	}
	return &SMTP{t: t, step: step, tls: &tls.Config{ServerName: t.Host, RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}}
}

// Send delivers m in one SMTP conversation: connect, secure it as the Transport says, log in when
// it names a user, then MAIL, RCPT, DATA. With STARTTLS a server that offers no STARTTLS or a
// certificate that does not verify gets nothing, not even the login. Once the server has accepted
// the message, a failure of the goodbye that follows is not an error. A permanent refusal wraps
// ErrRejected; anything else (network, timeout, a 4xx answer) is worth retrying.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(m)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	opts := []gomail.Option{
		gomail.WithPort(s.t.Port),
		gomail.WithTimeout(s.step),
		gomail.WithDialContextFunc(s.dialer(ctx)),
		gomail.WithTLSConfig(s.tls),
	}
	switch s.t.Security {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case ImplicitTLS, Plain:
		// ImplicitTLS: the dialer has already wrapped the connection in TLS.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.t.Username != "" {
		// The best mechanism both sides know. go-mail's PLAIN and LOGIN refuse to send the password
		// over a connection without TLS unless the server is this host.
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
			gomail.SMTPAuthPlain, gomail.SMTPAuthLogin), gomail.WithUsername(s.t.Username), gomail.WithPassword(s.t.password))
	}
	client, err := gomail.NewClient(s.t.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail client for %s: %w", s.t.Addr(), err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if msg.IsDelivered() {
			// The server accepted the message (250 after DATA); only the RSET or QUIT after it
			// failed. Sending again would deliver it twice.
			return nil
		}
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 {
			return fmt.Errorf("%w: %s: %w", ErrRejected, s.t.Addr(), err)
		}
		return fmt.Errorf("deliver via %s: %w", s.t.Addr(), err)
	}
	return nil
}

// build turns m into a go-mail message: From, To, Subject, a text/plain part and, when m has one,
// a text/html alternative. go-mail adds Date and Message-ID.
func build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated") // RFC 3834: no auto-replies
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// dialer returns the connection maker for one Send: TCP with every read and write bounded by the
// step timeout and by ctx's deadline, closed at once if ctx is cancelled, and for ImplicitTLS
// wrapped in TLS (returned as a *tls.Conn, so go-mail knows the line is encrypted).
func (s *SMTP) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: s.step}
		raw, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = raw.Close() })
		end, _ := ctx.Deadline()
		conn := &stepConn{Conn: raw, step: s.step, end: end}
		if s.t.Security != ImplicitTLS {
			return conn, nil
		}
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = raw.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return tc, nil
	}
}

// stepConn gives every Read and Write its own deadline: step from now, but never past end (when
// set). Deadlines set from outside are ignored, since each operation sets its own.
type stepConn struct {
	net.Conn
	step time.Duration
	end  time.Time
}

func (c *stepConn) arm() {
	d := time.Now().Add(c.step)
	if !c.end.IsZero() && c.end.Before(d) {
		d = c.end
	}
	_ = c.Conn.SetDeadline(d)
}

// Read reads within the step deadline.
func (c *stepConn) Read(p []byte) (int, error) {
	c.arm()
	return c.Conn.Read(p)
}

// Write writes within the step deadline.
func (c *stepConn) Write(p []byte) (int, error) {
	c.arm()
	return c.Conn.Write(p)
}

// SetDeadline is a no-op: each Read and Write sets its own deadline.
func (c *stepConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is a no-op: each Read sets its own deadline.
func (c *stepConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is a no-op: each Write sets its own deadline.
func (c *stepConn) SetWriteDeadline(time.Time) error { return nil }
