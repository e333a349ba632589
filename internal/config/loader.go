package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// loader reads variables and collects every problem it finds in them.
type loader struct {
	getenv   func(string) string
	problems []error
}

// fail records a problem with the variable name.
func (l *loader) fail(name, format string, args ...any) {
	l.problems = append(l.problems, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// value returns the variable name without surrounding spaces.
func (l *loader) value(name string) string {
	return strings.TrimSpace(l.getenv(name))
}

// text returns the variable name, or def when it is empty.
func (l *loader) text(name, def string) string {
	if v := l.value(name); v != "" {
		return v
	}
	return def
}

// number returns the variable name as an integer in lo..hi, or def when it is empty.
// hi = math.MaxInt means no upper bound.
func (l *loader) number(name string, def, lo, hi int) int {
	v := l.value(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		l.fail(name, "%q is not a whole number", v)
	case hi == math.MaxInt && n < lo:
		l.fail(name, "must be at least %d", lo)
	case n < lo || n > hi:
		l.fail(name, "must be between %d and %d", lo, hi)
	default:
		return n
	}
	return def
}

// boolean returns the variable name as strconv.ParseBool reads it, or def when it is empty.
func (l *loader) boolean(name string, def bool) bool {
	v := l.value(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail(name, "%q is not a boolean (use true or false)", v)
		return def
	}
	return b
}

// duration returns the variable name as a duration in 0..hi, or def when it is empty.
func (l *loader) duration(name string, def, hi time.Duration) time.Duration {
	d, ok := l.parsedDuration(name, def)
	if ok && d > hi {
		l.fail(name, "must be at most %s", formatDuration(hi))
	}
	return d
}

// positiveDuration returns the variable name as a duration above 0 and at most hi, or def when it is empty.
func (l *loader) positiveDuration(name string, def, hi time.Duration) time.Duration {
	d, ok := l.parsedDuration(name, def)
	if ok && (d == 0 || d > hi) {
		l.fail(name, "must be more than 0s and at most %s", formatDuration(hi))
	}
	return d
}

// parsedDuration returns the variable name parsed by parseDuration, or def when it is empty.
// It reports false after recording a problem.
func (l *loader) parsedDuration(name string, def time.Duration) (time.Duration, bool) {
	v := l.value(name)
	if v == "" {
		return def, true
	}
	d, ok := parseDuration(v)
	switch {
	case !ok:
		l.fail(name, "%q is not a duration (use the units s, m, h and d, as in 15m, 7d or 1h30m)", v)
	case d < 0:
		l.fail(name, "%q is negative", v)
	default:
		return d, true
	}
	return def, false
}
