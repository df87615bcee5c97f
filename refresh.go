package conflict

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-conflict/conflict/internal/retry"
	"github.com/go-conflict/conflict/jsonmerge"
)

// staleBackoff is the base of the jittered wait before the second and later
// refreshes of one call: the n-th waits up to staleBackoff*2^(n-2), at most
// the client's backoff maximum.
const staleBackoff = 10 * time.Millisecond

var (
	errNoMerge     = errors.New("the endpoint has no merge function")
	errManual      = errors.New("the endpoint resolves stale versions manually")
	errStaleCreate = errors.New("a create cannot be stale")
	errNoVersion   = errors.New("the current representation has no version")
	errBadMerge    = errors.New("the merge function returned no valid JSON document, or one without members neither side changed")
	// errMayHaveLanded stops an Update whose write was answered stale after
	// being sent more than once: the answer to an earlier send was lost,
	// and that send may have been applied.
	errMayHaveLanded = errors.New("the write was sent again after an answer was lost, and the server answered that it was stale: the earlier send may have been applied, so Update does not apply the change again")
)

// refreshMerge takes the current state, resolves the stale write against
// it, and rebuilds the request on it: the recovery for a stale version.
func (st *call) refreshMerge(resp *http.Response, cf *Conflict) (*http.Response, *halt) {
	if st.out.Value(updateKey{}) != nil {
		if st.answerLost() {
			// Update re-derives its write by calling mutate again, which
			// would apply the change twice if an earlier send landed.
			return nil, &halt{reason: ErrUnrecoverable, err: errMayHaveLanded}
		}
		return nil, &halt{reason: ErrUnrecoverable, err: errRederive}
	}
	res := ResolveMerge
	if st.rule != nil {
		res = st.rule.Resolve
	}
	if res == ResolveMerge && (st.rule == nil || st.rule.Merge == nil) {
		return nil, &halt{reason: ErrUnrecoverable, err: errNoMerge}
	}
	if res != ServerWins {
		if why := st.canResend(); why != nil {
			return nil, why
		}
	}
	ours, err := st.body.read(st.c.limits.MaxBodyBuffer)
	if err != nil {
		return nil, &halt{reason: ErrNotReplayable, err: err}
	}
	if st.intent != nil {
		ours = st.intent.ours
	}
	vs := st.versions()
	if st.orig.Method == http.MethodPost && !carriesVersion(st.tmpl, ours, vs) {
		// Only a conditional create (one that carries a version) can be
		// stale; any other create was answered with the wrong kind.
		return nil, &halt{reason: ErrUnrecoverable, err: errStaleCreate}
	}
	var base []byte
	if res == ResolveMerge || res == Manual {
		ok := st.intent != nil
		if ok {
			base = st.intent.base
		} else if base, _, ok = st.baseFor(ours); !ok && res == ResolveMerge {
			return nil, &halt{reason: ErrUnrecoverable, err: ErrNoBase, ours: ours}
		}
	}
	st.stales++
	if st.stales > 1 {
		// Stale again: other writers are contending for the resource.
		// Full jitter spreads the writers out; the state read after the
		// wait is fresher than the one in this conflict.
		step := staleBackoff
		if !st.sentAt.IsZero() { // the last send's round trip, when it was timed
			step = max(step, time.Since(st.sentAt))
		}
		if why := st.pause(cf, retry.FullJitter(step, min(st.c.limits.BackoffMax, 10*step), st.stales-2)); why != nil {
			why.base, why.ours = base, ours
			return nil, why
		}
		cf = &Conflict{Kind: cf.Kind, Status: cf.Status, Reason: cf.Reason} // read anew
	}
	cur, why := st.current(resp, cf, base)
	if why != nil {
		why.base, why.ours = base, ours
		return nil, why
	}
	theirs := cur.data
	fail := func(reason, err error) (*http.Response, *halt) {
		return nil, &halt{reason: reason, err: err, base: base, ours: ours, theirs: theirs}
	}
	switch res {
	case ServerWins:
		st.out.res.Outcome = ServerWon
		return cur.response(st), nil
	case Manual:
		return fail(ErrUnrecoverable, errManual)
	}
	fields := sentFields(vs)
	next := ours
	if res == ResolveMerge {
		b, o, t := base, ours, theirs
		for _, ptr := range fields {
			// A version field is the precondition, not content: it is set
			// from theirs below, whatever the three say.
			b, o, t = dropPointer(b, ptr), dropPointer(o, ptr), dropPointer(t, ptr)
		}
		next, err = st.rule.Merge(b, o, t)
		st.emit(Event{Step: StepMerge, Kind: cf.Kind, Err: err})
		if err != nil {
			if errors.Is(err, ErrMergeConflict) {
				return fail(ErrMergeConflict, err)
			}
			return fail(ErrUnrecoverable, err)
		}
		if !soundMerge(b, o, t, next) {
			return fail(ErrUnrecoverable, errBadMerge)
		}
	}
	if st.mayHaveLanded() && landed(res, st.orig.Method, st.answerLost(), next, theirs, fields) {
		// The current state already holds what this write meant (an
		// earlier send of it may have committed with its answer lost):
		// sending it again would apply it twice.
		st.merges++
		st.out.res.Outcome = Merged
		if res == ClientWins {
			st.out.res.Outcome = Overwrote
		}
		return cur.response(st), nil
	}
	// Rebuild the request on the current version.
	h := st.tmpl.Header.Clone()
	u := new(url.URL)
	*u = *st.tmpl.URL
	if next, err = applyVersions(h, u, next, vs, cur.vals, cur.raws); err != nil {
		return fail(ErrUnrecoverable, err)
	}
	if hasHeader(h, "If-Match") && !sendsIfMatch(vs) {
		// The request carries an ETag precondition beside its versions:
		// both must be fresh.
		if cur.etag == "" {
			return fail(ErrUnrecoverable, errNoVersion)
		}
		setHeader(h, "If-Match", cur.etag)
	}
	st.rebuild(next, h, u, theirs)
	st.emit(Event{Step: StepResend, Kind: cf.Kind})
	return nil, nil
}

