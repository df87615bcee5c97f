package conflict

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-conflict/conflict/internal/jsonv"
)

var (
	errNotCreate    = errors.New("only a create can adopt an existing resource (a POST, a PUT with If-None-Match: *, or a rule with Creates)")
	errNotFound     = errors.New("the existing resource cannot be located")
	errForeign      = errors.New("the existing resource is not the one this request meant to create")
	errNoEvidence   = errors.New("the create sent no non-empty field, so nothing shows the existing resource is this request's; set Rule.AdoptIf to decide")
	errOutOfPlace   = errors.New("the existing resource is outside the collection the request addressed; it is not read")
	errBadExisting  = errors.New("the existing resource's id or location is not usable")
	idempotencyKeys = []string{"idempotency_key", "idempotencyKey"}
)

// isCreate reports whether the call creates a resource.
func (st *call) isCreate() bool {
	switch {
	case st.rule != nil && st.rule.Creates:
		return true
	case st.orig.Method == http.MethodPost:
		return true
	case st.orig.Method == http.MethodPut:
		return strings.TrimSpace(strings.Join(headerValues(st.orig.Header, "If-None-Match"), ",")) == "*"
	}
	return false
}

// adopt returns the existing resource a duplicate create collided with,
// when it is the one this request meant to create: the recovery for a
// duplicate.
func (st *call) adopt(resp *http.Response, cf *Conflict) (*http.Response, *halt) {
	if !st.isCreate() {
		return nil, &halt{reason: ErrUnrecoverable, err: errNotCreate}
	}
	u, err := st.locate(cf)
	if err != nil {
		return nil, &halt{reason: ErrUnrecoverable, err: err}
	}
	if u == nil {
		return nil, &halt{reason: ErrUnrecoverable, err: errNotFound}
	}
	r, existing, why := st.read(u)
	if why != nil {
		return nil, why
	}
	var ours []byte
	bodiless := st.body.get == nil && st.body.bytes == nil && st.body.replayable()
	if !bodiless {
		var err error
		if !st.body.replayable() {
			err = ErrNotReplayable
		} else {
			ours, err = st.body.read(st.c.limits.MaxBodyBuffer)
		}
		if err != nil {
			// What was sent cannot be read back: nothing shows the
			// existing resource is this request's.
			return nil, &halt{reason: ErrUnrecoverable, err: fmt.Errorf("%w: %v", errNoEvidence, err), theirs: existing}
		}
	}
	if err := st.adoptable(ours, existing, bodiless); err != nil {
		if st.answerLost() {
			// The resource may be this request's own, made by a send whose
			// answer was lost and changed since (a server that normalises
			// what it stores): not adopted, and not said to be another's.
			err = fmt.Errorf("%w; but an earlier send of this create may have been applied with its answer lost, so the existing resource may be this request's own", err)
		}
		return nil, &halt{reason: ErrUnrecoverable, err: err, ours: ours, theirs: existing}
	}
	st.out.res.Outcome = Adopted
	st.emit(Event{Step: StepAdopt, Kind: cf.Kind, Status: r.StatusCode})
	// The create's answer, as the original create would have given it.
	r.StatusCode, r.Status = http.StatusCreated, "201 Created"
	if r.Header.Get("Location") == "" {
		r.Header.Set("Location", u.String())
	}
	r.Body = io.NopCloser(bytes.NewReader(existing))
	r.ContentLength = int64(len(existing))
	r.Request = st.tmpl
	return r, nil
}

// adoptable says why existing is not what this call meant to create, or nil
// when it is: the rule's AdoptIf, or the default evidence.
func (st *call) adoptable(ours, existing []byte, bodiless bool) error {
	if st.rule != nil && st.rule.AdoptIf != nil {
		if st.rule.AdoptIf(ours, existing) {
			return nil
		}
		return errForeign
	}
	if st.rule != nil && st.rule.Creates && bodiless {
		// A bodiless create-if-absent (an Azure container, a CouchDB
		// database, a WebDAV collection) means "make sure it exists":
		// whatever exists at its URL is what it meant to create.
		return nil
	}
	ex, err := jsonv.Parse(existing)
	if err != nil || ex.Kind != jsonv.Object {
		return errForeign
	}
	if keys := st.out.res.Keys; len(keys) > 0 {
		for _, k := range idempotencyKeys {
			if v := ex.Get(k); v != nil && v.Kind == jsonv.String && jsonv.Unquote(v.Raw) == keys[0] {
				return nil
			}
		}
	}
	want, err := jsonv.Parse(ours)
	if err != nil || want.Kind != jsonv.Object {
		return errNoEvidence
	}
	evidence := 0
	for i := range want.Kids {
		m := &want.Kids[i]
		if empty(&m.Value) {
			continue // an empty field says nothing of what was meant
		}
		evidence++
		if v := ex.Get(m.Key); v == nil || !jsonv.Equal(&m.Value, v, false) {
			return errForeign
		}
	}
	if evidence == 0 {
		return errNoEvidence
	}
	return nil
}

