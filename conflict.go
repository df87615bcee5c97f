package conflict

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// A Problem is an RFC 9457 problem details object, as a server sent it.
type Problem struct {
	// Type is a URI reference identifying the problem type.
	Type string
	// Title is a short summary of the problem type.
	Title string
	// Status is the status code the server stated in the body, or 0.
	Status int
	// Detail explains this occurrence of the problem.
	Detail string
	// Instance is a URI reference identifying this occurrence.
	Instance string
	// Extensions holds every member other than the five standard ones,
	// undecoded. It is nil for a problem+xml body.
	Extensions map[string]json.RawMessage
}

// A Conflict describes a conflict response: what kind it is and everything
// the server said about it. Fields the server did not send are empty.
//
// A Conflict is plain data: it holds no reference to the response.
type Conflict struct {
	// Kind is the classification.
	Kind Kind
	// Status is the HTTP status code.
	Status int
	// Reason is the server's own machine-readable reason code, as sent
	// ("Conflict", "idempotency_key_in_use", "23505", "ConditionNotMet").
	Reason string
	// Dialect names the shape the reply was read in: "problem",
	// "kubernetes", "couchdb", "stripe", ..., "aws" or "azure" for a reason
	// in a header, "json" for any other JSON body (read whole: see
	// [Conflict.Evidence]), "text" for a plain-text, HTML or XML body read
	// for its phrases, "reasons" for the caller's own mapping, or "status"
	// when only the status code and headers were available.
	Dialect string
	// Evidence says what decided Kind; see [Evidence]. It is empty when Kind
	// is Unknown.
	Evidence Evidence
	// Heuristic reports that the kind was inferred from a human-readable
	// sentence ("already exists") rather than a machine-readable code. It
	// is true exactly when Evidence is [EvidencePhrase].
	Heuristic bool
	// Message is the server's human-readable explanation.
	Message string
	// Field is the conflicting field, when the server names one.
	Field string
	// CurrentVersion is the resource's current version or ETag, when the
	// server states it. A version in a conflict reply's ETag header is used
	// only where the dialect says it is the resource's; error replies often
	// carry an ETag of the error body.
	CurrentVersion string
	// CurrentState and AllowedTransitions describe a state machine's current
	// state and the transitions or actions it allows from there.
	CurrentState       string
	AllowedTransitions []string
	// ExistingID and ExistingLocation identify the resource that already
	// exists, for a duplicate. ExistingLocation is as the server sent it and
	// may be relative.
	ExistingID       string
	ExistingLocation string
	// Current is the current representation of the resource, when the
	// conflict body carries it.
	Current json.RawMessage
	// Problem is the RFC 9457 problem details, for a problem+json or
	// problem+xml body.
	Problem *Problem
	// RetryAfter is the delay the server asked for in Retry-After, or zero.
	RetryAfter time.Duration
	// RequestID is the server's request or trace id, from the body or a
	// header such as X-Request-Id.
	RequestID string
	// Body is the start of the response body, at most [MaxExcerpt] bytes; it
	// may be truncated and may not be valid UTF-8.
	Body []byte
}

// Evidence names what decided a [Conflict]'s Kind, strongest first.
type Evidence string

// The kinds of evidence.
const (
	// EvidenceReason: a machine-readable reason code, wherever the server
	// put it (a dialect's field, any code in the body, a header such as
	// x-ms-error-code), or the caller's [Classifier.Reasons].
	EvidenceReason Evidence = "reason"
	// EvidencePhrase: a human-readable sentence or title ("already
	// exists", "Stale Object Error"); [Conflict.Heuristic] is set.
	EvidencePhrase Evidence = "phrase"
	// EvidenceRequest: the request that received the reply decided, as
	// for the generic code "conflict" (stale for a request that carried a
	// version, a duplicate for a create) or a 412 to a create conditioned
	// on absence (If-None-Match: *).
	EvidenceRequest Evidence = "request"
	// EvidenceStatus: the status code alone (412, 423, 428, or 409 to a
	// WebDAV MKCOL, COPY or MOVE).
	EvidenceStatus Evidence = "status"
)

// String returns a one-line description (control characters in the
// server's text escaped) such as
// "stale_version (409 version_conflict): document was modified".
func (c *Conflict) String() string {
	var b strings.Builder
	b.WriteString(c.Kind.String())
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(c.Status))
	if c.Reason != "" {
		b.WriteByte(' ')
		b.WriteString(oneLine(c.Reason))
	}
	b.WriteByte(')')
	if c.Message != "" {
		b.WriteString(": ")
		b.WriteString(oneLine(c.Message))
	}
	return b.String()
}
