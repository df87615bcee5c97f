package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// runCmd runs the command and returns its exit status and output.
func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// classifyCases are the captures in testdata: the lines the text output
// must contain, and the -json output's members.
var classifyCases = []struct {
	file  string
	lines []string
	json  map[string]any
}{
	{
		file: "couchdb-stale.http",
		lines: []string{
			"kind:                stale_version",
			"status:              409 Conflict",
			"reason:              conflict",
			"dialect:             couchdb",
			"heuristic:           no",
			"message:             Document update conflict.",
			"request:             PUT /reports/doc7?rev=1-967a00dff5e02add41819138abb3284d",
			"default client:      refresh and merge: needs a rule with a merge function for this endpoint, else abort",
		},
		json: map[string]any{
			"conflict": true, "status": 409.0, "kind": "stale_version", "reason": "conflict",
			"dialect": "couchdb", "evidence": "request", "heuristic": false, "message": "Document update conflict.",
			"request": "PUT /reports/doc7?rev=1-967a00dff5e02add41819138abb3284d",
			"action": map[string]any{
				"strategy":    "refresh_merge",
				"description": "refresh and merge: needs a rule with a merge function for this endpoint, else abort",
			},
		},
	},
	{
		file: "kubernetes-alreadyexists.http",
		lines: []string{
			"kind:                duplicate",
			"reason:              AlreadyExists",
			"dialect:             kubernetes",
			`message:             jobs.batch "pipeline-19ee700c-fix6" already exists`,
			"existing id:         pipeline-19ee700c-fix6",
			"request:             POST /apis/batch/v1/namespaces/ci/jobs",
			"default client:      adopt the existing resource at /apis/batch/v1/namespaces/ci/jobs/pipeline-19ee700c-fix6 if it matches what was sent, else abort",
		},
		json: map[string]any{
			"conflict": true, "status": 409.0, "kind": "duplicate", "reason": "AlreadyExists",
			"dialect": "kubernetes", "evidence": "reason", "heuristic": false,
			"message":     `jobs.batch "pipeline-19ee700c-fix6" already exists`,
			"existing_id": "pipeline-19ee700c-fix6",
			"request":     "POST /apis/batch/v1/namespaces/ci/jobs",
			"action": map[string]any{
				"strategy":    "adopt",
				"description": "adopt the existing resource at /apis/batch/v1/namespaces/ci/jobs/pipeline-19ee700c-fix6 if it matches what was sent, else abort",
			},
		},
	},
	{
		file: "invalid-transition.http", // HTTP/2 curl -i output, no request
		lines: []string{
			"kind:                invalid_transition",
			"status:              409 Conflict",
			"dialect:             problem",
			"message:             Order 1234 is shipped and can no longer be cancelled.",
			"current state:       shipped",
			"allowed transitions: deliver, return",
			"request id:          7c1a5e0b-58c4-4a55-9d0f-3b0f1a2d9e61",
			"problem type:        https://api.example.com/problems/invalid-transition",
			"default client:      abort: the resource's current state forbids this change",
		},
		json: map[string]any{
			"conflict": true, "status": 409.0, "kind": "invalid_transition", "dialect": "problem", "evidence": "reason",
			"reason":    "https://api.example.com/problems/invalid-transition",
			"heuristic": false, "message": "Order 1234 is shipped and can no longer be cancelled.",
			"current_state": "shipped", "allowed_transitions": []any{"deliver", "return"},
			"request_id":   "7c1a5e0b-58c4-4a55-9d0f-3b0f1a2d9e61",
			"problem_type": "https://api.example.com/problems/invalid-transition",
			"action":       map[string]any{"strategy": "abort", "description": "abort: the resource's current state forbids this change"},
		},
	},
	{
		file: "stripe-idempotency-in-use.http",
		lines: []string{
			"kind:                idempotency_in_use",
			"reason:              idempotency_key_in_use",
			"dialect:             stripe",
			"retry after:         2s",
			"request id:          req_6Jm3LqzT0tqQXS",
			"request:             POST /v1/charges",
			"default client:      wait 2s (Retry-After) and re-send with the same idempotency key",
		},
		json: map[string]any{
			"conflict": true, "status": 409.0, "kind": "idempotency_in_use", "reason": "idempotency_key_in_use",
			"dialect": "stripe", "evidence": "reason", "heuristic": false,
			"message":             "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): KG5LxwFBepaKHyUD. Please try again later.",
			"retry_after_seconds": 2.0, "request_id": "req_6Jm3LqzT0tqQXS", "request": "POST /v1/charges",
			"action": map[string]any{"strategy": "wait", "description": "wait 2s (Retry-After) and re-send with the same idempotency key"},
		},
	},
	{
		file: "webdav-locked.http",
		lines: []string{
			"kind:                locked",
			"status:              423 Locked",
			"dialect:             status",
			"request:             PUT /files/alice/report.odt",
			"default client:      wait a jittered backoff (50ms to 2s) and re-send the request unchanged",
		},
		json: map[string]any{
			"conflict": true, "status": 423.0, "kind": "locked", "dialect": "status", "evidence": "status", "heuristic": false,
			"request": "PUT /files/alice/report.odt",
			"action":  map[string]any{"strategy": "wait", "description": "wait a jittered backoff (50ms to 2s) and re-send the request unchanged"},
		},
	},
	{
		// The body starts with a byte order mark, as Azure Storage sends
		// it; the header alone classifies it.
		file: "azure-condition-not-met.http",
		lines: []string{
			"kind:                stale_version",
			"status:              412 Precondition Failed",
			"reason:              ConditionNotMet",
			"dialect:             azure",
			"request id:          4b9f3c6e-a01e-0042-5c2d-ed6c4a000000",
			"request:             PUT /reports/q3.json",
			"default client:      refresh and merge: needs a rule with a merge function for this endpoint, else abort",
		},
	},
	{
		file: "unknown.http",
		lines: []string{
			"kind:                unknown",
			"status:              409 Conflict",
			"reason:              E4091",
			"dialect:             json",
			"message:             The request could not be completed.",
			`default client:      abort (conflict.WithClassifier can map the reason "E4091" to a kind)`,
		},
		json: map[string]any{
			"conflict": true, "status": 409.0, "kind": "unknown", "reason": "E4091", "dialect": "json",
			"heuristic": false, "message": "The request could not be completed.",
			"action": map[string]any{"strategy": "abort", "description": `abort (conflict.WithClassifier can map the reason "E4091" to a kind)`},
		},
	},
	{
		// curl -v 2>&1 over HTTP/2: progress meter, notes, the body last.
		file: "curl-verbose.txt",
		lines: []string{
			"kind:                stale_version",
			"status:              409 Conflict",
			"reason:              Conflict",
			"dialect:             kubernetes",
			"request:             PUT /api/v1/namespaces/prod/configmaps/app-config",
			"default client:      refresh and merge: needs a rule with a merge function for this endpoint, else abort",
		},
	},
	{
		// Real curl 7.88.1 -v output, 2>&1, progress meter included, from
		// a stub server answering as CouchDB does.
		file: "curl-verbose-http1.txt",
		lines: []string{
			"kind:                stale_version",
			"reason:              conflict",
			"dialect:             couchdb",
			"message:             Document update conflict.",
			"request:             PUT /docs/7?rev=1-abc",
		},
	},
	{
		// Real curl -si output of a large POST: a 100 Continue, then a
		// reply whose Transfer-Encoding says chunked and whose body curl
		// decoded. Without the request, the kind stays unknown.
		file: "curl-i-continue-chunked.http",
		lines: []string{
			"kind:                unknown",
			"status:              409 Conflict",
			"reason:              conflict",
			"message:             Document update conflict.",
			"note:                the capture lacks the request, which decides this reply's kind (stale_version for a PUT with If-Match, duplicate for a POST): include it, as curl -v does",
		},
	},
	{
		// LF line endings, a 100 Continue, a Content-Length that counts
		// the CRLFs the body had on the wire.
		file: "lf-only.http",
		lines: []string{
			"kind:                stale_version",
			"reason:              version_mismatch",
			"message:             Version 4 is out of date.",
			"current version:     5",
			"request id:          01J5B6Q0Z7",
			"request:             PATCH /v2/documents/42",
		},
	},
	{
		// curl -iL: a redirect, then the reply.
		file: "redirect-duplicate.http",
		lines: []string{
			"kind:                duplicate",
			"existing id:         cus_81",
			"existing location:   /v2/customers/cus_81",
			"default client:      adopt the existing resource at /v2/customers/cus_81 if it matches what was sent, else abort",
		},
	},
}

