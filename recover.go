package conflict

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-conflict/conflict/internal/retry"
)

// An Outcome is what happened to a call, as [ResultOf] reports it.
type Outcome int

// The outcomes of a call.
const (
	// Passed: the server's answer is returned as it is, and it is not a
	// successful write (a read, or a response that is not a conflict).
	Passed Outcome = iota
	// Created: a create succeeded (a 2xx to a POST, or a 201).
	Created
	// Updated: a write other than a create succeeded.
	Updated
	// Merged: a stale write was merged with the current state and re-sent,
	// and the server accepted it.
	Merged
	// Overwrote: a stale write was re-sent unchanged on the current version
	// ([ClientWins]), and the server accepted it.
	Overwrote
	// ServerWon: a stale write was dropped in favour of the server's current
	// state ([ServerWins]); the response is that state.
	ServerWon
	// Adopted: a create found its resource already there, and it is the one
	// this request meant to create; the response is that resource.
	Adopted
	// Aborted: recovery stopped; the [Result] holds the [*Error].
	Aborted
)

var outcomeNames = [...]string{"passed", "created", "updated", "merged", "overwrote", "server_won", "adopted", "aborted"}

// String returns the outcome's lowercase name.
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "outcome(?)"
	}
	return outcomeNames[o]
}

// A Result reports what a [Client] did for one call.
type Result struct {
	Outcome Outcome
	// Attempts is how many times the request (or its rebuilt form) was
	// sent; refresh and lookup reads are not counted.
	Attempts int
	// IdempotencyKey is the key of the last send, if the request had one.
	// Keys lists every key used, first to last: a merged payload is sent
	// under a key derived from the first.
	IdempotencyKey string
	Keys           []string
	// Conflict is the last conflict the server answered with, or nil.
	Conflict *Conflict
	// Err is the error of an aborted call. Through [Client.Do] it is also
	// the returned error; through [Client.RoundTrip] it is the only trace
	// of the abort.
	Err *Error
}

// ResultOf reports what the [Client] did to produce resp, or nil when resp
// does not come from a Client.
func ResultOf(resp *http.Response) *Result {
	if resp == nil || resp.Request == nil {
		return nil
	}
	st, _ := retry.PermissionFrom(resp.Request.Context()).(*call)
	if st == nil {
		return nil
	}
	r := st.res
	r.Keys = append([]string(nil), r.Keys...)
	return &r
}

// call is the state of one call of Do or RoundTrip. It lives on the calling
// goroutine only.
type call struct {
	id        uint64
	c         *Client
	cfg       *config
	ctx       context.Context
	orig      *http.Request // the caller's, never modified
	tmpl      *http.Request // what the next send is built from
	rule      *rule
	body      body
	keyHeader string
	mayRetry  bool
	deadline  time.Time
	waits     int
	merges    int
	base      []byte // the base of the next merge, once one merge was sent
	res       Result
	// The last failed try the transport may retry, for events.
	failStatus int
	failErr    error
	failAt     time.Time
	retried    bool
}

// MayRetry tells the transport whether the request in flight may be sent
// again.
func (st *call) MayRetry() bool { return st.mayRetry }

// stop says why recovery stops.
type stop struct {
	reason, err        error
	base, ours, theirs []byte
}

var (
	errNoMerge     = errors.New("the endpoint has no merge function")
	errManual      = errors.New("the endpoint resolves stale versions manually")
	errStaleCreate = errors.New("a create cannot be stale")
	errNotCreate   = errors.New("only a create can adopt an existing resource")
	errNotFound    = errors.New("the existing resource cannot be located")
	errForeign     = errors.New("the existing resource is not the one this request meant to create")
	errCrossOrigin = errors.New("the resource is on another origin; it is not followed")
	errWeakETag    = errors.New("the server gave a weak ETag, which If-Match never matches")
	errNoVersion   = errors.New("the current representation has no version")
	errNoLimit     = errors.New("the total time for recovery is spent")
)

