package mfa_test

import (
	"bytes"
	"encoding/base32"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/authserver/authserver/internal/mfa"
)

// rfcSecret is the SHA-1 seed of RFC 6238 appendix B, in the base32 form authenticator apps use.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

// rfcVectors are the SHA-1 rows of RFC 6238 appendix B (8-digit codes).
var rfcVectors = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

func TestLibraryMatchesRFC6238AtEightDigits(t *testing.T) {
	for _, v := range rfcVectors {
		got, err := totp.GenerateCodeCustom(rfcSecret, time.Unix(v.unix, 0), totp.ValidateOpts{
			Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil || got != v.code {
			t.Errorf("GenerateCodeCustom(rfc seed, %d, 8 digits) = %q, %v; want %q", v.unix, got, err, v.code)
		}
	}
}

// At six digits the code is the RFC's value modulo 10^6: the last six digits of each vector.
func TestOurSixDigitConfigMatchesRFC6238(t *testing.T) {
	for _, v := range rfcVectors {
		at := time.Unix(v.unix, 0)
		want := v.code[2:]
		if got, err := mfa.Code(rfcSecret, at); err != nil || got != want {
			t.Errorf("Code(rfc seed, %d) = %q, %v; want %q", v.unix, got, err, want)
		}
		step, err := mfa.Validate(rfcSecret, want, at, -1)
		if err != nil || step != v.unix/30 {
			t.Errorf("Validate(rfc seed, %q, %d) = %d, %v; want step %d", want, v.unix, step, err, v.unix/30)
		}
	}
}

func TestValidateDrift(t *testing.T) {
	base := time.Unix(1_800_000_000, 0) // a step boundary: 1.8e9 is a multiple of 30
	code := mustCode(t, rfcSecret, base)
	tests := []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"same step, start", 0, true},
		{"same step, end", 29 * time.Second, true},
		{"one step later", 30 * time.Second, true},
		{"end of one step later", 59 * time.Second, true},
		{"two steps later", 60 * time.Second, false},
		{"one step earlier", -1 * time.Second, true},
		{"start of one step earlier", -30 * time.Second, true},
		{"two steps earlier", -31 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, err := mfa.Validate(rfcSecret, code, base.Add(tt.offset), -1)
			if tt.ok && (err != nil || step != mfa.Step(base)) {
				t.Fatalf("Validate(code of step %d, at %+v) = %d, %v; want step %d", mfa.Step(base), tt.offset, step, err, mfa.Step(base))
			}
			if !tt.ok && !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("Validate(code of step %d, at %+v) = %d, %v; want ErrInvalidCode", mfa.Step(base), tt.offset, step, err)
			}
		})
	}
}

func TestValidateRefusesReplayAndOlderSteps(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	code := mustCode(t, rfcSecret, at)
	step, err := mfa.Validate(rfcSecret, code, at, -1)
	if err != nil {
		t.Fatalf("first Validate = %v", err)
	}
	// The same code again, in the same step and in the next (where drift would still allow it).
	for _, later := range []time.Duration{0, 10 * time.Second, 30 * time.Second} {
		if _, err := mfa.Validate(rfcSecret, code, at.Add(later), step); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Errorf("replayed Validate at +%v after step %d = %v, want ErrInvalidCode", later, step, err)
		}
	}
	// The previous step's code is older than the one accepted: refused too.
	prev := mustCode(t, rfcSecret, at.Add(-mfa.Period))
	if _, err := mfa.Validate(rfcSecret, prev, at, step); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Errorf("Validate(previous step's code) after step %d = %v, want ErrInvalidCode", step, err)
	}
	// The next step's code is still good once, and moves the last step on.
	next := mustCode(t, rfcSecret, at.Add(mfa.Period))
	got, err := mfa.Validate(rfcSecret, next, at.Add(mfa.Period), step)
	if err != nil || got != step+1 {
		t.Errorf("Validate(next step's code) = %d, %v; want %d", got, err, step+1)
	}
}

