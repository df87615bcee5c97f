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

// MaxKeyLength is the longest idempotency key accepted from a caller.
const MaxKeyLength = 255

// ErrInvalidKey is returned (wrapped) for a caller's idempotency key that is
// empty, longer than MaxKeyLength, or not visible ASCII.
var ErrInvalidKey = errors.New("conflict: invalid idempotency key")

type keyCtx struct{}

// WithIdempotencyKey returns a context that makes the request it is used
// with carry key as its idempotency key, instead of a generated one, whatever
// the request's method. Use it
// to send the same key from every process that retries the same intent;
// [KeyFor] derives such a key from a business identity. An invalid key makes
// the call fail with [ErrInvalidKey] before anything is sent.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, keyCtx{}, key)
}

// IdempotencyKeyFrom returns the key [WithIdempotencyKey] put in ctx, for
// code that records an intent before the client sends it.
func IdempotencyKeyFrom(ctx context.Context) (string, bool) {
	key, ok := ctx.Value(keyCtx{}).(string)
	return key, ok
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

// parseKey reads a key from a header value in either form.
func parseKey(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// attachKey gives the call its idempotency key, fixed before the first
// send: the caller's own (its header, or WithIdempotencyKey, for any
// method), else a new one for a create (a POST, or a request of a rule
// marked Idempotent). The header is found in any spelling wherever the
// client could add a key or rebuild the body (a POST, an endpoint with a
// rule, a key in the context); elsewhere the request is sent as it is, and
// only a canonical key is reported in the Result.
func (st *call) attachKey() error {
	name := st.c.cfg.keyHeader
	if st.rule != nil && st.rule.IdempotencyHeader != "" {
		name = st.rule.IdempotencyHeader
	}
	key, given := st.out.Value(keyCtx{}).(string)
	var vs []string
	if given || st.rule != nil || st.tmpl.Method == http.MethodPost {
		// A key may be added, or the body rebuilt under a derived key: the
		// caller's key must be found in any spelling.
		vs = headerValues(st.tmpl.Header, name)
	} else {
		vs = canonicalValues(st.tmpl.Header, name) // only reported in the Result
	}
	if len(vs) > 0 {
		if len(vs) > 1 {
			return fmt.Errorf("%w: the request carries %d %s headers", ErrInvalidKey, len(vs), name)
		}
		key := parseKey(vs[0])
		if err := validateKey(key); err != nil {
			return err
		}
		st.keyHeader = name
		st.useKey(key) // the caller's header goes out exactly as written
		return nil
	}
	if given {
		if err := validateKey(key); err != nil {
			return err
		}
	} else {
		if st.tmpl.Method != http.MethodPost && (st.rule == nil || !st.rule.Idempotent) {
			return nil
		}
		var err error
		if key, err = newKey(); err != nil {
			return err
		}
	}
	st.keyHeader = name
	st.setKeyHeader(key)
	return nil
}

func (st *call) useKey(key string) {
	st.out.res.IdempotencyKey = key
	st.out.res.Keys = append(st.out.res.Keys, key)
}

// setKeyHeader sets the key header on the request to send, in a header of
// its own (the caller's is never modified).
func (st *call) setKeyHeader(key string) {
	h := st.tmpl.Header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	if st.c.cfg.keyQuoted {
		setHeader(h, st.keyHeader, `"`+key+`"`)
	} else {
		setHeader(h, st.keyHeader, key)
	}
	st.tmpl.Header = h // st.tmpl is the call's own copy of the request
	st.useKey(key)
}