func (c *Client) do(req *http.Request, passthrough bool) (*http.Response, error) {
	if req == nil || req.URL == nil {
		if req != nil && req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("conflict: nil request or URL")
	}
	st := &call{c: c, cfg: &c.cfg, orig: req, id: c.seq.Add(1)}
	if c.rules.n > 0 {
		st.rule = c.rules.match(req)
	}
	st.ctx = retry.WithPermission(req.Context(), st)
	b, err := replayBodyOf(req, c.cfg.maxBodyBuffer)
	if err != nil {
		return nil, fmt.Errorf("conflict: %s %s: reading the request body: %w", req.Method, redact(req.URL), err)
	}
	st.body = b
	st.tmpl = req.WithContext(st.ctx)
	if err := st.attachKey(); err != nil {
		if b.once != nil {
			b.once.Close()
		}
		return nil, err
	}
	st.deadline = time.Now().Add(st.maxElapsed())
	return st.run(passthrough)
}

func (st *call) maxAttempts() int {
	if st.rule != nil && st.rule.MaxAttempts > 0 {
		return st.rule.MaxAttempts
	}
	return st.cfg.maxAttempts
}

func (st *call) maxElapsed() time.Duration {
	if st.rule != nil && st.rule.MaxElapsed > 0 {
		return st.rule.MaxElapsed
	}
	return st.cfg.maxElapsed
}

// attachKey gives a create its idempotency key, fixed before the first send.
func (st *call) attachKey() error {
	if !wantsKey(st.tmpl.Method, st.rule) {
		return nil
	}
	name := st.cfg.keyHeader
	if st.rule != nil && st.rule.IdempotencyHeader != "" {
		name = st.rule.IdempotencyHeader
	}
	st.keyHeader = name
	if v := st.tmpl.Header.Get(name); v != "" {
		key := parseKey(v)
		if err := validateKey(key); err != nil {
			return err
		}
		st.useKey(key) // the caller's header goes out exactly as written
		return nil
	}
	key, _ := st.ctx.Value(keyCtx{}).(string)
	if key != "" {
		if err := validateKey(key); err != nil {
			return err
		}
	} else {
		var err error
		if key, err = newKey(); err != nil {
			return err
		}
	}
	st.setKeyHeader(key)
	return nil
}

func (st *call) useKey(key string) {
	st.res.IdempotencyKey = key
	st.res.Keys = append(st.res.Keys, key)
}

func (st *call) setKeyHeader(key string) {
	h := st.tmpl.Header.Clone()
	if h == nil {
		h = make(http.Header)
	}
	h.Set(st.keyHeader, formatKey(key, st.cfg.keyFormat))
	st.tmpl.Header = h
	st.useKey(key)
}

// run is the recovery loop: send, classify, recover or stop.
func (st *call) run(passthrough bool) (*http.Response, error) {
	for {
		resp, err := st.send(st.tmpl)
		if err != nil {
			return nil, err
		}
		cf := st.classify(resp)
		if cf == nil {
			if st.res.Outcome == Passed {
				st.res.Outcome = st.outcomeOf(resp)
			}
			st.remember(resp)
			st.done(resp)
			return resp, nil
		}
		st.res.Conflict = cf
		st.emit(Event{Step: StepConflict, Kind: cf.Kind, Reason: cf.Reason, Status: cf.Status})
		final, why := st.recover(resp, cf)
		if why != nil {
			return st.abort(resp, cf, why, passthrough)
		}
		drain(resp)
		if final != nil {
			st.done(final)
			return final, nil
		}
	}
}

// send sends one attempt built from tmpl.
func (st *call) send(tmpl *http.Request) (*http.Response, error) {
	if err := st.ctx.Err(); err != nil {
		return nil, err
	}
	st.res.Attempts++
	out := new(http.Request)
	*out = *tmpl
	var getBody func() (io.ReadCloser, error)
	switch {
	case st.body.once != nil:
		out.Body, out.GetBody = st.body.once, nil
	case st.body.get != nil:
		out.Body, out.GetBody = nil, st.body.get
		getBody = st.body.get
	default:
		out.Body, out.GetBody, out.ContentLength = nil, nil, 0
	}
	st.mayRetry = st.body.once == nil && (isIdempotent(out.Method) || hasKeyHeader(out.Header, st.keyHeader))
	return st.c.sender.Send(out, getBody)
}

