package conflicttest_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/go-conflict/conflict/conflicttest"
)

// scenarios provoke each kind of error reply on a fresh server.
var scenarios = []struct {
	kind string
	run  func(t *testing.T, srv *conflicttest.Server) response
}{
	{"stale-body", func(t *testing.T, srv *conflicttest.Server) response {
		srv.PutDocument("d1", `{"a":1}`)
		srv.PutDocument("d1", `{"a":2}`)
		return do(t, srv, "PUT", "/documents/d1", `{"a":3,"version":1}`)
	}},
	{"stale-if-match", func(t *testing.T, srv *conflicttest.Server) response {
		srv.PutDocument("d1", `{"a":1}`)
		srv.PutDocument("d1", `{"a":2}`)
		return do(t, srv, "PUT", "/documents/d1", `{"a":3}`, "If-Match", `"1"`)
	}},
	{"exists", func(t *testing.T, srv *conflicttest.Server) response {
		srv.PutDocument("d1", `{"a":1}`)
		return do(t, srv, "PUT", "/documents/d1", `{"a":3}`, "If-None-Match", "*")
	}},
	{"duplicate", func(t *testing.T, srv *conflicttest.Server) response {
		do(t, srv, "POST", "/users", `{"email":"a@example.com"}`)
		return do(t, srv, "POST", "/users", `{"email":"a@example.com"}`)
	}},
	{"transition", func(t *testing.T, srv *conflicttest.Server) response {
		do(t, srv, "POST", "/orders", `{"item":"book"}`)
		return do(t, srv, "POST", "/orders/o_1/ship", "")
	}},
	{"dependency", func(t *testing.T, srv *conflicttest.Server) response {
		return do(t, srv, "POST", "/categories", `{"name":"x","parent":"c_9"}`)
	}},
	{"cycle", func(t *testing.T, srv *conflicttest.Server) response {
		do(t, srv, "POST", "/categories", `{"name":"a"}`)
		do(t, srv, "POST", "/categories", `{"name":"b","parent":"c_1"}`)
		return do(t, srv, "PUT", "/categories/c_1", `{"name":"a","parent":"c_2"}`)
	}},
	{"in-use", func(t *testing.T, srv *conflicttest.Server) response {
		_, refused := inUse(t, srv, "/users", `{"email":"a@example.com"}`)
		return refused
	}},
	{"mismatch", func(t *testing.T, srv *conflicttest.Server) response {
		do(t, srv, "POST", "/users", `{"email":"a@example.com"}`, "Idempotency-Key", "k1")
		return do(t, srv, "POST", "/users", `{"email":"b@example.com"}`, "Idempotency-Key", "k1")
	}},
	{"required", func(t *testing.T, srv *conflicttest.Server) response {
		srv.PutDocument("d1", `{"a":1}`)
		return do(t, srv, "PUT", "/documents/d1", `{"a":3}`)
	}},
	{"not-found", func(t *testing.T, srv *conflicttest.Server) response {
		return do(t, srv, "GET", "/documents/nope", "")
	}},
	{"unavailable", func(t *testing.T, srv *conflicttest.Server) response {
		srv.SetFaults(conflicttest.Faults{FailBeforeCommit: 1})
		return do(t, srv, "POST", "/orders", `{"item":"x"}`)
	}},
}

// want is the status and reason each dialect sends for each kind; the
// reason is read by reason below.
type want struct {
	status int
	reason string
}

