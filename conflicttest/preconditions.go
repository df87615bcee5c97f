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
// (412), If-None-Match (412), then the body's version (409). bodyVersion is
// the body's "version" member, nil if absent. It returns nil if the write
// may proceed (creating the document if d is nil), or the error reply.
func (s *Server) checkPreconditions(c *call, id string, d *document, bodyVersion any) *reply {
	useHeader := s.cfg.versionIn != VersionBody
	useBody := s.cfg.versionIn != VersionHeader

	ifMatch := c.r.Header.Values("If-Match")
	inmTags, inmStar := parseTags(c.r.Header.Values("If-None-Match"))
	create := inmStar && c.r.Method == http.MethodPut
	if !useHeader {
		ifMatch, inmTags = nil, nil
	}
	if !useBody {
		bodyVersion = nil
	}

	if d == nil && !create {
		return s.notFound(c, "documents", id)
	}
	conditional := len(ifMatch) > 0 || inmStar || bodyVersion != nil
	if !conditional && s.cfg.requirePrecond {
		return s.render(c, &apiError{kind: kindPreconditionRequired, status: http.StatusPreconditionRequired,
			collection: "documents", id: id, field: s.preconditionField(), detail: s.preconditionDetail()})
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

	if bodyVersion != nil && d != nil {
		v, ok := intValue(bodyVersion)
		if !ok {
			return s.fail(c, kindBadRequest, http.StatusBadRequest, `the "version" member must be an integer`)
		}
		if v != d.version {
			return s.stale(c, id, d, false, fmt.Sprintf("version %d is stale: document %q is at version %d", v, id, d.version))
		}
	}
	return nil
}

// stale renders a stale-version conflict: 412 when If-Match (or
// If-None-Match) failed, 409 when the body's version did.
func (s *Server) stale(c *call, id string, d *document, viaHeader bool, detail string) *reply {
	e := &apiError{kind: kindStale, status: http.StatusConflict, collection: "documents", id: id,
		field: "version", viaHeader: viaHeader, version: d.version, detail: detail}
	if viaHeader {
		e.status = http.StatusPreconditionFailed
		e.field = ""
	}
	if s.cfg.currentInReply {
		e.current = d.representation()
	}
	return s.render(c, e)
}

// preconditionField names where the missing precondition belongs.
func (s *Server) preconditionField() string {
	switch s.cfg.versionIn {
	case VersionHeader:
		return "If-Match"
	case VersionBody:
		return "version"
	}
	return ""
}

func (s *Server) preconditionDetail() string {
	switch s.cfg.versionIn {
	case VersionHeader:
		return "this request must be conditional: send If-Match with the document's ETag"
	case VersionBody:
		return `this request must be conditional: send the document's "version" in the body`
	}
	return `this request must be conditional: send If-Match with the document's ETag or its "version" in the body`
}

// intValue converts a decoded JSON number to an int.
func intValue(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n.String())
	return i, err == nil
}