// rebuild makes the next send a new payload, next, under the headers h and
// URL u, merged onto base, the representation it now rests on. A new
// payload is a new intent: it gets an idempotency key of its own, derived
// from the first so that every process derives the same one.
func (st *call) rebuild(next []byte, h http.Header, u *url.URL, base []byte) {
	dropBodyHeaders(h)
	st.merges++
	st.base, st.intent = base, nil
	st.body.close() // a body of the caller's that was never sent
	st.body = bytesBody(next)
	t := new(http.Request)
	*t = *st.tmpl
	t.Header, t.URL = h, u
	t.ContentLength = int64(len(next))
	st.tmpl = t
	if st.keyHeader != "" && st.out.res.IdempotencyKey != "" {
		st.setKeyHeader(deriveKey(st.out.res.Keys[0], st.merges))
	}
}

// answerLost reports whether a send of the write may have been applied
// with its answer lost: its own (a transport retry after a failure that
// does not say the request was not handled, or a resend by net/http), or
// that of a write that carried it.
func (st *call) answerLost() bool { return st.out.lost || st.uncertain }

// mayHaveLanded reports whether the write may already be in the current
// state: an earlier send of it may have committed unanswered (a transport
// retry, or a write that carried it with an unknown outcome), or it is not
// a whole replacement. Otherwise every earlier send was refused, and a PUT
// whose merged document the current state already holds is harmless to
// send: the check that would spare it costs every refresh two parses.
func (st *call) mayHaveLanded() bool {
	return st.out.retried || st.answerLost() || st.orig.Method != http.MethodPut
}

// landed reports whether the current state, theirs, already holds next,
// the write about to be sent under resolution res; lost says an earlier
// send of it may have been applied, its answer lost.
func landed(res Resolution, method string, lost bool, next, theirs []byte, fields [][]string) bool {
	switch {
	case res == ClientWins && lost:
		// Every member the overwrite sets is there: it was most likely
		// applied, and sent again it would only remove what a later write
		// added.
		return holds(theirs, next)
	case method == http.MethodPatch:
		// A merge patch that changes nothing of the state (an empty one,
		// once rebased onto a state that holds it).
		after, err := jsonmerge.ApplyPatch(theirs, next)
		return err == nil && jsonEqual(after, theirs)
	}
	return applied(next, theirs, fields)
}

