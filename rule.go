package conflict

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// A Rule says how one endpoint recovers from conflicts. Its zero value
// recovers nothing that needs endpoint knowledge: stale versions abort
// (there is no merge function), duplicates are adopted only when the
// existing resource can be found and matches, waits and aborts behave as
// for any endpoint.
//
// [Client.Do] uses every field. [Update] uses Versions (to read and write
// the version), MaxAttempts and MaxElapsed of the rule that matches its PUT;
// it re-derives stale writes itself, so Merge and Resolve do not apply to it.
type Rule struct {
	// Merge merges a stale write: base is the representation the write was
	// based on, ours the request body, theirs the current representation;
	// it returns the body to send. jsonmerge.Merge suits JSON documents
	// written with PUT; jsonmerge.RebasePatch suits JSON merge patches sent
	// with PATCH. An error that satisfies errors.Is(err, ErrMergeConflict)
	// aborts with [ErrMergeConflict]; what Merge returns must be valid JSON
	// or the call aborts. A field the server owns (an updated_at, a version
	// in the body of an ETag endpoint) that the write leaves at its old
	// value makes jsonmerge.Merge report a conflict there; a merge built with
	// jsonmerge.PathPolicy(ptr, jsonmerge.TakeTheirs) resolves it. Merge
	// may be given a current state that already holds the write (an earlier
	// send landed and its answer was lost): a merge of values, such as
	// jsonmerge.Merge, then leaves the state as it is, but a merge of
	// deltas (adding ours minus base to theirs) would apply the change
	// twice; send such changes with an idempotency key.
	Merge func(base, ours, theirs []byte) ([]byte, error)

	// Resolve chooses how a stale version is resolved. The zero value,
	// [ResolveMerge], merges with Merge and aborts if Merge is nil.
	Resolve Resolution

	// Versions say where the endpoint's precondition travels: where a write
	// sends each part of it and where a read finds the current one (see
	// [Version]). If empty, the version is an ETag: If-Match on writes, ETag
	// on reads. A malformed location (a pointer that does not start with
	// "/", a Send with no Read) makes New panic.
	Versions []Version

	// WeakETagRetry, when positive, is how long a refresh that reads a weak
	// ETag (as servers give inside the second of a write) keeps reading
	// again, with backoff, for a strong one, instead of aborting at once.
	WeakETagRetry time.Duration

	// Refresh returns the URL to read the current representation from;
	// nil means the request's own URL. A URL on another origin is not read.
	Refresh func(req *http.Request) string

	// LocateExisting finds the resource a duplicate create collided with and
	// returns its URL, or "" if it cannot be found. If nil, the conflict's
	// Location (header or body) is used, then its existing id resolved
	// under the request's collection ("POST /users" + "u_7" = "/users/u_7"),
	// and for a create by PUT the request's own URL; a URL that leaves the
	// request's origin, collection or query (a scope such as ?tenant=acme)
	// is not read. The URL this function returns may be anywhere on the
	// request's origin, but one with a dot segment ("/users/../admins/1",
	// as a server's id may steer it) is not read.
	LocateExisting func(ctx context.Context, c *Conflict, req *http.Request) (string, error)

	// AdoptIf reports whether the existing resource is the one this request
	// meant to create, so that it may be adopted as the create's result. If
	// nil, it is when the existing resource records this request's
	// idempotency key (a field "idempotency_key" or "idempotencyKey"), or
	// when every non-empty top-level field of the request body has the same
	// value in the existing resource (a body with no such field is no
	// evidence, and nothing is adopted).
	AdoptIf func(sent, existing []byte) bool

	// Creates says the endpoint creates a resource, so that a duplicate
	// may be adopted: for a PUT that creates without If-None-Match: * (an
	// Azure container, a CouchDB database, a WebDAV collection). POST
	// requests, and PUT requests with If-None-Match: *, are creates without
	// it. A create of such an endpoint sent with an empty body means "make
	// sure it exists": when it meets a duplicate, whatever exists is adopted
	// (unless AdoptIf says otherwise), since there is nothing to compare.
	Creates bool

	// Statuses are extra status codes that count as conflicts on this
	// endpoint, beyond 409, 412, 423 and 428 (for example 400 for an API
	// that reports duplicates as bad requests), each with the kind its
	// replies have when their body says nothing the classifier knows: a
	// bare 409 on a WebDAV PUT means a missing parent (Dependency, RFC 4918
	// section 9.7.1). Unknown leaves the kind to the body.
	Statuses map[int]Kind

	// MaxAttempts and MaxElapsed override the client's [Limits] for this
	// endpoint when positive.
	MaxAttempts int
	MaxElapsed  time.Duration

	// IdempotencyHeader overrides the client's idempotency header name.
	IdempotencyHeader string

	// Idempotent attaches an idempotency key to this endpoint's requests
	// whatever their method. Without it, keys go on POST requests only (and
	// on any request whose caller gave a key).
	Idempotent bool

	versions []Version // Versions, validated and completed
}

