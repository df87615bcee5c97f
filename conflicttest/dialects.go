package conflicttest

import "net/http"

// A Dialect is the way a Server spells its error replies: the status it
// uses for each kind of conflict, the body's shape and its reason codes.
//
// The reason each dialect sends, by kind (status 409 unless noted; "stale"
// is 409 for a stale body version and 412 for a failed If-Match, and
// "exists" is If-None-Match: * on an existing document, 412):
//
//	kind          Problem, Plain                     Kubernetes             CouchDB
//	stale         version_conflict                   Conflict               conflict
//	exists        duplicate, already_exists          AlreadyExists          file_exists
//	duplicate     duplicate, already_exists          AlreadyExists          conflict
//	transition    invalid_transition                 Conflict (+causes)     invalid_transition
//	dependency    dependency_conflict                Conflict (+causes)     dependency_conflict
//	key in use    idempotency_key_in_use             Conflict (+causes)     idempotency_key_in_use
//	key reused    idempotency_key_mismatch (422)     Invalid (422)          idempotency_key_mismatch (422)
//	428           precondition_required              PreconditionRequired   precondition_required
//
//	kind          Stripe                             Google status/ErrorInfo reason
//	stale         version_conflict                   ABORTED/VERSION_MISMATCH, ABORTED/ETAG_MISMATCH (412)
//	exists        resource_already_exists            ALREADY_EXISTS/RESOURCE_ALREADY_EXISTS
//	duplicate     resource_already_exists            ALREADY_EXISTS/RESOURCE_ALREADY_EXISTS
//	transition    invalid_transition                 FAILED_PRECONDITION/INVALID_STATE_TRANSITION
//	dependency    dependency_conflict                FAILED_PRECONDITION/PARENT_NOT_FOUND or CIRCULAR_REFERENCE
//	key in use    idempotency_key_in_use             ABORTED/IDEMPOTENCY_KEY_IN_USE (+RetryInfo)
//	key reused    type idempotency_error (400)       INVALID_ARGUMENT/IDEMPOTENCY_KEY_MISMATCH (422)
//	428           precondition_required              FAILED_PRECONDITION/PRECONDITION_REQUIRED
//
//	kind          GoCardless type/reason                          Commercetools                 AzureStorage
//	stale         invalid_state/version_conflict                  ConcurrentModification        ConditionNotMet
//	exists        invalid_state/idempotent_creation_conflict      DuplicateField                BlobAlreadyExists (409)
//	duplicate     invalid_state/idempotent_creation_conflict      DuplicateField                BlobAlreadyExists
//	transition    invalid_state/invalid_transition                InvalidOperation              InvalidStateTransition
//	dependency    invalid_state/dependency_conflict               ReferencedResourceNotFound,   ParentNotFound,
//	                                                              InvalidField (cycle)          CircularReference
//	key in use    invalid_state/idempotency_key_in_use            IdempotencyKeyInUse           OperationInProgress
//	key reused    invalid_api_usage/idempotency_key_mismatch      IdempotencyKeyMismatch        IdempotencyKeyMismatch
//	428           invalid_api_usage/precondition_required         PreconditionRequired          MissingRequiredHeader
//
// Where a server has no code of its own for a kind, the Server uses the
// name in this table; those names are this package's, not the vendor's.
// Every reply carries X-Request-Id; a key in use also Retry-After: 1, a
// duplicate the existing resource's Location ([WithLocation]), and a stale
// reply under [WithCurrentInConflict] the current ETag. Errors that are not
// conflicts (404, 400, 413, 415, and 503 from [Faults]) are spelled in the
// same dialect.
type Dialect string

