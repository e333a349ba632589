package e2e

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// testPassword passes the server's password policy.
const testPassword = "violet-Lantern-harbor-42"

// expiredThenRefreshed are the calls of the account screen's "Reload" once the access token has
// expired: four refused calls, ONE refresh shared by them, and the four calls again.
var expiredThenRefreshed = []string{
	"GET /api/me → 401 TOKEN_EXPIRED", "GET /api/profile → 401 TOKEN_EXPIRED", "GET /api/auth/sessions → 401 TOKEN_EXPIRED",
	"GET /api/auth/passkeys → 401 TOKEN_EXPIRED",
	"POST /api/auth/refresh → 200",
	"GET /api/me → 200", "GET /api/profile → 200", "GET /api/auth/sessions → 200", "GET /api/auth/passkeys → 200",
}

// register creates an account through the SPA's form, which then signs in with it.
func register(t *testing.T, tb *tab, email string) {
	t.Helper()
	tb.waitSignedOut()
	tb.submit("register", map[string]string{"email": email, "password": testPassword})
	tb.waitSignedIn(email)
}

// signedUp starts a server and a browser, and registers a new user named after name through the
// SPA in a first tab, which is then signed in.
func signedUp(t *testing.T, name string) (*server, *browser, *tab, string) {
	t.Helper()
	b := newBrowser(t) // first: it skips without Chromium
	s := startServer(t, nil)
	tb := b.openApp(t, s, "/")
	email := uniqueEmail(name)
	register(t, tb, email)
	return s, b, tb, email
}

func TestSignInRefreshReloadLogout(t *testing.T) {
	s, _, tb, email := signedUp(t, "spa")
	if got := tb.text(`[data-test="profile-user-id"]`); len(got) != 36 {
		t.Errorf("GET /api/profile userId shown as %q, want a UUID", got)
	}
	tb.waitFor("the sessions table lists this one session, marked current",
		`document.querySelectorAll('[data-test="sessions"] tr').length === 1 && document.querySelector('[data-test="sessions"] tr[data-current="true"]')`)

	// The access token lives only in memory: no storage holds anything and the refresh cookie is
	// invisible to scripts (HttpOnly).
	if got := eval[string](tb, `JSON.stringify([localStorage.length, sessionStorage.length, document.cookie])`); got != `[0,0,""]` {
		t.Errorf("[localStorage.length, sessionStorage.length, document.cookie] = %s, want [0,0,\"\"]", got)
	}

	// The access token expires; the next screen load gets 401 TOKEN_EXPIRED on its three calls,
	// which share ONE refresh and are retried.
	before := len(tb.activity())
	s.clock.Advance(s.accessTTL + 1)
	tb.click(`[data-test="reload"]`)
	if lines := tb.waitActivity(before + len(expiredThenRefreshed))[before:]; !sameLines(lines, expiredThenRefreshed) {
		t.Errorf("after the access token expired, the calls were\n%s\nwant (in any order)\n%s",
			strings.Join(lines, "\n"), strings.Join(expiredThenRefreshed, "\n"))
	}
	tb.waitSignedIn(email)
	if code := tb.shownError(); code != "" {
		t.Errorf("after a silent refresh the page shows error %s, want none", code)
	}

	// A reload forgets the access token; the refresh cookie brings the session back.
	tb.reloadApp()
	tb.waitSignedIn(email)
	if got := tb.activity(); len(got) == 0 || got[0] != "POST /api/auth/refresh → 200" {
		t.Errorf("after a reload the first call was %q, want POST /api/auth/refresh → 200", got)
	}

	// Log out: the session ends and the cookie is cleared, so a reload finds nobody.
	tb.click(`[data-test="logout"]`)
	tb.waitSignedOut()
	tb.reloadApp()
	tb.waitSignedOut()
	if got := tb.activity(); len(got) == 0 || got[0] != "POST /api/auth/refresh → 401 NO_REFRESH_TOKEN" {
		t.Errorf("after logout and a reload the first call was %q, want POST /api/auth/refresh → 401 NO_REFRESH_TOKEN", got)
	}

	// Sign in again with the form.
	tb.submit("login", map[string]string{"email": email, "password": testPassword})
	tb.waitSignedIn(email)
}