// A Resolution says how a stale version is resolved.
type Resolution int

const (
	// ResolveMerge merges base, ours and theirs with the rule's Merge and
	// re-sends the result with the fresh precondition. A merge conflict
	// aborts with [ErrMergeConflict].
	ResolveMerge Resolution = iota
	// ClientWins re-sends the request body unchanged with the fresh
	// precondition, overwriting whatever changed on the server. It needs no
	// base. Use it only where last-write-wins is really meant.
	ClientWins
	// ServerWins keeps the server's current representation: nothing is
	// re-sent, and the call returns the current representation with
	// [ServerWon].
	ServerWins
	// Manual aborts with base, ours and theirs in the [Error], for the
	// caller to decide.
	Manual
)

var resolutionNames = [...]string{"merge", "client_wins", "server_wins", "manual"}

// String returns the resolution's lowercase name.
func (r Resolution) String() string {
	if r < 0 || int(r) >= len(resolutionNames) {
		return "resolution(?)"
	}
	return resolutionNames[r]
}

// rule is a Rule with its pattern.
type rule struct {
	pattern string
	Rule
}

// validate checks the rule's fields and prepares them; it panics with a
// message naming the pattern and the field.
func (r *rule) validate() {
	if r.Statuses != nil {
		m := make(map[int]Kind, len(r.Statuses))
		for k, v := range r.Statuses {
			m[k] = v
		}
		r.Statuses = m
	}
	r.validateVersions()
	for s := range r.Statuses {
		if s < 400 || s > 499 {
			panic(fmt.Sprintf("conflict: rule %q: Statuses holds %d, which is not a 4xx status", r.pattern, s))
		}
	}
	if r.Resolve < ResolveMerge || r.Resolve > Manual {
		panic(fmt.Sprintf("conflict: rule %q: Resolve is %d, not a Resolution", r.pattern, int(r.Resolve)))
	}
}

// ruleSet finds the rule of a request. It reuses http.ServeMux for pattern
// syntax, precedence and validation.
type ruleSet struct {
	mux  *http.ServeMux
	n    int
	host bool // some pattern names a host
	// methods holds the methods the patterns name, sorted; any is set when
	// a pattern names none. A request of another method matches no rule.
	methods []string
	any     bool
}

type ruleHandler struct{ r *rule }

func (ruleHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

func newRuleSet(rules []rule) *ruleSet {
	s := &ruleSet{n: len(rules)}
	if len(rules) == 0 {
		return s
	}
	s.mux = http.NewServeMux()
	seen := map[string]bool{}
	for i := range rules {
		r := &rules[i]
		r.validate()
		s.mux.Handle(r.pattern, ruleHandler{r}) // panics on a bad pattern
		path := r.pattern
		if i := strings.IndexAny(path, " \t"); i >= 0 {
			path = strings.TrimSpace(path[i:])
			for _, m := range []string{r.pattern[:i], http.MethodHead} {
				if !seen[m] && (m != http.MethodHead || r.pattern[:i] == http.MethodGet) {
					seen[m] = true // GET patterns match HEAD too, as in ServeMux
					s.methods = append(s.methods, m)
				}
			}
		} else {
			s.any = true
		}
		s.host = s.host || !strings.HasPrefix(path, "/")
	}
	sort.Strings(s.methods)
	return s
}

// match returns the rule for req, or nil.
func (s *ruleSet) match(req *http.Request) *rule {
	if s.n == 0 {
		return nil
	}
	if !s.any && !s.has(req.Method) {
		return nil
	}
	return s.lookup(req)
}

func (s *ruleSet) has(method string) bool {
	for _, m := range s.methods {
		if m == method {
			return true
		}
	}
	return false
}

func (s *ruleSet) lookup(req *http.Request) *rule {
	if !s.host || req.Host != "" || req.URL == nil {
		h, _ := s.mux.Handler(req)
		rh, _ := h.(ruleHandler)
		return rh.r
	}
	// A client request's Host is usually empty: give it its URL's host
	// for patterns that name one.
	r := *req
	r.Host = req.URL.Host
	h, _ := s.mux.Handler(&r)
	rh, _ := h.(ruleHandler)
	return rh.r
}

// matchOtherMethod returns a rule that another method than req's matches
// at req's URL (req's own did not): the reads of such URLs are remembered
// as merge bases.
func (s *ruleSet) matchOtherMethod(req *http.Request) *rule {
	if s.n == 0 {
		return nil
	}
	r := *req
	for _, m := range s.methods {
		if m == req.Method {
			continue
		}
		r.Method = m
		if found := s.lookup(&r); found != nil {
			return found
		}
	}
	return nil
}
