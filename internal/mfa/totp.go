// Package mfa holds the second factors: TOTP (RFC 6238) enrolment and validation, the sealing of TOTP
// secrets at rest, recovery codes and the QR code of an otpauth URL. It owns github.com/pquerna/otp.
package mfa

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The TOTP parameters every authenticator app understands: RFC 6238 with SHA-1, 6 digits, 30-second steps.
const (
	Digits     = 6
	Period     = 30 * time.Second
	secretSize = 20 // bytes: the 160 bits RFC 4226 recommends for HMAC-SHA-1
	maxDrift   = 1  // steps accepted either side of the current one
)

// ErrInvalidCode means a TOTP or recovery code is malformed, wrong, or already used.
var ErrInvalidCode = errors.New("invalid mfa code")

var codeOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrolment is a new TOTP secret: Secret is its base32 form, URL the otpauth:// URL for authenticator apps.
type Enrolment struct {
	Secret string
	URL    string
}

// LogValue keeps the secret (and the URL that carries it) out of every log.
func (e Enrolment) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// NewEnrolment makes a random TOTP secret for account (the user's email) under issuer, the name an
// authenticator app shows. It fails only when the system's random source does or a name is empty.
func NewEnrolment(issuer, account string) (Enrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      uint(Period / time.Second),
		SecretSize:  secretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("generate totp secret: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// Step returns the number of the 30-second TOTP step that holds t.
func Step(t time.Time) int64 {
	return t.Unix() / int64(Period/time.Second)
}

// Validate checks code against the base32 secret at time at, accepting the previous, current and next
// step, but only steps after the given one (the last step accepted for this user, or -1 for none).
// It returns the matched step, which the caller stores as the new last step so that the same code is
// refused again. Spaces in code are ignored ("123 456" as apps show it); anything but six ASCII digits
// after that is ErrInvalidCode, as is a wrong or replayed code. An undecodable secret is another error.
func Validate(secret, code string, at time.Time, after int64) (int64, error) {
	code, ok := normaliseTOTP(code)
	if !ok {
		return 0, ErrInvalidCode
	}
	now := Step(at)
	matched := int64(-1)
	for step := now - maxDrift; step <= now+maxDrift; step++ {
		if step <= after || step < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), codeOpts)
		if err != nil {
			return 0, fmt.Errorf("totp code for step %d: %w", step, err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = step
		}
	}
	if matched < 0 {
		return 0, ErrInvalidCode
	}
	return matched, nil
}

// Code returns the TOTP code of secret at time at; tests and the example client use it to act as an app.
func Code(secret string, at time.Time) (string, error) {
	code, err := hotp.GenerateCodeCustom(secret, uint64(Step(at)), codeOpts)
	if err != nil {
		return "", fmt.Errorf("totp code: %w", err)
	}
	return code, nil
}

// normaliseTOTP drops spaces and reports whether what is left is exactly Digits ASCII digits.
func normaliseTOTP(code string) (string, bool) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != Digits {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	return code, true
}
