package server_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Swagger UI (swagger-ui-dist 5) selectors. An operation's block has the id
// operations-{tag}-{operationId}.
const (
	opListItems  = "#operations-ItemService-ItemService_ListItems"
	opCreateItem = "#operations-ItemService-ItemService_CreateItem"
	opGetInfo    = "#operations-InfoService-InfoService_GetInfo"

	selTopAuthorize   = ".scheme-container .auth-wrapper button.authorize"
	selModal          = ".dialog-ux .modal-ux"
	selModalScheme    = selModal + " .auth-container"
	selModalAuthorize = selModalScheme + " .auth-btn-wrapper button.authorize"
	selModalClose     = selModalScheme + " .auth-btn-wrapper button.btn-done"
	selLiveStatus     = " .live-responses-table .response .response-col_status"
	selLiveDetails    = " .live-responses-table .response .response-col_description"
)

// screenshotPath is where the browser test saves its picture of Swagger UI:
// the git-ignored .cache/ by default, or, with UPDATE_SCREENSHOT=1 (make
// screenshot), the README's docs/swagger-ui.png.
func screenshotPath() string {
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		return "../docs/swagger-ui.png"
	}
	return "../.cache/swagger-ui.png"
}

// TestSwaggerUIInBrowser drives Swagger UI in headless Chromium against the
// dev server: a call before signing in is refused (401); alice signs in
// through the embedded provider's sign-in page in a popup (authorization code
// + PKCE) and lists items (200); her token goes to the anonymous GetInfo too,
// which names her; bob, in a browser context of his own, signs in and may not
// create items (403).
func TestSwaggerUIInBrowser(t *testing.T) {
	srv, _, serverLogs := startDev(t)
	b, browserCtx := startBrowser(t, srv.HTTPURL(), serverLogs)

	// Alice, in a browser context of her own.
	alice, closeAlice := b.newTab(browserCtx, "alice")
	defer closeAlice()
	b.openDocs(alice)
	// The rule of each operation shows, from its x-azureauth-rule.
	b.expand(alice, opCreateItem)
	if ext := b.text(alice, opCreateItem+" .opblock-body"); !strings.Contains(ext, "x-azureauth-rule") || !strings.Contains(ext, "scope Items.Write") {
		t.Errorf("CreateItem does not show its rule:\n%s", ext)
	}
	// Before signing in: refused, with the challenge that says how to sign in.
	b.execute(alice, opListItems, 401, "www-authenticate: Bearer")
	b.signIn(alice, "alice")
	b.clear(alice, opListItems)
	details := b.execute(alice, opListItems, 200, "Keyboard")
	if !strings.Contains(details, "Monitor") {
		t.Errorf("ListItems response lacks the seed items:\n%s", details)
	}
	curl := b.text(alice, opListItems+" .curl-command")
	if !strings.Contains(strings.ToLower(curl), "authorization: bearer ey") {
		t.Errorf("the request had no bearer token: %s", curl)
	}
	b.screenshot(alice, opListItems, screenshotPath())
	// Anonymous, with a token optional: Swagger UI sends alice's, and the
	// method sees her.
	b.execute(alice, opGetInfo, 200, `"caller": "`+aliceOID+`"`)

	// Bob may read but not write.
	bob, closeBob := b.newTab(browserCtx, "bob")
	defer closeBob()
	b.openDocs(bob)
	b.signIn(bob, "bob")
	b.execute(bob, opCreateItem, 403, "requires scope Items.Write")
}

