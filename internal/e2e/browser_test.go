package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium package; CI installs it (.ci/run).
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds one browser step (navigate, wait for text, run a script). It only turns a hang
// into a failure; no test asserts how long anything takes.
const stepTimeout = 60 * time.Second

// browser is one headless Chromium with a fresh profile. Its tabs share cookies, as the tabs of
// one user's browser do.
type browser struct {
	ctx context.Context // the first tab's context; new tabs are its children
}

// newBrowser starts headless Chromium with a profile in t.TempDir() and closes it in t.Cleanup.
// Without the chromium binary the test is skipped, or fails when CI=true.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (%v); CI must install the chromium package", chromiumPath, err)
		}
		t.Skipf("skipping browser test: %s is missing (apt-get install chromium)", chromiumPath)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Do starts the browser and binds its life to ctx (so no deadline here).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return &browser{ctx: ctx}
}

// tab is one browser tab. Its methods fail the test on error and name what they were doing.
type tab struct {
	t        *testing.T
	ctx      context.Context
	problems *problemLog
}

// open opens a new tab at url and waits until the page has loaded. Uncaught exceptions and
// security messages (CSP violations) of the page fail the test.
func (b *browser) open(t *testing.T, url string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, problems: &problemLog{}}
	if err := chromedp.Listen(ctx, tb.problems.listen); err != nil {
		t.Fatalf("listen to tab events: %v", err)
	}
	t.Cleanup(func() {
		if msgs := tb.problems.list(); len(msgs) > 0 {
			t.Errorf("the page reported problems:\n%s", strings.Join(msgs, "\n"))
		}
	})
	tb.do("navigate to "+url, chromedp.Navigate(url))
	return tb
}

// do runs browser actions within stepTimeout and fails the test with what on error.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// eval runs a JavaScript expression in the page, awaits it when it is a promise, and decodes
// its value into T.
func eval[T any](tb *tab, expression string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expression, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is truthy; describe says what is awaited.
func (tb *tab) waitFor(describe, expression string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("Boolean("+expression+")", chromedp.WithPollingTimeout(0))); err != nil {
		tb.t.Fatalf("wait until %s (%s): %v\npage text:\n%s", describe, expression, err, tb.pageText())
	}
}

// text waits until an element matching the CSS selector is visible and returns its text.
func (tb *tab) text(selector string) string {
	tb.t.Helper()
	tb.do("wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		tb.t.Fatalf("read text of %s: %v", selector, err)
	}
	return strings.TrimSpace(s)
}

// click clicks the first element matching the CSS selector once it is visible.
func (tb *tab) click(selector string) {
	tb.t.Helper()
	tb.do("click "+selector, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// pageText is the visible text of the page, for failure messages. It never fails.
func (tb *tab) pageText() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return fmt.Sprintf("(unreadable: %v)", err)
	}
	return s
}

// problemLog collects what a page must never produce: uncaught exceptions (and unhandled
// rejections) and security messages such as a Content-Security-Policy violation.
type problemLog struct {
	mu   sync.Mutex
	msgs []string
}

// listen is a chromedp.Listen func: it runs in the tab's event loop, so it only appends.
func (l *problemLog) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = fmt.Sprintf("uncaught %s:%d: %s", d.URL, d.LineNumber+1, d.Text)
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Source != cdplog.EntrySourceSecurity {
			return
		}
		msg = fmt.Sprintf("security message %s: %s", ev.Entry.URL, ev.Entry.Text)
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, msg)
}

// list returns the problems seen so far.
func (l *problemLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.msgs)
}

// typeInto empties the input matching the CSS selector and types text into it, key by key.
func (tb *tab) typeInto(selector, text string) {
	tb.t.Helper()
	tb.do("type into "+selector,
		chromedp.WaitVisible(chromedp.CSS(selector)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(selector)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(selector), text, chromedp.NodeVisible))
}

// reload reloads the page, as the browser's reload button does.
func (tb *tab) reload() {
	tb.t.Helper()
	tb.do("reload", chromedp.Reload())
}

// jsString quotes s as a JavaScript string literal (a JSON string is one).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
