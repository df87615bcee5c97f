package conflict

// Adversarial probes of queued writes through Do on an endpoint with a
// merge rule: writes folded into the holder's (fold.go), writes merged onto
// the state the previous write left (mergeOntoLast), the refresh after a
// 412, and the base cache behind them, against servers that lie or behave
// unusually. The invariants: a call that succeeds has its change in the
// final state; no member changes that no caller changed; a call that fails
// did not apply its change (or says its fate is unknown); no request
// carries one caller's change under another caller's credentials.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-conflict/conflict/jsonmerge"
)

// pqServer is an in-memory store of JSON documents, one per path, each
// with a counter version sent as a strong ETag ("1", "2", ...). A document
// deleted and created again starts at "1" again, as a version column does.
// PUT with If-Match writes only on the current version; PUT without one
// creates or replaces. PUTs marked X-Hold wait at the server until release
// is closed.
type pqServer struct {
	srv *httptest.Server

	mu   sync.Mutex
	docs map[string]map[string]any
	ver  map[string]int
	puts []pqPut
	keys map[string]string // idempotency key → the body first sent with it
	// reused lists keys sent again with another body.
	reused []string

	// answer, if set, gives the body of a 2xx answer to a PUT of path,
	// from the states before and after it (default: after).
	answer func(s *pqServer, path string, before, after map[string]any) any
	// weakPut answers PUTs with a weak ETag (as a compressing proxy does).
	weakPut bool
	// anyJSON stores any JSON value a PUT sends (null included), as a
	// generic document store does; else only objects.
	anyJSON bool
	// redirect, if set, sends a PUT whose X-Redirect header is set to that
	// path (307, same origin).
	redirect bool

	arrived, release chan struct{}
}

// pqPut is one PUT the server received.
type pqPut struct {
	path, auth, ifMatch, key string
	before, body             map[string]any
	status                   int
}

func newPQServer(t *testing.T) *pqServer {
	s := &pqServer{docs: map[string]map[string]any{}, ver: map[string]int{}, keys: map[string]string{},
		arrived: make(chan struct{}, 16), release: make(chan struct{})}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *pqServer) url(path string) string { return s.srv.URL + path }

func pqTag(v int) string { return fmt.Sprintf(`"%d"`, v) }

// set writes doc at path as another process would: a new version.
func (s *pqServer) set(path, doc string) {
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = m
	s.ver[path]++
}

// remove deletes path as another process would.
func (s *pqServer) remove(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.docs, path)
	delete(s.ver, path)
}

func (s *pqServer) doc(path string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return pqCopy(s.docs[path])
}