// TestSwaggerUIOverHTTPSCallsTheAPIOverHTTPS loads Swagger UI from a server
// with TLS (and a tenant: development mode is plaintext) whose generated
// document listed schemes [http, https]: Swagger UI took the first, so
// every Try it out from an https page went to http. Now the document leaves
// the scheme to the page: alice signs in (PKCE, at the test identity
// provider) and her calls go over https.
func TestSwaggerUIOverHTTPSCallsTheAPIOverHTTPS(t *testing.T) {
	srv, serverLogs := startTLSWithSPA(t)
	if !strings.HasPrefix(srv.HTTPURL(), "https://") {
		t.Fatalf("the server is not on https: %s", srv.HTTPURL())
	}
	b, browserCtx := startBrowser(t, srv.HTTPURL(), serverLogs, chromedp.Flag("ignore-certificate-errors", true))

	alice, closeAlice := b.newTab(browserCtx, "alice")
	defer closeAlice()
	b.openDocs(alice)
	b.execute(alice, opListItems, 401, "www-authenticate: Bearer")
	if u := b.text(alice, opListItems+" .request-url pre"); u != srv.HTTPURL()+"/v1/items" {
		t.Errorf("Try it out called %q, want %s/v1/items", u, srv.HTTPURL())
	}
	b.signIn(alice, "alice")
	b.clear(alice, opListItems)
	b.execute(alice, opListItems, 200, "Keyboard")
	if u := b.text(alice, opListItems+" .request-url pre"); u != srv.HTTPURL()+"/v1/items" {
		t.Errorf("Try it out called %q, want %s/v1/items", u, srv.HTTPURL())
	}
	b.execute(alice, opGetInfo, 200, `"caller": "`+aliceOID+`"`)
	if calls := b.journal.apiRequests(); len(calls) == 0 || slices.ContainsFunc(calls, func(u string) bool { return !strings.HasPrefix(u, srv.HTTPURL()+"/") }) {
		t.Errorf("the browser's calls to the API: %q, want every one to %s", calls, srv.HTTPURL())
	}
}

// startBrowser starts headless Chromium for a test of Swagger UI at base;
// the test's failure messages show what the browser and the server logged.
func startBrowser(t *testing.T, base string, serverLogs fmt.Stringer, flags ...chromedp.ExecAllocatorOption) (*swaggerBrowser, context.Context) {
	t.Helper()
	chrome := findChromium(t)
	// Everything the browser does is bounded by ctx; the server's cleanup
	// adds at most 15s.
	ctx, cancel := context.WithTimeout(context.Background(), 70*time.Second)
	t.Cleanup(cancel)
	journal := &browserJournal{}
	opts := append(append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(journal.writer("chromium")),
	), flags...)
	// The allocator starts Chromium with a temporary --user-data-dir and
	// removes it when cancelled.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// The first run of a chromedp context starts the browser (or opens the
	// tab) for the lifetime of the context it is given: never a step's
	// shorter one. ctx bounds it.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting %s: %v\n%s", chrome, err, journal)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("browser journal:\n%s\nserver log:\n%s", journal, serverLogs)
		}
	})
	return &swaggerBrowser{t: t, base: base, journal: journal}, browserCtx
}

// findChromium returns the Chromium (or Chrome) binary; the test fails
// without one.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium, chromium-browser or google-chrome on PATH: the Swagger UI browser test needs one; `make browser-deps` installs Debian's chromium")
	return ""
}

// step runs actions with a deadline of their own.
func step(ctx context.Context, d time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// run runs an action that returns a value with a deadline of its own.
func run[T any](ctx context.Context, d time.Duration, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// poll waits, up to d, for a JavaScript function of one argument to return
// a truthy value, and returns it.
func poll[T any](ctx context.Context, d time.Duration, fn string, arg any) (T, error) {
	return run(ctx, d, chromedp.PollFunction[T](fn,
		chromedp.WithPollingArgs(arg),
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(d)))
}

type swaggerBrowser struct {
	t       *testing.T
	base    string
	journal *browserJournal
}

// newTab opens a tab in a new browser context (its own cookies and storage),
// sized 1280x900. Cancelling closes the tab and disposes of its context.
func (b *swaggerBrowser) newTab(browserCtx context.Context, name string) (context.Context, context.CancelFunc) {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx,
		chromedp.WithNewBrowserContext(),
		chromedp.WithListener(b.journal.listener(name)))
	// The first run opens the tab for the lifetime of ctx (see above).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		cancel()
		b.t.Fatalf("%s: new tab: %v", name, err)
	}
	return ctx, cancel
}