func TestTwoTabsRefreshAtOnce(t *testing.T) {
	b := newBrowser(t) // first: it skips without Chromium
	s := startServer(t, nil)
	first := b.openApp(t, s, "/")
	second := b.openApp(t, s, "/")
	email := uniqueEmail("tabs")
	register(t, first, email)
	second.waitSignedIn(email) // told by the first tab, signed in through the shared cookie

	// Both access tokens expire; both tabs refresh with the same cookie, both requests in flight
	// before either is answered (the watch holds them until both have arrived).
	tabs := []*tab{first, second}
	before := []int{len(first.activity()), len(second.activity())}
	s.clock.Advance(s.accessTTL + 1)
	answers := s.watch.holdRefreshes(t, 2)
	for _, tb := range tabs {
		tb.click(`[data-test="reload"]`)
	}
	got := answers()
	for i, a := range got {
		if a.status != http.StatusOK || a.setCookie == "" || !a.withCookie {
			t.Errorf("racing refresh %d: status %d, cookie sent %v, new cookie %q; want 200 with a new cookie", i+1, a.status, a.withCookie, a.setCookie)
		}
	}
	if len(got) == 2 && got[0].setCookie != got[1].setCookie {
		t.Errorf("racing refreshes got different refresh tokens; want the same one for both tabs")
	}
	for i, tb := range tabs {
		if lines := tb.waitActivity(before[i] + len(expiredThenRefreshed))[before[i]:]; !sameLines(lines, expiredThenRefreshed) {
			t.Errorf("tab %d: after the access token expired, the calls were\n%s\nwant (in any order)\n%s",
				i+1, strings.Join(lines, "\n"), strings.Join(expiredThenRefreshed, "\n"))
		}
		tb.waitSignedIn(email)
		if code := tb.shownError(); code != "" {
			t.Errorf("tab %d: after racing refreshes the page shows error %s, want none", i+1, code)
		}
	}

	// The race was no token reuse: both tabs stay signed in across reloads.
	for _, tb := range tabs {
		tb.reloadApp()
		tb.waitSignedIn(email)
	}

	// Logging out in one tab signs the other out at once.
	first.click(`[data-test="logout"]`)
	first.waitSignedOut()
	second.waitSignedOut()
}

func TestEndAnotherSession(t *testing.T) {
	s, _, tb, email := signedUp(t, "sessions")

	// A second session of the same user, from a native client.
	other := s.login(t, email, testPassword)
	tb.click(`[data-test="reload"]`)
	tb.waitFor("two sessions are listed", `document.querySelectorAll('[data-test="sessions"] tr').length === 2`)

	tb.click(`[data-test="sessions"] tr[data-current="false"] button`)
	tb.waitFor("one session is left", `document.querySelectorAll('[data-test="sessions"] tr').length === 1`)
	if status, code := s.get(t, "/api/profile", other); status != http.StatusUnauthorized || code != "TOKEN_REVOKED" {
		t.Errorf("GET /api/profile with the ended session's token = %d %s, want 401 TOKEN_REVOKED", status, code)
	}

	// Ending the current session signs this tab out, and a reload finds nobody.
	tb.click(`[data-test="sessions"] tr[data-current="true"] button`)
	tb.waitSignedOut()
	tb.reloadApp()
	tb.waitSignedOut()
}

func TestForeignOriginRefused(t *testing.T) {
	s, b, tb, email := signedUp(t, "csrf")

	// A page of another origin on the same host (so the same site: the SameSite=Strict cookie
	// still comes along) tries to use the signed-in user's session.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>elsewhere</title><p>another origin</p>"))
	}))
	t.Cleanup(evil.Close)
	page := b.open(t, evil.URL+"/")
	results := eval[[]string](page, `Promise.all([
		fetch(`+jsString(s.url+"/api/auth/refresh")+`, {method: "POST", credentials: "include"}),
		fetch(`+jsString(s.url+"/api/profile")+`, {credentials: "include", headers: {Authorization: "Bearer x"}}),
	].map((p) => p.then((r) => "answered " + r.status, (e) => "refused: " + e.name)))`)
	for i, r := range results {
		if r != "refused: TypeError" {
			t.Errorf("foreign page's fetch %d = %q, want the browser to refuse it (TypeError)", i+1, r)
		}
	}

	seenByServer := s.watch.foreignRequests()
	wantSeen := []seen{
		{method: "POST", path: "/api/auth/refresh", withCookie: true, status: http.StatusForbidden, code: "CSRF_REJECTED"},
		{method: "OPTIONS", path: "/api/profile", withCookie: false, status: http.StatusForbidden, code: "ORIGIN_NOT_ALLOWED"},
	}
	for _, w := range wantSeen {
		if !slices.Contains(seenByServer, w) {
			t.Errorf("the server did not answer %s %s from the foreign origin with %d %s (cookie sent: %v); it saw %+v",
				w.method, w.path, w.status, w.code, w.withCookie, seenByServer)
		}
	}

	// The refused refresh changed nothing: the SPA's session still refreshes.
	tb.reloadApp()
	tb.waitSignedIn(email)
}