func pqCopy(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *pqServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && r.Header.Get("X-Hold") != "" {
		s.arrived <- struct{}{}
		<-s.release
	}
	if to := r.Header.Get("X-Redirect"); s.redirect && to != "" && r.URL.Path != to {
		http.Redirect(w, r, to, http.StatusTemporaryRedirect)
		return
	}
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	path := r.URL.Path
	doc, exists := s.docs[path]
	etag := pqTag(s.ver[path])
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case http.MethodGet:
		if !exists {
			http.Error(w, `{"error":"not_found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", etag)
		json.NewEncoder(w).Encode(doc)
	case http.MethodDelete:
		if im := r.Header.Get("If-Match"); im != "" && (!exists || im != etag) {
			w.WriteHeader(http.StatusPreconditionFailed)
			io.WriteString(w, `{"error":"version_conflict"}`)
			return
		}
		delete(s.docs, path)
		delete(s.ver, path)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		rec := pqPut{path: path, auth: r.Header.Get("Authorization"), ifMatch: r.Header.Get("If-Match"),
			key: r.Header.Get("Idempotency-Key"), before: pqCopy(doc)}
		json.Unmarshal(body, &rec.body)
		reply := func(status int, msg string) {
			rec.status = status
			s.puts = append(s.puts, rec)
			w.WriteHeader(status)
			io.WriteString(w, msg)
		}
		if rec.key != "" {
			if first, ok := s.keys[rec.key]; ok && first != string(body) {
				s.reused = append(s.reused, rec.key)
				reply(http.StatusUnprocessableEntity, `{"error":"idempotency_key_reused"}`)
				return
			}
			s.keys[rec.key] = string(body)
		}
		if im := rec.ifMatch; im != "" && (!exists || im != etag) {
			reply(http.StatusPreconditionFailed, `{"error":"version_conflict"}`)
			return
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || m == nil && !s.anyJSON {
			reply(http.StatusBadRequest, `{"error":"not_an_object"}`)
			return
		}
		s.docs[path] = m
		s.ver[path]++
		tag := pqTag(s.ver[path])
		var out any = m
		if s.answer != nil {
			out = s.answer(s, path, doc, m)
		}
		if s.weakPut {
			tag = "W/" + tag
		}
		w.Header().Set("ETag", tag)
		b, _ := json.Marshal(out)
		rec.status = http.StatusOK
		s.puts = append(s.puts, rec)
		w.Write(b)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// pqClient is a client with the merge rule of the documents endpoint.
func pqClient(merge func(base, ours, theirs []byte) ([]byte, error)) *Client {
	if merge == nil {
		merge = jsonmerge.Merge
	}
	return New(WithRule("PUT /documents/{id}", Rule{Merge: merge}))
}

// pqGet reads u through c, to the end of its body, with the headers hdr.
func pqGet(t *testing.T, c *Client, u string, hdr http.Header) (map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return m, resp.Header.Get("ETag")
}

// pqResult is what one write returned.
type pqResult struct {
	name    string
	status  int
	outcome Outcome
	err     error
}

func (r pqResult) ok() bool { return r.err == nil && r.status/100 == 2 }

// pqWrite PUTs doc to u through c under If-Match etag (none if empty), with
// the headers hdr, and reads the answer to its end.
func pqWrite(ctx context.Context, c *Client, u, etag string, doc map[string]any, hdr http.Header) pqResult {
	b, _ := json.Marshal(doc)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, u, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := c.Do(req)
	if err != nil {
		return pqResult{err: err}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return pqResult{status: resp.StatusCode, outcome: ResultOf(resp).Outcome}
}

// with returns a copy of doc with the members kv (key, value, ...).
func with(doc map[string]any, kv ...any) map[string]any {
	out := pqCopy(doc)
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// pqSpec is one write of a queued run: the member it sets to 1, its
// headers, the URL it writes (the run's if empty) and its context.
type pqSpec struct {
	field string
	hdr   http.Header
	url   string
	ctx   context.Context
}

// pqQueue sends specs[0] marked X-Hold, holds it at the server until every
// other write waits its turn in c, in order, then lets it go. Each write
// sets its field to 1 on doc, under If-Match etag. It returns each result.
func pqQueue(t *testing.T, s *pqServer, c *Client, u string, doc map[string]any, etag string, specs []pqSpec) []pqResult {
	t.Helper()
	results := make([]pqResult, len(specs))
	var wg sync.WaitGroup
	for i, sp := range specs {
		hdr := http.Header{}
		for k, v := range sp.hdr {
			hdr[k] = v
		}
		if i == 0 {
			hdr.Set("X-Hold", "1")
		}
		target := u
		if sp.url != "" {
			target = sp.url
		}
		ctx := sp.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					results[i] = pqResult{name: sp.field, err: fmt.Errorf("panic: %v", p)}
				}
			}()
			r := pqWrite(ctx, c, target, etag, with(doc, sp.field, 1.0), hdr)
			r.name = sp.field
			results[i] = r
		}()
		if i == 0 {
			<-s.arrived
		} else {
			waitFor(t, "the write to wait its turn", func() bool { return Waiting(c, u) == i+1 })
		}
	}
	close(s.release)
	wg.Wait()
	return results
}

// pqCheck checks the invariants on the document at path after the writes
// results made, each setting the member of its name to 1 on initial: every
// write that succeeded is there; no member is there that no write set, or
// with a value no one gave it.
func pqCheck(t *testing.T, s *pqServer, path string, initial map[string]any, results []pqResult) map[string]any {
	t.Helper()
	final := s.doc(path)
	set := map[string]bool{}
	for _, r := range results {
		set[r.name] = true
		t.Logf("%s: status %d outcome %v err %v", r.name, r.status, r.outcome, r.err)
		if r.ok() && final[r.name] != 1.0 {
			t.Errorf("%s succeeded (%d, %v) but its change is not in the document %v", r.name, r.status, r.outcome, final)
		}
		if !r.ok() && final[r.name] == 1.0 && !strings.Contains(fmt.Sprint(r.err), "unknown") {
			t.Errorf("%s failed (%d, %v), not told its fate is unknown, yet its change is in the document %v", r.name, r.status, r.err, final)
		}
	}
	for k, v := range final {
		if set[k] {
			continue
		}
		if iv, ok := initial[k]; !ok || fmt.Sprint(iv) != fmt.Sprint(v) {
			t.Errorf("member %q = %v changed, though no caller changed it (initial %v, final %v)", k, v, initial, final)
		}
	}
	return final
}

// TestProbeQueuedAnswerIsNotTheState: a server answers a PUT 200 under the
// new version's strong ETag, but with a body that is not the state the
// write left: the state before it (as APIs that return the replaced
// document do), or the document of another resource with the same members.
// Such a body has every member the write sent, so it passes for a whole
// representation; a second write built on the same read is then merged
// onto it and sent under the new ETag, which the server accepts: the
// first write's change is undone (old state) or the other resource's
// members are copied in. Checked for the next call (the recent write's
// answer in the base cache) and for a write waiting its turn (the turn's
// snapshot). Either write must land, and nothing else.
func TestProbeQueuedAnswerIsNotTheState(t *testing.T) {
	t.Parallel()
	answers := map[string]func(s *pqServer, path string, before, after map[string]any) any{
		"old state": func(_ *pqServer, _ string, before, _ map[string]any) any { return before },
		"other resource": func(s *pqServer, _ string, _, _ map[string]any) any {
			return s.docs["/documents/e"]
		},
	}
	for name, answer := range answers {
		for _, waiting := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/waiting %v", name, waiting), func(t *testing.T) {
				t.Parallel()
				s := newPQServer(t)
				s.set("/documents/d", `{"a":0,"b":0}`)
				s.set("/documents/e", `{"a":0,"b":0,"c":3}`)
				s.answer = answer
				c := pqClient(nil)
				u := s.url("/documents/d")
				doc, etag := pqGet(t, c, u, nil)
				var results []pqResult
				if waiting {
					results = pqQueue(t, s, c, u, doc, etag, []pqSpec{{field: "a"}, {field: "b", hdr: http.Header{"X-Other": {"1"}}}})
				} else {
					for _, f := range []string{"a", "b"} {
						r := pqWrite(context.Background(), c, u, etag, with(doc, f, 1.0), nil)
						r.name = f
						results = append(results, r)
					}
				}
				pqCheck(t, s, "/documents/d", doc, results)
			})
		}
	}
}

// TestProbeQueuedETagReusedAfterRecreate: a version counter restarts when
// a resource is deleted and created again, so a strong ETag comes back
// with other content. What the client learned under that ETag about the
// deleted resource must not serve as the state, or the base, of the new
// one:
//   - "read again": the client read the old resource at "1"; the new one
//     is read at "1" too. A write on it goes stale (another process set z
//     back to 0) and must be merged against what the caller read, not the
//     old resource: else z, which the caller did not change, is set to 9
//     again, undoing the other process's write.
//   - "own delete": the client wrote the old resource (answered at "2")
//     and deleted it; another process created it again and moved it to
//     "2". A write on the new resource at "1" must not be merged onto the
//     old resource's "2" and sent under that ETag.
func TestProbeQueuedETagReusedAfterRecreate(t *testing.T) {
	t.Parallel()
	const path = "/documents/d"
	t.Run("read again", func(t *testing.T) {
		t.Parallel()
		s := newPQServer(t)
		s.set(path, `{"a":0,"z":0}`)
		c := pqClient(nil)
		u := s.url(path)
		pqGet(t, c, u, nil)
		s.remove(path)
		s.set(path, `{"a":5,"z":9}`) // created again: "1"
		doc, etag := pqGet(t, c, u, nil)
		if etag != pqTag(1) {
			t.Fatalf("etag %s", etag)
		}
		s.set(path, `{"a":5,"z":0}`) // another process: z 9 -> 0, at "2"
		r := pqWrite(context.Background(), c, u, etag, with(doc, "b", 1.0), nil)
		r.name = "b"
		final := pqCheck(t, s, path, map[string]any{"a": 5.0, "z": 0.0}, []pqResult{r})
		if r.ok() && final["z"] != 0.0 {
			t.Errorf("z = %v: another process's write (z 9 -> 0) was undone by a merge against the deleted resource's representation", final["z"])
		}
	})
	t.Run("own delete", func(t *testing.T) {
		t.Parallel()
		s := newPQServer(t)
		s.set(path, `{"a":0,"z":0}`)
		c := pqClient(nil)
		u := s.url(path)
		doc, etag := pqGet(t, c, u, nil)
		if r := pqWrite(context.Background(), c, u, etag, with(doc, "a", 1.0), nil); !r.ok() {
			t.Fatal(r)
		}
		req, _ := http.NewRequest(http.MethodDelete, u, nil)
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatal(resp, err)
		}
		resp.Body.Close()
		s.set(path, `{"a":0,"z":9}`) // created again by another process: "1"
		base := s.doc(path)          // what the caller read of it (elsewhere)
		s.set(path, `{"a":7,"z":9}`) // and changed: "2"
		b, _ := json.Marshal(base)
		ctx := WithBase(context.Background(), b)
		r := pqWrite(ctx, c, u, pqTag(1), with(base, "b", 1.0), nil)
		r.name = "b"
		pqCheck(t, s, path, map[string]any{"a": 7.0, "z": 9.0}, []pqResult{r})
	})
}

// TestProbeQueuedCredentialsNeverMix: writes of several callers wait their
// turn together, with other Authorization headers, other user information
// in the URL, another Content-Type. Every write must land (each carried
// only with writes of its own credentials), and no request the server
// receives adds a change of one caller under another's Authorization.
func TestProbeQueuedCredentialsNeverMix(t *testing.T) {
	t.Parallel()
	s := newPQServer(t)
	const path = "/documents/d"
	s.set(path, `{"title":"t"}`)
	c := pqClient(nil)
	u := s.url(path)
	pu, _ := url.Parse(u)
	pu.User = url.UserPassword("carol", "pw")
	carolURL := pu.String()
	alice := http.Header{"Authorization": {"Bearer alice"}}
	bob := http.Header{"Authorization": {"Bearer bob"}}
	text := http.Header{"Authorization": {"Bearer alice"}, "Content-Type": {"text/plain"}}
	doc, etag := pqGet(t, c, u, alice)
	pqGet(t, c, u, bob)
	pqGet(t, c, carolURL, nil)
	specs := []pqSpec{
		{field: "alice0", hdr: alice},
		{field: "alice1", hdr: alice},
		{field: "bob1", hdr: bob},
		{field: "alice2", hdr: alice},
		{field: "carol1", url: carolURL},
		{field: "bob2", hdr: bob},
		{field: "alicetext", hdr: text},
	}
	results := pqQueue(t, s, c, u, doc, etag, specs)
	final := pqCheck(t, s, path, doc, results)
	for _, r := range results {
		if !r.ok() {
			t.Errorf("%s: %d %v", r.name, r.status, r.err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	who := func(auth string) string {
		switch {
		case strings.HasPrefix(auth, "Basic "):
			return "carol"
		case auth == "Bearer alice":
			return "alice"
		case auth == "Bearer bob":
			return "bob"
		}
		return "nobody"
	}
	for _, p := range s.puts {
		for k, v := range p.body {
			if v != 1.0 || p.before[k] == 1.0 {
				continue // not a change this request makes
			}
			if owner := strings.TrimRight(strings.TrimSuffix(k, "text"), "0123456789"); owner != who(p.auth) {
				t.Errorf("a PUT under %q (%s) carries %s's change %s: %v", p.auth, who(p.auth), owner, k, p.body)
			}
		}
	}
	t.Logf("%d PUTs, final %v", len(s.puts), final)
}

// TestProbeQueuedIdempotencyKey: writes that carry an Idempotency-Key wait
// their turn together. Each is sent as itself (never carried in another's
// request), and a payload merged onto the state another write left, or
// after a refresh, is a new intent under a new key: the server never sees
// one key with two bodies (it answers 422, as idempotent APIs do), and
// every write lands.
func TestProbeQueuedIdempotencyKey(t *testing.T) {
	t.Parallel()
	for _, whole := range []bool{true, false} {
		t.Run(fmt.Sprintf("whole answer %v", whole), func(t *testing.T) {
			t.Parallel()
			s := newPQServer(t)
			const path = "/documents/d"
			s.set(path, `{"title":"t"}`)
			if !whole {
				// A summary: nothing is merged onto it; the waiting writes
				// go stale and are refreshed.
				s.answer = func(*pqServer, string, map[string]any, map[string]any) any { return map[string]any{"ok": true} }
			}
			c := pqClient(nil)
			u := s.url(path)
			doc, etag := pqGet(t, c, u, nil)
			var specs []pqSpec
			for i := range 4 {
				specs = append(specs, pqSpec{field: fmt.Sprintf("k%d", i), hdr: http.Header{"Idempotency-Key": {fmt.Sprintf("key-%d", i)}}})
			}
			results := pqQueue(t, s, c, u, doc, etag, specs)
			pqCheck(t, s, path, doc, results)
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.reused) > 0 {
				t.Errorf("keys sent with two bodies: %v", s.reused)
			}
			for _, p := range s.puts {
				n := 0
				for k, v := range p.body {
					if v == 1.0 && p.before[k] != 1.0 {
						n++
					}
				}
				if n > 1 {
					t.Errorf("a keyed write (%s) carried %d changes: %v", p.key, n, p.body)
				}
			}
		})
	}
}

// TestProbeQueuedRedirectedAnswerNotKept: the write holding the turn is
// redirected (307) to another resource, which accepts it and answers 200
// with its own whole document and strong ETag "2"; meanwhile another
// process moves the addressed resource to "2" as well. That answer says
// nothing of the resource the writes address: the write waiting its turn
// must not be merged onto it and sent under its ETag, which the addressed
// resource would accept, copying the other resource's members in and
// undoing the other process's write.
func TestProbeQueuedRedirectedAnswerNotKept(t *testing.T) {
	t.Parallel()
	s := newPQServer(t)
	s.redirect = true
	s.set("/documents/d", `{"a":0,"b":0,"x":0}`)
	s.set("/documents/e", `{"a":0,"b":0,"x":0,"c":3}`)
	s.answer = func(s *pqServer, path string, _, after map[string]any) any {
		if path == "/documents/e" {
			s.docs["/documents/d"] = with(s.docs["/documents/d"], "x", 5.0) // another process, at "2"
			s.ver["/documents/d"]++
		}
		return after
	}
	c := pqClient(nil)
	u := s.url("/documents/d")
	doc, etag := pqGet(t, c, u, nil)
	results := pqQueue(t, s, c, u, doc, etag, []pqSpec{
		{field: "a", hdr: http.Header{"X-Redirect": {"/documents/e"}}},
		{field: "b"},
	})
	final := s.doc("/documents/d")
	t.Logf("d %v, e %v; a: %d %v, b: %d %v", final, s.doc("/documents/e"), results[0].status, results[0].err, results[1].status, results[1].err)
	if s.doc("/documents/e")["a"] != 1.0 {
		t.Fatal("the first write did not land on the resource it was redirected to: the probe did not run")
	}
	if final["b"] != 1.0 && results[1].ok() {
		t.Errorf("b succeeded, d is %v", final)
	}
	if final["x"] != 5.0 {
		t.Errorf("x = %v in d %v: another process's write was undone", final["x"], final)
	}
	if _, ok := final["c"]; ok {
		t.Errorf("d %v holds c, a member of the resource the first write was redirected to", final)
	}
}

// TestProbeQueuedWeakETagAnswerNotKept: the server answers PUTs with a
// weak ETag (as a compressing proxy turns strong ones weak) and the whole
// document. The waiting write cannot be merged onto that answer: a weak
// tag never goes in If-Match. It goes stale, is refreshed (GETs carry a
// strong tag), and both writes land.
func TestProbeQueuedWeakETagAnswerNotKept(t *testing.T) {
	t.Parallel()
	s := newPQServer(t)
	s.weakPut = true
	const path = "/documents/d"
	s.set(path, `{"a":0,"b":0}`)
	c := pqClient(nil)
	u := s.url(path)
	doc, etag := pqGet(t, c, u, nil)
	results := pqQueue(t, s, c, u, doc, etag, []pqSpec{{field: "a"}, {field: "b", hdr: http.Header{"X-Other": {"1"}}}})
	pqCheck(t, s, path, doc, results)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.puts {
		if strings.HasPrefix(p.ifMatch, "W/") {
			t.Errorf("a weak ETag was sent as If-Match: %q", p.ifMatch)
		}
	}
	for _, r := range results {
		if !r.ok() {
			t.Errorf("%s: %d %v", r.name, r.status, r.err)
		}
	}
}

// TestProbeQueuedBadMerge: the merge function fails on one caller's change
// in a way that is not an error: it returns bytes that are not JSON, a
// JSON value that is not a document (null), or it panics. That caller's
// change is not carried; the holder and the other riders are not harmed
// (no panic reaches them, their changes land), the document is never
// replaced by what the merge returned, and the faulty caller either fails
// without its change applied or lands its change.
func TestProbeQueuedBadMerge(t *testing.T) {
	t.Parallel()
	faults := map[string]func() ([]byte, error){
		"not JSON": func() ([]byte, error) { return []byte(`{"a":`), nil },
		"null":     func() ([]byte, error) { return []byte(`null`), nil },
		"panic":    func() ([]byte, error) { panic("merge: cannot") },
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) { testBadMerge(t, fault, false) })
	}
	// A store that keeps any JSON value it is sent, null included.
	t.Run("null, stored", func(t *testing.T) { testBadMerge(t, faults["null"], true) })
}

func testBadMerge(t *testing.T, fault func() ([]byte, error), anyJSON bool) {
	t.Parallel()
	s := newPQServer(t)
	s.anyJSON = anyJSON
	const path = "/documents/d"
	s.set(path, `{"title":"t"}`)
	merge := func(base, ours, theirs []byte) ([]byte, error) {
		if strings.Contains(string(ours), `"bad"`) {
			return fault()
		}
		return jsonmerge.Merge(base, ours, theirs)
	}
	c := pqClient(merge)
	u := s.url(path)
	doc, etag := pqGet(t, c, u, nil)
	results := pqQueue(t, s, c, u, doc, etag, []pqSpec{
		{field: "first"}, {field: "holder"}, {field: "r1"}, {field: "bad"}, {field: "r2"},
	})
	final := pqCheck(t, s, path, doc, results)
	for _, r := range results {
		if r.name != "bad" && !r.ok() {
			t.Errorf("%s, whose change merges, failed: %d %v", r.name, r.status, r.err)
		}
	}
	if final == nil || final["title"] != "t" {
		t.Errorf("document replaced: %v", final)
	}
}

// TestProbeQueuedCancelledRiderOtherProcess: while the first write is at
// the server, another process writes after it (so the state the first
// write's answer shows is stale at once) and one waiting caller gives up.
// The holder, merged onto that answer and carrying the riders, is stale:
// it recovers alone and the riders go alone. The cancelled caller returns
// context.Canceled and its change is never applied; the others land; the
// other process's write stays.
func TestProbeQueuedCancelledRiderOtherProcess(t *testing.T) {
	t.Parallel()
	s := newPQServer(t)
	const path = "/documents/d"
	s.set(path, `{"title":"t","x":0}`)
	c := pqClient(nil)
	u := s.url(path)
	doc, etag := pqGet(t, c, u, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.answer = func(s *pqServer, path string, _, after map[string]any) any {
		if after["first"] == 1.0 && after["holder"] != 1.0 {
			// Between the first write and the carried one: another
			// process writes, and the rider's caller gives up.
			s.docs[path] = with(after, "x", 5.0)
			s.ver[path]++
			cancel()
		}
		return after
	}
	results := pqQueue(t, s, c, u, doc, etag, []pqSpec{
		{field: "first"}, {field: "holder"}, {field: "gone", ctx: ctx}, {field: "r2"},
	})
	final := pqCheck(t, s, path, with(doc, "x", 5.0), results)
	if final["x"] != 5.0 {
		t.Errorf("x = %v: another process's write was undone", final["x"])
	}
	if r := results[2]; r.ok() || !errors.Is(r.err, context.Canceled) {
		t.Errorf("cancelled rider: %d %v", r.status, r.err)
	}
}