// isIdempotent reports whether RFC 9110 makes method idempotent.
func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func hasKeyHeader(h http.Header, name string) bool {
	return name != "" && h.Get(name) != ""
}

// classify classifies resp if its status can be a conflict.
func (st *call) classify(resp *http.Response) *Conflict {
	forced := false
	if st.rule != nil {
		for _, s := range st.rule.Statuses {
			forced = forced || s == resp.StatusCode
		}
	}
	switch resp.StatusCode {
	case http.StatusConflict, http.StatusPreconditionFailed, http.StatusLocked, http.StatusPreconditionRequired,
		http.StatusBadRequest, http.StatusUnprocessableEntity:
	default:
		if !forced {
			return nil
		}
	}
	cf, _ := st.cfg.classifier.classify(resp, forced)
	return cf
}

func (st *call) outcomeOf(resp *http.Response) Outcome {
	switch {
	case st.merges > 0 && resp.StatusCode/100 == 2:
		if st.rule != nil && st.rule.Resolve == ClientWins {
			return Overwrote
		}
		return Merged
	case resp.StatusCode == http.StatusCreated, resp.StatusCode/100 == 2 && st.orig.Method == http.MethodPost:
		return Created
	case resp.StatusCode/100 == 2 && st.orig.Method != http.MethodGet && st.orig.Method != http.MethodHead:
		return Updated
	}
	return Passed
}

// strategyFor picks the recovery for a kind.
func strategyFor(k Kind) Strategy {
	switch k {
	case StaleVersion:
		return RefreshMerge
	case Duplicate:
		return Adopt
	case IdempotencyInUse, Locked:
		return Wait
	}
	return Abort
}

// recover runs the recovery for cf. It returns a final response, a reason
// to stop, or neither: send st.tmpl again.
func (st *call) recover(resp *http.Response, cf *Conflict) (*http.Response, *stop) {
	switch strategyFor(cf.Kind) {
	case Wait:
		return nil, st.wait(cf)
	case RefreshMerge:
		return st.refreshMerge(resp, cf)
	case Adopt:
		return st.adopt(resp, cf)
	}
	return nil, &stop{reason: ErrUnrecoverable}
}

// canResend checks what every re-send needs.
func (st *call) canResend() *stop {
	if !st.body.replayable() {
		return &stop{reason: ErrNotReplayable, err: fmt.Errorf("the request body was larger than %d bytes and had no GetBody", st.cfg.maxBodyBuffer)}
	}
	if st.res.Attempts >= st.maxAttempts() {
		return &stop{reason: ErrAttemptsExhausted}
	}
	return nil
}

// wait waits for the server's Retry-After (capped) or a jittered backoff,
// then lets the identical request, with the same key, be sent again.
func (st *call) wait(cf *Conflict) *stop {
	if why := st.canResend(); why != nil {
		return why
	}
	d := min(cf.RetryAfter, st.cfg.maxWait)
	if d <= 0 {
		d = retry.Backoff(st.cfg.backoffMin, st.cfg.backoffMax, st.waits)
	}
	if time.Now().Add(d).After(st.deadline) {
		return &stop{reason: ErrAttemptsExhausted, err: errNoLimit}
	}
	st.waits++
	st.emit(Event{Step: StepWait, Kind: cf.Kind, Strategy: Wait, Wait: d})
	if err := st.cfg.wait(st.ctx, d); err != nil {
		return &stop{reason: err}
	}
	st.emit(Event{Step: StepResend, Kind: cf.Kind, Strategy: Wait})
	return nil
}

