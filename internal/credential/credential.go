// Package credential tells which header and query-parameter names can carry
// a credential: the one list the client (which keeps merge bases apart per
// set of credentials) and the journal (which never writes credentials)
// share.
package credential

import (
	"bytes"
	"strings"
	"sync"
	"sync/atomic"
)

// words are the parts of a name that mark it as a credential.
var words = []string{
	"auth", // Authorization, Proxy-Authorization, X-Auth-...
	"token",
	"secret",
	"key", // X-Api-Key, Api-Key
	"session",
	"signature",
	"cookie",
	"password",
	"passwd",
	"credential",
	"csrf",
	"xsrf",
}

// Is reports whether a header or query parameter of this name can carry a
// credential: its name contains one of the words above, in any case
// ("Idempotency-Key" included: callers that must tell it apart do), or it
// is "sig" (the signature of an Azure shared access signature URL).
func Is(name string) bool {
	return credentials.is(name) || strings.EqualFold(name, "sig")
}

// IsScope reports whether a header of this name can say whom or what a
// request acts for beside its credentials (a tenant, an account, an
// organization, a project, a workspace, a realm, a team, a namespace):
// requests that differ in it may address different resources at one URL.
func IsScope(name string) bool { return scopes.is(name) }

// scopeWords are the parts of a name that mark it as a scope.
var scopeWords = []string{"tenant", "account", "org", "project", "space", "realm", "team"}

var (
	credentials = &nameSet{words: words}
	scopes      = &nameSet{words: scopeWords}
)

// A nameSet tells the names that contain one of its words, in any case.
// It remembers the answer for the first maxKnown names asked about: a
// program's header names are few, and asked about on every request.
type nameSet struct {
	words  []string
	bytes  [][]byte // words, as bytes
	once   sync.Once
	known  sync.Map // name → bool
	knownN atomic.Int32
}

const maxKnown = 1024

func (s *nameSet) is(name string) bool {
	if v, ok := s.known.Load(name); ok {
		return v.(bool)
	}
	is := s.contains(name)
	if s.knownN.Add(1) <= maxKnown {
		s.known.Store(strings.Clone(name), is) // not a slice of a larger string kept alive
	}
	return is
}

func isCredential(name string) bool { return credentials.contains(name) }

// contains reports whether name contains one of the set's words, in any
// case, allocating nothing for an ASCII name.
func (s *nameSet) contains(name string) bool {
	s.once.Do(func() {
		for _, w := range s.words {
			s.bytes = append(s.bytes, []byte(w))
		}
	})
	var buf [64]byte
	n, ok := lowerASCII(buf[:0], name)
	if !ok {
		// Long, or not ASCII (a query parameter may be anything): Unicode
		// case mapping, as strings.ToLower does it.
		l := strings.ToLower(name)
		for _, w := range s.words {
			if strings.Contains(l, w) {
				return true
			}
		}
		return false
	}
	for _, w := range s.bytes {
		if bytes.Contains(n, w) {
			return true
		}
	}
	return false
}

// lowerASCII appends name, lower-cased, to dst, when it is ASCII and fits
// in dst's capacity; it allocates nothing (it runs for every header of
// every request that may be merged).
func lowerASCII(dst []byte, name string) ([]byte, bool) {
	if len(name) > cap(dst) {
		return nil, false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 {
			return nil, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// IsIdempotencyKey reports whether a header of this name carries an
// idempotency key (Idempotency-Key, X-Idempotency-Key, in any case): it
// names an intent, not a caller.
func IsIdempotencyKey(name string) bool {
	var buf [64]byte
	if n, ok := lowerASCII(buf[:0], name); ok {
		return bytes.Contains(n, []byte("idempotency"))
	}
	return strings.Contains(strings.ToLower(name), "idempotency")
}
