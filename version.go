package conflict

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// A Location is where a version travels in a request or a response: a
// header, a query parameter, or a field of the JSON body. Make one with
// [Header], [Query] or [Field].
type Location struct {
	kind locKind
	name string   // a canonical header name, a query parameter, or a JSON Pointer
	ptr  []string // the pointer of a field, parsed when its rule is validated
}

type locKind uint8

const (
	inNone locKind = iota
	inHeader
	inQuery
	inField
)

// Header is the version in the header name (If-Match, ETag,
// X-Contentful-Version, x-goog-generation).
func Header(name string) Location {
	return Location{kind: inHeader, name: http.CanonicalHeaderKey(name)}
}

// Query is the version in the URL query parameter name (rev,
// ifGenerationMatch, if_seq_no).
func Query(name string) Location { return Location{kind: inQuery, name: name} }

// Field is the version in the JSON body at pointer, a JSON Pointer
// ("/version", "/_rev", "/metadata/resourceVersion").
func Field(pointer string) Location { return Location{kind: inField, name: pointer} }

// isETag reports whether l is the ETag response header.
func (l Location) isETag() bool { return l.kind == inHeader && l.name == "Etag" }

// String describes the location: "header If-Match", "query rev",
// "field /_rev".
func (l Location) String() string {
	switch l.kind {
	case inHeader:
		if l.isETag() {
			return "header ETag"
		}
		return "header " + l.name
	case inQuery:
		return "query " + l.name
	case inField:
		return "field " + l.name
	}
	return "nowhere"
}

// A Version is one part of an endpoint's precondition: where a write sends
// it and where a read of the resource finds the current one. An endpoint
// with no Version uses ETags: Send Header("If-Match"), Read Header("ETag").
// A zero Read is the same field as Send for a field, and Header("ETag") for
// Header("If-Match"); any other Send needs its Read.
//
// A version read from a field and sent in a header or query parameter is
// sent as the field's text (a string without its quotes); one read from a
// header and written to a field is written as a JSON number when it is one,
// else as a JSON string.
type Version struct {
	Send, Read Location
}

var etagVersion = []Version{{Send: Header("If-Match"), Read: Header("ETag")}}

// validateVersions checks and completes a rule's versions; it panics with a
// message naming the rule.
func (r *rule) validateVersions() {
	vs := append([]Version(nil), r.Versions...)
	fail := func(format string, args ...any) {
		panic(fmt.Sprintf("conflict: rule %q: Versions: %s", r.pattern, fmt.Sprintf(format, args...)))
	}
	for i := range vs {
		v := &vs[i]
		if v.Read.kind == inNone {
			switch {
			case v.Send.kind == inField:
				v.Read = v.Send
			case v.Send.kind == inHeader && v.Send.name == "If-Match":
				v.Read = Header("ETag")
			default:
				fail("%s needs a Read location", v.Send)
			}
		}
		if v.Send.kind == inNone {
			fail("a version without a Send location")
		}
		if v.Read.kind == inQuery {
			fail("a version cannot be read from a query parameter")
		}
		for _, l := range []*Location{&v.Send, &v.Read} {
			if l.kind == inField {
				segs, err := jsonv.ParsePointer(l.name)
				if err == nil && len(segs) == 0 {
					err = fmt.Errorf("empty pointer")
				}
				if err != nil {
					fail("%q is not a JSON Pointer: %v", l.name, err)
				}
				l.ptr = segs
			}
			if l.name == "" {
				fail("a %s with no name", l)
			}
		}
	}
	if len(vs) == 0 {
		vs = etagVersion
	}
	r.versions = vs
}

// versions returns the versions of the call's endpoint.
func (st *call) versions() []Version {
	if st.rule != nil {
		return st.rule.versions
	}
	return etagVersion
}

// sentFields returns the pointers of the versions the body carries: they are
// the precondition, not content, and are set from fresh state.
func sentFields(vs []Version) [][]string {
	var out [][]string
	for _, v := range vs {
		if v.Send.kind == inField {
			out = append(out, v.Send.ptr)
		}
	}
	return out
}

// textOf returns a version's text: a JSON string without its quotes, any
// other JSON value as written.
func textOf(raw []byte) string {
	if len(raw) > 0 && raw[0] == '"' {
		return jsonv.Unquote(raw)
	}
	return string(raw)
}

// sentValue returns the version a request carries at l, as text.
func sentValue(req *http.Request, body []byte, l Location) (string, bool) {
	switch l.kind {
	case inHeader:
		vs := headerValues(req.Header, l.name)
		if len(vs) != 1 || strings.TrimSpace(vs[0]) == "" {
			return "", false
		}
		return strings.TrimSpace(vs[0]), true
	case inQuery:
		q := req.URL.Query()
		if !q.Has(l.name) {
			return "", false
		}
		return q.Get(l.name), true
	case inField:
		raw, ok := getPointer(body, l.ptr)
		return textOf(raw), ok
	}
	return "", false
}