func TestValidateBadInput(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	good := mustCode(t, rfcSecret, at)
	wrong := []byte(good)
	wrong[5] = '0' + (wrong[5]-'0'+1)%10
	tests := []struct {
		name, code string
		ok         bool
	}{
		{"good", good, true},
		{"spaces as apps show it", good[:3] + " " + good[3:], true},
		{"surrounding spaces", " " + good + " ", true},
		{"wrong digit", string(wrong), false},
		{"empty", "", false},
		{"only spaces", "      ", false},
		{"five digits", good[:5], false},
		{"seven digits", good + "1", false},
		{"eight-digit rfc form", "12" + good, false},
		{"letter", good[:5] + "a", false},
		{"sign", "+" + good[1:], false},
		{"tab inside", good[:3] + "\t" + good[3:], false},
		{"newline", good + "\n", false},
		{"arabic-indic digits", "١٢٣٤٥٦", false},
		{"fullwidth digits", "１２３４５６", false},
		{"NUL", good[:5] + "\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mfa.Validate(rfcSecret, tt.code, at, -1)
			if tt.ok != (err == nil) {
				t.Fatalf("Validate(%q) = %v, want ok=%v", tt.code, err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("Validate(%q) = %v, want ErrInvalidCode", tt.code, err)
			}
		})
	}
}

func TestValidateUndecodableSecretIsNotACodeError(t *testing.T) {
	_, err := mfa.Validate("not base32!", "123456", time.Unix(1_800_000_000, 0), -1)
	if err == nil || errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("Validate(bad secret) = %v, want a secret error that is not ErrInvalidCode", err)
	}
}

func TestNewEnrolment(t *testing.T) {
	e, err := mfa.NewEnrolment("Example Corp", "alice@example.com")
	if err != nil {
		t.Fatalf("NewEnrolment = %v", err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret %q decodes to %d bytes, %v; want 20 bytes", e.Secret, len(raw), err)
	}
	u, err := url.Parse(e.URL)
	if err != nil {
		t.Fatalf("url.Parse(%q) = %v", e.URL, err)
	}
	q := u.Query()
	checks := map[string]string{
		"scheme": u.Scheme, "host": u.Host, "label": u.Path,
		"secret": q.Get("secret"), "issuer": q.Get("issuer"),
		"algorithm": q.Get("algorithm"), "digits": q.Get("digits"), "period": q.Get("period"),
	}
	want := map[string]string{
		"scheme": "otpauth", "host": "totp", "label": "/Example Corp:alice@example.com",
		"secret": e.Secret, "issuer": "Example Corp",
		"algorithm": "SHA1", "digits": "6", "period": "30",
	}
	for k, w := range want {
		if checks[k] != w {
			t.Errorf("otpauth url %s = %q, want %q (url %s)", k, checks[k], w, e.URL)
		}
	}
	// The secret works with our own validation.
	at := time.Unix(1_800_000_000, 0)
	if _, err := mfa.Validate(e.Secret, mustCode(t, e.Secret, at), at, -1); err != nil {
		t.Errorf("Validate(code of the new secret) = %v", err)
	}
	other, err := mfa.NewEnrolment("Example Corp", "alice@example.com")
	if err != nil || other.Secret == e.Secret {
		t.Errorf("two enrolments share the secret %q (err %v)", e.Secret, err)
	}
}

func TestNewEnrolmentNeedsNames(t *testing.T) {
	if _, err := mfa.NewEnrolment("", "alice@example.com"); err == nil {
		t.Error("NewEnrolment with no issuer = nil error")
	}
	if _, err := mfa.NewEnrolment("issuer", ""); err == nil {
		t.Error("NewEnrolment with no account = nil error")
	}
}

func TestEnrolmentNeverLogged(t *testing.T) {
	e, err := mfa.NewEnrolment("issuer", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("enrolled", "enrolment", e)
	if strings.Contains(buf.String(), e.Secret) || !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("log line %s shows the secret or lacks [redacted]", buf.String())
	}
}

func mustCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := mfa.Code(secret, at)
	if err != nil {
		t.Fatalf("Code(%v) = %v", at, err)
	}
	return code
}
