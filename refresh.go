package conflict

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-conflict/conflict/internal/retry"
)

// staleBackoff is the base of the jittered wait before the second and later
// refreshes of one call: the n-th waits up to staleBackoff*2^(n-2), at most
// the client's backoff maximum.
const staleBackoff = 10 * time.Millisecond

// refreshMerge takes the current state, resolves the stale write against
// it, and rebuilds the request on it.
func (st *call) refreshMerge(resp *http.Response, cf *Conflict) (*http.Response, *stop) {
	if st.orig.Method == http.MethodPost {
		return nil, &stop{reason: ErrUnrecoverable, err: errStaleCreate}
	}
	if st.Value(updateCtx{}) != nil {
		return nil, &stop{reason: ErrUnrecoverable, err: errRederive}
	}
	res := ResolveMerge
	if st.rule != nil {
		res = st.rule.Resolve
	}
	if res == ResolveMerge && (st.rule == nil || st.rule.Merge == nil) {
		return nil, &stop{reason: ErrUnrecoverable, err: errNoMerge}
	}
	if res != ServerWins {
		if why := st.canResend(); why != nil {
			return nil, why
		}
	}
	ours, err := st.body.read(st.cfg.maxBodyBuffer)
	if err != nil {
		return nil, &stop{reason: ErrNotReplayable, err: err}
	}
	var base []byte
	if res == ResolveMerge || res == Manual {
		var ok bool
		if base, ok = st.baseFor(ours); !ok && res == ResolveMerge {
			return nil, &stop{reason: ErrUnrecoverable, err: ErrNoBase, ours: ours}
		}
	}
	st.stales++
	if st.stales > 1 {
		// Stale again: other writers are contending for the resource.
		// Full jitter spreads the writers out; the state read after the
		// wait is fresher than the one in this conflict.
		if why := st.pause(cf, retry.FullJitter(staleBackoff, st.cfg.backoffMax, st.stales-2)); why != nil {
			why.base, why.ours = base, ours
			return nil, why
		}
		cf = &Conflict{Kind: cf.Kind, Status: cf.Status, Reason: cf.Reason} // read anew
	}
	cur, why := st.refresh(resp, cf)
	if why != nil {
		why.base, why.ours = base, ours
		return nil, why
	}
	theirs := cur.data
	switch res {
	case ServerWins:
		st.res.Outcome = ServerWon
		return cur.response(st), nil
	case Manual:
		return nil, &stop{reason: ErrUnrecoverable, err: errManual, base: base, ours: ours, theirs: theirs}
	}
	next := ours
	if res == ResolveMerge {
		b, o, t := base, ours, theirs
		if ptr := st.versionField(); ptr != "" {
			// The version field is the precondition, not content: it is
			// set from theirs below, whatever the three say.
			b, o, t = dropPointer(b, ptr), dropPointer(o, ptr), dropPointer(t, ptr)
		}
		next, err = st.rule.Merge(b, o, t)
		st.emit(Event{Step: StepMerge, Kind: cf.Kind, Strategy: RefreshMerge, Err: err})
		if err != nil {
			reason := ErrUnrecoverable
			if errors.Is(err, ErrMergeConflict) {
				reason = ErrMergeConflict
			}
			return nil, &stop{reason: reason, err: err, base: base, ours: ours, theirs: theirs}
		}
	}
	// Rebuild the request on the current version.
	h := st.tmpl.Header.Clone()
	if ptr := st.versionField(); ptr != "" {
		if next, err = setPointer(next, ptr, cur.version); err != nil {
			return nil, &stop{reason: ErrUnrecoverable, err: err, base: base, ours: ours, theirs: theirs}
		}
		if h.Get("If-Match") != "" {
			// The request carries both preconditions: both must be fresh.
			if cur.etag == "" {
				return nil, &stop{reason: ErrUnrecoverable, err: errNoVersion, base: base, ours: ours, theirs: theirs}
			}
			h.Set("If-Match", cur.etag)
		}
	} else {
		h.Set("If-Match", cur.version)
	}
	st.merges++
	st.base = theirs
	st.body = bytesBody(next)
	t := new(http.Request)
	*t = *st.tmpl
	t.Header = h
	t.ContentLength = int64(len(next))
	st.tmpl = t
	if st.keyHeader != "" && st.res.IdempotencyKey != "" {
		// A new payload is a new intent: it gets a key of its own, derived
		// from the first so every process derives the same one.
		st.setKeyHeader(deriveKey(st.res.Keys[0], st.merges))
	}
	st.emit(Event{Step: StepResend, Kind: cf.Kind, Strategy: RefreshMerge})
	return nil, nil
}

func (st *call) versionField() string {
	if st.rule != nil {
		return st.rule.VersionField
	}
	return ""
}

// precondition is the version the current request was built on.
func (st *call) precondition(ours []byte) string {
	if ptr := st.versionField(); ptr != "" {
		if v, ok := getPointer(ours, ptr); ok {
			return "field:" + string(v)
		}
		return ""
	}
	if v := st.tmpl.Header.Get("If-Match"); v != "" {
		return "etag:" + v
	}
	return ""
}

type baseCtx struct{}

// WithBase returns a context that gives a write's merge base: the
// representation the write was built on. Without it, the client uses the
// representation it saw at the write's URL and version (the If-Match ETag, or
// the rule's version field), if it read one through the client: a 2xx whose
// body was read to the end, at a URL some rule's pattern matches.
func WithBase(ctx context.Context, base []byte) context.Context {
	return context.WithValue(ctx, baseCtx{}, base)
}

