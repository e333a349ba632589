package config

import (
	"fmt"
	"strings"

	"github.com/authserver/authserver/internal/passkeys"
)

// passkeyVars are the variables that configure the WebAuthn relying party.
var passkeyVars = []string{"WEBAUTHN_RP_ID", "WEBAUTHN_RP_NAME", "WEBAUTHN_ORIGINS"}

// passkeys returns the WebAuthn relying party and a warning for the log ("" when none).
// WEBAUTHN_ORIGINS defaults to clientURLs and WEBAUTHN_RP_ID to the host of the first origin.
// When any WEBAUTHN_* variable is set, every problem (an IP address as RP ID, an origin outside the
// RP ID, plain http off localhost) stops the start. When none is set, the relying party is derived
// from CLIENT_URL: origins that cannot serve it are left out, and passkeys are off (empty RPID)
// when none can.
func (l *loader) passkeys(clientURLs []string) (passkeys.Config, string) {
	explicit := false
	for _, name := range passkeyVars {
		explicit = explicit || l.value(name) != ""
	}
	cfg := passkeys.Config{
		RPID:    l.value("WEBAUTHN_RP_ID"),
		RPName:  l.text("WEBAUTHN_RP_NAME", passkeys.DefaultRPName),
		Origins: l.origins("WEBAUTHN_ORIGINS"),
	}
	if explicit {
		if l.value("WEBAUTHN_ORIGINS") == "" {
			cfg.Origins = clientURLs
		}
		if cfg.RPID == "" && len(cfg.Origins) > 0 {
			cfg.RPID = passkeys.RPIDFromOrigin(cfg.Origins[0])
		}
		if err := cfg.Check(); err != nil {
			l.problems = append(l.problems, unjoin(err)...)
			return passkeys.Config{}, ""
		}
		return cfg, ""
	}
	const turnOn = "set WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS to turn them on"
	if len(clientURLs) == 0 {
		return passkeys.Config{}, "passkeys are off: no CLIENT_URL to derive them from; " + turnOn
	}
	cfg.RPID = passkeys.RPIDFromOrigin(clientURLs[0])
	var left []string
	for _, origin := range clientURLs {
		one := cfg
		one.Origins = []string{origin}
		if one.Check() == nil {
			cfg.Origins = append(cfg.Origins, origin)
		} else {
			left = append(left, origin)
		}
	}
	switch {
	case len(cfg.Origins) == 0:
		return passkeys.Config{}, fmt.Sprintf("passkeys are off: no CLIENT_URL origin can serve relying party %q "+
			"(an RP ID is a domain name, and its pages must be https, or http on localhost); %s", cfg.RPID, turnOn)
	case len(left) > 0:
		return cfg, fmt.Sprintf("passkeys: relying party %q; CLIENT_URL origins %s cannot serve it and are left out "+
			"(set WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS to choose)", cfg.RPID, strings.Join(left, ", "))
	}
	return cfg, ""
}

// unjoin returns the errors joined in err by errors.Join, or err itself.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