var dialectTable = map[conflicttest.Dialect]map[string]want{
	conflicttest.Problem: {
		"stale-body": {409, "version_conflict"}, "stale-if-match": {412, "version_conflict"},
		"exists": {412, "duplicate"}, "duplicate": {409, "duplicate"},
		"transition": {409, "invalid_transition"}, "dependency": {409, "dependency_conflict"},
		"cycle": {409, "dependency_conflict"}, "in-use": {409, "idempotency_key_in_use"},
		"mismatch": {422, "idempotency_key_mismatch"}, "required": {428, "precondition_required"},
		"not-found": {404, "not_found"}, "unavailable": {503, "unavailable"},
	},
	conflicttest.Kubernetes: {
		"stale-body": {409, "Conflict"}, "stale-if-match": {412, "Conflict"},
		"exists": {412, "AlreadyExists"}, "duplicate": {409, "AlreadyExists"},
		"transition": {409, "Conflict"}, "dependency": {409, "Conflict"},
		"cycle": {409, "Conflict"}, "in-use": {409, "Conflict"},
		"mismatch": {422, "Invalid"}, "required": {428, "PreconditionRequired"},
		"not-found": {404, "NotFound"}, "unavailable": {503, "ServiceUnavailable"},
	},
	conflicttest.CouchDB: {
		"stale-body": {409, "conflict"}, "stale-if-match": {412, "conflict"},
		"exists": {412, "file_exists"}, "duplicate": {409, "conflict"},
		"transition": {409, "invalid_transition"}, "dependency": {409, "dependency_conflict"},
		"cycle": {409, "dependency_conflict"}, "in-use": {409, "idempotency_key_in_use"},
		"mismatch": {422, "idempotency_key_mismatch"}, "required": {428, "precondition_required"},
		"not-found": {404, "not_found"}, "unavailable": {503, "service_unavailable"},
	},
	conflicttest.Stripe: {
		"stale-body": {409, "version_conflict"}, "stale-if-match": {412, "version_conflict"},
		"exists": {412, "resource_already_exists"}, "duplicate": {409, "resource_already_exists"},
		"transition": {409, "invalid_transition"}, "dependency": {409, "dependency_conflict"},
		"cycle": {409, "dependency_conflict"}, "in-use": {409, "idempotency_key_in_use"},
		"mismatch": {400, "idempotency_error"}, "required": {428, "precondition_required"},
		"not-found": {404, "resource_missing"}, "unavailable": {503, "api_error"},
	},
	conflicttest.Google: {
		"stale-body": {409, "ABORTED/VERSION_MISMATCH"}, "stale-if-match": {412, "ABORTED/ETAG_MISMATCH"},
		"exists": {412, "ALREADY_EXISTS/RESOURCE_ALREADY_EXISTS"}, "duplicate": {409, "ALREADY_EXISTS/RESOURCE_ALREADY_EXISTS"},
		"transition": {409, "FAILED_PRECONDITION/INVALID_STATE_TRANSITION"},
		"dependency": {409, "FAILED_PRECONDITION/PARENT_NOT_FOUND"},
		"cycle":      {409, "FAILED_PRECONDITION/CIRCULAR_REFERENCE"}, "in-use": {409, "ABORTED/IDEMPOTENCY_KEY_IN_USE"},
		"mismatch":  {422, "INVALID_ARGUMENT/IDEMPOTENCY_KEY_MISMATCH"},
		"required":  {428, "FAILED_PRECONDITION/PRECONDITION_REQUIRED"},
		"not-found": {404, "NOT_FOUND/RESOURCE_NOT_FOUND"}, "unavailable": {503, "UNAVAILABLE/SERVICE_UNAVAILABLE"},
	},
	conflicttest.GoCardless: {
		"stale-body": {409, "invalid_state/version_conflict"}, "stale-if-match": {412, "invalid_state/version_conflict"},
		"exists":     {412, "invalid_state/idempotent_creation_conflict"},
		"duplicate":  {409, "invalid_state/idempotent_creation_conflict"},
		"transition": {409, "invalid_state/invalid_transition"}, "dependency": {409, "invalid_state/dependency_conflict"},
		"cycle": {409, "invalid_state/dependency_conflict"}, "in-use": {409, "invalid_state/idempotency_key_in_use"},
		"mismatch":  {422, "invalid_api_usage/idempotency_key_mismatch"},
		"required":  {428, "invalid_api_usage/precondition_required"},
		"not-found": {404, "invalid_api_usage/resource_not_found"}, "unavailable": {503, "gocardless/service_unavailable"},
	},
	conflicttest.Commercetools: {
		"stale-body": {409, "ConcurrentModification"}, "stale-if-match": {412, "ConcurrentModification"},
		"exists": {412, "DuplicateField"}, "duplicate": {409, "DuplicateField"},
		"transition": {409, "InvalidOperation"}, "dependency": {409, "ReferencedResourceNotFound"},
		"cycle": {409, "InvalidField"}, "in-use": {409, "IdempotencyKeyInUse"},
		"mismatch": {422, "IdempotencyKeyMismatch"}, "required": {428, "PreconditionRequired"},
		"not-found": {404, "ResourceNotFound"}, "unavailable": {503, "ServiceUnavailable"},
	},
	conflicttest.AzureStorage: {
		"stale-body": {409, "ConditionNotMet"}, "stale-if-match": {412, "ConditionNotMet"},
		"exists": {409, "BlobAlreadyExists"}, "duplicate": {409, "BlobAlreadyExists"},
		"transition": {409, "InvalidStateTransition"}, "dependency": {409, "ParentNotFound"},
		"cycle": {409, "CircularReference"}, "in-use": {409, "OperationInProgress"},
		"mismatch": {422, "IdempotencyKeyMismatch"}, "required": {428, "MissingRequiredHeader"},
		"not-found": {404, "ResourceNotFound"}, "unavailable": {503, "ServerBusy"},
	},
	conflicttest.Plain: {
		"stale-body": {409, "version_conflict"}, "stale-if-match": {412, "version_conflict"},
		"exists": {412, "already_exists"}, "duplicate": {409, "already_exists"},
		"transition": {409, "invalid_transition"}, "dependency": {409, "dependency_conflict"},
		"cycle": {409, "dependency_conflict"}, "in-use": {409, "idempotency_key_in_use"},
		"mismatch": {422, "idempotency_key_mismatch"}, "required": {428, "precondition_required"},
		"not-found": {404, "not_found"}, "unavailable": {503, "unavailable"},
	},
}

