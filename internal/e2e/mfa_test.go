package e2e

import (
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/mfa"
)

// totpCode is the authenticator app's code for secret on the server's clock.
func totpCode(t *testing.T, s *server, secret string) string {
	t.Helper()
	code, err := mfa.Code(secret, s.clock.Now())
	if err != nil {
		t.Fatalf("mfa.Code: %v", err)
	}
	return code
}

// signInToSecondStep signs out and enters email's password, then waits for the second-step form.
func signInToSecondStep(t *testing.T, tb *tab, email string) {
	t.Helper()
	tb.click(`[data-test="logout"]`)
	tb.waitSignedOut()
	tb.submit("login", map[string]string{"email": email, "password": testPassword})
	tb.waitFor("the second-step form is shown", `document.querySelector('form[data-form="mfa-code"]') !== null`)
}

// TestTOTPEnrolmentAndLogin sets up an authenticator app through the SPA (QR code, secret, the
// recovery codes shown once), then signs in with a code the test computes as the app would, and
// with a recovery code.
func TestTOTPEnrolmentAndLogin(t *testing.T) {
	s, _, tb, email := signedUp(t, "totp")
	tb.waitFor("the second-factor card says off", `document.querySelector('[data-test="mfa-state"]')?.textContent.startsWith("Off")`)
	tb.submit("mfa-enrol", map[string]string{"password": testPassword})
	tb.waitFor("the QR code and the secret are shown",
		`document.querySelector('[data-test="mfa-qr"]')?.complete && document.querySelector('[data-test="mfa-qr"]').naturalWidth === 256 && document.querySelector('[data-test="mfa-secret"]')?.textContent.length > 0`)
	secret := tb.text(`[data-test="mfa-secret"]`)
	if src := eval[string](tb, `document.querySelector('[data-test="mfa-qr"]').getAttribute("src")`); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Errorf("QR code src = %.40q..., want a PNG data URL", src)
	}

	tb.submit("mfa-confirm", map[string]string{"code": totpCode(t, s, secret)})
	tb.waitFor("ten recovery codes are shown", `document.querySelectorAll('[data-test="recovery-codes"] li').length === 10`)
	codes := eval[[]string](tb, `[...document.querySelectorAll('[data-test="recovery-codes"] li')].map((li) => li.textContent)`)
	tb.waitFor("the account screen says the second factor is on", `document.querySelector('[data-test="me-mfa"]')?.textContent === "on"`)
	if got := eval[string](tb, `JSON.stringify([localStorage.length, sessionStorage.length])`); got != `[0,0]` {
		t.Errorf("[localStorage.length, sessionStorage.length] after enrolment = %s, want [0,0]", got)
	}

	// A new login stops after the password; the app's code of the next step completes it (the
	// confirming code is spent).
	signInToSecondStep(t, tb, email)
	s.clock.Advance(mfa.Period)
	tb.submit("mfa-code", map[string]string{"code": totpCode(t, s, secret)})
	tb.waitSignedIn(email)

	// A wrong code is shown and the form stays; a recovery code then signs in.
	signInToSecondStep(t, tb, email)
	tb.submit("mfa-code", map[string]string{"code": "12345"})
	tb.waitFor("INVALID_MFA_CODE is shown", `document.querySelector('[data-test="error-code"]')?.textContent === "INVALID_MFA_CODE"`)
	tb.submit("mfa-recovery", map[string]string{"recoveryCode": strings.ToUpper(codes[0])})
	tb.waitSignedIn(email)
	tb.waitFor("nine recovery codes are left", `document.querySelector('[data-test="mfa-state"]')?.textContent.includes("left: 9")`)
}
