package conflict

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"strings"
	"sync"
)

// baseCache remembers representations read through the client, by URL and
// version, so that a stale write can be merged against the representation
// it was based on. It holds at most n entries, least recently used first
// out.
type baseCache struct {
	mu  sync.Mutex
	n   int
	lru *list.List // of *baseEntry, most recent at the front
	m   map[baseKey]*list.Element
}

type baseKey struct{ url, version string }

type baseEntry struct {
	key  baseKey
	data []byte
}

func newBaseCache(n int) *baseCache {
	return &baseCache{n: n, lru: list.New(), m: make(map[baseKey]*list.Element)}
}

func (c *baseCache) put(url, version string, data []byte) {
	if version == "" {
		return
	}
	k := baseKey{url, version}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		e.Value.(*baseEntry).data = data
		c.lru.MoveToFront(e)
		return
	}
	c.m[k] = c.lru.PushFront(&baseEntry{k, data})
	for c.lru.Len() > c.n {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.m, old.Value.(*baseEntry).key)
	}
}

func (c *baseCache) get(url, version string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[baseKey{url, version}]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*baseEntry).data, true
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
		bases.put(key, versionKey(field, version), data)
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
		t.done(t.buf.Bytes()) // handed over: nothing is written to buf again
		t.done, t.over = nil, true
	}
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }
