package conflicttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// etag returns the strong entity tag of version v: "v", quoted.
func etag(v int) string { return `"` + strconv.Itoa(v) + `"` }

// entityTag is one member of an If-Match or If-None-Match list.
type entityTag struct {
	opaque string // without quotes
	weak   bool
}

// parseTags parses a comma-separated entity-tag list (RFC 9110 §8.8.3).
// It reports star for "*". Malformed members are skipped: they can match
// nothing.
func parseTags(values []string) (tags []entityTag, star bool) {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" {
				star = true
				continue
			}
			weak := strings.HasPrefix(t, "W/")
			t = strings.TrimPrefix(t, "W/")
			if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' || strings.Contains(t[1:len(t)-1], `"`) {
				continue
			}
			tags = append(tags, entityTag{opaque: t[1 : len(t)-1], weak: weak})
		}
	}
	return tags, star
}

// strongMatch reports whether a tag matches version v under the strong
// comparison If-Match requires: a weak tag never matches.
func strongMatch(tags []entityTag, v int) bool {
	want := strconv.Itoa(v)
	for _, t := range tags {
		if !t.weak && t.opaque == want {
			return true
		}
	}
	return false
}

// weakMatch reports whether a tag matches version v under the weak
// comparison If-None-Match uses.
func weakMatch(tags []entityTag, v int) bool {
	want := strconv.Itoa(v)
	for _, t := range tags {
		if t.opaque == want {
			return true
		}
	}
	return false
}

// checkPreconditions evaluates a write to document id (d is nil if it does
// not exist) in the order RFC 9110 §13.2.2 gives: existence, 428, If-Match
// (412), If-None-Match (412), the version parameter or custom header of the
// Server's mode (412), then the body's version (409). bodyVersion is the
// body's version member, nil if absent; insert says the write is a POST
// /documents, which creates a missing document unconditionally. It returns
// nil if the write may proceed (creating the document if d is nil), or the
// error reply.
func (s *Server) checkPreconditions(c *call, id string, d *document, bodyVersion any, insert bool) *reply {
	mode := s.cfg.versionIn
	useHeader := mode == VersionEither || mode == VersionHeader
	useBody := mode == VersionEither || mode == VersionBody || mode == VersionCustomHeader

	ifMatch := c.r.Header.Values("If-Match")
	inmTags, inmStar := parseTags(c.r.Header.Values("If-None-Match"))
	if !useHeader {
		ifMatch, inmTags, inmStar = nil, nil, mode == VersionBody && inmStar
	}
	if !useBody {
		bodyVersion = nil
	}
	// The version of VersionQuery and VersionCustomHeader: 0 means the
	// document must not exist.
	var extra []string
	switch mode {
	case VersionQuery:
		if q := c.r.URL.Query(); q.Has(s.cfg.names.Query) {
			extra = q[s.cfg.names.Query]
		}
	case VersionCustomHeader:
		extra = c.r.Header.Values(s.cfg.names.Header)
	}
	want := -1
	if len(extra) > 0 {
		n, err := strconv.Atoi(strings.TrimSpace(extra[0]))
		if len(extra) > 1 || err != nil || n < 0 {
			return s.fail(c, kindBadRequest, http.StatusBadRequest,
				fmt.Sprintf("the %s must be one non-negative integer", s.extraName()))
		}
		want = n
	}
	create := (inmStar && c.r.Method == http.MethodPut) || want == 0 || insert

	if d == nil && !create {
		return s.notFound(c, "documents", id)
	}
	conditional := len(ifMatch) > 0 || inmStar || bodyVersion != nil || want >= 0
	if !conditional && s.cfg.requirePrecond && (d != nil || !insert) {
		return s.render(c, &apiError{kind: kindPreconditionRequired, status: http.StatusPreconditionRequired,
			collection: "documents", id: id, field: s.preconditionField(), detail: s.preconditionDetail()})
	}
	if d == nil && want > 0 {
		return s.notFound(c, "documents", id) // no version N of a missing document
	}

	if len(ifMatch) > 0 && d != nil {
		tags, star := parseTags(ifMatch)
		if !star && !strongMatch(tags, d.version) {
			return s.stale(c, id, d, true, fmt.Sprintf("If-Match %s does not match the current ETag %s of document %q",
				strings.Join(ifMatch, ", "), etag(d.version), id))
		}
	}
	if d != nil && inmStar {
		return s.render(c, &apiError{kind: kindDuplicate, status: http.StatusPreconditionFailed,
			collection: "documents", id: id, field: "id", value: id, existingID: id, version: d.version,
			detail: fmt.Sprintf("If-None-Match: * failed: document %q already exists", id)})
	}
	if d != nil && weakMatch(inmTags, d.version) {
		return s.stale(c, id, d, true, fmt.Sprintf("If-None-Match matches the current ETag %s of document %q", etag(d.version), id))
	}
	if d != nil && want == 0 {
		// A conditional create that found the document: a stale version,
		// as Cloud Storage answers ifGenerationMatch=0.
		return s.stale(c, id, d, true, fmt.Sprintf("%s 0 failed: document %q exists at version %d", s.extraName(), id, d.version))
	}
	if d != nil && want > 0 && want != d.version {
		return s.stale(c, id, d, true, fmt.Sprintf("%s %d is stale: document %q is at version %d", s.extraName(), want, id, d.version))
	}

	if bodyVersion != nil && d != nil {
		if _, isString := bodyVersion.(string); isString && s.cfg.names.Field == "/version" {
			bodyVersion = nil // the default field takes numbers only
		}
		v, ok := intValue(bodyVersion)
		if !ok {
			return s.fail(c, kindBadRequest, http.StatusBadRequest, fmt.Sprintf("the version member %s must be an integer", s.cfg.names.Field))
		}
		if v != d.version {
			return s.stale(c, id, d, false, fmt.Sprintf("version %d is stale: document %q is at version %d", v, id, d.version))
		}
	}
	return nil
}

// extraName names the version parameter or header of the Server's mode.
func (s *Server) extraName() string {
	if s.cfg.versionIn == VersionQuery {
		return "query parameter " + s.cfg.names.Query
	}
	return "header " + s.cfg.names.Header
}

// stale renders a stale-version conflict: 412 when If-Match (or
// If-None-Match) failed, 409 when the body's version did.
func (s *Server) stale(c *call, id string, d *document, viaHeader bool, detail string) *reply {
	e := &apiError{kind: kindStale, status: http.StatusConflict, collection: "documents", id: id,
		field: s.fieldName(), viaHeader: viaHeader, version: d.version, detail: detail}
	if viaHeader {
		e.status = http.StatusPreconditionFailed
		e.field = ""
	}
	if s.cfg.currentInReply {
		e.current = s.representation(d)
	}
	return s.render(c, e)
}

// preconditionField names where the missing precondition belongs.
func (s *Server) preconditionField() string {
	switch s.cfg.versionIn {
	case VersionHeader:
		return "If-Match"
	case VersionBody:
		return s.fieldName()
	case VersionQuery:
		return s.cfg.names.Query
	case VersionCustomHeader:
		return s.cfg.names.Header
	}
	return ""
}

// fieldName is the version field as a member name ("version") or, nested,
// as its pointer.
func (s *Server) fieldName() string {
	if len(s.cfg.fieldPath) == 1 {
		return s.cfg.fieldPath[0]
	}
	return s.cfg.names.Field
}

func (s *Server) preconditionDetail() string {
	switch s.cfg.versionIn {
	case VersionHeader:
		return "this request must be conditional: send If-Match with the document's ETag"
	case VersionBody:
		return fmt.Sprintf("this request must be conditional: send the document's %q in the body", s.fieldName())
	case VersionQuery:
		return fmt.Sprintf("this request must be conditional: send the document's version in the query parameter %s (0 to create)", s.cfg.names.Query)
	case VersionCustomHeader:
		return fmt.Sprintf("this request must be conditional: send the document's version in the %s header (0 to create) or %q in the body", s.cfg.names.Header, s.fieldName())
	}
	return fmt.Sprintf("this request must be conditional: send If-Match with the document's ETag or its %q in the body", s.fieldName())
}

// intValue converts a decoded JSON number, or a string of digits (as
// Kubernetes and Cloud Storage write versions), to an int.
func intValue(v any) (int, bool) {
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = x
	default:
		return 0, false
	}
	i, err := strconv.Atoi(text)
	return i, err == nil
}
