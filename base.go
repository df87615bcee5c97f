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
	if st.base != nil {
		return st.base, unordered, true
	}
	if b, ok := st.out.Value(baseKey{}).([]byte); ok && b != nil {
		return b, unordered, true
	}
	return st.c.remembered(st.tmpl, st.rule, ours)
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
	r := *u
	r.User, r.Fragment, r.RawFragment = nil, "", ""
	return r.String() + "\x00" + version + "\x00" + credentials(u, h)
}

// credentials fingerprints what identifies the caller in a request: its
// user information and every header that can carry a credential.
func credentials(u *url.URL, h http.Header) string {
	var names []string
	for k := range h {
		// An idempotency key names the intent, not the caller.
		if credential.Is(k) && !credential.IsIdempotencyKey(k) {
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
	// sent gives the body of the write data answered, until data is found
	// to be the whole representation (see remember); nil for a read.
	sent func() []byte
}

func (be *baseEntry) size() int64 { return int64(len(be.key) + len(be.data)) }

// unordered is the clock reading of a base whose age is unknown (one given
// with WithBase): it is never known to be older than anything.
const unordered = ^uint64(0)

func newBaseCache(max int64) *baseCache {
	return &baseCache{max: max, lru: list.New(), m: make(map[string]*list.Element)}
}

// put remembers data, read at the client's clock seen; sent is the body of
// the write data answered (nil for a read), checked when data is first
// used as a base.
func (c *baseCache) put(key string, data []byte, sent func() []byte, seen uint64) {
	if int64(len(data)) > c.max/4 {
		return // one entry never crowds out the rest
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok {
		be := e.Value.(*baseEntry)
		c.bytes -= be.size()
		if be.sent != nil { // else known whole already: one version is one representation
			be.data, be.sent = data, sent
		}
		be.seen = min(be.seen, seen) // it existed by the first reading
		c.bytes += be.size()
		c.lru.MoveToFront(e)
	} else {
		be := &baseEntry{key: key, data: data, seen: seen, sent: sent}
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
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, unordered, false
	}
	be := e.Value.(*baseEntry)
	if be.sent != nil {
		// A write's answer, first used: a base only if it is the whole
		// representation, an object with every member the write sent.
		if sent := be.sent(); sent == nil || !covers(be.data, sent) {
			c.remove(e)
			return nil, unordered, false
		}
		be.sent = nil
	}
	c.lru.MoveToFront(e)
	return be.data, be.seen, true
}

// remember keeps the representation in a successful response to req, at a
// rule's URL, as a possible merge base, as the caller reads it. The answer
// to a write (sent is its body) serves as a base only when, at its first
// use, it is evidently the whole representation: a JSON object with every
// member the write sent has (a summary such as {"ok":true} would make a
// poor base, bringing back in a merge what others removed). The check is
// left to that use, which few answers meet, rather than paid by every
// write.
//
// r is the rule req matched, if any (else one that another method at its
// URL matches is looked for).
func (c *Client) remember(req *http.Request, r *rule, resp *http.Response, sent func() []byte, limit int64) {
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
	if sent == nil && req.Method != http.MethodGet && req.Method != http.MethodHead {
		return // a write whose body is not known: its answer cannot be checked
	}
	t := &teeBody{rc: resp.Body, limit: limit,
		c: c, header: rh, vs: vs, u: u, reqHeader: h, sent: sent, seen: seen}
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
	sent      func() []byte
	seen      uint64
}

// keep keeps data, the whole body, as a merge base.
func (t *teeBody) keep(data []byte) {
	vals, _, err := readVersions(t.header, data, t.vs)
	if err != nil {
		return
	}
	t.c.bases.put(cacheKey(t.u, t.reqHeader, versionKey(vals)), data, t.sent, t.seen)
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
