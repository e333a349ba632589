package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/authserver/authserver/internal/models"
)

// virtualAuthenticator attaches to the tab a virtual platform authenticator of Chromium's (DevTools
// WebAuthn domain): CTAP2, internal transport, resident keys, user verification that succeeds, user
// presence simulated. It returns a function that lists the credentials it holds.
func (tb *tab) virtualAuthenticator() func() []*webauthn.Credential {
	tb.t.Helper()
	var id webauthn.AuthenticatorID
	tb.do("add a virtual authenticator", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol:                    webauthn.AuthenticatorProtocolCtap2,
				Transport:                   webauthn.AuthenticatorTransportInternal,
				HasResidentKey:              true,
				HasUserVerification:         true,
				IsUserVerified:              true,
				AutomaticPresenceSimulation: true,
			},
		})
		id = res.AuthenticatorID
		return err
	}))
	return func() []*webauthn.Credential {
		tb.t.Helper()
		var creds []*webauthn.Credential
		tb.do("list the virtual authenticator's credentials", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			res, err := cdp.Call(ctx, t, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
			creds = res.Credentials
			return err
		}))
		return creds
	}
}

// TestPasskeyInTheBrowser registers a passkey through the SPA with Chromium's virtual
// authenticator, signs out, signs in with it without typing an email, and uses the session:
// profile, a silent refresh, a reload, log out.
func TestPasskeyInTheBrowser(t *testing.T) {
	b := newBrowser(t) // first: it skips without Chromium
	s := startServerAt(t, "localhost", map[string]string{"WEBAUTHN_RP_ID": "localhost"})
	tb := b.openApp(t, s, "/")
	credentials := tb.virtualAuthenticator()
	email := uniqueEmail("passkey")
	register(t, tb, email)

	// Add a passkey on the account screen.
	tb.waitFor("the passkey list is empty", `document.querySelector('[data-test="passkeys"]') && document.querySelectorAll('[data-test="passkeys"] tr').length === 0`)
	tb.submit("add-passkey", map[string]string{"name": "Virtual key"})
	tb.waitFor("the passkey list shows the new passkey",
		`[...document.querySelectorAll('[data-test="passkey-name"]')].map((td) => td.textContent).join() === "Virtual key"`)
	if got := tb.text(`[data-test="passkey-last-used"]`); got != "never" {
		t.Errorf("a new passkey's last use shows %q, want never", got)
	}
	passkeyID := eval[string](tb, `document.querySelector("[data-passkey-id]").dataset.passkeyId`)
	creds := credentials()
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("the virtual authenticator holds %+v, want one resident credential for RP ID localhost", creds)
	}

	// Sign out, then sign in with the passkey: no email typed.
	tb.click(`[data-test="logout"]`)
	tb.waitSignedOut()
	tb.click(`[data-test="passkey-login"]`)
	tb.waitSignedIn(email)
	if code := tb.shownError(); code != "" {
		t.Fatalf("after a passkey sign-in the page shows error %s, want none", code)
	}
	if lines := tb.activity(); !slices.Contains(lines, "POST /api/auth/passkeys/login/options → 200") || !slices.Contains(lines, "POST /api/auth/passkeys/login → 200") {
		t.Errorf("API calls = %q, want a passkey login (options and finish), both 200", lines)
	}
	if got := tb.text(`[data-test="profile-user-id"]`); len(got) != 36 {
		t.Errorf("GET /api/profile userId shown as %q after a passkey sign-in, want a UUID", got)
	}
	tb.waitFor("the passkey shows a last use", `document.querySelector('[data-test="passkey-last-used"]')?.textContent !== "never"`)
	if creds := credentials(); len(creds) != 1 || creds[0].SignCount < 1 {
		t.Errorf("after the sign-in the virtual credential is %+v, want its signature counter moved", creds)
	}

	// The session is a normal one: the access token expires and is refreshed silently, and a
	// reload restores the session from the refresh cookie.
	before := len(tb.activity())
	s.clock.Advance(s.accessTTL + 1)
	tb.click(`[data-test="reload"]`)
	if lines := tb.waitActivity(before + len(expiredThenRefreshed))[before:]; !sameLines(lines, expiredThenRefreshed) {
		t.Errorf("after the access token of the passkey session expired, the calls were %q, want %q", lines, expiredThenRefreshed)
	}
	tb.waitSignedIn(email)
	tb.reloadApp()
	tb.waitSignedIn(email)

	// Log out: the passkey session ends like any other.
	tb.click(`[data-test="logout"]`)
	tb.waitSignedOut()
	tb.reloadApp()
	tb.waitSignedOut()

	// The server recorded one passkey login of the user, naming the passkey.
	u, err := s.app.Store.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatalf("UserByEmail(%s): %v", email, err)
	}
	s.app.Stop() // writes the queued audit events
	events, err := s.app.Store.AuditEvents(t.Context(), models.AuditFilter{UserID: u.ID, Type: models.AuditLoginSucceeded})
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	passkeyLogins := 0
	for _, ev := range events {
		var d struct{ Method, PasskeyID string }
		if json.Unmarshal([]byte(ev.Detail), &d) == nil && d.Method == "passkey" && d.PasskeyID == passkeyID {
			passkeyLogins++
		}
	}
	if passkeyLogins != 1 {
		t.Errorf("login_succeeded events of the user = %+v, want one with detail.method passkey and passkeyId %s", events, passkeyID)
	}
}