// The dialects a Server speaks.
const (
	// Problem sends RFC 9457 problem details (application/problem+json)
	// with the members type (a relative URI such as
	// /problems/version-conflict, or about:blank for errors that are not
	// conflicts), title, status, detail and instance (the request path), and
	// the extensions code, request_id and, where they apply, field,
	// current_version, current (under WithCurrentInConflict), existing_id,
	// current_state and allowed_transitions (action names). The idempotency
	// titles are the IETF draft's: "A request is outstanding for this
	// Idempotency-Key" and "Idempotency-Key is already used".
	Problem Dialect = "problem"

	// Kubernetes sends a meta/v1 Status object. A stale version is reason
	// Conflict with the API server's "the object has been modified"
	// message; a duplicate is AlreadyExists with details.name set to the
	// existing id; a key reused with another payload is Invalid (422).
	// Invalid transitions, dependency conflicts and keys in use, which
	// Kubernetes has no reason for, are reason Conflict with the specifics
	// in details.causes; as on the wire, a cause's type is its "reason"
	// member (FieldValueInvalid on field "state" with the allowed actions,
	// FieldValueNotFound or FieldValueInvalid on field "parent", and
	// IdempotencyKeyInUse with details.retryAfterSeconds 1). A 428 is reason
	// PreconditionRequired, which Kubernetes itself never sends.
	Kubernetes Dialect = "kubernetes"

	// CouchDB sends {"error":"conflict","reason":"Document update
	// conflict."} for both a stale version and a duplicate, ambiguous on
	// purpose as CouchDB is; If-None-Match: * on an existing document is
	// file_exists. Other kinds are {"error":"<code>","reason":"..."}.
	CouchDB Dialect = "couchdb"

	// Stripe sends {"error":{"type","code","message","param"}}, param
	// naming the field. A key in use is idempotency_key_in_use (409) with
	// Stripe's message; a key reused with another payload is a 400 of type
	// idempotency_error; a duplicate is resource_already_exists (its message
	// names the existing id).
	Stripe Dialect = "stripe"

	// Google sends an AIP-193 google.rpc.Status whose code is the HTTP
	// status sent, with an ErrorInfo detail (domain conflicttest.local)
	// whose metadata holds strings: resource, field, existing_id,
	// current_state, action, allowed_transitions (comma-separated), parent,
	// idempotency_key, and current_version and current_etag under
	// WithCurrentInConflict.
	Google Dialect = "google"

	// GoCardless sends {"error":{"type","code","message","errors":[{"reason",
	// "message","field","links"}],"request_id"}}; a duplicate carries
	// links.conflicting_resource_id.
	GoCardless Dialect = "gocardless"

	// Commercetools sends {"statusCode","message","errors":[...]}; a stale
	// version always carries currentVersion, a duplicate field,
	// duplicateValue and conflictingResource {typeId, id}, a missing parent
	// typeId and id.
	Commercetools Dialect = "commercetools"

	// AzureStorage sends XML <Error><Code/><Message/></Error> with the same
	// code in the x-ms-error-code header and the request id in
	// x-ms-request-id and at the end of the message. It answers a failed
	// If-None-Match: * with 409, as Azure does. It has no slot for an
	// existing id: a duplicate names it only in Location.
	AzureStorage Dialect = "azure-storage"

	// Plain sends {"error":"<code>","message":"..."} plus the top-level
	// fields field, current_version, current, current_state,
	// allowed_transitions and existing_id where they apply.
	Plain Dialect = "plain"
)

// Dialects returns every Dialect, [Problem] first, for table tests. The
// caller owns the returned slice.
func Dialects() []Dialect {
	return []Dialect{Problem, Kubernetes, CouchDB, Stripe, Google, GoCardless, Commercetools, AzureStorage, Plain}
}

// renderer turns an apiError into a reply; it sets the status, the body and
// the Content-Type and any dialect-specific headers.
type renderer func(e *apiError) *reply

var renderers = map[Dialect]renderer{
	Problem:       renderProblem,
	Kubernetes:    renderKubernetes,
	CouchDB:       renderCouchDB,
	Stripe:        renderStripe,
	Google:        renderGoogle,
	GoCardless:    renderGoCardless,
	Commercetools: renderCommercetools,
	AzureStorage:  renderAzure,
	Plain:         renderPlain,
}

// jsonReply builds a reply with a JSON body.
func jsonReply(status int, contentType string, v any) *reply {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	return &reply{status: status, header: h, body: marshal(v)}
}