func TestClassifyTestdata(t *testing.T) {
	for _, tc := range classifyCases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			code, out, errOut := runCmd(t, "", "classify", path)
			if code != exitConflict || errOut != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, errOut)
			}
			got := strings.Split(out, "\n")
			for _, want := range tc.lines {
				if !contains(got, want) {
					t.Errorf("output lacks the line\n\t%s\noutput:\n%s", want, out)
				}
			}

			// -json, given after FILE, with the capture on stdin.
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			code, out, errOut = runCmd(t, string(data), "classify", "-", "-json")
			if code != exitConflict || errOut != "" {
				t.Fatalf("-json: exit %d, stderr %q", code, errOut)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("-json output is not JSON: %v\n%s", err, out)
			}
			if tc.json != nil && !reflect.DeepEqual(m, tc.json) {
				t.Errorf("-json output:\n%s\nwant %#v", out, tc.json)
			}
			// The text and the JSON say the same.
			if kind := m["kind"].(string); !contains(got, "kind:                "+kind) {
				t.Errorf("-json kind %q differs from the text output", kind)
			}
		})
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestNotAConflict(t *testing.T) {
	code, out, errOut := runCmd(t, "", "classify", "testdata/ok.http")
	if code != exitNotConflict || out != "not a conflict: 200 OK\n" || errOut != "" {
		t.Errorf("got exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCmd(t, "", "classify", "-json", "testdata/ok.http")
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil || code != exitNotConflict ||
		!reflect.DeepEqual(m, map[string]any{"conflict": false, "status": 200.0}) {
		t.Errorf("-json: exit %d, %s (%v)", code, out, err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stdin  string
		stderr string // the start of stderr's first line
	}{
		{"malformed status line", []string{"classify", "testdata/malformed.http"}, "",
			`conflict: testdata/malformed.http: line 1: malformed HTTP status code "4O9"`},
		{"garbage", []string{"classify"}, "hello, world\n",
			`conflict: stdin: line 1: neither a status line nor a request line: "hello, world"`},
		{"empty", []string{"classify"}, "", "conflict: stdin: no HTTP response in the input"},
		{"request only", []string{"classify"}, "GET /x HTTP/1.1\nHost: a\n\n", "conflict: stdin: no HTTP response in the input"},
		{"bad header", []string{"classify", "-"}, "GET /x HTTP/1.1\nHost: a\n\nHTTP/1.1 409 Conflict\nno colon here\n\n{}",
			"conflict: stdin: line 4: malformed MIME header"}, // the rest varies with the Go version
		{"missing file", []string{"classify", "testdata/nonexistent.http"}, "",
			"conflict: open testdata/nonexistent.http: no such file or directory"},
		{"two files", []string{"classify", "a", "b"}, "", "conflict: classify takes one FILE, got 2"},
		{"bad flag", []string{"classify", "-yaml"}, "", `conflict: flag provided but not defined: -yaml (try "conflict help")`},
		{"unknown command", []string{"explain"}, "", `conflict: unknown command "explain" (try "conflict help")`},
		{"no command", nil, "", "usage: conflict classify [-json] [FILE]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tc.stdin, tc.args...)
			if code != exitUsage || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			first, rest, _ := strings.Cut(errOut, "\n")
			if !strings.HasPrefix(first, tc.stderr) {
				t.Errorf("stderr %q; want %q", first, tc.stderr)
			}
			if tc.args != nil && rest != "" {
				t.Errorf("stderr has more than one line: %q", errOut)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"classify", "-h"}} {
		code, out, errOut := runCmd(t, "", args...)
		if code != 0 || !strings.HasPrefix(out, "usage: conflict classify [-json] [FILE]\n") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestRequestHint: without the request, a CouchDB "conflict" cannot be
// told apart; the output says so.
func TestRequestHint(t *testing.T) {
	const reply = "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n{\"error\":\"conflict\",\"reason\":\"Document update conflict.\"}"
	code, out, _ := runCmd(t, reply, "classify")
	const note = "note:                the capture lacks the request, which decides this reply's kind (stale_version for a PUT with If-Match, duplicate for a POST): include it, as curl -v does"
	if code != exitConflict || !contains(strings.Split(out, "\n"), "kind:                unknown") || !contains(strings.Split(out, "\n"), note) {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	// With the request, no note.
	code, out, _ = runCmd(t, "", "classify", "testdata/couchdb-stale.http")
	if code != exitConflict || strings.Contains(out, "note:") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}