func (st *call) baseFor(ours []byte) ([]byte, bool) {
	if st.base != nil {
		return st.base, true
	}
	if b, ok := st.Value(baseCtx{}).([]byte); ok && b != nil {
		return b, true
	}
	if pre := st.precondition(ours); pre != "" {
		return st.c.bases.get(cacheURL(st.orig.URL), pre)
	}
	return nil, false
}

func cacheURL(u *url.URL) string {
	r := *u
	r.User, r.Fragment, r.RawFragment = nil, "", ""
	return r.String()
}

// current is a current representation and its version.
type current struct {
	data    []byte
	version string // an entity-tag, or a JSON value for a version field
	etag    string // the representation's strong ETag, if known
	resp    *http.Response
}

// response returns the current representation as a response to the call.
func (c *current) response(st *call) *http.Response {
	if c.resp != nil {
		c.resp.Body = io.NopCloser(bytes.NewReader(c.data))
		c.resp.ContentLength = int64(len(c.data))
		return c.resp
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if st.versionField() == "" {
		h.Set("ETag", c.version)
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(c.data)), ContentLength: int64(len(c.data)),
		Request: st.tmpl,
	}
}

// refresh returns the current state: from the conflict body when it carries
// the representation and its version, else from one GET.
func (st *call) refresh(resp *http.Response, cf *Conflict) (*current, *stop) {
	if cf.Current != nil {
		// A conflict body that carries the representation: its ETag header,
		// if strong, is the representation's.
		etag := resp.Header.Get("ETag")
		if strings.HasPrefix(etag, "W/") {
			etag = ""
		}
		needETag := st.tmpl.Header.Get("If-Match") != ""
		if ptr := st.versionField(); ptr != "" {
			if v, ok := getPointer(cf.Current, ptr); ok && (etag != "" || !needETag) {
				st.emit(Event{Step: StepRefresh, Kind: cf.Kind, Strategy: RefreshMerge})
				return &current{data: cf.Current, version: string(v), etag: etag}, nil
			}
		} else if etag != "" {
			st.emit(Event{Step: StepRefresh, Kind: cf.Kind, Strategy: RefreshMerge})
			return &current{data: cf.Current, version: etag, etag: etag}, nil
		}
	}
	target := st.orig.URL
	if st.rule != nil && st.rule.Refresh != nil {
		u, err := st.orig.URL.Parse(st.rule.Refresh(st.orig))
		if err != nil {
			return nil, &stop{reason: ErrUnrecoverable, err: fmt.Errorf("refresh URL: %w", err)}
		}
		target = u
	}
	r, data, why := st.read(target)
	if why != nil {
		return nil, why
	}
	cur := &current{data: data, resp: r, etag: r.Header.Get("ETag")}
	if strings.HasPrefix(cur.etag, "W/") {
		cur.etag = ""
	}
	if ptr := st.versionField(); ptr != "" {
		v, ok := getPointer(data, ptr)
		if !ok {
			return nil, &stop{reason: ErrUnrecoverable, err: errNoVersion}
		}
		cur.version = string(v)
	} else {
		cur.version = r.Header.Get("ETag")
		switch {
		case cur.version == "":
			return nil, &stop{reason: ErrUnrecoverable, err: errNoVersion}
		case strings.HasPrefix(cur.version, "W/"):
			return nil, &stop{reason: ErrUnrecoverable, err: errWeakETag}
		}
	}
	st.c.bases.put(cacheURL(target), versionKey(st.versionField(), cur.version), data)
	st.emit(Event{Step: StepRefresh, Kind: cf.Kind, Strategy: RefreshMerge, Status: r.StatusCode})
	return cur, nil
}

func versionKey(field, v string) string {
	if field != "" {
		return "field:" + v
	}
	return "etag:" + v
}

// read GETs u on the call's origin with the caller's headers, less those
// that belong to the write, and returns the 200 response with its body read.
func (st *call) read(u *url.URL) (*http.Response, []byte, *stop) {
	if !sameOrigin(u, st.orig.URL) {
		return nil, nil, &stop{reason: ErrUnrecoverable, err: errCrossOrigin}
	}
	req, err := http.NewRequestWithContext(st, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, &stop{reason: ErrUnrecoverable, err: err}
	}
	req.Header = st.orig.Header.Clone()
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Encoding", "If-Match", "If-None-Match",
		"If-Modified-Since", "If-Unmodified-Since", "If-Range", st.keyHeader} {
		if k != "" {
			req.Header.Del(k)
		}
	}
	req.Host = st.orig.Host
	st.mayRetry = true
	resp, err := st.c.sender.Send(req)
	if err != nil {
		if ctxErr := st.Err(); ctxErr != nil {
			return nil, nil, &stop{reason: ctxErr}
		}
		return nil, nil, &stop{reason: ErrUnrecoverable, err: err}
	}
	if resp.StatusCode != http.StatusOK {
		drain(resp)
		return nil, nil, &stop{reason: ErrUnrecoverable, err: fmt.Errorf("GET %s answered %d", redact(u), resp.StatusCode)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, st.cfg.maxBodyBuffer+1))
	resp.Body.Close()
	if err != nil {
		return nil, nil, &stop{reason: ErrUnrecoverable, err: err}
	}
	if int64(len(data)) > st.cfg.maxBodyBuffer {
		return nil, nil, &stop{reason: ErrUnrecoverable, err: fmt.Errorf("GET %s: representation larger than %d bytes", redact(u), st.cfg.maxBodyBuffer)}
	}
	return resp, data, nil
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return u.Hostname() + ":80"
	case "https":
		return u.Hostname() + ":443"
	}
	return u.Host
}
