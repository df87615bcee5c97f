package integration_test

// This is the only file of the package that names the conflict package: the
// scenarios speak of endpoints, outcome and kind names ("merged",
// "stale_version") and error reasons, so that a change of the library's API
// is adapted here alone.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
	"github.com/go-conflict/conflict/preset"
)

// endpoint is the endpoint knowledge a scenario gives the client.
type endpoint struct {
	pattern string // "PUT /{db}/{id}"
	// mergeJSON: a stale write is merged three-way as a JSON document.
	mergeJSON bool
	// versionField is a JSON Pointer to a version in the body ("/_rev");
	// empty means the version travels as an ETag / If-Match.
	versionField string
}

// A server's preset (package preset): its name and the URL its API lives
// under, whose path is the preset's prefix.
type serverPreset struct {
	name string // "couchdb", "azure-blob"
	base string // CONFLICT_COUCHDB_URL, CONFLICT_AZURITE_URL
}

// options returns the preset's options.
func (p serverPreset) options(t testing.TB) []conflict.Option {
	u, err := url.Parse(p.base)
	if err != nil {
		t.Fatal(err)
	}
	prefix := u.EscapedPath()
	switch p.name {
	case "couchdb":
		return preset.CouchDB(prefix)
	case "azure-blob":
		return preset.AzureBlob(prefix)
	}
	t.Fatalf("no preset %q", p.name)
	return nil
}

// presetClassify classifies resp as a client with the preset would (its
// reason codes), with no rules; see classify.
func presetClassify(t testing.TB, p serverPreset, resp *http.Response) (kind, code string, ok bool) {
	var cl conflict.Classifier
	if p.name == "azure-blob" {
		cl.Reasons = preset.AzureBlobReasons()
	}
	cf, _ := cl.Classify(resp)
	if cf == nil {
		return "", "", false
	}
	return cf.Kind.String(), cf.Reason, true
}

// libClient is a conflict.Client plus the steps it reported.
type libClient struct {
	c      *conflict.Client
	mu     sync.Mutex
	events []conflict.Event
	// onWait, if set, runs synchronously at every wait step.
	onWait func()
}

// newLibClient returns a client that sends through rt, with the endpoints'
// rules and default limits.
func newLibClient(t testing.TB, rt http.RoundTripper, eps ...endpoint) *libClient {
	t.Helper()
	l := &libClient{}
	opts := []conflict.Option{
		conflict.WithHTTPClient(&http.Client{Transport: rt}),
		conflict.WithHook(l.hook),
	}
	for _, ep := range eps {
		var r conflict.Rule
		if ep.mergeJSON {
			r.Merge = jsonmerge.Merge
		}
		if ep.versionField != "" {
			r.Versions = []conflict.Version{{Send: conflict.Field(ep.versionField)}}
		}
		opts = append(opts, conflict.WithRule(ep.pattern, r))
	}
	l.c = conflict.New(opts...)
	t.Cleanup(l.c.CloseIdleConnections)
	return l
}

// newPresetClient returns a client that sends through rt, configured by
// the server's preset alone, with default limits.
func newPresetClient(t testing.TB, rt http.RoundTripper, p serverPreset) *libClient {
	t.Helper()
	l := &libClient{}
	opts := append(p.options(t),
		conflict.WithHTTPClient(&http.Client{Transport: rt}),
		conflict.WithHook(l.hook))
	l.c = conflict.New(opts...)
	t.Cleanup(l.c.CloseIdleConnections)
	return l
}

func (l *libClient) hook(_ context.Context, ev conflict.Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	onWait := l.onWait
	l.mu.Unlock()
	if ev.Step == conflict.StepWait && onWait != nil {
		onWait()
	}
}

// Do sends req through the client.
func (l *libClient) Do(req *http.Request) (*http.Response, error) { return l.c.Do(req) }

// resetSteps forgets the steps reported so far.
func (l *libClient) resetSteps() {
	l.mu.Lock()
	l.events = nil
	l.mu.Unlock()
}

