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
)

// String returns "either", "header" or "body".
func (v VersionIn) String() string {
	switch v {
	case VersionHeader:
		return "header"
	case VersionBody:
		return "body"
	default:
		return "either"
	}
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
}

func defaultConfig() config {
	return config{
		dialect:          Problem,
		versionIn:        VersionEither,
		requirePrecond:   true,
		location:         true,
		existingID:       true,
		idempotencyField: "Idempotency-Key",
	}
}

// WithDialect sets how the Server spells its error replies. If not set,
// [Problem] is used. [NewServer] panics if d is not one of [Dialects].
func WithDialect(d Dialect) Option {
	return func(c *config) { c.dialect = d }
}

// WithVersionIn sets where document updates carry their precondition. If not
// set, [VersionEither] is used. Values other than the three constants mean
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