// reason reads the machine-readable reason of a reply in dialect d.
func reason(t *testing.T, d conflicttest.Dialect, r response) string {
	t.Helper()
	if d == conflicttest.AzureStorage {
		var e struct{ Code, Message string }
		if err := xml.Unmarshal(r.body, &e); err != nil {
			t.Fatalf("XML body %q: %v", r.body, err)
		}
		if h := r.header.Get("x-ms-error-code"); h != e.Code {
			t.Errorf("x-ms-error-code %q != <Code> %q", h, e.Code)
		}
		if id := r.header.Get("x-ms-request-id"); id == "" || !strings.HasSuffix(e.Message, "\nRequestId:"+id) {
			t.Errorf("request id %q not at the end of message %q", id, e.Message)
		}
		return e.Code
	}
	m := r.json(t)
	switch d {
	case conflicttest.Problem:
		return str(m, "code")
	case conflicttest.Kubernetes:
		if str(m, "kind") != "Status" || str(m, "status") != "Failure" || num(m, "code") != r.status {
			t.Errorf("not a Status: %s", r.body)
		}
		return str(m, "reason")
	case conflicttest.CouchDB, conflicttest.Plain:
		return str(m, "error")
	case conflicttest.Stripe:
		if c := str(m, "error", "code"); c != "" {
			return c
		}
		return str(m, "error", "type")
	case conflicttest.Google:
		if num(m, "error", "code") != r.status || str(m, "error", "details", "0", "domain") != "conflicttest.local" {
			t.Errorf("google envelope: %s", r.body)
		}
		return str(m, "error", "status") + "/" + str(m, "error", "details", "0", "reason")
	case conflicttest.GoCardless:
		if num(m, "error", "code") != r.status || str(m, "error", "request_id") != r.header.Get("X-Request-Id") {
			t.Errorf("gocardless envelope: %s", r.body)
		}
		return str(m, "error", "type") + "/" + str(m, "error", "errors", "0", "reason")
	case conflicttest.Commercetools:
		if num(m, "statusCode") != r.status {
			t.Errorf("statusCode: %s", r.body)
		}
		return str(m, "errors", "0", "code")
	}
	t.Fatalf("no reason reader for %s", d)
	return ""
}

func TestDialects(t *testing.T) {
	t.Parallel()
	if len(dialectTable) != len(conflicttest.Dialects()) {
		t.Fatalf("table has %d dialects, Dialects() %d", len(dialectTable), len(conflicttest.Dialects()))
	}
	for _, d := range conflicttest.Dialects() {
		for _, sc := range scenarios {
			t.Run(string(d)+"/"+sc.kind, func(t *testing.T) {
				t.Parallel()
				srv := newServer(t, conflicttest.WithDialect(d))
				r := sc.run(t, srv)
				w, ok := dialectTable[d][sc.kind]
				if !ok {
					t.Fatalf("no expectation for %s/%s", d, sc.kind)
				}
				if r.status != w.status {
					t.Errorf("status = %d, want %d; body %s", r.status, w.status, r.body)
				}
				if got := reason(t, d, r); got != w.reason {
					t.Errorf("reason = %q, want %q; body %s", got, w.reason, r.body)
				}
				if r.header.Get("X-Request-Id") == "" {
					t.Error("no X-Request-Id")
				}
				wantCT := "application/json"
				switch d {
				case conflicttest.Problem:
					wantCT = "application/problem+json"
				case conflicttest.AzureStorage:
					wantCT = "application/xml"
				}
				if ct := r.header.Get("Content-Type"); ct != wantCT {
					t.Errorf("Content-Type = %q, want %q", ct, wantCT)
				}
				if sc.kind == "in-use" && r.header.Get("Retry-After") != "1" {
					t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
				}
				if sc.kind == "unavailable" && r.header.Get("Retry-After") != "0" {
					t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
				}
				if (sc.kind == "stale-body" || sc.kind == "stale-if-match") && r.header.Get("ETag") != "" {
					t.Errorf("stale reply carries ETag %q without WithCurrentInConflict", r.header.Get("ETag"))
				}
				if sc.kind == "duplicate" && r.header.Get("Location") != "/users/u_1" {
					t.Errorf("Location = %q", r.header.Get("Location"))
				}
			})
		}
	}
}

