package conflicttest

import (
	"fmt"
	"maps"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// document is one stored JSON object. body never holds the version: the
// Server adds it on the way out.
type document struct {
	body      map[string]any
	version   int
	deleted   bool // a tombstone keeps the version, so a re-create continues the sequence
	weakReads int  // reads left that carry a weak ETag (WithWeakETags)
}

// representation returns the document as clients see it: with its version
// at the version field, except under VersionCustomHeader, whose replies
// carry it in a header.
func (s *Server) representation(d *document) map[string]any {
	m := maps.Clone(d.body)
	if m == nil {
		m = map[string]any{}
	}
	if s.cfg.versionIn != VersionCustomHeader {
		m = setPath(m, s.cfg.fieldPath, d.version)
	}
	return m
}

// PutDocument creates or replaces document id with body, a JSON object, as
// an unconditional write that bypasses HTTP, faults and request counting,
// and returns the new version: 1 for a new document, one more than the
// last otherwise. The version is logged in [Stats.Versions]; Commits is not
// incremented. PutDocument panics if body is not a JSON object.
func (s *Server) PutDocument(id string, body string) (version int) {
	obj, ok := decodeObject([]byte(body))
	if !ok {
		panic(fmt.Sprintf("conflicttest: PutDocument(%q): body is not a JSON object", id))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commitDocument(id, obj, false)
}

// Document returns document id as GET would (with its version member,
// except under [VersionCustomHeader]), and its version. ok is false if there
// is no such document.
func (s *Server) Document(id string) (body []byte, version int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[id]
	if d == nil || d.deleted {
		return nil, 0, false
	}
	return marshal(s.representation(d)), d.version, true
}

// commitDocument stores obj as the next version of id and logs it; viaHTTP
// also counts a commit. The caller holds s.mu.
func (s *Server) commitDocument(id string, obj map[string]any, viaHTTP bool) int {
	obj = deletePath(obj, s.cfg.fieldPath)
	d := s.docs[id]
	if d == nil {
		d = &document{}
		s.docs[id] = d
	}
	d.body, d.deleted = obj, false
	d.version++
	d.weakReads = s.cfg.weakReads
	s.stats.Versions[id] = append(s.stats.Versions[id], d.version)
	if viaHTTP {
		s.stats.Commits++
	}
	return d.version
}

// live returns document id, or nil if it does not exist.
func (s *Server) live(id string) *document {
	if d := s.docs[id]; d != nil && !d.deleted {
		return d
	}
	return nil
}

// sendsETag reports whether replies carry an ETag.
func (s *Server) sendsETag() bool {
	return s.cfg.versionIn == VersionEither || s.cfg.versionIn == VersionHeader
}

// documentReply is a document as a 200 or 201 reply, with ETag where
// versions are entity tags, or the custom version header.
func (s *Server) documentReply(status int, id string, d *document) *reply {
	rep := jsonReply(status, "application/json", s.representation(d))
	switch {
	case s.sendsETag():
		rep.header.Set("ETag", etag(d.version))
	case s.cfg.versionIn == VersionCustomHeader, s.cfg.versionIn == VersionQuery:
		rep.header.Set(s.cfg.names.Header, strconv.Itoa(d.version))
	}
	if status == http.StatusCreated {
		rep.header.Set("Location", "/documents/"+id)
	}
	return rep
}

func (s *Server) getDocument(c *call) *reply {
	id := c.r.PathValue("id")
	d := s.live(id)
	if d == nil {
		return s.notFound(c, "documents", id)
	}
	rep := s.documentReply(http.StatusOK, id, d)
	if s.sendsETag() && d.weakReads > 0 {
		d.weakReads-- // inside the second of a write
		rep.header.Set("ETag", "W/"+etag(d.version))
	}
	return rep
}

// putDocument replaces a document; with If-None-Match: * it creates one.
func (s *Server) putDocument(c *call) *reply {
	id := c.r.PathValue("id")
	if rep := s.requireJSON(c, "application/json"); rep != nil {
		return rep
	}
	obj, ok := decodeObject(c.body)
	if !ok {
		return s.fail(c, kindBadRequest, http.StatusBadRequest, "the body must be a JSON object")
	}
	d := s.live(id)
	if rep := s.checkPreconditions(c, id, d, getPath(obj, s.cfg.fieldPath), false); rep != nil {
		return rep
	}
	status := http.StatusOK
	if d == nil {
		status = http.StatusCreated
	}
	s.commitDocument(id, obj, true)
	return s.documentReply(status, id, s.docs[id])
}

// insertDocument is POST /documents?name={id}: an upload that creates
// document id or replaces it, as Cloud Storage's objects.insert does, under
// the same preconditions as PUT (with VersionQuery, ifVersionMatch=0 makes
// it a conditional create).
func (s *Server) insertDocument(c *call) *reply {
	id := c.r.URL.Query().Get("name")
	if id == "" {
		return s.fail(c, kindBadRequest, http.StatusBadRequest, `the query parameter "name" names the document`)
	}
	if rep := s.requireJSON(c, "application/json"); rep != nil {
		return rep
	}
	obj, ok := decodeObject(c.body)
	if !ok {
		return s.fail(c, kindBadRequest, http.StatusBadRequest, "the body must be a JSON object")
	}
	d := s.live(id)
	if rep := s.checkPreconditions(c, id, d, getPath(obj, s.cfg.fieldPath), true); rep != nil {
		return rep
	}
	status := http.StatusOK
	if d == nil {
		status = http.StatusCreated
	}
	s.commitDocument(id, obj, true)
	return s.documentReply(status, id, s.docs[id])
}

// patchDocument applies an RFC 7396 merge patch.
func (s *Server) patchDocument(c *call) *reply {
	id := c.r.PathValue("id")
	if rep := s.requireJSON(c, "application/merge-patch+json", "application/json"); rep != nil {
		return rep
	}
	patch, ok := decodeObject(c.body)
	if !ok {
		return s.fail(c, kindBadRequest, http.StatusBadRequest, "the merge patch must be a JSON object")
	}
	d := s.live(id)
	if rep := s.checkPreconditions(c, id, d, getPath(patch, s.cfg.fieldPath), false); rep != nil {
		return rep
	}
	if d == nil { // a conditional create cannot be a patch
		return s.notFound(c, "documents", id)
	}
	patch = deletePath(patch, s.cfg.fieldPath)
	s.commitDocument(id, mergePatch(d.body, patch), true)
	return s.documentReply(http.StatusOK, id, d)
}

// deleteDocument deletes a document. The precondition may be If-Match (or
// the query parameter or custom header of the Server's mode) or an optional
// JSON body with the version field.
func (s *Server) deleteDocument(c *call) *reply {
	id := c.r.PathValue("id")
	var bodyVersion any
	if len(c.body) > 0 {
		obj, ok := decodeObject(c.body)
		if !ok {
			return s.fail(c, kindBadRequest, http.StatusBadRequest, "a DELETE body must be a JSON object")
		}
		bodyVersion = getPath(obj, s.cfg.fieldPath)
	}
	d := s.live(id)
	if rep := s.checkPreconditions(c, id, d, bodyVersion, false); rep != nil {
		return rep
	}
	if d == nil {
		return s.notFound(c, "documents", id)
	}
	d.deleted, d.body = true, nil
	s.stats.Commits++
	return &reply{status: http.StatusNoContent, header: http.Header{}}
}

// requireJSON answers 415 unless the request's Content-Type is absent or
// one of allowed.
func (s *Server) requireJSON(c *call, allowed ...string) *reply {
	ct := c.r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, a := range allowed {
			if mt == a {
				return nil
			}
		}
	}
	return s.fail(c, kindUnsupportedMedia, http.StatusUnsupportedMediaType,
		fmt.Sprintf("Content-Type %q is not supported; use %v", ct, allowed))
}

// notFound renders a 404 for resource id of collection.
func (s *Server) notFound(c *call, collection, id string) *reply {
	return s.render(c, &apiError{kind: kindNotFound, status: http.StatusNotFound, collection: collection, id: id,
		detail: fmt.Sprintf("%s %q does not exist", singular(collection), id)})
}

// decodeObject decodes a JSON object, keeping numbers exactly.
func decodeObject(b []byte) (map[string]any, bool) {
	v, err := decode(b)
	if err != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok && m != nil
}

// singular names one member of a collection in messages.
func singular(collection string) string {
	switch collection {
	case "documents":
		return "document"
	case "users":
		return "user"
	case "orders":
		return "order"
	case "categories":
		return "category"
	}
	return collection
}

// parsePointer parses a JSON Pointer with at least one segment.
func parsePointer(p string) ([]string, bool) {
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		segs[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
	}
	return segs, true
}

// getPath returns the value at path in obj, nil if absent or if path is
// empty (no version field).
func getPath(obj map[string]any, path []string) any {
	if len(path) == 0 {
		return nil
	}
	var v any = obj
	for _, seg := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[seg]
	}
	return v
}

// setPath returns obj with v at path, creating objects on the way; objects
// on the way are copied, so obj is not modified.
func setPath(obj map[string]any, path []string, v any) map[string]any {
	if len(path) == 0 {
		return obj
	}
	out := maps.Clone(obj)
	if out == nil {
		out = map[string]any{}
	}
	if len(path) == 1 {
		out[path[0]] = v
		return out
	}
	inner, _ := out[path[0]].(map[string]any)
	out[path[0]] = setPath(inner, path[1:], v)
	return out
}

// deletePath returns obj without the member at path; objects on the way
// are copied, so obj is not modified.
func deletePath(obj map[string]any, path []string) map[string]any {
	if obj == nil || len(path) == 0 {
		return obj
	}
	if _, ok := obj[path[0]]; !ok {
		return obj
	}
	out := maps.Clone(obj)
	if len(path) == 1 {
		delete(out, path[0])
		return out
	}
	if inner, ok := out[path[0]].(map[string]any); ok {
		out[path[0]] = deletePath(inner, path[1:])
	}
	return out
}