// empty reports a value that is no evidence: null, "", {} or [].
func empty(v *jsonv.Value) bool {
	switch v.Kind {
	case jsonv.Null:
		return true
	case jsonv.String:
		return len(v.Raw) == 2
	case jsonv.Object, jsonv.Array:
		return len(v.Kids) == 0
	}
	return false
}

// locate finds the URL of the resource a duplicate collided with, within
// the origin and the collection the request addressed.
func (st *call) locate(cf *Conflict) (*url.URL, error) {
	req := st.orig
	if st.rule != nil && st.rule.LocateExisting != nil {
		loc, err := st.rule.LocateExisting(st.ctx, cf, req)
		if err != nil || loc == "" {
			return nil, err
		}
		ref, err := url.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadExisting, err)
		}
		if hasDotSegment(ref.EscapedPath()) {
			// Resolving would drop the dot segments silently: a server's id
			// ("../admins/root") in the rule's URL would move the read out
			// of where the rule means to look.
			return nil, errOutOfPlace
		}
		return req.URL.ResolveReference(ref), nil // the rule's own choice; read checks the origin
	}
	if req.Method != http.MethodPost {
		return req.URL, nil // a create by PUT names its resource
	}
	coll := collection(req.URL)
	if cf.ExistingLocation != "" {
		u, err := req.URL.Parse(cf.ExistingLocation)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadExisting, err)
		}
		return within(u, coll)
	}
	if id := cf.ExistingID; id != "" {
		if id == "." || id == ".." {
			return nil, errBadExisting
		}
		ref := url.PathEscape(id)
		base := *coll
		if strings.Contains(id, "/") {
			// An id relative to the API root ("orders/2026-88421"):
			// resolved beside the collection, and kept only inside it.
			ref = "./" + escapeSegments(id)
			base.Path = strings.TrimSuffix(coll.Path, "/")
			base.RawPath = strings.TrimSuffix(coll.EscapedPath(), "/")
		}
		u, err := base.Parse(ref)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadExisting, err)
		}
		u.RawQuery = coll.RawQuery // in the request's scope (?tenant=acme)
		return within(u, coll)
	}
	return nil, nil
}

// collection returns u's collection: its URL with a trailing "/", and its
// query, which may name a scope (?tenant=acme) the members are in too.
func collection(u *url.URL) *url.URL {
	c := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
		if c.RawPath != "" {
			c.RawPath += "/"
		}
	}
	return c
}

// within returns u if it is a member of coll (same origin, its escaped path
// strictly below coll's, with no dot segment, and coll's query: a member in
// another scope, ?tenant=other, is not this request's), else errOutOfPlace.
func within(u, coll *url.URL) (*url.URL, error) {
	if !sameOrigin(u, coll) {
		return nil, errCrossOrigin
	}
	p, cp := u.EscapedPath(), coll.EscapedPath()
	if !strings.HasPrefix(p, cp) || len(p) == len(cp) || u.RawQuery != coll.RawQuery {
		return nil, errOutOfPlace
	}
	if hasDotSegment(p[len(cp):]) {
		return nil, errOutOfPlace
	}
	return u, nil
}

// hasDotSegment reports whether the escaped path p has a "." or ".."
// segment, or one hidden behind an escaped "/" or a "\" that a server may
// decode before it resolves the path; an escape that does not decode
// counts as one.
func hasDotSegment(p string) bool {
	rest, err := url.PathUnescape(p)
	if err != nil {
		return true
	}
	for _, seg := range strings.FieldsFunc(rest, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// escapeSegments escapes each "/"-separated segment of p.
func escapeSegments(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