// TestDialectDetails checks the data each dialect carries beyond its
// reason: the current version and representation, the existing id, the
// current state and allowed actions.
func TestDialectDetails(t *testing.T) {
	t.Parallel()
	type check struct {
		kind string
		opts []conflicttest.Option
		want []string // substrings of the body
	}
	current := []conflicttest.Option{conflicttest.WithCurrentInConflict(true)}
	checks := map[conflicttest.Dialect][]check{
		conflicttest.Problem: {
			{"stale-body", current, []string{`"current_version":2`, `"current":{"a":2,"version":2}`, `"field":"version"`}},
			{"duplicate", nil, []string{`"existing_id":"u_1"`, `"field":"email"`}},
			{"transition", nil, []string{`"current_state":"pending"`, `"allowed_transitions":["pay","cancel"]`}},
			{"in-use", nil, []string{`"title":"A request is outstanding for this Idempotency-Key"`}},
		},
		conflicttest.Plain: {
			{"stale-if-match", current, []string{`"current_version":2`, `"current":{"a":2,"version":2}`}},
			{"duplicate", nil, []string{`"existing_id":"u_1"`, `"field":"email"`}},
			{"transition", nil, []string{`"current_state":"pending"`, `"allowed_transitions":["pay","cancel"]`}},
			{"dependency", nil, []string{`"field":"parent"`}},
		},
		conflicttest.Kubernetes: {
			{"stale-body", nil, []string{`"message":"Operation cannot be fulfilled on documents \"d1\": the object has been modified; please apply your changes to the latest version and try again"`, `"details":{"name":"d1","kind":"documents"}`}},
			{"duplicate", nil, []string{`"name":"u_1"`, `"kind":"users"`, `"reason":"FieldValueDuplicate"`}},
			{"transition", nil, []string{`"reason":"FieldValueInvalid","message":"Invalid value: \"pending\": allowed actions: [pay, cancel]","field":"state"`}},
			{"dependency", nil, []string{`"reason":"FieldValueNotFound"`, `"field":"parent"`}},
			{"in-use", nil, []string{`"retryAfterSeconds":1`, `"reason":"IdempotencyKeyInUse"`}},
		},
		conflicttest.CouchDB: {
			{"stale-body", current, []string{`{"error":"conflict","reason":"Document update conflict."}`}},
			{"duplicate", nil, []string{`{"error":"conflict","reason":"Document update conflict."}`}},
		},
		conflicttest.Stripe: {
			{"duplicate", nil, []string{`"param":"email"`, `u_1`}},
			{"in-use", nil, []string{`There is currently another in-progress request using this Idempotent Key`}},
			{"mismatch", nil, []string{`Keys for idempotent requests can only be used with the same parameters they were first used with`}},
		},
		conflicttest.Google: {
			{"stale-if-match", current, []string{`"current_version":"2"`, `"current_etag":"\"2\""`}},
			{"duplicate", nil, []string{`"existing_id":"u_1"`}},
			{"transition", nil, []string{`"current_state":"pending"`, `"allowed_transitions":"pay,cancel"`}},
			{"in-use", nil, []string{`"retryDelay":"1s"`}},
		},
		conflicttest.GoCardless: {
			{"duplicate", nil, []string{`"links":{"conflicting_resource_id":"u_1"}`, `"field":"email"`}},
		},
		conflicttest.Commercetools: {
			{"stale-body", nil, []string{`"currentVersion":2`}},
			{"duplicate", nil, []string{`"field":"email"`, `"duplicateValue":"a@example.com"`, `"conflictingResource":{"typeId":"user","id":"u_1"}`}},
			{"dependency", nil, []string{`"typeId":"category","id":"c_9"`}},
		},
		conflicttest.AzureStorage: {
			{"stale-if-match", nil, []string{`<Message>The condition specified using HTTP conditional header(s) is not met.`}},
		},
	}
	run := map[string]func(*testing.T, *conflicttest.Server) response{}
	for _, sc := range scenarios {
		run[sc.kind] = sc.run
	}
	for d, cs := range checks {
		for _, c := range cs {
			t.Run(string(d)+"/"+c.kind, func(t *testing.T) {
				t.Parallel()
				srv := newServer(t, append([]conflicttest.Option{conflicttest.WithDialect(d)}, c.opts...)...)
				r := run[c.kind](t, srv)
				for _, w := range c.want {
					if !strings.Contains(string(r.body), w) {
						t.Errorf("body lacks %s:\n%s", w, r.body)
					}
				}
				if c.opts != nil && r.header.Get("ETag") != `"2"` {
					t.Errorf("ETag = %q with WithCurrentInConflict", r.header.Get("ETag"))
				}
			})
		}
	}
}

func TestUnknownDialectPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "unknown dialect") {
			t.Errorf("recover() = %v", r)
		}
	}()
	conflicttest.NewServer(conflicttest.WithDialect("nope"))
}