// refreshMerge takes the current state, resolves the stale write against
// it, and rebuilds the request on it.
func (st *call) refreshMerge(resp *http.Response, cf *Conflict) (*http.Response, *stop) {
	if st.orig.Method == http.MethodPost {
		return nil, &stop{reason: ErrUnrecoverable, err: errStaleCreate}
	}
	if st.ctx.Value(updateCtx{}) != nil {
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
// representation it last saw at the write's URL and version, if it read one.
func WithBase(ctx context.Context, base []byte) context.Context {
	return context.WithValue(ctx, baseCtx{}, base)
}

func (st *call) baseFor(ours []byte) ([]byte, bool) {
	if st.base != nil {
		return st.base, true
	}
	if b, ok := st.ctx.Value(baseCtx{}).([]byte); ok && b != nil {
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
	req, err := http.NewRequestWithContext(st.ctx, http.MethodGet, u.String(), nil)
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
	resp, err := st.c.sender.Send(req, nil)
	if err != nil {
		if ctxErr := st.ctx.Err(); ctxErr != nil {
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

// adopt returns the existing resource a duplicate create collided with,
// when it is the one this request meant to create.
func (st *call) adopt(resp *http.Response, cf *Conflict) (*http.Response, *stop) {
	if m := st.orig.Method; m != http.MethodPost && m != http.MethodPut {
		return nil, &stop{reason: ErrUnrecoverable, err: errNotCreate}
	}
	loc, err := st.locate(resp, cf)
	if err != nil {
		return nil, &stop{reason: ErrUnrecoverable, err: err}
	}
	if loc == "" {
		return nil, &stop{reason: ErrUnrecoverable, err: errNotFound}
	}
	u, err := st.orig.URL.Parse(loc)
	if err != nil {
		return nil, &stop{reason: ErrUnrecoverable, err: fmt.Errorf("existing resource location: %w", err)}
	}
	r, existing, why := st.read(u)
	if why != nil {
		return nil, why
	}
	var ours []byte
	if st.body.replayable() {
		ours, _ = st.body.read(st.cfg.maxBodyBuffer)
	}
	same := st.sameFunc()
	if !same(st, ours, existing) {
		return nil, &stop{reason: ErrUnrecoverable, err: errForeign, ours: ours, theirs: existing}
	}
	st.res.Outcome = Adopted
	st.emit(Event{Step: StepAdopt, Kind: cf.Kind, Strategy: Adopt, Status: r.StatusCode})
	// The create's answer, as the original create would have given it.
	r.StatusCode, r.Status = http.StatusCreated, "201 Created"
	if r.Header.Get("Location") == "" {
		r.Header.Set("Location", u.String())
	}
	r.Body = io.NopCloser(bytes.NewReader(existing))
	r.ContentLength = int64(len(existing))
	return r, nil
}

func (st *call) sameFunc() func(st *call, ours, existing []byte) bool {
	if st.rule != nil && st.rule.Same != nil {
		f := st.rule.Same
		return func(_ *call, ours, existing []byte) bool { return f(ours, existing) }
	}
	return defaultSame
}

// defaultSame: the existing resource records this call's key, or has every
// top-level field of the request body with the same value (another process
// created exactly what this request meant to). Fields sent null or "" are
// not compared.
func defaultSame(st *call, ours, existing []byte) bool {
	var ex map[string]json.RawMessage
	if json.Unmarshal(existing, &ex) != nil {
		return false
	}
	if len(st.res.Keys) > 0 {
		for _, k := range []string{"idempotency_key", "idempotencyKey"} {
			if v := jsonString(ex[k]); v != "" && v == st.res.Keys[0] {
				return true
			}
		}
	}
	var want map[string]json.RawMessage
	if json.Unmarshal(ours, &want) != nil || len(want) == 0 {
		return false
	}
	for k, v := range want {
		if t := string(bytes.TrimSpace(v)); t == "null" || t == `""` {
			continue // an empty field says nothing of what was meant
		}
		if !jsonEqual(v, ex[k]) {
			return false
		}
	}
	return true
}

// locate finds the URL of the resource a duplicate collided with.
func (st *call) locate(resp *http.Response, cf *Conflict) (string, error) {
	if st.rule != nil && st.rule.Lookup != nil {
		return st.rule.Lookup(st.ctx, cf, st.orig)
	}
	if cf.ExistingLocation != "" {
		return cf.ExistingLocation, nil
	}
	if cf.ExistingID != "" && st.orig.Method == http.MethodPost {
		return strings.TrimSuffix(st.orig.URL.Path, "/") + "/" + url.PathEscape(cf.ExistingID), nil
	}
	if st.orig.Method == http.MethodPut {
		return st.orig.URL.String(), nil // a create by PUT names its resource
	}
	return "", nil
}

// abort stops recovery with an *Error.
func (st *call) abort(resp *http.Response, cf *Conflict, why *stop, passthrough bool) (*http.Response, error) {
	e := &Error{
		Method:         st.orig.Method,
		URL:            redact(st.orig.URL),
		Conflict:       cf,
		Attempts:       st.res.Attempts,
		IdempotencyKey: st.res.IdempotencyKey,
		Keys:           append([]string(nil), st.res.Keys...),
		Reason:         why.reason,
		Err:            why.err,
		Base:           why.base,
		Ours:           why.ours,
		Theirs:         why.theirs,
	}
	st.res.Outcome, st.res.Err = Aborted, e
	st.emit(Event{Step: StepAbort, Kind: cf.Kind, Reason: cf.Reason, Strategy: strategyFor(cf.Kind), Status: cf.Status, Err: e, Outcome: Aborted})
	ctxDone := errors.Is(why.reason, context.Canceled) || errors.Is(why.reason, context.DeadlineExceeded)
	if passthrough && !ctxDone {
		return resp, nil // the server's own answer, body intact
	}
	drain(resp)
	return nil, e
}

// done reports the end of a call that recovered from something.
func (st *call) done(resp *http.Response) {
	if st.res.Conflict != nil || st.retried {
		st.emit(Event{Step: StepDone, Status: resp.StatusCode, Outcome: st.res.Outcome})
	}
}

func (st *call) emit(ev Event) {
	if st.cfg.hook == nil && st.cfg.logger == nil {
		return
	}
	ev.Call = st.id
	ev.Method = st.orig.Method
	ev.URL = redact(st.orig.URL)
	ev.Attempt = st.res.Attempts
	ev.IdempotencyKey = st.res.IdempotencyKey
	st.cfg.emit(st.ctx, ev)
}

// Failed records a failed try that the transport may retry.
func (st *call) Failed(status int, err error) {
	st.failStatus, st.failErr, st.failAt = status, err, time.Now()
}

// Retrying reports a transport retry, with what failed and how long the
// transport waited.
func (st *call) Retrying(n int) {
	st.retried = true
	st.emit(Event{Step: StepTransportRetry, Status: st.failStatus, Err: st.failErr, Wait: time.Since(st.failAt)})
}

// remember keeps the representation in a successful response to a rule's
// URL as a possible merge base, as the caller reads it.
func (st *call) remember(resp *http.Response) {
	if st.c.rules.n == 0 || resp.StatusCode/100 != 2 || resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	r := st.c.rules.matchPath(st.orig)
	if r == nil {
		return
	}
	field := r.VersionField
	etag := resp.Header.Get("ETag")
	if field == "" && (etag == "" || strings.HasPrefix(etag, "W/")) {
		return
	}
	bases, key := st.c.bases, cacheURL(st.orig.URL)
	resp.Body = &teeBody{rc: resp.Body, limit: st.cfg.maxBodyBuffer, done: func(data []byte) {
		version := etag
		if field != "" {
			v, ok := getPointer(data, field)
			if !ok {
				return
			}
			version = string(v)
		}
		bases.put(key, versionKey(field, version), bytes.Clone(data))
	}}
}

// teeBody hands the whole body to done once the reader reaches its end,
// unless it was longer than limit.
type teeBody struct {
	rc    io.ReadCloser
	buf   bytes.Buffer
	limit int64
	over  bool
	done  func([]byte)
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if !t.over {
		if int64(t.buf.Len()+n) > t.limit {
			t.over = true
			t.buf = bytes.Buffer{}
		} else {
			t.buf.Write(p[:n])
		}
	}
	if err == io.EOF && !t.over && t.done != nil {
		t.done(t.buf.Bytes())
		t.done = nil
	}
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }
