// Command conflict explains a captured HTTP conflict reply: what kind of
// conflict it is, what the server said about it, and what a client made by
// conflict.New() with no options would do about it.
//
// Usage:
//
//	conflict classify [-json] [FILE]
//	conflict help
//
// classify reads one captured exchange from FILE, or from standard input
// when FILE is absent or "-". A capture is what curl -i or curl -v prints,
// or a raw HTTP/1.x response (status line, headers, blank line, body),
// optionally preceded by the request that received it (request line,
// headers, blank line, optional body). The request matters: a CouchDB
// "conflict" is a stale revision for a PUT with ?rev= and a duplicate for a
// create, and only a create can adopt an existing resource. When a capture
// holds several responses (a 100 Continue, a redirect followed by curl -L),
// the last one is classified. Line endings may be CRLF or LF, and the last
// response's body is the rest of the input, whatever its Content-Length.
//
// Examples:
//
//	curl -si -X PUT -H 'If-Match: "3"' -d @doc.json https://api.example/documents/7 | conflict classify
//	curl -sv -X POST -d @order.json https://api.example/orders 2>&1 | conflict classify -json
//	conflict classify reply.http
//
// For a CouchDB reply to a PUT of a stale revision (the capture
// cmd/conflict/testdata/couchdb-stale.http) the output is:
//
//	kind:                stale_version
//	status:              409 Conflict
//	reason:              conflict
//	dialect:             couchdb
//	evidence:            request
//	heuristic:           no
//	message:             Document update conflict.
//	request:             PUT /reports/doc7?rev=1-967a00dff5e02add41819138abb3284d
//	default client:      refresh and merge: needs a rule with a merge function for this endpoint, else abort
//
// Only the fields the server sent are listed. When the capture lacks the
// request and the request would decide the kind, a "note:" line says so.
// With -json the same is printed as one JSON object, with "conflict": true;
// its "action" member holds the default client's strategy (refresh_merge,
// adopt, wait or abort) and its description.
//
// Exit status: 0 when the reply is a conflict; 3 when it is not (the output
// is then "not a conflict: 200 OK", or {"conflict": false, ...} with -json);
// 2 for a usage error or an input that cannot be read or parsed, with a
// one-line message on standard error.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-conflict/conflict"
)

// Exit statuses.
const (
	exitConflict    = 0
	exitUsage       = 2 // also unreadable or malformed input
	exitNotConflict = 3
)

// maxInput bounds how much of a capture is read.
const maxInput = 16 << 20

const usage = `usage: conflict classify [-json] [FILE]
       conflict help

classify reads a captured HTTP reply (curl -i or curl -v output, or a raw
HTTP/1.x response, optionally preceded by its request) from FILE or, when
FILE is absent or "-", from standard input. It prints the conflict's kind,
status, reason and dialect, the fields the server sent, and what a default
conflict.New() client would do.

  -json   print the result as JSON

Exit status: 0 conflict, 3 not a conflict, 2 usage error or bad input.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the command with its arguments (without the program name) and
// standard streams; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "classify":
	default:
		fmt.Fprintf(stderr, "conflict: unknown command %q (try \"conflict help\")\n", args[0])
		return exitUsage
	}

	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	var files []string
	rest := args[1:]
	for { // flags may come before or after FILE
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, usage)
				return 0
			}
			fmt.Fprintf(stderr, "conflict: %v (try \"conflict help\")\n", err)
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) > 1 {
		fmt.Fprintf(stderr, "conflict: classify takes one FILE, got %d\n", len(files))
		return exitUsage
	}

	name, in := "stdin", stdin
	if len(files) == 1 && files[0] != "-" {
		f, err := os.Open(files[0])
		if err != nil {
			fmt.Fprintf(stderr, "conflict: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		name, in = files[0], f
	}
	data, err := io.ReadAll(io.LimitReader(in, maxInput+1))
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "conflict: %s: %v\n", name, err)
		return exitUsage
	case len(data) > maxInput:
		fmt.Fprintf(stderr, "conflict: %s: input larger than %d bytes\n", name, maxInput)
		return exitUsage
	}
	resp, err := parseCapture(data)
	if err != nil {
		fmt.Fprintf(stderr, "conflict: %s: %s\n", name, oneLine(err.Error()))
		return exitUsage
	}
	body, _ := io.ReadAll(resp.Body) // in memory: cannot fail
	resp.Body = io.NopCloser(bytes.NewReader(body))
	cf, err := conflict.Classify(resp)
	if err != nil { // cannot happen: the body is in memory
		fmt.Fprintf(stderr, "conflict: %s: %v\n", name, err)
		return exitUsage
	}

	r := newReport(resp, cf)
	if cf != nil && resp.Request == nil {
		r.Note = requestHint(resp, body, cf.Kind)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
	} else {
		r.writeText(stdout)
	}
	if cf == nil {
		return exitNotConflict
	}
	return exitConflict
}

// A report is what classify prints; its JSON form is the -json output.
type report struct {
	Conflict           bool     `json:"conflict"`
	Status             int      `json:"status"`
	Kind               string   `json:"kind,omitempty"`
	Reason             string   `json:"reason,omitempty"`
	Dialect            string   `json:"dialect,omitempty"`
	Heuristic          *bool    `json:"heuristic,omitempty"` // set for a conflict
	Evidence           string   `json:"evidence,omitempty"`  // what decided the kind
	Message            string   `json:"message,omitempty"`
	Field              string   `json:"field,omitempty"`
	CurrentVersion     string   `json:"current_version,omitempty"`
	ExistingID         string   `json:"existing_id,omitempty"`
	ExistingLocation   string   `json:"existing_location,omitempty"`
	CurrentState       string   `json:"current_state,omitempty"`
	AllowedTransitions []string `json:"allowed_transitions,omitempty"`
	RetryAfter         float64  `json:"retry_after_seconds,omitempty"`
	RequestID          string   `json:"request_id,omitempty"`
	ProblemType        string   `json:"problem_type,omitempty"`
	HasCurrent         bool     `json:"has_current,omitempty"`
	Request            string   `json:"request,omitempty"` // "PUT /documents/7", when the capture has it
	Action             *action  `json:"action,omitempty"`
	Note               string   `json:"note,omitempty"`

	retryAfter time.Duration
}

// action is what a default client does with a conflict.
type action struct {
	Strategy    string `json:"strategy"` // a recovery's name
	Description string `json:"description"`
}

func newReport(resp *http.Response, cf *conflict.Conflict) *report {
	r := &report{Status: resp.StatusCode}
	if req := resp.Request; req != nil {
		r.Request = req.Method + " " + req.URL.RequestURI()
	}
	if cf == nil {
		return r
	}
	heuristic := cf.Heuristic
	*r = report{
		Conflict:           true,
		Status:             cf.Status,
		Kind:               cf.Kind.String(),
		Reason:             cf.Reason,
		Dialect:            cf.Dialect,
		Heuristic:          &heuristic,
		Evidence:           string(cf.Evidence),
		Message:            cf.Message,
		Field:              cf.Field,
		CurrentVersion:     cf.CurrentVersion,
		ExistingID:         cf.ExistingID,
		ExistingLocation:   cf.ExistingLocation,
		CurrentState:       cf.CurrentState,
		AllowedTransitions: cf.AllowedTransitions,
		RetryAfter:         cf.RetryAfter.Seconds(),
		RequestID:          cf.RequestID,
		HasCurrent:         len(cf.Current) > 0,
		Request:            r.Request,
		retryAfter:         cf.RetryAfter,
	}
	if cf.Problem != nil {
		r.ProblemType = cf.Problem.Type
	}
	strategy, desc := defaultAction(cf, resp.Request)
	r.Action = &action{Strategy: string(strategy), Description: desc}
	return r
}

func (r *report) writeText(w io.Writer) {
	status := fmt.Sprintf("%d %s", r.Status, http.StatusText(r.Status))
	status = strings.TrimSpace(status)
	if !r.Conflict {
		fmt.Fprintf(w, "not a conflict: %s\n", status)
		return
	}
	line := func(label, value string) {
		if value != "" {
			fmt.Fprintf(w, "%-20s %s\n", label+":", oneLine(value))
		}
	}
	line("kind", r.Kind)
	line("status", status)
	line("reason", r.Reason)
	line("dialect", r.Dialect)
	line("evidence", r.Evidence)
	line("heuristic", map[bool]string{false: "no", true: "yes (inferred from the message's wording)"}[*r.Heuristic])
	line("message", r.Message)
	line("field", r.Field)
	line("current version", r.CurrentVersion)
	line("existing id", r.ExistingID)
	line("existing location", r.ExistingLocation)
	line("current state", r.CurrentState)
	line("allowed transitions", strings.Join(r.AllowedTransitions, ", "))
	if r.retryAfter > 0 {
		line("retry after", r.retryAfter.String())
	}
	line("request id", r.RequestID)
	line("problem type", r.ProblemType)
	if r.HasCurrent {
		line("current", "the body carries the current representation")
	}
	line("request", r.Request)
	line("default client", r.Action.Description)
	line("note", r.Note)
}

// requestHint says, for a capture without its request, whether the request
// would have changed the kind: it classifies the reply again as the answer
// to an update with a precondition and to a create.
func requestHint(resp *http.Response, body []byte, kind conflict.Kind) string {
	update, _ := http.NewRequest(http.MethodPut, "/", nil)
	update.Header.Set("If-Match", `"1"`)
	create, _ := http.NewRequest(http.MethodPost, "/", nil)
	var kinds []string
	for _, probe := range []struct {
		name string
		req  *http.Request
	}{{"a PUT with If-Match", update}, {"a POST", create}} {
		r := *resp
		r.Body, r.Request = io.NopCloser(bytes.NewReader(body)), probe.req
		if cf, _ := conflict.Classify(&r); cf != nil && cf.Kind != kind {
			kinds = append(kinds, cf.Kind.String()+" for "+probe.name)
		}
	}
	if len(kinds) == 0 {
		return ""
	}
	return "the capture lacks the request, which decides this reply's kind (" + strings.Join(kinds, ", ") + "): include it, as curl -v does"
}

// defaultAction says what a client made by conflict.New() with no options
// does with cf, as the package documents it; req is the request that got
// the reply, or nil when the capture did not include it.
// A recovery names what a default client does with a conflict.
type recovery string

const (
	refreshMerge  recovery = "refresh_merge"
	adopt         recovery = "adopt"
	wait          recovery = "wait"
	abortRecovery recovery = "abort"
)

func defaultAction(cf *conflict.Conflict, req *http.Request) (recovery, string) {
	method := ""
	if req != nil {
		method = req.Method
	}
	switch cf.Kind {
	case conflict.StaleVersion:
		if method == http.MethodPost {
			return abortRecovery, "abort: a create cannot be stale, so it is not refreshed"
		}
		return refreshMerge, "refresh and merge: needs a rule with a merge function for this endpoint, else abort"
	case conflict.Duplicate:
		if method != "" && method != http.MethodPost && !(method == http.MethodPut && req.Header.Get("If-None-Match") == "*") {
			return abortRecovery, "abort: only a create (a POST, or a PUT with If-None-Match: *) adopts an existing resource by default (Rule.Creates says an endpoint creates)"
		}
		if loc := existingResource(cf, req); loc != "" {
			return adopt, "adopt the existing resource at " + loc + " if it matches what was sent, else abort"
		}
		if cf.ExistingID != "" { // the request would say where
			return adopt, "adopt the existing resource " + cf.ExistingID + " (looked up under the POST's URL) if it matches what was sent, else abort"
		}
		return abortRecovery, "abort: the existing resource cannot be located (a rule's LocateExisting can find it)"
	case conflict.IdempotencyInUse:
		return wait, waitFor(cf) + " and re-send with the same idempotency key"
	case conflict.Locked:
		return wait, waitFor(cf) + " and re-send the request unchanged"
	case conflict.InvalidTransition:
		return abortRecovery, "abort: the resource's current state forbids this change"
	case conflict.Dependency:
		return abortRecovery, "abort: a resource this request depends on is missing or would form a cycle"
	case conflict.IdempotencyMismatch:
		return abortRecovery, "abort: the idempotency key was already used with another payload (a caller bug)"
	case conflict.PreconditionRequired:
		return abortRecovery, "abort: the server requires a conditional request (If-Match)"
	}
	if cf.Reason != "" {
		return abortRecovery, fmt.Sprintf("abort (conflict.WithClassifier can map the reason %q to a kind)", cf.Reason)
	}
	return abortRecovery, "abort"
}

// existingResource is where a default client looks for the resource a
// duplicate create collided with: the location the server gave, the id it
// gave under the POST's URL, or the URL a PUT named.
func existingResource(cf *conflict.Conflict, req *http.Request) string {
	switch {
	case cf.ExistingLocation != "":
		if req != nil {
			if u, err := req.URL.Parse(cf.ExistingLocation); err == nil {
				return u.String()
			}
		}
		return cf.ExistingLocation
	case req == nil:
		return ""
	case cf.ExistingID != "" && req.Method == http.MethodPost:
		return strings.TrimSuffix(req.URL.Path, "/") + "/" + url.PathEscape(cf.ExistingID)
	case req.Method == http.MethodPut:
		return req.URL.String()
	}
	return ""
}

// waitFor describes a default client's wait: the server's Retry-After,
// capped at conflict.DefaultLimits().MaxWait, or a jittered backoff.
func waitFor(cf *conflict.Conflict) string {
	switch d := cf.RetryAfter; {
	case d > conflict.DefaultLimits().MaxWait:
		return fmt.Sprintf("wait %v (Retry-After %v, capped)", conflict.DefaultLimits().MaxWait, d)
	case d > 0:
		return fmt.Sprintf("wait %v (Retry-After)", d)
	}
	return "wait a jittered backoff (50ms to 2s)"
}

// oneLine folds a multi-line value onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
