package passkeys

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
)

// DefaultRPName is the relying party name shown by authenticators when none is configured.
const DefaultRPName = "auth-server"

// maxRPNameBytes bounds the relying party name: authenticators may truncate names longer
// than 64 bytes.
const maxRPNameBytes = 64

// Config names the relying party: RPID is the domain passkeys are bound to (WEBAUTHN_RP_ID),
// RPName what authenticators show (WEBAUTHN_RP_NAME), and Origins the web origins allowed to run
// a ceremony (WEBAUTHN_ORIGINS), each "scheme://host[:port]".
type Config struct {
	RPID    string
	RPName  string
	Origins []string
}

// RPIDFromOrigin returns the host of origin (without port), the default relying party id for a
// site served from that origin, or "" when origin is not an http(s) URL with a host.
func RPIDFromOrigin(origin string) string {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// Check reports every problem of c, one error per problem naming the environment variable it
// comes from, joined with errors.Join; nil when c can serve ceremonies. A browser accepts a
// ceremony only when its page's origin is https (or http on localhost) and its host is the
// relying party id or a subdomain of it, so an origin outside the id could never succeed.
func (c Config) Check() error {
	var errs []error
	rpIDValid := true
	switch {
	case c.RPID == "":
		errs = append(errs, errors.New("WEBAUTHN_RP_ID: is empty; set it to the domain passkeys belong to, e.g. example.com"))
		rpIDValid = false
	case c.RPID != strings.ToLower(c.RPID) || strings.HasSuffix(c.RPID, "."):
		errs = append(errs, fmt.Errorf("WEBAUTHN_RP_ID: %q must be a lower-case domain name without a trailing dot", c.RPID))
		rpIDValid = false
	default:
		if err := protocol.ValidateRPID(c.RPID); err != nil || strings.Contains(c.RPID, ":") {
			errs = append(errs, fmt.Errorf("WEBAUTHN_RP_ID: %q is not a domain name (no scheme, port, path or IP address)", c.RPID))
			rpIDValid = false
		}
	}
	if strings.TrimSpace(c.RPName) == "" || len(c.RPName) > maxRPNameBytes {
		errs = append(errs, fmt.Errorf("WEBAUTHN_RP_NAME: must be 1 to %d bytes", maxRPNameBytes))
	}
	if len(c.Origins) == 0 {
		errs = append(errs, errors.New("WEBAUTHN_ORIGINS: no origin is allowed; set it (or CLIENT_URL) to the origin of the web app, e.g. https://app.example.com"))
	}
	for _, origin := range c.Origins {
		if err := checkOrigin(origin, c.RPID, rpIDValid); err != nil {
			errs = append(errs, fmt.Errorf("WEBAUTHN_ORIGINS: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkOrigin reports why origin cannot run ceremonies for rpID (its domain is only compared
// when rpIDValid).
func checkOrigin(origin, rpID string, rpIDValid bool) error {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an origin: want https://HOST[:PORT]", origin)
	}
	host := strings.ToLower(u.Hostname())
	local := host == "localhost" || strings.HasSuffix(host, ".localhost")
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && local:
	default:
		return fmt.Errorf("%q must use https (plain http is allowed only for localhost)", origin)
	}
	if rpIDValid && host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return fmt.Errorf("%q is not on %s or one of its subdomains, so browsers refuse its ceremonies", origin, rpID)
	}
	return nil
}
