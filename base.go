package conflict

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/go-conflict/conflict/internal/credential"
	"github.com/go-conflict/conflict/internal/jsonv"
)

type baseKey struct{}

// WithBase returns a context that gives a write's merge base: the
// representation the write was built on. Without it, the client uses the
// representation it saw at the write's URL and version (the If-Match ETag, or
// the rule's version field), if it read one through the client with the
// same credentials: a 2xx whose JSON body was read to its end (or closed
// after its last byte), at a URL some rule's pattern matches.
func WithBase(ctx context.Context, base []byte) context.Context {
	return context.WithValue(ctx, baseKey{}, base)
}

// BaseFrom returns the base [WithBase] put in ctx.
func BaseFrom(ctx context.Context) ([]byte, bool) {
	b, ok := ctx.Value(baseKey{}).([]byte)
	return b, ok && b != nil
}

// baseFor returns the base of the write st is sending.
func (st *call) baseFor(ours []byte) (base []byte, seen uint64, ok bool) {
	return st.c.baseOf(st.tmpl, st.rule, st.base, ours)
}

// baseOf is the representation req, a write of body under rule r, rests on:
// rebuilt, the state it was rebuilt onto; else the base given with WithBase
// in its context; else the representation the client read at its URL and
// version.
func (c *Client) baseOf(req *http.Request, r *rule, rebuilt, body []byte) (base []byte, seen uint64, ok bool) {
	if rebuilt != nil {
		return rebuilt, unordered, true
	}
	if b, ok := req.Context().Value(baseKey{}).([]byte); ok && b != nil {
		return b, unordered, true
	}
	return c.remembered(req, r, body)
}

// remembered returns the representation the client read at the URL and
// version of req (a write of body), with req's credentials.
func (c *Client) remembered(req *http.Request, r *rule, body []byte) (base []byte, seen uint64, ok bool) {
	vs := etagVersion
	if r != nil {
		vs = r.versions
	}
	v := precondition(req, body, vs)
	if v == "" {
		return nil, unordered, false
	}
	u, err := readURLOf(req, r)
	if err != nil {
		return nil, unordered, false
	}
	return c.bases.get(cacheKey(u, req.Header, v))
}

// BaseFor returns the merge base the client would use if req, a write of
// body, were stale: the one given with [WithBase] in req's context, else
// the representation the client read (to the end of its body, with the same
// credentials) at req's URL and version. Code that records a write before
// the client sends it (a journal of intents) records this base with it.
func (c *Client) BaseFor(req *http.Request, body []byte) ([]byte, bool) {
	c.init()
	if b, ok := BaseFrom(req.Context()); ok {
		return b, true
	}
	b, _, ok := c.remembered(req, c.rules.match(req), body)
	return b, ok
}

// versionKey is the cache's name for a set of version texts, as
// precondition names those a request carries.
func versionKey(vals []string) string { return "v:" + strings.Join(vals, "\x00") }

// cacheKey names a representation: its URL, its version, and who read it.
// A base read with one set of credentials never serves another's write.
func cacheKey(u *url.URL, h http.Header, version string) string {
	return queueKey(u) + "\x00" + version + "\x00" + credentials(u, h)
}