// applied reports whether theirs already holds next, version fields aside.
func applied(next, theirs []byte, fields [][]string) bool {
	for _, ptr := range fields {
		next, theirs = dropPointer(next, ptr), dropPointer(theirs, ptr)
	}
	return jsonEqual(next, theirs)
}

// sendsIfMatch reports whether one of vs is sent as If-Match.
func sendsIfMatch(vs []Version) bool {
	for _, v := range vs {
		if v.Send.kind == inHeader && v.Send.name == "If-Match" {
			return true
		}
	}
	return false
}

// bodyHeaders describe the bytes of a request body; a rebuilt body makes
// them wrong.
var bodyHeaders = []string{"Content-Md5", "Content-Digest", "Repr-Digest", "Digest", "Content-Crc32", "X-Amz-Content-Sha256"}

// dropBodyHeaders removes from h the headers that describe the old body.
func dropBodyHeaders(h http.Header) {
	for _, k := range bodyHeaders {
		delHeader(h, k)
	}
}

// current is a current representation and its version.
type current struct {
	data []byte
	vals []string // the current versions, as text, one per Version
	raws [][]byte // the JSON of those read from fields
	etag string   // the representation's strong ETag, if known
	resp *http.Response
}

// response returns the current representation as a response to the call.
func (c *current) response(st *call) *http.Response {
	if c.resp != nil {
		c.resp.Body = io.NopCloser(bytes.NewReader(c.data))
		c.resp.ContentLength = int64(len(c.data))
		c.resp.Request = st.tmpl
		return c.resp
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if c.etag != "" {
		h.Set("ETag", c.etag)
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(c.data)), ContentLength: int64(len(c.data)),
		Request: st.tmpl,
	}
}

// current returns the current state: from the conflict body when it
// verifiably carries the whole representation and its version, else from
// one GET.
func (st *call) current(resp *http.Response, cf *Conflict, base []byte) (*current, *halt) {
	if cur := st.fromConflict(resp, cf, base); cur != nil {
		st.emit(Event{Step: StepRefresh, Kind: cf.Kind})
		return cur, nil
	}
	target, err := st.readURL()
	if err != nil {
		return nil, &halt{reason: ErrUnrecoverable, err: err}
	}
	vs := st.versions()
	for wait := 0; ; wait++ {
		r, data, why := st.read(target)
		if why != nil {
			return nil, why
		}
		cur := &current{data: data, resp: r, etag: strongETag(r.Header)}
		cur.vals, cur.raws, err = readVersions(r.Header, data, vs)
		if errors.Is(err, errWeakETag) && st.rule != nil && st.rule.WeakETagRetry > 0 &&
			time.Since(st.begin()) < st.rule.WeakETagRetry {
			// A weak tag inside the second of a write: a read a moment
			// later gives a strong one.
			if why := st.pause(cf, retry.Backoff(st.c.limits.BackoffMin, st.c.limits.BackoffMax, wait)); why != nil {
				return nil, why
			}
			continue
		}
		if err != nil {
			return nil, &halt{reason: ErrUnrecoverable, err: err}
		}
		st.c.bases.put(cacheKey(target, st.orig.Header, versionKey(cur.vals)), data, nil, st.c.clock.Add(1))
		st.emit(Event{Step: StepRefresh, Kind: cf.Kind, Status: r.StatusCode})
		return cur, nil
	}
}

// fromConflict returns the current state a conflict body carries, when it
// is a whole representation (an object with every member the base has, at
// every depth) with a version: the body's version field, or a strong ETag
// on the reply where the write's precondition is an ETag. Otherwise nil.
func (st *call) fromConflict(resp *http.Response, cf *Conflict, base []byte) *current {
	if cf.Current == nil || base == nil || !covers(cf.Current, base) {
		return nil
	}
	vs := st.versions()
	for _, v := range vs {
		if v.Read.kind == inHeader && !v.Read.isETag() {
			return nil // another header of an error reply says nothing of the resource
		}
	}
	etag := strongETag(resp.Header)
	if etag == "" && hasHeader(st.tmpl.Header, "If-Match") {
		return nil
	}
	vals, raws, err := readVersions(http.Header{"Etag": {etag}}, cf.Current, vs)
	if err != nil {
		return nil
	}
	return &current{data: cf.Current, vals: vals, raws: raws, etag: etag}
}
