package conflicttest

import (
	"fmt"
	"maps"
	"mime"
	"net/http"
)

// document is one stored JSON object. body never holds "version": the
// Server adds it on the way out.
type document struct {
	body    map[string]any
	version int
	deleted bool // a tombstone keeps the version, so a re-create continues the sequence
}

// representation returns the document as clients see it, with "version".
func (d *document) representation() map[string]any {
	m := maps.Clone(d.body)
	if m == nil {
		m = map[string]any{}
	}
	m["version"] = d.version
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

// Document returns document id as GET would (with its "version" member),
// and its version. ok is false if there is no such document.
func (s *Server) Document(id string) (body []byte, version int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[id]
	if d == nil || d.deleted {
		return nil, 0, false
	}
	return marshal(d.representation()), d.version, true
}

// commitDocument stores obj as the next version of id and logs it; viaHTTP
// also counts a commit. The caller holds s.mu.
func (s *Server) commitDocument(id string, obj map[string]any, viaHTTP bool) int {
	delete(obj, "version")
	d := s.docs[id]
	if d == nil {
		d = &document{}
		s.docs[id] = d
	}
	d.body, d.deleted = obj, false
	d.version++
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

// documentReply is a document as a 200 or 201 reply, with ETag unless
// versions travel in the body only.
func (s *Server) documentReply(status int, id string, d *document) *reply {
	rep := jsonReply(status, "application/json", d.representation())
	if s.cfg.versionIn != VersionBody {
		rep.header.Set("ETag", etag(d.version))
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
	return s.documentReply(http.StatusOK, id, d)
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
	if rep := s.checkPreconditions(c, id, d, obj["version"]); rep != nil {
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
	if rep := s.checkPreconditions(c, id, d, patch["version"]); rep != nil {
		return rep
	}
	delete(patch, "version")
	s.commitDocument(id, mergePatch(d.body, patch), true)
	return s.documentReply(http.StatusOK, id, d)
}

// deleteDocument deletes a document. The precondition may be If-Match or
// an optional JSON body {"version": N}.
func (s *Server) deleteDocument(c *call) *reply {
	id := c.r.PathValue("id")
	var bodyVersion any
	if len(c.body) > 0 {
		obj, ok := decodeObject(c.body)
		if !ok {
			return s.fail(c, kindBadRequest, http.StatusBadRequest, "a DELETE body must be a JSON object")
		}
		bodyVersion = obj["version"]
	}
	d := s.live(id)
	if rep := s.checkPreconditions(c, id, d, bodyVersion); rep != nil {
		return rep
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