// openDocs loads Swagger UI and waits until it rendered the operations.
func (b *swaggerBrowser) openDocs(ctx context.Context) {
	b.t.Helper()
	if err := step(ctx, 20*time.Second,
		chromedp.Navigate(b.base+"/docs/"),
		chromedp.WaitVisible(chromedp.CSS(opListItems+" .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(opCreateItem+" .opblock-summary")),
		chromedp.WaitVisible(chromedp.CSS(selTopAuthorize)),
	); err != nil {
		b.t.Fatalf("Swagger UI did not render the operations: %v", err)
	}
}

var statusRE = regexp.MustCompile(`^\d{3}`)

// expand opens the operation's block, unless it is open.
func (b *swaggerBrowser) expand(ctx context.Context, op string) {
	b.t.Helper()
	expanded, err := run(ctx, 5*time.Second, chromedp.Evaluate[bool](
		fmt.Sprintf(`document.querySelector(%q) !== null`, op+" .opblock-body")))
	if err != nil {
		b.t.Fatal(err)
	}
	if !expanded {
		if err := step(ctx, 10*time.Second,
			chromedp.Click(chromedp.CSS(op+" .opblock-summary-control")),
			chromedp.WaitVisible(chromedp.CSS(op+" .try-out__btn")),
		); err != nil {
			b.t.Fatalf("expanding %s: %v", op, err)
		}
	}
}

// execute expands the operation (once), presses "Try it out" (once) and
// "Execute", waits for the live response, and checks its status and that its
// details contain want. It returns the details text.
func (b *swaggerBrowser) execute(ctx context.Context, op string, status int, want string) string {
	b.t.Helper()
	b.expand(ctx, op)
	tryOut, err := run(ctx, 5*time.Second, chromedp.Evaluate[bool](
		fmt.Sprintf(`document.querySelector(%q) !== null`, op+" button.execute")))
	if err != nil {
		b.t.Fatal(err)
	}
	if !tryOut {
		if err := step(ctx, 10*time.Second,
			chromedp.Click(chromedp.CSS(op+" .try-out__btn")),
			chromedp.WaitVisible(chromedp.CSS(op+" button.execute")),
		); err != nil {
			b.t.Fatalf("Try it out on %s: %v", op, err)
		}
	}
	if err := step(ctx, 10*time.Second, chromedp.Click(chromedp.CSS(op+" button.execute"))); err != nil {
		b.t.Fatalf("Execute on %s: %v", op, err)
	}
	// The live response appears once the call has completed: a status code
	// with the body and headers, or a fetch error.
	res, err := poll[[]string](ctx, 20*time.Second, `(op) => {
		const status = document.querySelector(op + `+"`"+selLiveStatus+"`"+`);
		const details = document.querySelector(op + `+"`"+selLiveDetails+"`"+`);
		if (!status || !details) return null;
		const code = status.textContent.trim();
		if (/^\d{3}/.test(code) && !details.innerText.includes("Response headers")) return null;
		return [code, details.innerText];
	}`, op)
	if err != nil || len(res) != 2 {
		b.t.Fatalf("no live response for %s: %v %q", op, err, res)
	}
	got := statusRE.FindString(res[0])
	if got != fmt.Sprint(status) {
		b.t.Fatalf("%s: Swagger UI shows status %q, want %d; response:\n%s", op, res[0], status, res[1])
	}
	if !strings.Contains(res[1], want) {
		b.t.Fatalf("%s: response lacks %q:\n%s", op, want, res[1])
	}
	return res[1]
}

// clear removes the operation's live response.
func (b *swaggerBrowser) clear(ctx context.Context, op string) {
	b.t.Helper()
	if err := step(ctx, 10*time.Second,
		chromedp.Click(chromedp.CSS(op+" button.btn-clear")),
		chromedp.WaitNotPresent(chromedp.CSS(op+" .live-responses-table")),
	); err != nil {
		b.t.Fatalf("clearing %s: %v", op, err)
	}
}

// text is the rendered text of the first element sel matches.
func (b *swaggerBrowser) text(ctx context.Context, sel string) string {
	b.t.Helper()
	s, err := run(ctx, 5*time.Second, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// signIn authorizes the entra scheme in the Authorize modal as user: the
// modal opens the provider's sign-in page in a popup, the user is picked
// there, the popup's redirect page hands the code back, and Swagger UI
// redeems it (PKCE).
func (b *swaggerBrowser) signIn(ctx context.Context, user string) {
	b.t.Helper()
	if err := step(ctx, 10*time.Second,
		chromedp.Click(chromedp.CSS(selTopAuthorize)),
		chromedp.WaitVisible(chromedp.CSS(selModalAuthorize)),
	); err != nil {
		b.t.Fatalf("opening the Authorize modal: %v", err)
	}
	scheme, err := run(ctx, 5*time.Second, chromedp.Evaluate[struct {
		Heading string   `json:"heading"`
		Scopes  []string `json:"scopes"`
		Checked []bool   `json:"checked"`
	}](`(() => {
		const c = [...document.querySelectorAll(`+"`"+selModalScheme+"`"+`)];
		const boxes = c.flatMap(e => [...e.querySelectorAll("input[type=checkbox][data-value]")]);
		return {
			heading: c.map(e => e.querySelector("h4").innerText).join(" | "),
			scopes: boxes.map(x => x.dataset.value),
			checked: boxes.map(x => x.checked),
		};
	})()`))
	if err != nil {
		b.t.Fatal(err)
	}
	if scheme.Heading != "entra (OAuth2, authorizationCode with PKCE)" {
		b.t.Fatalf("Authorize modal shows %q, want the entra OAuth2 scheme alone", scheme.Heading)
	}
	for _, want := range []string{"/Items.Read", "/Items.Write"} {
		if !slices.ContainsFunc(scheme.Scopes, func(s string) bool { return strings.HasSuffix(s, want) }) {
			b.t.Errorf("the entra scheme offers the scopes %q, none ending in %s", scheme.Scopes, want)
		}
	}
	for i, s := range scheme.Scopes {
		if !scheme.Checked[i] {
			b.t.Errorf("scope %s is not preselected", s)
		}
	}

	// The popup is a new page target opened by this tab.
	popupCtx, cancelWait := context.WithTimeout(ctx, 15*time.Second)
	defer cancelWait()
	popupID := chromedp.WaitNewTarget(popupCtx, func(info *target.Info) bool { return info.Type == "page" })
	if err := step(ctx, 10*time.Second, chromedp.Click(chromedp.CSS(selModalAuthorize))); err != nil {
		b.t.Fatalf("Authorize in the modal: %v", err)
	}
	var id target.ID
	select {
	case id = <-popupID:
	case <-popupCtx.Done():
	}
	if id == "" {
		b.t.Fatalf("no sign-in popup opened: %v", popupCtx.Err())
	}
	popup, cancelPopup := chromedp.NewContext(ctx, chromedp.WithTargetID(id),
		chromedp.WithListener(b.journal.listener(user+"-popup")))
	defer cancelPopup()
	if err := chromedp.Do(popup); err != nil {
		b.t.Fatalf("attaching to the sign-in popup: %v", err)
	}
	button := "#user-" + user
	if err := step(popup, 15*time.Second,
		chromedp.WaitVisible(chromedp.CSS(button)),
		chromedp.Click(chromedp.CSS(button)),
	); err != nil {
		b.t.Fatalf("sign-in page: %v", err)
	}

	// The modal shows the scheme as authorized, or an error.
	state, err := poll[string](ctx, 20*time.Second, `(sel) => {
		const c = document.querySelector(sel);
		if (!c) return "the modal closed";
		const errs = [...c.querySelectorAll(".errors")].map(e => e.innerText).join("; ");
		if (errs) return "error: " + errs;
		const h6 = c.querySelector("h6");
		const btn = c.querySelector(".auth-btn-wrapper button.authorize");
		if (h6 && h6.innerText.trim() === "Authorized" && btn && btn.innerText.trim() === "Logout") return "authorized";
		return null;
	}`, selModalScheme)
	if err != nil || state != "authorized" {
		b.t.Fatalf("signing in as %s: %v %s", user, err, state)
	}
	if err := step(ctx, 10*time.Second,
		chromedp.Click(chromedp.CSS(selModalClose)),
		chromedp.WaitNotPresent(chromedp.CSS(selModal)),
		chromedp.WaitVisible(chromedp.CSS(selTopAuthorize+".locked")),
	); err != nil {
		b.t.Fatalf("closing the Authorize modal: %v", err)
	}
}

// screenshot saves a 1280px wide PNG of the page from its top down to the
// bottom of the operation's live response.
func (b *swaggerBrowser) screenshot(ctx context.Context, op, path string) {
	b.t.Helper()
	// No hover or focus ring on the last button pressed. Swagger UI's
	// buttons animate (transition: all .3s): wait until nothing moves, so
	// that the picture shows the final layout.
	if err := step(ctx, 5*time.Second,
		chromedp.MouseEvent(chromedp.MouseMoved, 0, 0),
		chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`),
	); err != nil {
		b.t.Fatal(err)
	}
	if _, err := poll[bool](ctx, 10*time.Second, `() => document.getAnimations().length === 0`, nil); err != nil {
		b.t.Fatalf("Swagger UI kept animating: %v", err)
	}
	bottom, err := run(ctx, 5*time.Second, chromedp.Evaluate[float64](fmt.Sprintf(
		`Math.ceil(document.querySelector(%q).getBoundingClientRect().bottom + window.scrollY + 16)`,
		op+" .live-responses-table")))
	if err != nil {
		b.t.Fatal(err)
	}
	png, err := run(ctx, 15*time.Second, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		res, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			CaptureBeyondViewport: new(true),
			FromSurface:           new(true),
			Clip:                  &page.Viewport{X: 0, Y: 0, Width: 1280, Height: bottom, Scale: 1},
		})
		return res.Data, err
	})
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s: 1280x%.0f, %d KB", path, bottom, len(png)/1024)
}

// browserJournal collects what the browser reported (console, exceptions,
// failed and refused requests, Chromium's own output) for failure messages.
type browserJournal struct {
	mu    sync.Mutex
	lines []string
	api   []string // the URLs of the requests to /v1/
}

// apiRequests returns the URLs of the requests the browser sent to /v1/.
func (j *browserJournal) apiRequests() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.api)
}

func (j *browserJournal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lines = append(j.lines, fmt.Sprintf(format, args...))
}

func (j *browserJournal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return strings.Join(j.lines, "\n")
}

type journalWriter struct {
	j    *browserJournal
	name string
}

func (w journalWriter) Write(p []byte) (int, error) {
	for l := range strings.Lines(string(p)) {
		// Chromium complains about the missing D-Bus of a container: noise.
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, ":ERROR:dbus/") {
			w.j.add("%s: %s", w.name, l)
		}
	}
	return len(p), nil
}

func (j *browserJournal) writer(name string) journalWriter { return journalWriter{j, name} }

// listener records a tab's events. It runs in the tab's event loop: it must
// return fast and run no command.
func (j *browserJournal) listener(tab string) func(ev any) {
	return func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					args = append(args, string(a.Value))
				} else {
					args = append(args, a.Description)
				}
			}
			j.add("%s console.%s: %s", tab, ev.Type, strings.Join(args, " "))
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			j.add("%s exception: %s (%s:%d)", tab, msg, d.URL, d.LineNumber+1)
		case *cdplog.EventEntryAdded:
			j.add("%s log %s/%s: %s %s", tab, ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
		case *network.EventRequestWillBeSent:
			if u, err := url.Parse(ev.Request.URL); err == nil && strings.HasPrefix(u.Path, "/v1/") {
				j.mu.Lock()
				j.api = append(j.api, ev.Request.URL)
				j.mu.Unlock()
			}
			if strings.HasPrefix(ev.Request.URL, "http") && !strings.Contains(ev.Request.URL, "/docs/swagger-ui") {
				j.add("%s request: %s %s", tab, ev.Request.Method, ev.Request.URL)
			}
		case *network.EventResponseReceived:
			if strings.HasPrefix(ev.Response.URL, "http") && !strings.Contains(ev.Response.URL, "/docs/swagger-ui") {
				j.add("%s response: %d %s", tab, ev.Response.Status, ev.Response.URL)
			}
		case *network.EventLoadingFailed:
			cors := ""
			if ev.CorsErrorStatus != nil {
				cors = fmt.Sprintf(" cors=%s %s", ev.CorsErrorStatus.CorsError, ev.CorsErrorStatus.FailedParameter)
			}
			j.add("%s loading failed: %s %s blocked=%s canceled=%t%s", tab, ev.Type, ev.ErrorText, ev.BlockedReason, ev.Canceled, cors)
		}
	}
}