// precondition is the version the request was built on, one text per
// Version, or "" when it does not carry them all.
func precondition(req *http.Request, body []byte, vs []Version) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		s, ok := sentValue(req, body, v.Send)
		if !ok {
			return ""
		}
		parts[i] = s
	}
	return versionKey(parts)
}

// carriesVersion reports whether req carries any of its versions: a
// create that does is conditional, and can be stale.
func carriesVersion(req *http.Request, body []byte, vs []Version) bool {
	for _, v := range vs {
		if _, ok := sentValue(req, body, v.Send); ok {
			return true
		}
	}
	return false
}

// readVersions reads the current versions from a representation: its
// response header and body. A version read from the ETag header must be one
// strong entity-tag; errWeakETag says when it is not.
func readVersions(h http.Header, body []byte, vs []Version) (vals []string, raws [][]byte, err error) {
	vals, raws = make([]string, len(vs)), make([][]byte, len(vs))
	for i, v := range vs {
		switch v.Read.kind {
		case inHeader:
			if v.Read.isETag() {
				etag := strongETag(h)
				if etag == "" {
					if hasHeader(h, "ETag") {
						return nil, nil, errWeakETag
					}
					return nil, nil, fmt.Errorf("%w (%s)", errNoVersion, v.Read)
				}
				vals[i] = etag
				continue
			}
			vals[i] = strings.TrimSpace(strings.Join(headerValues(h, v.Read.name), ","))
			if vals[i] == "" {
				return nil, nil, fmt.Errorf("%w (%s)", errNoVersion, v.Read)
			}
		case inField:
			raw, ok := getPointer(body, v.Read.ptr)
			if !ok {
				return nil, nil, fmt.Errorf("%w (%s)", errNoVersion, v.Read)
			}
			vals[i], raws[i] = textOf(raw), raw
		}
	}
	return vals, raws, nil
}

// jsonVersion is the JSON text to write to a field for a version read as
// val (raw when read from a field).
func jsonVersion(val string, raw []byte) []byte {
	if raw != nil {
		return raw
	}
	if _, err := jsonv.Parse([]byte(val)); err == nil && val != "" && (val[0] == '-' || (val[0] >= '0' && val[0] <= '9')) {
		return []byte(val)
	}
	return jsonv.AppendString(nil, val)
}

// applyVersions rebuilds a request's preconditions from the current
// versions: headers in h, parameters in u's query, fields in body.
func applyVersions(h http.Header, u *url.URL, body []byte, vs []Version, vals []string, raws [][]byte) ([]byte, error) {
	var q url.Values
	for i, v := range vs {
		switch v.Send.kind {
		case inHeader:
			setHeader(h, v.Send.name, vals[i])
		case inQuery:
			if q == nil {
				q = u.Query()
			}
			q.Set(v.Send.name, vals[i])
		case inField:
			var err error
			if body, err = jsonv.Set(body, v.Send.ptr, jsonVersion(vals[i], raws[i])); err != nil {
				return nil, fmt.Errorf("writing the version at %s: %w", v.Send, err)
			}
		}
	}
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return body, nil
}

// withoutVersions returns u without the query parameters that carry vs: a
// representation is the same whatever precondition a write to it carries,
// so merge bases are remembered and found under this URL.
func withoutVersions(u *url.URL, vs []Version) *url.URL {
	if u.RawQuery == "" {
		return u
	}
	var q url.Values
	for _, v := range vs {
		if v.Send.kind != inQuery {
			continue
		}
		if q == nil {
			q = u.Query()
		}
		q.Del(v.Send.name)
	}
	if q == nil {
		return u
	}
	r := *u
	r.RawQuery = q.Encode()
	return &r
}

// readURL returns the URL the call's endpoint is read from: the rule's
// Refresh URL, or the request's own, without its version parameters.
func (st *call) readURL() (*url.URL, error) { return readURLOf(st.orig, st.rule) }

// readURLOf is where the current state of req's resource is read, for the
// endpoint's rule r (nil: none).
func readURLOf(req *http.Request, r *rule) (*url.URL, error) {
	target := req.URL
	vs := etagVersion
	if r != nil {
		vs = r.versions
		if r.Refresh != nil {
			u, err := req.URL.Parse(r.Refresh(req))
			if err != nil {
				return nil, fmt.Errorf("refresh URL: %w", err)
			}
			target = u
		}
	}
	return withoutVersions(target, vs), nil
}
