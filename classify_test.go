package conflict

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// reply is a scripted response served by a real HTTP server.
type reply struct {
	status int
	header map[string]string
	body   string
}

// serve starts a server that answers every request with r.
func serve(t *testing.T, r reply) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range r.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(r.status)
		io.WriteString(w, r.body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// roundTrip sends method to srv with the given request headers and returns the response.
func roundTrip(t *testing.T, srv *httptest.Server, method string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/things/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type classifyCase struct {
	name    string
	method  string            // default PUT
	reqHdr  map[string]string // request headers
	reply   reply
	kind    Kind
	dialect string
	reason  string
	check   func(t *testing.T, c *Conflict)
}

func runClassifyCases(t *testing.T, cases []classifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, tc.reply)
			method := tc.method
			if method == "" {
				method = http.MethodPut
			}
			resp := roundTrip(t, srv, method, tc.reqHdr)
			c, err := Classify(resp)
			if err != nil {
				t.Fatalf("Classify error: %v", err)
			}
			if c == nil {
				t.Fatalf("Classify = nil, want a %v conflict", tc.kind)
			}
			if c.Kind != tc.kind {
				t.Errorf("Kind = %v, want %v (%s)", c.Kind, tc.kind, c)
			}
			if tc.dialect != "" && c.Dialect != tc.dialect {
				t.Errorf("Dialect = %q, want %q", c.Dialect, tc.dialect)
			}
			if tc.reason != "" && c.Reason != tc.reason {
				t.Errorf("Reason = %q, want %q", c.Reason, tc.reason)
			}
			if c.Status != tc.reply.status {
				t.Errorf("Status = %d, want %d", c.Status, tc.reply.status)
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.reply.body {
				t.Errorf("body after Classify = %q, want %q", got, tc.reply.body)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func jsonReply(status int, body string) reply {
	return reply{status: status, header: map[string]string{"Content-Type": "application/json"}, body: body}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestClassifyCatalogue classifies the conflict bodies of real servers, as
// catalogued in the project's dialect notes.
func TestClassifyCatalogue(t *testing.T) {
	t.Parallel()
	runClassifyCases(t, []classifyCase{
		{
			name:  "kubernetes stale",
			reply: jsonReply(409, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on resourcequotas \"quota\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"quota","kind":"resourcequotas"},"code":409}`),
			kind:  StaleVersion, dialect: "kubernetes", reason: "Conflict",
			check: func(t *testing.T, c *Conflict) { eq(t, "ExistingID", c.ExistingID, "") },
		},
		{
			name: "kubernetes already exists", method: "POST",
			reply: jsonReply(409, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"jobs.batch \"pipeline-19ee700c-fix6\" already exists","reason":"AlreadyExists","details":{"name":"pipeline-19ee700c-fix6","group":"batch","kind":"jobs"},"code":409}`),
			kind:  Duplicate, dialect: "kubernetes", reason: "AlreadyExists",
			check: func(t *testing.T, c *Conflict) { eq(t, "ExistingID", c.ExistingID, "pipeline-19ee700c-fix6") },
		},
		{
			name: "couchdb conflict on update with rev", reqHdr: map[string]string{"If-Match": "1-abc"},
			reply: jsonReply(409, `{"error":"conflict","reason":"Document update conflict."}`),
			kind:  StaleVersion, dialect: "couchdb", reason: "conflict",
		},
		{
			name: "couchdb conflict on create", method: "POST",
			reply: jsonReply(409, `{"error":"conflict","reason":"Document update conflict."}`),
			kind:  Duplicate, dialect: "couchdb",
		},
		{
			name: "couchdb file_exists", reply: jsonReply(412, `{"error":"file_exists","reason":"The database could not be created, the file already exists."}`),
			kind: Duplicate, dialect: "couchdb",
		},
		{
			name:  "elasticsearch stale seq_no",
			reply: jsonReply(409, `{"error":{"root_cause":[{"type":"version_conflict_engine_exception","reason":"[2-job]: version conflict, required seqNo [1765], primary term [1]. current document has seqNo [1771] and primary term [1]","index_uuid":"7jsKYxw7RxWQhba-UIG5Wg","shard":"0","index":"operate"}],"type":"version_conflict_engine_exception","reason":"[2-job]: version conflict, required seqNo [1765], primary term [1]. current document has seqNo [1771] and primary term [1]","index_uuid":"7jsKYxw7RxWQhba-UIG5Wg","shard":"0","index":"operate"},"status":409}`),
			kind:  StaleVersion, dialect: "elasticsearch", reason: "version_conflict_engine_exception",
			check: func(t *testing.T, c *Conflict) { eq(t, "CurrentVersion", c.CurrentVersion, "1771") },
		},
		{
			name: "elasticsearch document already exists", method: "PUT",
			reply: jsonReply(409, `{"error":{"type":"version_conflict_engine_exception","reason":"[test][1]: version conflict, document already exists (current version [2])","_id":"1"},"status":409}`),
			kind:  Duplicate, dialect: "elasticsearch",
			check: func(t *testing.T, c *Conflict) { eq(t, "CurrentVersion", c.CurrentVersion, "2") },
		},
		{
			name: "postgrest unique violation", method: "POST",
			reply: jsonReply(409, `{"code":"23505","details":"Key (version)=(0.0.2) already exists.","hint":null,"message":"duplicate key value violates unique constraint \"version_deployments_version_key\""}`),
			kind:  Duplicate, dialect: "postgrest", reason: "23505",
			check: func(t *testing.T, c *Conflict) { eq(t, "Field", c.Field, "version") },
		},
		{
			name: "postgrest foreign key violation", method: "POST",
			reply: jsonReply(409, `{"code":"23503","details":"Key (parent_id)=(7) is not present in table \"categories\".","hint":null,"message":"insert or update on table \"categories\" violates foreign key constraint"}`),
			kind:  Dependency, dialect: "postgrest", reason: "23503",
			check: func(t *testing.T, c *Conflict) { eq(t, "Field", c.Field, "parent_id") },
		},
		{
			name: "stripe key in use", method: "POST",
			reply: jsonReply(409, `{"error":{"code":"idempotency_key_in_use","doc_url":"https://stripe.com/docs/error-codes/idempotency-key-in-use","message":"There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): 770434815mw69wd8iuv. Please try again later.","type":"invalid_request_error"}}`),
			kind:  IdempotencyInUse, dialect: "stripe", reason: "idempotency_key_in_use",
		},
		{
			name: "stripe key reused with other params (400)", method: "POST",
			reply: jsonReply(400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'k1' if you meant to execute a different request."}}`),
			kind:  IdempotencyMismatch, dialect: "stripe", reason: "idempotency_error",
		},
		{
			name: "stripe resource already exists", method: "POST",
			reply: jsonReply(409, `{"error":{"code":"resource_already_exists","message":"A resource with the ID already exists.","param":"id","type":"invalid_request_error"}}`),
			kind:  Duplicate, dialect: "stripe",
			check: func(t *testing.T, c *Conflict) { eq(t, "Field", c.Field, "id") },
		},
		{
			name: "github stale sha", reply: jsonReply(409, `{"message":"backend/gradle.properties does not match 5717457c84de250e7d17c4714e1217d76b6dc123","documentation_url":"https://docs.github.com/rest/reference/repos#create-or-update-file-contents"}`),
			kind: StaleVersion, dialect: "github",
			check: func(t *testing.T, c *Conflict) { eq(t, "Heuristic", c.Heuristic, true) },
		},
		{
			name: "github head modified", method: "PUT",
			reply: jsonReply(409, `{"message":"Head branch was modified. Review and try the merge again.","documentation_url":"https://developer.github.com/v3/pulls/#merge-a-pull-request-merge-button"}`),
			kind:  StaleVersion, dialect: "github",
		},
		{
			name: "github reference already exists (422)", method: "POST",
			reply: jsonReply(422, `{"message":"Reference already exists","documentation_url":"https://docs.github.com/rest/git/refs#create-a-reference"}`),
			kind:  Duplicate, dialect: "github",
		},
		{
			name: "google aborted", reply: jsonReply(409, `{"error":{"code":409,"message":"etag mismatch","status":"ABORTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ETAG_MISMATCH","domain":"example.googleapis.com","metadata":{}}]}}`),
			kind: StaleVersion, dialect: "google", reason: "ETAG_MISMATCH",
		},
		{
			name: "google already exists", method: "POST",
			reply: jsonReply(409, `{"error":{"code":409,"message":"Resource already exists","status":"ALREADY_EXISTS","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RESOURCE_EXISTS","domain":"example.googleapis.com","metadata":{"existing_id":"projects/p/things/7"}}]}}`),
			kind:  Duplicate, dialect: "google",
			check: func(t *testing.T, c *Conflict) { eq(t, "ExistingID", c.ExistingID, "projects/p/things/7") },
		},
		{
			name: "google failed precondition", method: "POST",
			reply: jsonReply(409, `{"error":{"code":409,"message":"order already shipped","status":"FAILED_PRECONDITION","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ORDER_SHIPPED","domain":"example.googleapis.com","metadata":{"current_state":"shipped"}}]}}`),
			kind:  InvalidTransition, dialect: "google",
			check: func(t *testing.T, c *Conflict) { eq(t, "CurrentState", c.CurrentState, "shipped") },
		},
		{
			name: "google legacy conflict on update", method: "PATCH",
			reply: jsonReply(409, `{"error":{"errors":[{"domain":"global","reason":"conflict","message":"Conflict"}],"code":409,"message":"Conflict"}}`),
			kind:  StaleVersion, dialect: "google", reason: "conflict",
		},
		{
			name: "google legacy duplicate", method: "POST",
			reply: jsonReply(409, `{"error":{"errors":[{"domain":"global","reason":"duplicate","message":"The requested identifier already exists."}],"code":409,"message":"The requested identifier already exists."}}`),
			kind:  Duplicate, dialect: "google", reason: "duplicate",
		},
		{
			name: "azure blob already exists", reqHdr: map[string]string{"If-None-Match": "*"},
			reply: reply{status: 409, header: map[string]string{"Content-Type": "application/xml", "x-ms-error-code": "BlobAlreadyExists", "x-ms-request-id": "eed206d9"}, body: "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>BlobAlreadyExists</Code><Message>The specified blob already exists.\nRequestId:eed206d9-701e-006b-39c3-2c25fb000000\nTime:2020-05-18T03:22:27.3887334Z</Message></Error>"},
			kind:  Duplicate, dialect: "azure", reason: "BlobAlreadyExists",
			check: func(t *testing.T, c *Conflict) {
				eq(t, "Message", c.Message, "The specified blob already exists.")
				eq(t, "RequestID", c.RequestID, "eed206d9")
			},
		},
		{
			name: "azure condition not met", reqHdr: map[string]string{"If-Match": `"0x8D"`},
			reply: reply{status: 412, header: map[string]string{"Content-Type": "application/xml", "x-ms-error-code": "ConditionNotMet"}, body: "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ConditionNotMet</Code><Message>The condition specified using HTTP conditional header(s) is not met.\nRequestId:1\nTime:2</Message></Error>"},
			kind:  StaleVersion, dialect: "azure", reason: "ConditionNotMet",
		},
		{
			name: "azure HEAD reply: reason in header only", method: "HEAD",
			reply: reply{status: 409, header: map[string]string{"x-ms-error-code": "LeaseAlreadyPresent"}},
			kind:  Locked, dialect: "azure", reason: "LeaseAlreadyPresent",
		},
		{
			name: "azure arm operation in progress", reply: jsonReply(409, `{"error":{"code":"AnotherOperationInProgress","message":"another operation is in progress"}}`),
			kind: Locked, dialect: "json", reason: "AnotherOperationInProgress",
		},
		{
			name: "s3 precondition failed on conditional create", method: "PUT", reqHdr: map[string]string{"If-None-Match": "*"},
			reply: reply{status: 412, header: map[string]string{"Content-Type": "application/xml"}, body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><RequestId>R1</RequestId></Error>`},
			kind:  Duplicate, dialect: "azure", reason: "PreconditionFailed",
			check: func(t *testing.T, c *Conflict) { eq(t, "RequestID", c.RequestID, "R1") },
		},
		{
			name:  "s3 conditional request conflict",
			reply: reply{status: 409, header: map[string]string{"Content-Type": "application/xml"}, body: `<Error><Code>ConditionalRequestConflict</Code><Message>A conflicting operation occurred.</Message></Error>`},
			kind:  Locked, reason: "ConditionalRequestConflict",
		},
		{
			name:  "confluence version in text",
			reply: jsonReply(409, `{"statusCode":409,"message":"Version must be incremented on update. Current version is: 7"}`),
			kind:  StaleVersion, dialect: "json",
			check: func(t *testing.T, c *Conflict) {
				eq(t, "CurrentVersion", c.CurrentVersion, "7")
				eq(t, "Heuristic", c.Heuristic, true)
			},
		},
		{
			name:  "gitlab stale sha",
			reply: jsonReply(409, `{"message":"SHA does not match HEAD of source branch"}`),
			kind:  StaleVersion, dialect: "json",
		},
		{
			name: "gitlab merge request exists", method: "POST",
			reply: jsonReply(409, `{"message":["Another open merge request already exists for this source branch: !42"]}`),
			kind:  Duplicate, dialect: "json",
		},
		{
			name:  "shopify asset changed remotely",
			reply: jsonReply(409, `{"errors":"There have been changes to this file made remotely."}`),
			kind:  StaleVersion, dialect: "json",
		},
		{
			name: "gitlab already taken", method: "POST",
			reply: jsonReply(409, `{"message":"Username has already been taken"}`),
			kind:  Duplicate, dialect: "json",
		},
		{
			name: "auth0 user exists", method: "POST",
			reply: jsonReply(409, `{"statusCode":409,"error":"Conflict","message":"The user already exists.","errorCode":"auth0_idp_error"}`),
			kind:  Duplicate, dialect: "json",
		},
		{
			name: "okta duplicate (400)", method: "POST",
			reply: jsonReply(400, `{"errorCode":"E0000001","errorSummary":"Api validation failed: login","errorLink":"E0000001","errorId":"oae4","errorCauses":[{"errorSummary":"login: An object with this field already exists in the current organization"}]}`),
			kind:  Duplicate, dialect: "json",
		},
		{
			name: "twilio unique name", method: "POST",
			reply: jsonReply(409, `{"code":54301,"message":"Unique name already exists","more_info":"https://www.twilio.com/docs/errors/54301","status":409}`),
			kind:  Duplicate, dialect: "twilio", reason: "54301",
		},
		{
			name:  "twilio revision mismatch",
			reply: jsonReply(412, `{"code":54103,"message":"Document revision mismatch","more_info":"https://www.twilio.com/docs/errors/54103","status":412}`),
			kind:  StaleVersion, dialect: "twilio",
		},
		{
			name: "gocardless idempotent creation conflict", method: "POST",
			reply: jsonReply(409, `{"error":{"type":"invalid_state","code":409,"message":"A resource has already been created with this idempotency key","errors":[{"reason":"idempotent_creation_conflict","message":"A resource has already been created with this idempotency key","links":{"conflicting_resource_id":"SB123"}}],"request_id":"req-9"}}`),
			kind:  Duplicate, dialect: "gocardless", reason: "idempotent_creation_conflict",
			check: func(t *testing.T, c *Conflict) {
				eq(t, "ExistingID", c.ExistingID, "SB123")
				eq(t, "RequestID", c.RequestID, "req-9")
			},
		},
		{
			name:  "commercetools concurrent modification",
			reply: jsonReply(409, `{"statusCode":409,"message":"Object 123 has a different version than expected. Expected: 1 - Actual: 2.","errors":[{"code":"ConcurrentModification","message":"Object 123 has a different version than expected. Expected: 1 - Actual: 2.","currentVersion":2}]}`),
			kind:  StaleVersion, dialect: "commercetools", reason: "ConcurrentModification",
			check: func(t *testing.T, c *Conflict) { eq(t, "CurrentVersion", c.CurrentVersion, "2") },
		},
		{
			name: "commercetools duplicate field", method: "POST",
			reply: jsonReply(409, `{"statusCode":409,"message":"A duplicate value","errors":[{"code":"DuplicateField","message":"A duplicate value '\"a@example.com\"' exists for field 'email'.","field":"email","duplicateValue":"a@example.com","conflictingResource":{"typeId":"customer","id":"c-1"}}]}`),
			kind:  Duplicate, dialect: "commercetools",
			check: func(t *testing.T, c *Conflict) {
				eq(t, "Field", c.Field, "email")
				eq(t, "ExistingID", c.ExistingID, "c-1")
			},
		},
		{
			name: "hetzner uniqueness error", method: "POST",
			reply: jsonReply(409, `{"error":{"code":"uniqueness_error","message":"SSH key with the same fingerprint already exists","details":{"fields":[{"name":"public_key"}]}}}`),
			kind:  Duplicate, dialect: "json", reason: "uniqueness_error",
		},
		{
			name: "hetzner locked", method: "POST",
			reply: jsonReply(423, `{"error":{"code":"locked","message":"Another action is running","details":{}}}`),
			kind:  Locked, dialect: "json", reason: "locked",
		},
		{
			name: "hetzner conflict on update", method: "PUT",
			reply: jsonReply(409, `{"error":{"code":"conflict","message":"The resource has changed during the request, please retry","details":{}}}`),
			kind:  StaleVersion, dialect: "json", reason: "conflict",
		},
		{
			name: "paddle concurrent modification", method: "PATCH",
			reply: jsonReply(409, `{"error":{"type":"request_error","code":"concurrent_modification","detail":"Concurrent modification of entity pro_01.","documentation_url":"https://developer.paddle.com/errors/shared/concurrent_modification"},"meta":{"request_id":"r-1"}}`),
			kind:  Locked, dialect: "json", reason: "concurrent_modification",
		},
		{
			name:  "problem+json with current version extension",
			reply: reply{status: 409, header: map[string]string{"Content-Type": "application/problem+json"}, body: `{"type":"https://developer.cisco.com/docs/appdynamics/errors/#!version-mismatch","title":"Version mismatch caused by a concurrent modification","detail":"'Foobar' version is different from the one provided","currentVersion":2,"traceId":"34f067aa0ba902b7"}`},
			kind:  StaleVersion, dialect: "problem",
			check: func(t *testing.T, c *Conflict) {
				eq(t, "CurrentVersion", c.CurrentVersion, "2")
				eq(t, "RequestID", c.RequestID, "34f067aa0ba902b7")
				if c.Problem == nil || c.Problem.Title != "Version mismatch caused by a concurrent modification" {
					t.Errorf("Problem = %+v", c.Problem)
				}
				if string(c.Problem.Extensions["traceId"]) != `"34f067aa0ba902b7"` {
					t.Errorf("Extensions = %v", c.Problem.Extensions)
				}
			},
		},
		{
			name: "ietf draft request outstanding", method: "POST",
			reply: reply{status: 409, header: map[string]string{"Content-Type": "application/problem+json"}, body: `{"type":"https://developer.example.com/idempotency","title":"A request is outstanding for this Idempotency-Key","detail":"A request with the same Idempotency-Key for the same operation is being processed or is outstanding."}`},
			kind:  IdempotencyInUse, dialect: "problem",
		},
		{
			name: "ietf draft key reused (422)", method: "POST",
			reply: reply{status: 422, header: map[string]string{"Content-Type": "application/problem+json"}, body: `{"type":"https://developer.example.com/idempotency","title":"Idempotency-Key is already used","detail":"This operation is idempotent and it requires correct usage of Idempotency Key. Idempotency Key MUST not be reused across different payloads of this operation."}`},
			kind:  IdempotencyMismatch, dialect: "problem",
		},
		{
			name: "problem+xml", method: "PUT",
			reply: reply{status: 409, header: map[string]string{"Content-Type": "application/problem+xml"}, body: `<?xml version="1.0" encoding="UTF-8"?><problem xmlns="urn:ietf:rfc:7807"><type>https://example.net/problems/version-conflict</type><title>Version conflict</title><status>409</status><detail>stale</detail></problem>`},
			kind:  StaleVersion, dialect: "problem",
			check: func(t *testing.T, c *Conflict) { eq(t, "Problem.Status", c.Problem.Status, 409) },
		},
	})
}

// TestClassifyCommonVocabulary covers the spellings of hand-written APIs.
func TestClassifyCommonVocabulary(t *testing.T) {
	t.Parallel()
	runClassifyCases(t, []classifyCase{
		{name: "error version_conflict", reply: jsonReply(409, `{"error":"version_conflict","message":"stale","current_version":4,"field":"title"}`), kind: StaleVersion, dialect: "json", reason: "version_conflict",
			check: func(t *testing.T, c *Conflict) {
				eq(t, "CurrentVersion", c.CurrentVersion, "4")
				eq(t, "Field", c.Field, "title")
				eq(t, "Message", c.Message, "stale")
			}},
		{name: "code version_mismatch", reply: jsonReply(409, `{"code":"version_mismatch"}`), kind: StaleVersion, reason: "version_mismatch"},
		{name: "reason stale_object", reply: jsonReply(409, `{"reason":"stale_object_state"}`), kind: StaleVersion},
		{name: "type duplicate_email", method: "POST", reply: jsonReply(409, `{"type":"duplicate_email","existing_id":"u_7","location":"/users/u_7"}`), kind: Duplicate,
			check: func(t *testing.T, c *Conflict) {
				eq(t, "ExistingID", c.ExistingID, "u_7")
				eq(t, "ExistingLocation", c.ExistingLocation, "/users/u_7")
			}},
		{name: "already_exists", method: "POST", reply: jsonReply(409, `{"error":{"code":"already_exists","message":"exists"}}`), kind: Duplicate},
		{name: "user_already_exists", method: "POST", reply: jsonReply(409, `{"error_code":"USER_ALREADY_EXISTS"}`), kind: Duplicate},
		{name: "invalid_state_transition", method: "POST", reply: jsonReply(409, `{"error":"invalid_state_transition","current_state":"shipped","allowed_transitions":["deliver"]}`), kind: InvalidTransition,
			check: func(t *testing.T, c *Conflict) {
				eq(t, "CurrentState", c.CurrentState, "shipped")
				if len(c.AllowedTransitions) != 1 || c.AllowedTransitions[0] != "deliver" {
					t.Errorf("AllowedTransitions = %q", c.AllowedTransitions)
				}
			}},
		{name: "invalid_transition", method: "POST", reply: jsonReply(409, `{"code":"invalid_transition","currentState":"paid","allowedTransitions":["ship","cancel"]}`), kind: InvalidTransition},
		{name: "idempotency_key_in_use", method: "POST", reply: reply{status: 409, header: map[string]string{"Retry-After": "2"}, body: `{"error":"idempotency_key_in_use"}`}, kind: IdempotencyInUse,
			check: func(t *testing.T, c *Conflict) { eq(t, "RetryAfter", c.RetryAfter, 2*time.Second) }},
		{name: "current representation", reply: jsonReply(409, `{"error":"version_conflict","current":{"id":"d1","version":5}}`), kind: StaleVersion,
			check: func(t *testing.T, c *Conflict) { eq(t, "Current", string(c.Current), `{"id":"d1","version":5}`) }},
		{name: "circular reference", method: "PUT", reply: jsonReply(409, `{"error":"circular_reference","field":"parent"}`), kind: Dependency},
		{name: "precondition required", reply: jsonReply(428, `{"error":"precondition_required"}`), kind: PreconditionRequired},
		{name: "sentence only: has been modified", reply: jsonReply(409, `{"message":"The document has been modified by someone else"}`), kind: StaleVersion,
			check: func(t *testing.T, c *Conflict) { eq(t, "Heuristic", c.Heuristic, true) }},
		{name: "sentence as error", method: "POST", reply: jsonReply(409, `{"error":"Email already present"}`), kind: Duplicate,
			check: func(t *testing.T, c *Conflict) {
				eq(t, "Heuristic", c.Heuristic, true)
				eq(t, "Reason", c.Reason, "")
			}},
		{name: "unknown reason", reply: jsonReply(409, `{"error":"quota_frozen","message":"try something else"}`), kind: Unknown, reason: "quota_frozen"},
	})
}

// TestClassifyByStatus covers what the status and request decide when the
// body says nothing usable, and bad input.
func TestClassifyByStatus(t *testing.T) {
	t.Parallel()
	runClassifyCases(t, []classifyCase{
		{name: "412 empty body", reply: reply{status: 412}, kind: StaleVersion, dialect: "status"},
		{name: "412 on If-None-Match star", method: "PUT", reqHdr: map[string]string{"If-None-Match": "*"}, reply: reply{status: 412}, kind: Duplicate},
		{name: "428", reply: reply{status: 428, body: "precondition required"}, kind: PreconditionRequired},
		{name: "423", reply: reply{status: 423, body: "<html>locked</html>"}, kind: Locked},
		{name: "409 empty", reply: reply{status: 409}, kind: Unknown, dialect: "status"},
		{name: "409 text/plain", reply: reply{status: 409, header: map[string]string{"Content-Type": "text/plain"}, body: "Conflict"}, kind: Unknown},
		{name: "409 html", reply: reply{status: 409, header: map[string]string{"Content-Type": "text/html"}, body: "<html><body><h1>409</h1></body></html>"}, kind: Unknown},
		{name: "409 truncated json", reply: jsonReply(409, `{"error":"version_conf`), kind: Unknown},
		{name: "409 json array", reply: jsonReply(409, `["version_conflict"]`), kind: Unknown},
		{name: "409 json wrong types", reply: jsonReply(409, `{"error":7,"code":{"a":1},"current_version":[1],"allowed_transitions":"x"}`), kind: Unknown},
		{name: "409 binary", reply: reply{status: 409, header: map[string]string{"Content-Type": "application/json"}, body: "\x00\xff\xfe{\x01"}, kind: Unknown},
		{name: "409 non-utf8 message", reply: jsonReply(409, "{\"error\":\"version_conflict\",\"message\":\"caf\xe9\"}"), kind: StaleVersion},
		{name: "409 wrong content type", reply: reply{status: 409, header: map[string]string{"Content-Type": "text/plain"}, body: `{"error":"already_exists"}`}, method: "POST", kind: Duplicate},
		{name: "MKCOL missing parent", method: "MKCOL", reply: reply{status: 409}, kind: Dependency},
		{name: "422 problem unrelated", reply: reply{status: 409, header: map[string]string{"Content-Type": "application/problem+json"}, body: `{"type":"about:blank","title":"Conflict","status":409}`}, kind: Unknown, dialect: "problem"},
	})
}

func TestClassifyNotAConflict(t *testing.T) {
	t.Parallel()
	for _, r := range []reply{
		{status: 200, body: `{"error":"version_conflict"}`},
		{status: 201},
		{status: 404, body: `{"error":"not_found"}`},
		{status: 422, body: `{"error":"invalid","message":"name is required"}`},
		{status: 400, body: `{"error":"bad_request"}`},
		{status: 422, body: `{"error":"RecordInvalid","description":"Record validation errors","details":{"name":[{"description":"Name: is too short (minimum is 1 characters)"}]}}`},
		{status: 400, body: `{"message":"Passwords do not match. Please check the password.","code":400,"type":"user_password_mismatch"}`},
		{status: 400, body: `{"data":{},"message":"Failed to create record.","status":400}`},
		{status: 422, body: `{"errors":[{"code":422,"message":"Can not save changes","source":""}]}`},
		{status: 400, body: `{"errors":{"email":["does not match the expected format"]}}`},
		{status: 401, body: `{"message":"A session already exists","type":"user_session_already_exists"}`},
		{status: 500, body: `{"error":"version_conflict"}`},
		{status: 429, header: map[string]string{"Retry-After": "1"}},
	} {
		srv := serve(t, r)
		resp := roundTrip(t, srv, "PUT", nil)
		c, err := Classify(resp)
		if c != nil || err != nil {
			t.Errorf("status %d: Classify = %v, %v; want nil, nil", r.status, c, err)
		}
		got, _ := io.ReadAll(resp.Body)
		if string(got) != r.body {
			t.Errorf("status %d: body = %q, want %q", r.status, got, r.body)
		}
	}
	if c, err := Classify(nil); c != nil || err != nil {
		t.Errorf("Classify(nil) = %v, %v", c, err)
	}
}

func TestClassifierReasons(t *testing.T) {
	t.Parallel()
	cl := Classifier{Reasons: map[string]Kind{
		"version_mismatch":      Duplicate, // overrides the built-in meaning
		"DUPLICATE_EXTERNAL_ID": Duplicate,
		"E0000001":              Duplicate,
		"order-not-editable":    InvalidTransition,
	}}
	cases := []struct {
		name string
		r    reply
		want Kind
	}{
		{"overrides vocabulary", jsonReply(409, `{"error":"version_mismatch"}`), Duplicate},
		{"case-insensitive", jsonReply(409, `{"code":"duplicate_external_id"}`), Duplicate},
		{"makes a 400 a conflict", jsonReply(400, `{"errorCode":"E0000001","errorSummary":"Api validation failed: login"}`), Duplicate},
		{"problem type segment", reply{status: 409, header: map[string]string{"Content-Type": "application/problem+json"}, body: `{"type":"https://api.example/problems/order-not-editable","title":"Order cannot be edited"}`}, InvalidTransition},
	}
	for _, tc := range cases {
		srv := serve(t, tc.r)
		resp := roundTrip(t, srv, "POST", nil)
		c, err := cl.Classify(resp)
		if err != nil || c == nil {
			t.Fatalf("%s: Classify = %v, %v", tc.name, c, err)
		}
		if c.Kind != tc.want || c.Dialect != "reasons" {
			t.Errorf("%s: Kind = %v (dialect %s), want %v (reasons)", tc.name, c.Kind, c.Dialect, tc.want)
		}
	}
}

func TestClassifyLargeBody(t *testing.T) {
	t.Parallel()
	big := `{"error":"version_conflict","padding":"` + strings.Repeat("x", 200<<10) + `"}`
	srv := serve(t, jsonReply(409, big))
	resp := roundTrip(t, srv, "PUT", nil)
	cl := Classifier{MaxBodyBytes: 1 << 10}
	c, err := cl.Classify(resp)
	if err != nil {
		t.Fatal(err)
	}
	// The prefix is not valid JSON, so only the status decides.
	if c.Kind != Unknown || len(c.Body) != 1<<10 {
		t.Errorf("Kind = %v, len(Body) = %d; want unknown, 1024", c.Kind, len(c.Body))
	}
	got, _ := io.ReadAll(resp.Body)
	if string(got) != big {
		t.Errorf("body after Classify has %d bytes, want %d", len(got), len(big))
	}
}

func TestClassifyReadError(t *testing.T) {
	t.Parallel()
	// The server promises more bytes than it sends, then closes.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(409)
		io.WriteString(w, `{"error":"version_conflict"`)
	}))
	t.Cleanup(srv.Close)
	resp := roundTrip(t, srv, "PUT", nil)
	c, err := Classify(resp)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want one wrapping io.ErrUnexpectedEOF", err)
	}
	if c == nil || c.Status != 409 {
		t.Fatalf("Conflict = %v, want a 409", c)
	}
	got, rerr := io.ReadAll(resp.Body)
	if string(got) != `{"error":"version_conflict"` || !errors.Is(rerr, io.ErrUnexpectedEOF) {
		t.Errorf("body = %q, %v; want the bytes read, then the read error", got, rerr)
	}
}

func TestClassifyGzip(t *testing.T) {
	t.Parallel()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	io.WriteString(zw, `{"error":"version_conflict"}`)
	zw.Close()
	srv := serve(t, reply{status: 409, header: map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/json"}, body: zb.String()})

	// net/http decompresses transparently when it asked for gzip itself.
	resp := roundTrip(t, srv, "PUT", nil)
	if c, _ := Classify(resp); c == nil || c.Kind != StaleVersion {
		t.Errorf("transparent gzip: Conflict = %v", c)
	}
	// With an explicit Accept-Encoding the body arrives compressed.
	resp = roundTrip(t, srv, "PUT", map[string]string{"Accept-Encoding": "gzip"})
	if c, _ := Classify(resp); c == nil || c.Kind != StaleVersion {
		t.Errorf("explicit gzip: Conflict = %v", c)
	}
	got, _ := io.ReadAll(resp.Body)
	if !bytes.Equal(got, zb.Bytes()) {
		t.Error("compressed body changed by Classify")
	}
}

func TestClassifyClosesOriginal(t *testing.T) {
	t.Parallel()
	srv := serve(t, jsonReply(409, `{"error":"version_conflict"}`))
	resp := roundTrip(t, srv, "PUT", nil)
	orig := &closeCounter{ReadCloser: resp.Body}
	resp.Body = orig
	if _, err := Classify(resp); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if orig.n != 1 {
		t.Errorf("original body closed %d times, want 1", orig.n)
	}
}

type closeCounter struct {
	io.ReadCloser
	n int
}

func (c *closeCounter) Close() error { c.n++; return c.ReadCloser.Close() }

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		value, date string
		want        time.Duration
	}{
		{"", "", 0},
		{"3", "", 3 * time.Second},
		{" 3 ", "", 3 * time.Second},
		{"0", "", 0},
		{"-5", "", 0},
		{"1.5", "", 0},
		{"soon", "", 0},
		{"99999999999999999999", "", 0}, // overflows int64: malformed
		{"999999999", "", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), "", 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), "", 0},
		// Measured from the server's Date when it sent one.
		{now.Add(time.Hour).Format(http.TimeFormat), now.Add(59 * time.Minute).Format(http.TimeFormat), time.Minute},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.value != "" {
			h.Set("Retry-After", tc.value)
		}
		if tc.date != "" {
			h.Set("Date", tc.date)
		}
		if got := retryAfter(h, now); got != tc.want {
			t.Errorf("retryAfter(%q, Date %q) = %v, want %v", tc.value, tc.date, got, tc.want)
		}
	}
}

