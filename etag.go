package conflict

import (
	"errors"
	"net/http"
	"strings"
)

var errWeakETag = errors.New("the server gave no strong entity tag (a weak, malformed or list ETag), which If-Match cannot use")

// strongETag returns h's ETag when it is exactly one strong entity-tag
// (RFC 9110 section 8.8.3: a quoted string of visible characters), else "".
// A weak tag, "*", an unquoted value or a list is never sent as If-Match.
func strongETag(h http.Header) string {
	vs := headerValues(h, "Etag") // the canonical spelling: found at once
	if len(vs) != 1 {
		return ""
	}
	v := strings.Trim(vs[0], " \t")
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return ""
	}
	for i := 1; i < len(v)-1; i++ {
		c := v[i]
		if c == '"' || c < 0x21 || c == 0x7f {
			return ""
		}
	}
	return v
}

// canonicalValues returns the values of the header name in h under its
// canonical key, or as name is spelled.
func canonicalValues(h http.Header, name string) []string {
	if len(h) == 0 {
		return nil
	}
	if vs, ok := h[name]; ok {
		return vs
	}
	return h[http.CanonicalHeaderKey(name)]
}

// headerValues returns the values of the header name in h, whatever the
// spelling of its key (a map set by hand may not be canonical).
func headerValues(h http.Header, name string) []string {
	if vs := canonicalValues(h, name); vs != nil {
		return vs // the callers' names are canonical: the common case
	}
	for k, vs := range h {
		if len(k) == len(name) && strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// hasHeader reports whether h has a non-empty name header, in any spelling.
func hasHeader(h http.Header, name string) bool {
	for _, v := range headerValues(h, name) {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// delHeader removes every spelling of name from h.
func delHeader(h http.Header, name string) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
}

// setHeader sets name in h to v, replacing every other spelling of it.
func setHeader(h http.Header, name, v string) {
	delHeader(h, name)
	h.Set(name, v)
}
