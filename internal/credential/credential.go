// Package credential tells which header and query-parameter names can carry
// a credential: the one list the client (which keeps merge bases apart per
// set of credentials) and the journal (which never writes credentials)
// share.
package credential

import "strings"

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
// ("Idempotency-Key" included: callers that must tell it apart do).
func Is(name string) bool {
	n := strings.ToLower(name)
	for _, w := range words {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
