package mfa_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/mfa"
)

var recoveryShape = regexp.MustCompile(`^[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}$`)

func TestNewRecoveryCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		codes, err := mfa.NewRecoveryCodes()
		if err != nil {
			t.Fatalf("NewRecoveryCodes = %v", err)
		}
		if len(codes) != 10 {
			t.Fatalf("NewRecoveryCodes gave %d codes, want 10", len(codes))
		}
		for _, c := range codes {
			if !recoveryShape.MatchString(c) {
				t.Errorf("code %q does not look like xxxx-xxxx-xxxx from the unambiguous alphabet", c)
			}
			if seen[c] {
				t.Errorf("code %q came twice in 200", c)
			}
			seen[c] = true
		}
	}
}

func TestRecoveryCodesUseTheWholeAlphabet(t *testing.T) {
	used := map[rune]bool{}
	for range 50 {
		codes, err := mfa.NewRecoveryCodes()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			for _, r := range strings.ReplaceAll(c, "-", "") {
				used[r] = true
			}
		}
	}
	// 6000 draws from 31 symbols: each one is missed with probability (30/31)^6000, about 1e-86.
	if len(used) != 31 {
		t.Errorf("6000 recovery code characters used %d distinct symbols, want all 31", len(used))
	}
}

func TestHashRecoveryCodeNormalises(t *testing.T) {
	codes, err := mfa.NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	code := codes[0]
	want, err := mfa.HashRecoveryCode(userA, code)
	if err != nil {
		t.Fatalf("HashRecoveryCode(%q) = %v", code, err)
	}
	if strings.Contains(want, strings.ReplaceAll(code, "-", "")) || len(want) != 64 {
		t.Fatalf("HashRecoveryCode(%q) = %q: want a 64-hex hash", code, want)
	}
	bare := strings.ReplaceAll(code, "-", "")
	for _, in := range []string{
		strings.ToUpper(code),
		bare,
		strings.ToUpper(bare),
		" " + bare[:4] + " " + bare[4:8] + " " + bare[8:] + " ",
		bare[:6] + "-" + bare[6:],
	} {
		got, err := mfa.HashRecoveryCode(userA, in)
		if err != nil || got != want {
			t.Errorf("HashRecoveryCode(%q) = %q, %v; want the hash of %q", in, got, err, code)
		}
	}
	other, err := mfa.HashRecoveryCode(userB, code)
	if err != nil || other == want {
		t.Errorf("the same code hashes alike for two users (%q, %v)", other, err)
	}
}

func TestHashRecoveryCodeBadInput(t *testing.T) {
	for _, in := range []string{
		"",
		"----",
		"abcd-efgh-jkm",    // 11 characters
		"abcd-efgh-jkmnp",  // 13
		"abcd-efgh-jkm0",   // zero is not in the alphabet
		"abcd-efgh-jkmo",   // nor o
		"abcd-efgh-jkml",   // nor l
		"abcd-efgh-jkm1",   // nor 1
		"abcd-efgh-jkmi",   // nor i
		"abcd_efgh_jkmn",   // underscores are not separators
		"abcd-efgh-jkmn\n", // newline
		"abcd-efgh-jkmé",   // non-ASCII
		"123456",           // a TOTP code
		strings.Repeat("a", 10000),
	} {
		if _, err := mfa.HashRecoveryCode(userA, in); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Errorf("HashRecoveryCode(%q) = %v, want ErrInvalidCode", in, err)
		}
	}
}
