// Package e2e drives the example SPA (examples/spa) in real headless Chromium against the real
// server; everything is in its tests. They skip when /usr/bin/chromium is missing, and fail
// then when CI=true.
//
// The harness, for browser steps of new features (email links, a second factor, passkeys):
//
//	b := newBrowser(t)                      // first (it skips without Chromium); its tabs share cookies
//	s := startServer(t, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"}) // env overrides
//	tb := b.openApp(t, s, "/")              // a tab on the SPA, started (session restored or not)
//	tb.submit("login", map[string]string{"email": e, "password": p}) // form[data-form=login]
//	tb.waitSignedIn(e)                      // or tb.waitFor("what", `JS expression`)
//	got := tb.text(`[data-test="me-email"]`) // visible text; eval[T](tb, `JS`) for any value
//	s.clock.Advance(s.accessTTL + 1)        // the server's clock: expire tokens without sleeping
//	s.stop()                                // the server goes away (calls get no answer)
//
// startServer builds the server as `server serve` does (internal/app, SQLite, the SPA on) on
// 127.0.0.1 at a random port with CLIENT_URL set to its own origin; s.watch sees the server's
// answers (to foreign origins, to held refreshes). tb.activity() lists the SPA's API calls.
package e2e