func TestKindText(t *testing.T) {
	t.Parallel()
	for k := Unknown; k <= PreconditionRequired; k++ {
		text, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if string(text) != k.String() || strings.ToLower(k.String()) != k.String() {
			t.Errorf("Kind %d: text %q, String %q", int(k), text, k)
		}
		var back Kind
		if err := back.UnmarshalText(text); err != nil || back != k {
			t.Errorf("UnmarshalText(%q) = %v, %v", text, back, err)
		}
	}
	if Kind(0) != Unknown {
		t.Error("zero Kind is not Unknown")
	}
	if _, err := Kind(99).MarshalText(); err == nil {
		t.Error("MarshalText of an invalid kind succeeded")
	}
	var k Kind
	if err := k.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText of an unknown name succeeded")
	}
	if Kind(99).String() != "kind(99)" {
		t.Errorf("Kind(99).String() = %q", Kind(99).String())
	}
}

// TestClassifyWalk covers replies whose reason sits where no dialect looks:
// the walk reads the whole body (issue 12).
func TestClassifyWalk(t *testing.T) {
	t.Parallel()
	evidence := func(want Evidence) func(t *testing.T, c *Conflict) {
		return func(t *testing.T, c *Conflict) {
			eq(t, "Evidence", c.Evidence, want)
			eq(t, "Heuristic", c.Heuristic, want == EvidencePhrase)
		}
	}
	runClassifyCases(t, []classifyCase{
		{name: "graphql extensions code (400)", method: "POST",
			reply: jsonReply(400, `{"errors":[{"message":"Value for field \"email\" in collection \"users\" has to be unique.","extensions":{"code":"RECORD_NOT_UNIQUE","collection":"users","field":"email"}}]}`),
			kind:  Duplicate, dialect: "json", reason: "RECORD_NOT_UNIQUE",
			check: func(t *testing.T, c *Conflict) {
				eq(t, "Field", c.Field, "email")
				evidence(EvidenceReason)(t, c)
			}},
		{name: "top-level array, id in the message (400)", method: "POST",
			reply: jsonReply(400, `[{"message":"duplicate value found: Ext__c duplicates value on record with id: 0035400000hDwBh","errorCode":"DUPLICATE_VALUE","fields":[]}]`),
			kind:  Duplicate, reason: "DUPLICATE_VALUE",
			check: func(t *testing.T, c *Conflict) { eq(t, "ExistingID", c.ExistingID, "0035400000hDwBh") }},
		{name: "field-keyed validation map (422)", method: "POST",
			reply: jsonReply(422, `{"code":422,"message":"Validation failed","errors":{"name":["is fine"],"email":["This email has already been taken."]}}`),
			kind:  Duplicate,
			check: func(t *testing.T, c *Conflict) {
				eq(t, "Field", c.Field, "email")
				eq(t, "Message", c.Message, "This email has already been taken.")
				evidence(EvidencePhrase)(t, c)
			}},
		{name: "field-keyed code objects (400)", method: "POST",
			reply: jsonReply(400, `{"data":{"username":{"code":"validation_not_unique","message":"Value must be unique."}},"message":"Failed to create record.","status":400}`),
			kind:  Duplicate, reason: "validation_not_unique",
			check: func(t *testing.T, c *Conflict) { eq(t, "Field", c.Field, "username") }},
		{name: "dropbox error_summary", method: "POST",
			reply: jsonReply(409, `{"error_summary":"path/conflict/file/..","error":{".tag":"path","path":{".tag":"conflict","conflict":{".tag":"file"}}}}`),
			kind:  Duplicate, reason: "conflict", check: evidence(EvidenceRequest)},
		{name: "dropbox not found is unknown", method: "POST",
			reply: jsonReply(409, `{"error_summary":"path/not_found/..","error":{".tag":"path","path":{".tag":"not_found"}}}`),
			kind:  Unknown, check: evidence("")},
		{name: "a code in a message (400)", method: "POST",
			reply: jsonReply(400, `{"error":{"code":400,"message":"EMAIL_EXISTS","errors":[{"message":"EMAIL_EXISTS","domain":"global","reason":"invalid"}]}}`),
			kind:  Duplicate, reason: "EMAIL_EXISTS"},
		{name: "aws __type (400)", method: "POST",
			reply: reply{status: 400, header: map[string]string{"Content-Type": "application/x-amz-json-1.0"}, body: `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException","message":"Transaction is ongoing for the item"}`},
			kind:  Locked},
		{name: "aws x-amzn-ErrorType header only (400)", method: "POST",
			reply: reply{status: 400, header: map[string]string{"x-amzn-ErrorType": "UsernameExistsException:"}},
			kind:  Duplicate, dialect: "aws", reason: "UsernameExistsException"},
		{name: "numeric code is not the reason", method: "PATCH",
			reply: jsonReply(409, `{"message":"Remote document is newer than local.","code":409,"type":"document_update_conflict","version":"1.4.13"}`),
			kind:  StaleVersion, reason: "document_update_conflict",
			check: func(t *testing.T, c *Conflict) { eq(t, "CurrentVersion", c.CurrentVersion, "") }},
		{name: "contentful sys.id", reqHdr: map[string]string{"X-Contentful-Version": "3"},
			reply: reply{status: 409, header: map[string]string{"Content-Type": "application/vnd.contentful.management.v1+json"}, body: `{"sys":{"type":"Error","id":"VersionMismatch"},"requestId":"r-1"}`},
			kind:  StaleVersion, reason: "VersionMismatch",
			check: func(t *testing.T, c *Conflict) { eq(t, "RequestID", c.RequestID, "r-1") }},
		{name: "existing id quoted in the message", method: "POST",
			reply: jsonReply(409, `{"status":"error","message":"Contact already exists. Existing ID: 6001","category":"CONFLICT"}`),
			kind:  Duplicate,
			check: func(t *testing.T, c *Conflict) { eq(t, "ExistingID", c.ExistingID, "6001") }},
		{name: "existing id spellings: camelCase", method: "POST",
			reply: jsonReply(409, `{"code":"already_exists","existingResourceId":"r-9"}`),
			kind:  Duplicate, check: func(t *testing.T, c *Conflict) { eq(t, "ExistingID", c.ExistingID, "r-9") }},
		{name: "existing id spellings: conflicts list", method: "POST",
			reply: jsonReply(409, `{"type":"error","code":"item_name_in_use","context_info":{"conflicts":[{"id":"12345","type":"file"}]}}`),
			kind:  Duplicate, check: func(t *testing.T, c *Conflict) { eq(t, "ExistingID", c.ExistingID, "12345") }},
		{name: "current version spellings: currentRevisionID",
			reply: jsonReply(409, `{"error":{"code":"revision_mismatch","currentRevisionID":"r42"}}`),
			kind:  StaleVersion, check: func(t *testing.T, c *Conflict) { eq(t, "CurrentVersion", c.CurrentVersion, "r42") }},
		{name: "current version spellings: _rev",
			reply: jsonReply(409, `{"reason":"stale_object","_rev":"3-abc"}`),
			kind:  StaleVersion, check: func(t *testing.T, c *Conflict) { eq(t, "CurrentVersion", c.CurrentVersion, "3-abc") }},
		{name: "no transition allowed: empty, not nil", method: "POST",
			reply: jsonReply(409, `{"error":"invalid_state_transition","current_state":"cancelled","allowed_transitions":[]}`),
			kind:  InvalidTransition,
			check: func(t *testing.T, c *Conflict) {
				if c.AllowedTransitions == nil || len(c.AllowedTransitions) != 0 {
					t.Errorf("AllowedTransitions = %#v, want an empty, non-nil slice", c.AllowedTransitions)
				}
			}},
		{name: "transitions not stated: nil", method: "POST",
			reply: jsonReply(409, `{"error":"invalid_state_transition"}`),
			kind:  InvalidTransition,
			check: func(t *testing.T, c *Conflict) {
				if c.AllowedTransitions != nil {
					t.Errorf("AllowedTransitions = %#v, want nil", c.AllowedTransitions)
				}
			}},
		{name: "stale version on a 400 (accounting APIs)", method: "POST",
			reply: jsonReply(400, `{"Fault":{"Error":[{"Message":"Stale Object Error","Detail":"Stale Object Error : You and A were working on this at the same time.","code":"5010"}],"type":"ValidationFault"}}`),
			kind:  StaleVersion, check: evidence(EvidencePhrase)},
		{name: "dependency on a 400", method: "POST",
			reply: jsonReply(400, `{"errors":[{"message":"Invalid foreign key \"99\" for field \"author\".","extensions":{"code":"INVALID_FOREIGN_KEY","field":"author"}}]}`),
			kind:  Dependency, check: func(t *testing.T, c *Conflict) { eq(t, "Field", c.Field, "author") }},
		{name: "plain text body", method: "POST",
			reply: reply{status: 400, header: map[string]string{"Content-Type": "text/plain"}, body: "400 File already exists. See https://pypi.org/help/#file-name-reuse for more information.\n\n"},
			kind:  Duplicate, dialect: "text",
			check: func(t *testing.T, c *Conflict) {
				eq(t, "Message", c.Message, "400 File already exists. See https://pypi.org/help/#file-name-reuse for more information.")
				evidence(EvidencePhrase)(t, c)
			}},
		{name: "webdav xml message", method: "PUT", reqHdr: map[string]string{"If-Match": `"e1"`},
			reply: reply{status: 409, header: map[string]string{"Content-Type": "application/xml"}, body: `<?xml version="1.0"?><d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><s:exception>Sabre\DAV\Exception\Conflict</s:exception><s:message>The resource was modified meanwhile</s:message></d:error>`},
			kind:  StaleVersion},
	})
}