// steps returns the steps reported since the last reset, as
// "classified(stale_version ConditionNotMet)", "refresh", "wait(120ms)"...
func (l *libClient) steps() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.events {
		s := ev.Step.String()
		switch ev.Step {
		case conflict.StepConflict:
			s += "(" + ev.Kind.String() + " " + ev.Reason + ")"
		case conflict.StepWait:
			s += "(" + ev.Wait.String() + ")"
		case conflict.StepDone, conflict.StepAbort:
			s += "(" + ev.Outcome.String() + ")"
		}
		out = append(out, s)
	}
	return out
}

// stepCount counts the steps named name ("wait", "refresh", "merge"...)
// since the last reset.
func (l *libClient) stepCount(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if ev.Step.String() == name {
			n++
		}
	}
	return n
}

// result is what the client reports about one call.
type result struct {
	Outcome  string // "merged", "adopted", "created", "aborted"...
	Attempts int
	Kind     string // kind of the last conflict met, or ""
}

// resultOf reports what the client did to produce resp.
func resultOf(resp *http.Response) (result, bool) {
	r := conflict.ResultOf(resp)
	if r == nil {
		return result{}, false
	}
	out := result{Outcome: r.Outcome.String(), Attempts: r.Attempts}
	if r.Conflict != nil {
		out.Kind = r.Conflict.Kind.String()
	}
	return out, true
}

// abort is a *conflict.Error seen through names.
type abort struct {
	Kind     string // the conflict's kind, "stale_version"
	Code     string // the server's reason code, "LeaseIdMissing"
	Reason   string // "unrecoverable", "merge_conflict", "attempts_exhausted", "not_replayable", "context"
	NoBase   bool   // the cause is that no merge base was known
	Attempts int
	Message  string // err.Error()
}

// abortOf returns err as an abort when it is a *conflict.Error.
func abortOf(err error) (abort, bool) {
	var e *conflict.Error
	if !errors.As(err, &e) {
		return abort{}, false
	}
	a := abort{Attempts: e.Attempts, Message: e.Error(), NoBase: errors.Is(err, conflict.ErrNoBase)}
	if e.Conflict != nil {
		a.Kind, a.Code = e.Conflict.Kind.String(), e.Conflict.Reason
	}
	switch {
	case errors.Is(err, conflict.ErrMergeConflict):
		a.Reason = "merge_conflict"
	case errors.Is(err, conflict.ErrAttemptsExhausted):
		a.Reason = "attempts_exhausted"
	case errors.Is(err, conflict.ErrNotReplayable):
		a.Reason = "not_replayable"
	case errors.Is(err, conflict.ErrUnrecoverable):
		a.Reason = "unrecoverable"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		a.Reason = "context"
	}
	return a, true
}

// classify classifies resp on its own (no client, no rules) and returns
// its kind and the server's reason code; ok is false when resp is not a
// conflict. resp.Body stays readable.
func classify(resp *http.Response) (kind, code string, ok bool) {
	cf, _ := conflict.Classify(resp)
	if cf == nil {
		return "", "", false
	}
	return cf.Kind.String(), cf.Reason, true
}

// documentedRecovery is the default recovery of each kind, as README.md's
// table and doc.go state it: refresh_merge, adopt, wait, or abort.
func documentedRecovery(kind string) string {
	switch kind {
	case "stale_version":
		return "refresh_merge"
	case "duplicate":
		return "adopt"
	case "idempotency_in_use", "locked":
		return "wait"
	}
	return "abort"
}

// defaultMaxAttempts is the client's default bound on sends per call.
var defaultMaxAttempts = conflict.DefaultLimits().MaxAttempts

// update runs the library's typed read-modify-write loop on url.
func update[T any](ctx context.Context, l *libClient, url string, mutate func(*T) error) (T, error) {
	return conflict.Update(ctx, l.c, url, mutate)
}
