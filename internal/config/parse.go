package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authserver/authserver/internal/models"
)

// maxDays bounds the "d" part of a duration, far above any limit Load applies.
const maxDays = 100_000

// parseDuration parses Go duration syntax with one more unit, "d" (24h), allowed once and first:
// "15m", "7d", "1d12h", "-1s". It reports false for anything else.
func parseDuration(s string) (time.Duration, bool) {
	body, negative := strings.CutPrefix(s, "-")
	var total time.Duration
	if before, after, found := strings.Cut(body, "d"); found {
		days, err := strconv.ParseUint(before, 10, 32)
		if err != nil || days > maxDays {
			return 0, false
		}
		total = time.Duration(days) * day
		body = after
	} else if body == "" {
		return 0, false
	}
	if body != "" {
		rest, err := time.ParseDuration(body)
		if err != nil || rest < 0 || rest > math.MaxInt64-total {
			return 0, false
		}
		total += rest
	}
	if negative {
		return -total, true
	}
	return total, true
}

// formatDuration writes d the way a user would type it: "60s", "5m", "1h", "365d".
func formatDuration(d time.Duration) string {
	if d <= time.Minute {
		return fmt.Sprintf("%gs", d.Seconds())
	}
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseDatabaseURL returns the driver and DSN that a DATABASE_URL value names,
// or false when it is none of the accepted forms.
func parseDatabaseURL(raw string) (driver models.Driver, dsn string, ok bool) {
	lower := strings.ToLower(raw)
	switch {
	case raw == "":
		return models.DriverSQLite, defaultSQLitePath, true
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			return "", "", false
		}
		return models.DriverPostgres, raw, true
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return "", "", false
		}
		return models.DriverSQLite, path, true
	}
	return "", "", false
}

// defaultPorts maps each origin scheme to the port an Origin header leaves out.
var defaultPorts = map[string]string{"http": "80", "https": "443"}

// normaliseOrigin turns an allowed CORS origin into the form browsers send in Origin:
// lower case, no trailing "/", no default port.
func normaliseOrigin(s string) (string, error) {
	if s == "*" {
		return "", errors.New(`"*" is refused: wildcard origins cannot carry credentials, list each origin`)
	}
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || defaultPorts[u.Scheme] == "" || u.Hostname() == "" ||
		u.User != nil || u.Path != "" || strings.ContainsAny(s, "?#") {
		return "", fmt.Errorf("%q is not an origin: want http://HOST[:PORT] or https://HOST[:PORT] with no path or query", s)
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); port == "" || port == defaultPorts[u.Scheme] {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return u.Scheme + "://" + host, nil
}

// parseProxy parses a CIDR, masking its host bits, or a bare IP address as a one-address prefix.
func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// validHost reports whether s is an IP address (IPv6 optionally in brackets) or a DNS host name.
func validHost(s string) bool {
	if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return true
	}
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

// splitList splits a comma-separated value, trimming spaces and dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