// TestClassifyRequestContext covers what the request that received the
// reply decides: its preconditions, version headers and idempotency key.
func TestClassifyRequestContext(t *testing.T) {
	t.Parallel()
	runClassifyCases(t, []classifyCase{
		{name: "412 to a create guarded by must-not-exist", method: "PUT",
			reply: jsonReply(412, `{"cause":"/foo","errorCode":105,"index":39776,"message":"Already exists"}`),
			kind:  Duplicate},
		{name: "412 with If-Match that says exists is stale", method: "PUT", reqHdr: map[string]string{"If-Match": `"1"`},
			reply: jsonReply(412, `{"message":"Already exists"}`),
			kind:  StaleVersion, check: func(t *testing.T, c *Conflict) { eq(t, "Evidence", c.Evidence, EvidenceStatus) }},
		{name: "412 on If-None-Match star", method: "PUT", reqHdr: map[string]string{"If-None-Match": "*"},
			reply: reply{status: 412},
			kind:  Duplicate, check: func(t *testing.T, c *Conflict) { eq(t, "Evidence", c.Evidence, EvidenceRequest) }},
		{name: "412 without precondition, unknown reason", method: "POST",
			reply: jsonReply(412, `{"message":"The chosen OAuth provider is disabled.","code":412,"type":"project_provider_disabled"}`),
			kind:  Unknown, reason: "project_provider_disabled"},
		{name: "412 without precondition, no reason", method: "POST",
			reply: reply{status: 412},
			kind:  StaleVersion},
		{name: "in progress with an idempotency key", method: "POST", reqHdr: map[string]string{"X-Idempotency-Key": "k1"},
			reply: jsonReply(409, `{"status":"409","error":"Conflict","message":"The process has not been completed yet. Try again later.","cause":[{"code":"401001","message":"The process has not been completed yet. Try again later."}]}`),
			kind:  IdempotencyInUse},
		{name: "in progress without an idempotency key", method: "POST",
			reply: jsonReply(409, `{"message":"The process has not been completed yet. Try again later."}`),
			kind:  Locked},
		{name: "idempotency code says which key; detail says in progress", method: "POST",
			reply: reply{status: 409, header: map[string]string{"Content-Type": "application/problem+json"}, body: `{"type":"https://example.com/errors/idempotency-conflict","title":"Idempotency Conflict","detail":"A request with this key is still being processed."}`},
			kind:  IdempotencyInUse, dialect: "problem"},
		{name: "conflict code, version sent in a vendor header", method: "POST", reqHdr: map[string]string{"X-Resource-Version": "7"},
			reply: jsonReply(409, `{"code":"conflict"}`),
			kind:  StaleVersion, check: func(t *testing.T, c *Conflict) { eq(t, "Evidence", c.Evidence, EvidenceRequest) }},
		{name: "conflict code, API version header is not a precondition", method: "POST", reqHdr: map[string]string{"Stripe-Version": "2024-06-20", "X-Api-Version": "3", "X-Client-Version": "1.2.3", "X-Stainless-Runtime-Version": "go1.23"},
			reply: jsonReply(409, `{"code":"conflict"}`),
			kind:  Duplicate},
		{name: "conflict code, version in the query", method: "POST",
			reply: jsonReply(409, `{"code":"conflict"}`),
			kind:  Duplicate},
		{name: "framework default body on a POST is no evidence", method: "POST",
			reply: jsonReply(409, `{"error":"Conflict"}`),
			kind:  Unknown,
			check: func(t *testing.T, c *Conflict) {
				eq(t, "Reason", c.Reason, "")
				eq(t, "Evidence", c.Evidence, Evidence(""))
			}},
		{name: "spring default body on a POST is no evidence", method: "POST",
			reply: jsonReply(409, `{"timestamp":"2024-01-01T00:00:00Z","status":409,"error":"Conflict","path":"/api/users"}`),
			kind:  Unknown, check: func(t *testing.T, c *Conflict) { eq(t, "Field", c.Field, "") }},
	})
}

