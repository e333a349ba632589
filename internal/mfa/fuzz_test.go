package mfa_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authserver/authserver/internal/mfa"
)

// FuzzValidate sends any code, at any step after any last-accepted step: never a panic, and a code
// is accepted only when it is, spaces aside, the code of the step returned, that step is within one
// of the current one and after the last accepted one.
func FuzzValidate(f *testing.F) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	at := time.Unix(1_700_000_000, 0)
	now := mfa.Step(at)
	current, err := mfa.Code(secret, at)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{current, "123 456", "12345", "1234567", "１２３４５６", "abcdef", "", " ", "000000\x00", current[:3] + " " + current[3:]} {
		f.Add(seed, now-1)
		f.Add(seed, now)
	}
	f.Fuzz(func(t *testing.T, code string, after int64) {
		step, err := mfa.Validate(secret, code, at, after)
		if err != nil {
			if !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("Validate(%q, after %d) error = %v, want ErrInvalidCode", code, after, err)
			}
			return
		}
		if step < now-1 || step > now+1 || step <= after {
			t.Fatalf("Validate(%q, after %d) accepted step %d; now %d", code, after, step, now)
		}
		want, err := mfa.Code(secret, time.Unix(step*30, 0))
		if err != nil {
			t.Fatal(err)
		}
		if strings.ReplaceAll(code, " ", "") != want {
			t.Fatalf("Validate(%q) accepted step %d, whose code is %s", code, step, want)
		}
	})
}
