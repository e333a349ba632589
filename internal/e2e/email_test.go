package e2e

import (
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/mail/mailtest"
)

// mailServer starts an SMTP server on loopback and a server that mails through it, its links
// leading to the SPA it serves.
func mailServer(t *testing.T) (*server, *mailtest.Server) {
	t.Helper()
	smtp := mailtest.Start(t, mailtest.Options{Security: mailtest.Plain})
	s := startServer(t, map[string]string{"SMTP_URL": smtp.URL(), "MAIL_FROM": "SPA test <no-reply@example.com>"})
	return s, smtp
}

// linkIn waits for the next mail to email and returns its link to page, which must lead to the
// server's own SPA.
func linkIn(t *testing.T, s *server, smtp *mailtest.Server, email, page string) string {
	t.Helper()
	for {
		m := smtp.Next(t)
		if len(m.To) != 1 || m.To[0] != email {
			continue
		}
		link, err := m.Link(page)
		if err != nil {
			continue // another mail to the same address (the notice of a change has no link)
		}
		if !strings.HasPrefix(link, s.url+page+"#token=") {
			t.Fatalf("link %q, want one to %s%s", link, s.url, page)
		}
		return link
	}
}

// tokenGone checks that the page dropped the token from its address.
func tokenGone(t *testing.T, tb *tab) {
	t.Helper()
	if href := eval[string](tb, "location.href"); strings.Contains(href, "token") {
		t.Errorf("address after opening the link = %q, want the token dropped", href)
	}
}

// Registration mails a link; opening it in the browser confirms the address.
func TestVerifyEmailLink(t *testing.T) {
	b := newBrowser(t) // first: it skips without Chromium
	s, smtp := mailServer(t)
	tb := b.openApp(t, s, "/")
	email := uniqueEmail("verify")
	register(t, tb, email)
	tb.waitFor("the account screen says the address is not verified", `document.querySelector('[data-test="me"]')?.textContent.includes("Email verifiedno")`)

	link := b.open(t, linkIn(t, s, smtp, email, "/verify-email"))
	link.waitFor("the address confirmed", `document.querySelector('[data-test="verified-email"]')?.textContent === `+jsString(email))
	tokenGone(t, link)
	link.reloadApp() // the link is spent: the page, reloaded without its token, asks for a new one
	link.waitFor("a form to ask for a new link", `!!document.querySelector('form[data-form="resend"]')`)

	tb.reloadApp()
	tb.waitFor("the account screen says the address is verified", `document.querySelector('[data-test="me"]')?.textContent.includes("Email verifiedyes")`)
}

// Forgot password: the form, the mailed link, a refused password, then a good one; the old
// session ends and the new password signs in.
func TestPasswordResetLink(t *testing.T) {
	b := newBrowser(t)
	s, smtp := mailServer(t)
	tb := b.openApp(t, s, "/")
	email := uniqueEmail("reset")
	register(t, tb, email)
	linkIn(t, s, smtp, email, "/verify-email")

	other := b.openApp(t, s, "/")
	other.click(`[data-test="logout"]`) // signs out both tabs (they share the cookie): start afresh in one
	other.waitSignedOut()
	other.click(`[data-test="forgot"]`)
	other.submit("forgot", map[string]string{"email": email})
	other.waitFor("the answer shown", `document.querySelector("#error .notice")?.textContent.includes("on its way")`)

	reset := b.open(t, linkIn(t, s, smtp, email, "/reset-password"))
	reset.waitReady()
	tokenGone(t, reset)
	reset.submit("reset", map[string]string{"newPassword": "password"})
	reset.waitFor("the refused password", `document.querySelector('[data-test="error-code"]')?.textContent === "VALIDATION_ERROR"`)
	eval[string](reset, `document.querySelector('form[data-form="reset"] input').value = ""`)
	const newPassword = "amber-Otter-compass-77"
	reset.submit("reset", map[string]string{"newPassword": newPassword})
	reset.waitFor("back on the sign-in screen with a notice", `!!document.querySelector('form[data-form="login"]') && document.querySelector("#error .notice")?.textContent.includes("sign in with the new password")`)
	reset.submit("login", map[string]string{"email": email, "password": newPassword})
	reset.waitSignedIn(email)
}

// Change of address: the form on the account screen, the link to the new address, the notice
// without a link to the old one.
func TestChangeEmailLink(t *testing.T) {
	b := newBrowser(t)
	s, smtp := mailServer(t)
	tb := b.openApp(t, s, "/")
	email, newEmail := uniqueEmail("old"), uniqueEmail("new")
	register(t, tb, email)
	linkIn(t, s, smtp, email, "/verify-email")

	tb.submit("change-email", map[string]string{"newEmail": newEmail, "password": testPassword})
	tb.waitFor("the answer shown", `document.querySelector("#error .notice")?.textContent.includes("confirmation link")`)
	var confirm string
	for range 2 {
		m := smtp.Next(t)
		switch m.To[0] {
		case email:
			if links, _ := m.Links(); len(links) != 0 {
				t.Errorf("the notice to the old address holds links %q", links)
			}
		case newEmail:
			link, err := m.Link("/confirm-email")
			if err != nil {
				t.Fatal(err)
			}
			confirm = link
		}
	}
	page := b.open(t, confirm)
	page.waitFor("the new address shown", `document.querySelector('[data-test="confirmed-email"]')?.textContent === `+jsString(newEmail))
	tokenGone(t, page)
	tb.reloadApp()
	tb.waitSignedIn(newEmail)
}