func TestClassifyVersionQuery(t *testing.T) {
	t.Parallel()
	srv := serve(t, jsonReply(409, `{"code":"conflict"}`))
	for _, q := range []string{"rev=2-a", "ifGenerationMatch=5", "prevIndex=8"} {
		req, err := http.NewRequest("POST", srv.URL+"/things?"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := Classify(resp)
		resp.Body.Close()
		if c == nil || c.Kind != StaleVersion {
			t.Errorf("?%s: Conflict = %v, want stale_version", q, c)
		}
	}
}

// TestClassifyWalkBounds checks the walk stops at its bounds: what lies
// deeper than walkMaxDepth, or after walkMaxNodes members, is not read.
func TestClassifyWalkBounds(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, walkMaxDepth+2) + `{"code":"version_conflict"}` + strings.Repeat("}", walkMaxDepth+2)
	var wide strings.Builder
	wide.WriteString(`{"errors":[`)
	for i := 0; i < walkMaxNodes; i++ {
		wide.WriteString(`{"x":1},`)
	}
	wide.WriteString(`{"code":"version_conflict"}]}`)
	shallow := strings.Repeat(`{"a":`, 3) + `{"code":"version_conflict"}` + strings.Repeat("}", 3)
	for _, tc := range []struct {
		name, body string
		want       Kind
	}{
		{"deep", deep, Unknown},
		{"wide", wide.String(), Unknown},
		{"shallow", shallow, StaleVersion},
	} {
		srv := serve(t, jsonReply(409, tc.body))
		resp := roundTrip(t, srv, "PUT", nil)
		c, err := Classify(resp)
		if err != nil || c == nil || c.Kind != tc.want {
			t.Errorf("%s: Conflict = %v, %v; want %v", tc.name, c, err, tc.want)
		}
	}
}

// TestClassifyByteOrderMark: a body that starts with a UTF-8 byte order mark,
// as Azure Storage sends, is read like any other.
func TestClassifyByteOrderMark(t *testing.T) {
	for _, tc := range []struct{ ctype, body string }{
		{"application/problem+json", "\ufeff" + `{"type":"https://x/version-conflict","title":"Version conflict","status":409,"code":"version_conflict"}`},
		{"application/xml", "\ufeff" + `<?xml version="1.0" encoding="utf-8"?><Error><Code>ConditionNotMet</Code><Message>The condition specified using HTTP conditional header(s) is not met.</Message></Error>`},
	} {
		resp := &http.Response{StatusCode: 412, Header: http.Header{"Content-Type": {tc.ctype}}, Body: io.NopCloser(strings.NewReader(tc.body))}
		cf, err := Classify(resp)
		if err != nil || cf == nil || cf.Kind != StaleVersion || cf.Message == "" || cf.Dialect == "text" {
			t.Errorf("%s: %+v, %v", tc.ctype, cf, err)
		}
	}
}
