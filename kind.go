package conflict

import (
	"fmt"
	"strconv"
)

// A Kind names what a conflict means for the client, and so which recovery
// is safe. The zero value is [Unknown], the kind that is never recovered
// automatically.
type Kind int

// The kinds of conflict. [Kind.String] gives each a stable lowercase word for
// logs and metrics.
const (
	// Unknown is a conflict the client cannot classify. It is never retried.
	Unknown Kind = iota
	// StaleVersion means the write was based on an out-of-date version: an
	// optimistic-concurrency failure (a version or ETag mismatch, a failed
	// If-Match, HTTP 412). Recovery refreshes, merges and re-sends.
	StaleVersion
	// Duplicate means a create found the resource already there (a unique
	// violation, "already exists"). Recovery may adopt the existing resource.
	Duplicate
	// InvalidTransition means the resource's current state forbids the
	// requested change (cancelling a shipped order). It is aborted.
	InvalidTransition
	// IdempotencyInUse means an earlier request with the same idempotency key
	// is still being processed. Recovery waits and re-sends with the same key.
	IdempotencyInUse
	// IdempotencyMismatch means the idempotency key was already used with a
	// different request payload (the IETF Idempotency-Key draft's 422,
	// Stripe's idempotency_error). It is a client bug and is never retried.
	IdempotencyMismatch
	// Dependency means a resource this request depends on is missing or would
	// form a cycle (a foreign-key violation, a missing parent collection, a
	// circular reference). It is aborted.
	Dependency
	// Locked means the resource is locked or another operation on it is in
	// progress (HTTP 423, Azure's AnotherOperationInProgress). The request
	// may be re-sent unchanged later.
	Locked
	// PreconditionRequired means the server requires a conditional request
	// (HTTP 428) and none was sent.
	PreconditionRequired
)

var kindNames = [...]string{
	Unknown:              "unknown",
	StaleVersion:         "stale_version",
	Duplicate:            "duplicate",
	InvalidTransition:    "invalid_transition",
	IdempotencyInUse:     "idempotency_in_use",
	IdempotencyMismatch:  "idempotency_mismatch",
	Dependency:           "dependency",
	Locked:               "locked",
	PreconditionRequired: "precondition_required",
}

// String returns the kind's stable lowercase name, such as "stale_version".
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// MarshalText encodes the kind as its [Kind.String] name.
func (k Kind) MarshalText() ([]byte, error) {
	if k < 0 || int(k) >= len(kindNames) {
		return nil, fmt.Errorf("conflict: invalid kind %d", int(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText decodes a name produced by [Kind.MarshalText].
func (k *Kind) UnmarshalText(text []byte) error {
	for i, name := range kindNames {
		if name == string(text) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("conflict: unknown kind %q", text)
}
