package conflicttest

import "net/http"

// errKind is what went wrong, independent of the dialect that reports it.
type errKind int

const (
	kindStale                errKind = iota + 1 // version mismatch (409 body, 412 If-Match)
	kindDuplicate                               // unique value taken (409), or If-None-Match: * on an existing document (412)
	kindTransition                              // action not allowed in the current state (409)
	kindDependency                              // missing parent or circular reference (409)
	kindInUse                                   // idempotency key still in flight (409)
	kindMismatch                                // idempotency key reused with another payload (422)
	kindPreconditionRequired                    // unconditional update (428)
	kindNotFound                                // 404
	kindBadRequest                              // 400
	kindTooLarge                                // 413
	kindUnsupportedMedia                        // 415
	kindUnavailable                             // 503 (a FailBeforeCommit fault)
)

// kindInfo holds the Problem dialect's spelling of a kind; the other
// dialects start from it.
type kindInfo struct {
	code  string // Problem "code" extension; Plain "error" unless plain is set
	plain string // Plain "error" when it differs from code
	slug  string // Problem type is "/problems/" + slug; "" means about:blank
	title string // Problem title; "" means the status text
}

var kinds = map[errKind]kindInfo{
	kindStale:                {code: "version_conflict", slug: "version-conflict", title: "Version conflict"},
	kindDuplicate:            {code: "duplicate", plain: "already_exists", slug: "duplicate", title: "Resource already exists"},
	kindTransition:           {code: "invalid_transition", slug: "invalid-transition", title: "Invalid state transition"},
	kindDependency:           {code: "dependency_conflict", slug: "dependency-conflict", title: "Dependency conflict"},
	kindInUse:                {code: "idempotency_key_in_use", slug: "idempotency-key-in-use"},
	kindMismatch:             {code: "idempotency_key_mismatch", slug: "idempotency-key-mismatch"},
	kindPreconditionRequired: {code: "precondition_required", slug: "precondition-required", title: "Precondition required"},
	kindNotFound:             {code: "not_found"},
	kindBadRequest:           {code: "bad_request"},
	kindTooLarge:             {code: "request_too_large"},
	kindUnsupportedMedia:     {code: "unsupported_media_type"},
	kindUnavailable:          {code: "unavailable"},
}

// apiError is one error reply before a dialect spells it. Handlers fill in
// what they know; renderers take what their dialect has room for.
type apiError struct {
	kind   errKind
	status int
	detail string // one dialect-neutral sentence

	collection string // "documents", "users", "orders", "categories"
	id         string // the addressed resource, "" for a create
	field      string // the offending field ("version", "email", "parent", ...)
	value      string // the offending value (the duplicate email, the missing parent, ...)
	viaHeader  bool   // a stale version found by If-Match rather than the body

	version    int            // the current version, 0 if none
	current    map[string]any // the current representation (WithCurrentInConflict)
	existingID string         // the resource that already holds the unique value
	state      string         // the current state
	action     string         // the refused action
	allowed    []string       // the actions allowed in state
	cycle      bool           // a dependency conflict is a cycle, not a missing parent

	key       string // the idempotency key
	keyHeader string // the idempotency header's name
	instance  string // the request path
	requestID string
}

func (e *apiError) info() kindInfo { return kinds[e.kind] }

// title returns the Problem title: the IETF draft's titles for the
// idempotency kinds, the status text for kinds without their own type.
func (e *apiError) title() string {
	switch e.kind {
	case kindInUse:
		return "A request is outstanding for this " + e.keyHeader
	case kindMismatch:
		return e.keyHeader + " is already used"
	}
	if t := e.info().title; t != "" {
		return t
	}
	return http.StatusText(e.status)
}

// allowedList returns the allowed actions as a non-nil slice, so that an
// order with no way out is reported as [] rather than omitted.
func (e *apiError) allowedList() []string {
	if e.allowed == nil {
		return []string{}
	}
	return e.allowed
}