// credentials fingerprints what identifies the caller in a request, and
// whom it acts for: its user information, every header that can carry a
// credential, and every header that can name a scope (a tenant, an
// account: see credential.IsScope), under which one URL may name another
// resource. Representations read, and writes, under different ones are
// never merged with each other.
func credentials(u *url.URL, h http.Header) string {
	var names []string
	for k := range h {
		// An idempotency key names the intent, not the caller.
		if credential.Is(k) && !credential.IsIdempotencyKey(k) || credential.IsScope(k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 && u.User == nil {
		return ""
	}
	sort.Strings(names)
	sum := sha256.New()
	if u.User != nil {
		sum.Write([]byte(u.User.String()))
	}
	for _, k := range names {
		sum.Write([]byte("\x00" + strings.ToLower(k)))
		for _, v := range h[k] {
			sum.Write([]byte("\x00" + v))
		}
	}
	return string(sum.Sum(nil)[:16])
}

// baseCache remembers representations read through the client, so that a
// stale write can be merged against the representation it was based on. It
// holds at most max bytes of representations, least recently used first
// out.
type baseCache struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	lru   *list.List // of *baseEntry, most recent at the front
	m     map[string]*list.Element
}

type baseEntry struct {
	key  string
	data []byte
	seen uint64 // the client's clock once its answer had arrived; the earliest, if read again
	// check, for the answer to a write, tells whether data is the state
	// that write left (see remember); it runs when data is first used as
	// a base, then is dropped. Nil for a read, or once checked.
	check func(data []byte) bool
	// poisoned: two reads of this version brought different
	// representations, so the version names no one representation and
	// serves as no base (data is nil).
	poisoned bool
}

func (be *baseEntry) size() int64 { return int64(len(be.key) + len(be.data)) }

// unordered is the clock reading of a base whose age is unknown (one given
// with WithBase): it is never known to be older than anything.
const unordered = ^uint64(0)

func newBaseCache(max int64) *baseCache {
	return &baseCache{max: max, lru: list.New(), m: make(map[string]*list.Element)}
}

// put remembers data, read at the client's clock seen; check, for the
// answer to a write (nil for a read), is run when data is first used as a
// base. A read that brings another representation under a version already
// read poisons the version: a strong tag names one representation, and a
// server that reuses one (a resource deleted and created again, its
// counter restarted) leaves no way to tell which a write was built on.
func (c *baseCache) put(key string, data []byte, check func([]byte) bool, seen uint64) {
	if int64(len(data)) > c.max/4 {
		return // one entry never crowds out the rest
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		be := e.Value.(*baseEntry)
		c.bytes -= be.size()
		switch {
		case be.poisoned:
		case be.check != nil: // an answer not yet checked: the latest word
			be.data, be.check = data, check
		case check == nil && !bytes.Equal(be.data, data) && !jsonEqual(be.data, data):
			be.data, be.poisoned = nil, true
		}
		be.seen = min(be.seen, seen) // it existed by the first reading
		c.bytes += be.size()
		c.lru.MoveToFront(e)
	} else {
		be := &baseEntry{key: key, data: data, seen: seen, check: check}
		c.m[key] = c.lru.PushFront(be)
		c.bytes += be.size()
	}
	for c.bytes > c.max {
		c.remove(c.lru.Back())
	}
}

func (c *baseCache) remove(e *list.Element) {
	be := e.Value.(*baseEntry)
	c.lru.Remove(e)
	delete(c.m, be.key)
	c.bytes -= be.size()
}

func (c *baseCache) get(key string) (data []byte, seen uint64, ok bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	if !ok {
		c.mu.Unlock()
		return nil, unordered, false
	}
	be := e.Value.(*baseEntry)
	data, seen, check := be.data, be.seen, be.check
	if check == nil {
		c.lru.MoveToFront(e)
		c.mu.Unlock()
		return data, seen, !be.poisoned
	}
	c.mu.Unlock()
	// A write's answer, first used: a base only if it is the state the
	// write left. The check may read the cache (the write's own base), so
	// it runs unlocked.
	whole := check(data)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e2, ok := c.m[key]; !ok || e2 != e || be.check == nil || !sameSlice(be.data, data) {
		return nil, unordered, false // changed meanwhile: judged another time
	}
	if !whole {
		c.remove(e)
		return nil, unordered, false
	}
	be.check = nil
	c.lru.MoveToFront(e)
	return data, be.seen, true
}

// sameSlice reports whether a and b are the same bytes in memory.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// dropURL forgets every representation read at u, whatever its version and
// reader: the resource was deleted, and its versions may be reused.
func (c *baseCache) dropURL(u *url.URL) {
	r := *u
	r.RawQuery, r.ForceQuery = "", false
	at := queueKey(&r) // the URL part of a cache key, with any query or none
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; {
		next := e.Next()
		if k := e.Value.(*baseEntry).key; strings.HasPrefix(k, at+"\x00") || strings.HasPrefix(k, at+"?") {
			c.remove(e)
		}
		e = next
	}
}

// remember keeps the representation in a successful response to req, at a
// rule's URL, as a possible merge base, as the caller reads it. The answer
// to a write serves as a base only when, at its first use, check finds it
// is evidently the state that write left (see call.answerShows): a summary
// such as {"ok":true} would make a poor base, bringing back in a merge what
// others removed, and an answer that does not show the write's own change
// (the old state, another resource's) would lose it. The check is left to
// that use, which few answers meet, rather than paid by every write.
//
// r is the rule req matched, if any (else one that another method at its
// URL matches is looked for).
func (c *Client) remember(req *http.Request, r *rule, resp *http.Response, check func([]byte) bool, limit int64) {
	if c.rules.n == 0 || resp.StatusCode/100 != 2 || resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	if r == nil {
		r = c.rules.matchOtherMethod(req)
	}
	if r == nil {
		return
	}
	vs, rh := r.versions, resp.Header
	if len(vs) == 1 && vs[0].Read.isETag() && strongETag(rh) == "" {
		return // no strong ETag: nothing could be merged against this read
	}
	u, h := withoutVersions(req.URL, vs), req.Header
	seen := c.clock.Add(1) // the answer has arrived
	if check == nil && req.Method != http.MethodGet && req.Method != http.MethodHead {
		return // a write whose body is not known: its answer cannot be checked
	}
	t := &teeBody{rc: resp.Body, limit: limit,
		c: c, header: rh, vs: vs, u: u, reqHeader: h, check: check, seen: seen}
	if n := resp.ContentLength; n > 0 && n <= limit {
		t.buf.Grow(int(n)) // one buffer, the body's size
	}
	resp.Body = t
}

// teeBody keeps the whole body as a merge base (see remember) once it is
// complete: when the reader reaches its end, or when it is closed after
// reading a complete JSON value (a json.Decoder stops before EOF). A body
// longer than limit is not kept.
type teeBody struct {
	rc    io.ReadCloser
	buf   bytes.Buffer
	limit int64
	over  bool
	// What the base is kept under, and with (see baseCache.put).
	c         *Client
	header    http.Header // the response's
	vs        []Version
	u         *url.URL
	reqHeader http.Header
	check     func([]byte) bool
	seen      uint64
}

// keep keeps data, the whole body, as a merge base.
func (t *teeBody) keep(data []byte) {
	vals, _, err := readVersions(t.header, data, t.vs)
	if err != nil {
		return
	}
	t.c.bases.put(cacheKey(t.u, t.reqHeader, versionKey(vals)), data, t.check, t.seen)
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
	if err == io.EOF {
		t.finish()
	}
	return n, err
}

func (t *teeBody) finish() {
	if !t.over {
		t.keep(t.buf.Bytes()) // handed over: nothing is written to buf again
	}
	t.over = true
}

func (t *teeBody) Close() error {
	if !t.over {
		// A whole object or array was read (a prefix of one never parses).
		if v, err := jsonv.Parse(t.buf.Bytes()); err == nil && (v.Kind == jsonv.Object || v.Kind == jsonv.Array) {
			t.finish()
		}
	}
	t.over = true
	return t.rc.Close()
}

// forget drops what the client knows of the resource at u, deleted by a
// write it sent: its recent state, and every representation read there,
// whose versions a resource created again there may reuse.
func (c *Client) forget(u *url.URL) {
	c.queue.forget(queueKey(u))
	c.bases.dropURL(u)
}
