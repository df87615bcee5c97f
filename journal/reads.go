package journal

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"strings"
	"sync"
)

// reads remembers representations read (or written) through a Journal, by
// URL and strong ETag, so that a write sent with If-Match on one of them is
// recorded with its base. It holds at most n entries, least recently used
// out first.
type reads struct {
	mu    sync.Mutex
	n     int
	limit int64
	lru   *list.List // of *readEntry, most recent first
	m     map[readKey]*list.Element
}

type readKey struct{ url, etag string }

type readEntry struct {
	key  readKey
	data []byte
}

func newReads(n int, limit int64) *reads {
	return &reads{n: n, limit: limit, lru: list.New(), m: map[readKey]*list.Element{}}
}

func (r *reads) put(url, etag string, data []byte) {
	k := readKey{url, etag}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.m[k]; ok {
		e.Value.(*readEntry).data = data
		r.lru.MoveToFront(e)
		return
	}
	r.m[k] = r.lru.PushFront(&readEntry{k, data})
	for r.lru.Len() > r.n {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.m, old.Value.(*readEntry).key)
	}
}

func (r *reads) get(url, etag string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[readKey{url, etag}]
	if !ok {
		return nil
	}
	r.lru.MoveToFront(e)
	return e.Value.(*readEntry).data
}

// strongETag returns resp's ETag if it is strong, else "".
func strongETag(resp *http.Response) string {
	etag := resp.Header.Get("ETag")
	if etag == "" || strings.HasPrefix(etag, "W/") {
		return ""
	}
	return etag
}

// watch remembers resp's representation once its body has been read to
// the end, if it is a 2xx with a strong ETag.
func (r *reads) watch(url string, resp *http.Response) {
	if r.n <= 0 || resp.StatusCode/100 != 2 || resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	etag := strongETag(resp)
	if etag == "" {
		return
	}
	resp.Body = &teeBody{rc: resp.Body, limit: r.limit, done: func(data []byte) { r.put(url, etag, data) }}
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
			t.over, t.buf = true, bytes.Buffer{}
		} else {
			t.buf.Write(p[:n])
		}
	}
	if err == io.EOF && !t.over && t.done != nil {
		t.done(bytes.Clone(t.buf.Bytes()))
		t.done, t.over = nil, true
	}
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }
