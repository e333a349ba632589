package e2e

import (
	"strconv"
	"testing"
)

// Helpers that know the example SPA's markup: forms are form[data-form=NAME] with inputs named
// after the API's fields; values the tests read carry data-test attributes; the "API activity"
// panel (#activity) lists every call, newest first, as "METHOD PATH → STATUS [CODE]".

// openApp opens the SPA at path in a new tab and waits until it has started.
func (b *browser) openApp(t *testing.T, s *server, path string) *tab {
	t.Helper()
	tb := b.open(t, s.url+path)
	tb.waitReady()
	return tb
}

// waitReady waits until the SPA has restored its session (or found none) and rendered.
func (tb *tab) waitReady() {
	tb.t.Helper()
	tb.waitFor("the SPA has started", `document.body && document.body.dataset.ready === "true"`)
}

// reloadApp reloads the page and waits until the SPA has started again.
func (tb *tab) reloadApp() {
	tb.t.Helper()
	tb.reload()
	tb.waitReady()
}

// submit types values into the inputs of the SPA form named form and submits it.
func (tb *tab) submit(form string, values map[string]string) {
	tb.t.Helper()
	for name, v := range values {
		tb.typeInto(`form[data-form="`+form+`"] input[name="`+name+`"]`, v)
	}
	tb.click(`form[data-form="` + form + `"] button[type=submit]`)
}

// waitSignedIn waits until the account screen shows email and all its calls have answered.
func (tb *tab) waitSignedIn(email string) {
	tb.t.Helper()
	tb.waitFor("the account screen shows "+email+" and has loaded",
		`document.querySelector('[data-test="me-email"]')?.textContent === `+jsString(email)+
			` && document.getElementById("view").dataset.loading === "false"`)
}

// waitSignedOut waits until the sign-in form is shown.
func (tb *tab) waitSignedOut() {
	tb.t.Helper()
	tb.waitFor("the sign-in form is shown", `document.querySelector('form[data-form="login"]') !== null`)
}

// activity returns the lines of the "API activity" panel, oldest first.
func (tb *tab) activity() []string {
	tb.t.Helper()
	lines := eval[[]string](tb, `[...document.querySelectorAll("#activity li")].map((li) => li.textContent).reverse()`)
	return lines
}

// waitActivity waits until the activity panel holds at least n lines.
func (tb *tab) waitActivity(n int) []string {
	tb.t.Helper()
	tb.waitFor("the activity panel has "+strconv.Itoa(n)+" lines", `document.querySelectorAll("#activity li").length >= `+strconv.Itoa(n))
	return tb.activity()
}

// shownError returns the code in the error banner, or "" when no error is shown.
func (tb *tab) shownError() string {
	tb.t.Helper()
	return eval[string](tb, `document.getElementById("error").hidden ? "" : (document.querySelector('[data-test="error-code"]')?.textContent ?? "")`)
}

// bannerText returns the text of the error banner without its dismiss button.
func (tb *tab) bannerText() string {
	tb.t.Helper()
	return eval[string](tb, `[...document.getElementById("error").childNodes].filter((n) => n.nodeName !== "BUTTON").map((n) => n.textContent).join("")`)
}
