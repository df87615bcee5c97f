package conflict

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// A KeyFormat is how an idempotency key is written in its header.
type KeyFormat int

const (
	// KeyToken writes the key bare (Idempotency-Key: 8e03978e-...), as
	// most servers expect today.
	KeyToken KeyFormat = iota
	// KeyQuoted writes the key as a structured-field string
	// (Idempotency-Key: "8e03978e-..."), as the IETF Idempotency-Key draft
	// specifies.
	KeyQuoted
)

// MaxKeyLength is the longest idempotency key accepted from a caller.
const MaxKeyLength = 255

// ErrInvalidKey is returned (wrapped) for a caller's idempotency key that is
// empty, longer than MaxKeyLength, or not visible ASCII.
var ErrInvalidKey = errors.New("conflict: invalid idempotency key")

type keyCtx struct{}

// WithIdempotencyKey returns a context that makes the request it is used
// with carry key as its idempotency key, instead of a generated one. Use it
// to send the same key from every process that retries the same intent;
// [KeyFor] derives such a key from a business identity. An invalid key makes
// the call fail with [ErrInvalidKey] before anything is sent.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyCtx{}, key)
}

// keyNamespace is the UUIDv5 namespace of keys made by KeyFor: the UUIDv5 of
// "github.com/go-conflict/conflict" in the URL namespace.
var keyNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("github.com/go-conflict/conflict"))

// KeyFor derives an idempotency key deterministically from a scope (an
// operation, such as "create-order") and a business identity (such as an
// order's external id): the UUIDv5 of scope and id in this package's
// namespace (the name is the scope's length, a colon, the scope and the id).
// Every process, replica or restart that calls KeyFor with the
// same scope and id gets the same key, so a retried intent is recognised by
// the server however it is retried.
func KeyFor(scope, id string) string {
	// The scope's length first, so that no two (scope, id) pairs share a name.
	return uuid.NewSHA1(keyNamespace, []byte(strconv.Itoa(len(scope))+":"+scope+id)).String()
}

// newKey returns a random (version 4) UUID.
func newKey() (string, error) {
	u, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("conflict: generating an idempotency key: %w", err)
	}
	return u.String(), nil
}

// deriveKey returns the key for the n-th rebuilt payload of the intent
// first sent with key: a changed payload is a new intent, and a key reused
// with another payload is refused by servers.
func deriveKey(key string, n int) string {
	return uuid.NewSHA1(keyNamespace, []byte("derived\x00"+key+"\x00"+strconv.Itoa(n))).String()
}

// validateKey checks a caller's key.
func validateKey(key string) error {
	if key == "" || len(key) > MaxKeyLength {
		return fmt.Errorf("%w: length %d, want 1 to %d", ErrInvalidKey, len(key), MaxKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("%w: byte %#x at %d is not a visible ASCII character", ErrInvalidKey, c, i)
		}
	}
	return nil
}

// formatKey writes key in the header form f.
func formatKey(key string, f KeyFormat) string {
	if f == KeyQuoted {
		return `"` + key + `"`
	}
	return key
}

// parseKey reads a key from a header value in either form.
func parseKey(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// wantsKey reports whether a request gets an idempotency key: POST
// requests, and every request of a rule marked Idempotent.
func wantsKey(method string, r *rule) bool {
	return method == http.MethodPost || (r != nil && r.Idempotent)
}