// sameLines reports whether a and b hold the same lines, in any order.
func sameLines(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestErrorsShown(t *testing.T) {
	b := newBrowser(t) // first: it skips without Chromium
	s := startServer(t, nil)
	tb := b.openApp(t, s, "/")
	email := uniqueEmail("errors")

	tests := []struct {
		name, form string
		values     map[string]string
		code       string
		check      func(banner string) bool // on the banner's text
		want       string
	}{
		{"password too short", "register", map[string]string{"email": email, "password": "short"}, "VALIDATION_ERROR",
			func(b string) bool { return strings.Contains(b, "(HTTP 400)password: ") }, "the details naming the password field"},
		{"unknown account", "login", map[string]string{"email": email, "password": testPassword}, "INVALID_CREDENTIALS",
			func(b string) bool { return b == "Sign in: INVALID_CREDENTIALS invalid email or password (HTTP 401)" }, "exactly what failed, code, message and status"},
	}
	for _, tt := range tests {
		tb.reloadApp() // empty forms, no banner
		tb.submit(tt.form, tt.values)
		tb.waitFor("the error banner shows "+tt.code, `document.querySelector('[data-test="error-code"]')?.textContent === `+jsString(tt.code))
		if banner := tb.bannerText(); !tt.check(banner) {
			t.Errorf("%s: the error banner reads %q, want %s", tt.name, banner, tt.want)
		}
	}

	tb.reloadApp()
	register(t, tb, email)
	tb.click(`[data-test="logout"]`)
	tb.waitSignedOut()
	tb.submit("register", map[string]string{"email": email, "password": testPassword})
	tb.waitFor("the error banner shows EMAIL_TAKEN", `document.querySelector('[data-test="error-code"]')?.textContent === "EMAIL_TAKEN"`)

	// With the server gone, calls fail without an answer; that is shown, and signs nobody out.
	tb.submit("login", map[string]string{"email": email, "password": testPassword})
	tb.waitSignedIn(email)
	s.stop()
	tb.click(`[data-test="reload"]`)
	tb.waitFor("the error banner shows NETWORK_ERROR", `document.querySelector('[data-test="error-code"]')?.textContent === "NETWORK_ERROR"`)
	if banner := tb.bannerText(); !strings.HasSuffix(banner, "(no answer)") {
		t.Errorf("with the server gone the error banner reads %q, want it to end in (no answer)", banner)
	}
	tb.waitSignedIn(email)
}

func TestChangePasswordAndLogoutEverywhere(t *testing.T) {
	s, _, tb, email := signedUp(t, "password")
	other := s.login(t, email, testPassword) // another session, from a native client
	const newPassword = "amber-Quarry-lantern-77"

	// A wrong current password is shown, and does not sign this page out.
	tb.submit("password", map[string]string{"currentPassword": "not-the-password-1", "newPassword": newPassword})
	tb.waitFor("the error banner shows INVALID_CREDENTIALS", `document.querySelector('[data-test="error-code"]')?.textContent === "INVALID_CREDENTIALS"`)
	if got := tb.activity(); got[len(got)-1] != "POST /api/auth/password → 401 INVALID_CREDENTIALS" {
		t.Errorf("last call = %q, want POST /api/auth/password → 401 INVALID_CREDENTIALS and nothing after it", got[len(got)-1])
	}
	tb.waitSignedIn(email)

	// The right one changes it and ends every other session.
	tb.submit("password", map[string]string{"currentPassword": testPassword, "newPassword": newPassword})
	tb.waitFor("the password change is confirmed", `document.querySelector('[data-test="notice"]') !== null`)
	tb.waitFor("one session is left", `document.querySelectorAll('[data-test="sessions"] tr').length === 1`)
	if status, code := s.get(t, "/api/profile", other); status != http.StatusUnauthorized || code != "TOKEN_REVOKED" {
		t.Errorf("GET /api/profile with another session's token after the password change = %d %s, want 401 TOKEN_REVOKED", status, code)
	}

	// Log out everywhere ends this session and every other one.
	other = s.login(t, email, newPassword)
	tb.click(`[data-test="logout-all"]`)
	tb.waitSignedOut()
	if status, code := s.get(t, "/api/profile", other); status != http.StatusUnauthorized || code != "TOKEN_REVOKED" {
		t.Errorf("GET /api/profile with another session's token after logout-all = %d %s, want 401 TOKEN_REVOKED", status, code)
	}
	tb.submit("login", map[string]string{"email": email, "password": newPassword})
	tb.waitSignedIn(email)
}
