package config

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseDuration checks parseDuration on any string: no panic, and a value it accepts is
// what Go's own syntax gives for the part after the days, plus the days.
func FuzzParseDuration(f *testing.F) {
	for _, seed := range []string{
		"15m", "7d", "1d12h", "-1s", "0s", "0", "d", "1d", "-", "--1s", "+5s", "-+5s", "1.5h", "100000d",
		"100001d", "99999d2562047h", "1d-1h", "1dd", "1e3s", "9223372036854775807ns", "2562047h47m16.854775807s",
		"1d\x00", " 5m", "５m", "1µs", "1us",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseDuration(s)
		if !ok {
			if d != 0 {
				t.Fatalf("parseDuration(%q) = %v, false; want 0 with false", s, d)
			}
			return
		}
		body, negative := strings.CutPrefix(s, "-")
		days, rest, hasDays := strings.Cut(body, "d")
		if !hasDays {
			rest = body
		}
		want := time.Duration(0)
		if rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil || r < 0 {
				t.Fatalf("parseDuration(%q) = %v, true; but Go reads %q as %v, %v", s, d, rest, r, err)
			}
			want = r
		}
		if hasDays {
			n := 0
			for _, c := range days {
				if c < '0' || c > '9' {
					t.Fatalf("parseDuration(%q) = %v, true; days %q are not digits", s, d, days)
				}
				n = n*10 + int(c-'0')
				if n > maxDays {
					t.Fatalf("parseDuration(%q) = %v, true; days %q exceed %d", s, d, days, maxDays)
				}
			}
			want += time.Duration(n) * day
		} else if rest == "" {
			t.Fatalf("parseDuration(%q) = %v, true; want false for an empty duration", s, d)
		}
		if negative {
			want = -want
		}
		if d != want {
			t.Fatalf("parseDuration(%q) = %v, want %v", s, d, want)
		}
	})
}
