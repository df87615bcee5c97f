package journal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-conflict/conflict/internal/credential"
)

// IsCredential reports whether a header (or query parameter) of this name
// is kept out of journals: Authorization, Proxy-Authorization, Cookie,
// X-Api-Key, and every name that contains "auth", "token", "secret", "key",
// "session", "signature", "cookie", "password", "passwd", "credential",
// "csrf" or "xsrf", in any case.
func IsCredential(name string) bool { return credential.Is(name) }

// hopHeaders belong to one connection or are recomputed at every send.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade", "Content-Length", "Host"}

// storedHeader returns the headers of h that may be written to a journal.
func storedHeader(h http.Header, keyHeader string) http.Header {
	out := make(http.Header, len(h))
	for name, vs := range h {
		if IsCredential(name) || strings.EqualFold(name, keyHeader) {
			continue
		}
		out[http.CanonicalHeaderKey(name)] = append([]string(nil), vs...)
	}
	for _, name := range hopHeaders {
		delete(out, name)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// storedURL returns u as it may be written to a journal: without user
// information, fragment, or query parameters whose names are credentials.
func storedURL(u *url.URL) string {
	r := *u
	r.User, r.Fragment, r.RawFragment = nil, "", ""
	if r.RawQuery != "" {
		r.RawQuery = withoutCredentials(r.RawQuery)
	}
	return r.String()
}

// withoutCredentials returns the raw query q without its pairs whose names
// are credentials; every other pair is kept as it is, in its place (a
// parsed and encoded query would reorder them, and drop a pair with a ";").
func withoutCredentials(q string) string {
	pairs := strings.Split(q, "&")
	kept := pairs[:0]
	for _, p := range pairs {
		name, _, _ := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if !IsCredential(name) {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "&")
}
