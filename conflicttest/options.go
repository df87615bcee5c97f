package conflicttest

import "time"

// An Option configures a [Server]. Options are plain values: they cannot
// fail, and a slice of them may be shared between servers.
type Option func(*config)

// VersionIn says where the document endpoints look for the client's
// precondition.
type VersionIn int

const (
	// VersionEither accepts an If-Match header, a "version" field in the
	// body, or both; when both are sent, both must match. It is the default.
	VersionEither VersionIn = iota

	// VersionHeader accepts only the If-Match header. A "version" field in
	// the body is ignored (and overwritten by the Server).
	VersionHeader

	// VersionBody accepts only the "version" field in the body, like an API
	// without ETag support: replies carry no ETag header and If-Match is
	// ignored. If-None-Match: * still creates a missing document.
	VersionBody

	// VersionQuery accepts only the query parameter ifVersionMatch=N, as
	// Google Cloud Storage takes ifGenerationMatch: N=0 means the document
	// must not exist (a conditional create, by PUT or by POST /documents),
	// any other N that it must be at version N. Either failing is answered
	// 412 Precondition Failed, as a stale version (the dialect's stale
	// reason). Replies carry no ETag: the version is the body's "version"
	// field, and the X-Version header (as Cloud Storage's downloads carry
	// x-goog-generation). If-Match, If-None-Match and a "version" field in
	// the body are ignored.
	VersionQuery

	// VersionCustomHeader accepts the request header X-Version: N (N=0: the
	// document must not exist) and the "version" field in the body. A
	// failed X-Version is answered 412, a stale body version 409. Replies
	// carry X-Version: N instead of an ETag, and their bodies carry no
	// "version" field: a client reads the version from the header.
	// If-Match and If-None-Match are ignored.
	VersionCustomHeader
)

// String returns "either", "header", "body", "query" or "custom-header".
func (v VersionIn) String() string {
	switch v {
	case VersionHeader:
		return "header"
	case VersionBody:
		return "body"
	case VersionQuery:
		return "query"
	case VersionCustomHeader:
		return "custom-header"
	default:
		return "either"
	}
}

// VersionNames rename where documents carry their version, so that a Server
// speaks the shape of another API: CouchDB's "_rev" field, Kubernetes'
// metadata.resourceVersion, Cloud Storage's ifGenerationMatch. An empty
// name keeps its default.
type VersionNames struct {
	// Field is the JSON Pointer of the version in document bodies, in
	// replies and in writes: "/version" by default; "/_rev",
	// "/metadata/resourceVersion" or "/generation" to mimic other APIs.
	// Intermediate objects are created in replies as needed. The version is
	// written as a JSON number; a renamed field also accepts it as a string
	// of digits, as Kubernetes and Cloud Storage write theirs. "-" keeps
	// the version out of bodies altogether, for [VersionQuery] and
	// [VersionCustomHeader], whose replies carry it in the header (as Cloud
	// Storage's media downloads carry x-goog-generation and not the
	// object's metadata).
	Field string

	// Query is the query parameter of [VersionQuery]: "ifVersionMatch" by
	// default.
	Query string

	// Header is the request and reply header of [VersionCustomHeader]:
	// "X-Version" by default.
	Header string
}

// config is what the options set; it is immutable once the Server is built,
// except for the faults, which SetFaults replaces.
type config struct {
	dialect          Dialect
	versionIn        VersionIn
	requirePrecond   bool
	currentInReply   bool
	location         bool
	existingID       bool
	idempotencyField string
	faults           Faults
	names            VersionNames
	fieldPath        []string // names.Field, parsed
	weakReads        int
	bareConflicts    bool
}

func defaultConfig() config {
	return config{
		dialect:          Problem,
		versionIn:        VersionEither,
		requirePrecond:   true,
		location:         true,
		existingID:       true,
		idempotencyField: "Idempotency-Key",
		names:            VersionNames{Field: "/version", Query: "ifVersionMatch", Header: "X-Version"},
	}
}

// WithDialect sets how the Server spells its error replies. If not set,
// [Problem] is used. [NewServer] panics if d is not one of [Dialects].
func WithDialect(d Dialect) Option {
	return func(c *config) { c.dialect = d }
}

// WithVersionIn sets where document updates carry their precondition. If not
// set, [VersionEither] is used. Values other than the five constants mean
// VersionEither.
func WithVersionIn(v VersionIn) Option {
	return func(c *config) { c.versionIn = v }
}

// WithRequirePrecondition sets whether PUT, PATCH and DELETE on a document
// must be conditional. If true (the default), an unconditional request is
// answered 428 Precondition Required. If false, it overwrites blindly.
func WithRequirePrecondition(require bool) Option {
	return func(c *config) { c.requirePrecond = require }
}

// WithCurrentInConflict sets whether a stale-version reply (409 or 412)
// carries the document's current representation and version, and the real
// current ETag header, where the dialect has room for them. If not set, it
// carries neither the representation nor an ETag header.
func WithCurrentInConflict(include bool) Option {
	return func(c *config) { c.currentInReply = include }
}

// WithLocation sets whether a duplicate-create reply carries a Location
// header naming the existing resource. If not set, it does.
func WithLocation(include bool) Option {
	return func(c *config) { c.location = include }
}

// WithExistingID sets whether a duplicate-create reply names the existing
// resource's id in its body (and message). If not set, it does.
func WithExistingID(include bool) Option {
	return func(c *config) { c.existingID = include }
}

// WithIdempotencyHeader sets the name of the request header that carries an
// idempotency key. If not set, or if name is empty, "Idempotency-Key" is
// used.
func WithIdempotencyHeader(name string) Option {
	return func(c *config) {
		if name != "" {
			c.idempotencyField = name
		}
	}
}

// WithFaults sets the faults injected from the start. It replaces any
// earlier WithFaults or WithLatency. [Server.SetFaults] changes them later.
func WithFaults(f Faults) Option {
	return func(c *config) {
		f.Routes = append([]string(nil), f.Routes...)
		c.faults = f
	}
}

// WithLatency sets [Faults.Latency]: every request in the faults' scope
// waits d before it is handled. A later WithFaults replaces it.
func WithLatency(d time.Duration) Option {
	return func(c *config) { c.faults.Latency = d }
}

// WithVersionNames renames where documents carry their version (see
// [VersionNames]); empty names keep their defaults. [NewServer] panics if
// Field is neither a JSON Pointer with at least one segment nor "-" (which
// needs VersionQuery or VersionCustomHeader).
func WithVersionNames(n VersionNames) Option {
	return func(c *config) {
		if n.Field != "" {
			c.names.Field = n.Field
		}
		if n.Query != "" {
			c.names.Query = n.Query
		}
		if n.Header != "" {
			c.names.Header = n.Header
		}
	}
}

// WithWeakETags makes the first n reads of a document after each write to
// it (a committed request or [Server.PutDocument]) carry a weak ETag, W/"N",
// as servers that derive ETags from a modification time with one-second
// resolution do inside the second of a write; later reads carry the strong
// "N". If-Match compares strongly, so a weak tag never matches. If not set,
// or n <= 0, every ETag is strong.
func WithWeakETags(n int) Option {
	return func(c *config) { c.weakReads = max(n, 0) }
}

// WithBareConflicts sets whether conflict replies (409, 412 and 423) carry
// no body at all, only their status and headers, as WebDAV servers and
// many proxies answer. If not set, they carry the dialect's body.
func WithBareConflicts(bare bool) Option {
	return func(c *config) { c.bareConflicts = bare }
}
