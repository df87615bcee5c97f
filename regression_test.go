package conflict

// Regression tests from a review of the recovery code: each failed before
// its fix, against a real httptest server.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-conflict/conflict/jsonmerge"
)

// A: a queued PATCH answered with a summary (only the patched members) under
// a strong ETag; an Update waiting its turn reuses that summary as the whole
// representation and PUTs it.
func TestRegressUpdateReusesPatchSummary(t *testing.T) {
	var mu sync.Mutex
	doc := map[string]any{"title": "a", "body": "long text", "owner": "ana", "count": 0}
	ver := 1
	arrived, release := make(chan struct{}), make(chan struct{})
	gets := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			arrived <- struct{}{}
			<-release
		}
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodGet:
			gets++
			w.Header().Set("ETag", fmt.Sprintf(`"%d"`, ver))
			json.NewEncoder(w).Encode(doc)
		case http.MethodPatch, http.MethodPut:
			if r.Header.Get("If-Match") != fmt.Sprintf(`"%d"`, ver) {
				w.WriteHeader(412)
				return
			}
			var in map[string]any
			json.NewDecoder(r.Body).Decode(&in)
			if r.Method == http.MethodPut {
				doc = in
			} else {
				for k, v := range in {
					doc[k] = v
				}
			}
			ver++
			w.Header().Set("ETag", fmt.Sprintf(`"%d"`, ver))
			json.NewEncoder(w).Encode(in) // the answer echoes what was written
		}
	}))
	defer srv.Close()
	c := New(WithRule("PATCH /docs/{id}", Rule{Merge: jsonmerge.Merge}), WithRule("PUT /docs/{id}", Rule{Merge: jsonmerge.Merge}))
	done := make(chan error)
	go func() {
		req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/docs/1", bytes.NewReader([]byte(`{"title":"x"}`)))
		req.Header.Set("If-Match", `"1"`)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	type D struct {
		Count int `json:"count"`
	}
	upd := make(chan error)
	go func() {
		_, err := Update(context.Background(), c, srv.URL+"/docs/1", func(d *D) error { d.Count++; return nil })
		upd <- err
	}()
	for Waiting(c, srv.URL+"/docs/1") < 2 { // Update waits its turn
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-upd; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("GETs by Update: %d; document now %v", gets, doc)
	if doc["body"] != "long text" || doc["owner"] != "ana" {
		t.Errorf("Update wrote a partial document: %v", doc)
	}
}

func TestRegressMergeOntoLastOtherHeader(t *testing.T) {
	var mu sync.Mutex
	doc := map[string]any{"title": "a", "count": 0}
	ver := 1
	var ifMatches []string
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	first := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Method == http.MethodPut && first {
			first = false
			mu.Unlock()
			arrived <- struct{}{}
			<-release
			mu.Lock()
		}
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			ifMatches = append(ifMatches, r.Header.Get("If-Match"))
			if r.Header.Get("If-Match") != fmt.Sprint(ver) {
				w.WriteHeader(412)
				return
			}
			json.NewDecoder(r.Body).Decode(&doc)
			ver++
		}
		w.Header().Set("ETag", fmt.Sprintf(`"e%d"`, ver))
		w.Header().Set("X-Version", fmt.Sprint(ver))
		json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	c := New(WithRule("PUT /docs/{id}", Rule{Merge: jsonmerge.Merge, Versions: []Version{{Send: Header("If-Match"), Read: Header("X-Version")}}}))
	put := func(ctx context.Context, body string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/docs/1", bytes.NewReader([]byte(body)))
		req.Header.Set("If-Match", `1`)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			t.Logf("outcome %v status %d", ResultOf(resp).Outcome, resp.StatusCode)
		}
		return err
	}
	done := make(chan error, 2)
	go func() { done <- put(context.Background(), `{"title":"x","count":0}`) }()
	<-arrived
	go func() {
		done <- put(WithBase(context.Background(), []byte(`{"title":"a","count":0}`)), `{"title":"a","count":5}`)
	}()
	for Waiting(c, srv.URL+"/docs/1") < 2 { // the second writer waits its turn
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 2 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("If-Match sent: %q; doc %v", ifMatches, doc)
	for _, im := range ifMatches {
		if strings.HasPrefix(im, `"e`) {
			t.Errorf("an ETag was sent as the version of a rule that reads it from X-Version: %q", ifMatches)
		}
	}
}

// B: If-Match whose value is read from X-Version, not ETag. A turn's snapshot
// carries the ETag as "the" version.
func TestRegressIfMatchFromOtherHeader(t *testing.T) {
	var mu sync.Mutex
	doc := map[string]any{"title": "a", "count": 0}
	ver := 1
	var ifMatches []string
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	first := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Method == http.MethodPut && first {
			first = false
			mu.Unlock()
			arrived <- struct{}{}
			<-release
			mu.Lock()
		}
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			ifMatches = append(ifMatches, r.Header.Get("If-Match"))
			if r.Header.Get("If-Match") != fmt.Sprint(ver) {
				w.WriteHeader(412)
				return
			}
			json.NewDecoder(r.Body).Decode(&doc)
			ver++
		}
		w.Header().Set("ETag", fmt.Sprintf(`"e%d"`, ver))
		w.Header().Set("X-Version", fmt.Sprint(ver))
		json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	c := New(WithRule("PUT /docs/{id}", Rule{Merge: jsonmerge.Merge, Versions: []Version{{Send: Header("If-Match"), Read: Header("X-Version")}}}))
	done := make(chan error)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/docs/1", bytes.NewReader([]byte(`{"title":"x","count":0}`)))
		req.Header.Set("If-Match", `1`)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	type D struct {
		Count int `json:"count"`
	}
	upd := make(chan error)
	go func() {
		_, err := Update(context.Background(), c, srv.URL+"/docs/1", func(d *D) error { d.Count++; return nil })
		upd <- err
	}()
	for Waiting(c, srv.URL+"/docs/1") < 2 { // the second writer waits its turn
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	err := <-upd
	mu.Lock()
	defer mu.Unlock()
	t.Logf("If-Match sent: %q; doc %v", ifMatches, doc)
	if err != nil {
		t.Errorf("Update failed: %v", err)
	}
}

type trackBody struct {
	io.Reader
	closed *atomic.Bool
}

func (b trackBody) Close() error { b.closed.Store(true); return nil }

// C: a write merged onto the turn's last answer never closes the caller's Body
// when the request has GetBody.
func TestRegressMergeOntoLastLeaksBody(t *testing.T) {
	var mu sync.Mutex
	ver := 1
	doc := `{"title":"a","count":0}`
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	first := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Method == http.MethodPut && first {
			first = false
			mu.Unlock()
			arrived <- struct{}{}
			<-release
			mu.Lock()
		}
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			if r.Header.Get("If-Match") != fmt.Sprintf(`"%d"`, ver) {
				w.WriteHeader(412)
				return
			}
			b, _ := io.ReadAll(r.Body)
			doc = string(b)
			ver++
		}
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, ver))
		io.WriteString(w, doc)
	}))
	defer srv.Close()
	c := New(WithRule("PUT /docs/{id}", Rule{Merge: jsonmerge.Merge}))
	var closed atomic.Bool
	done := make(chan error, 2)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/docs/1", strings.NewReader(`{"title":"x","count":0}`))
		req.Header.Set("If-Match", `"1"`)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	go func() {
		body := []byte(`{"title":"a","count":5}`)
		req, _ := http.NewRequestWithContext(WithBase(context.Background(), []byte(`{"title":"a","count":0}`)), http.MethodPut, srv.URL+"/docs/1", nil)
		req.Body = trackBody{bytes.NewReader(body), &closed}
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.Header.Set("If-Match", `"1"`)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			t.Logf("second: %v", ResultOf(resp).Outcome)
		}
		done <- err
	}()
	for Waiting(c, srv.URL+"/docs/1") < 2 { // the second writer waits its turn
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 2 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	var m map[string]any
	json.Unmarshal([]byte(doc), &m)
	t.Logf("doc %v", m)
	if !closed.Load() {
		t.Error("the caller's request Body was never closed")
	}
}

// D: a Creates rule adopts whatever exists when the body could not be read
// back for comparison (larger than MaxBodyBuffer, with GetBody).
func TestRegressAdoptUnreadableBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"owner":"mallory"}`)
		case http.MethodPut:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"code":"already_exists","message":"the file already exists"}`)
		}
	}))
	defer srv.Close()
	c := New(WithRule("PUT /files/{name}", Rule{Creates: true}), WithLimits(Limits{MaxBodyBuffer: 32}))
	body := []byte(`{"owner":"ana","content":"ana's own, rather longer, content"}`)
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/files/report", bytes.NewReader(body))
	req.Header.Set("If-None-Match", "*")
	resp, err := c.Do(req)
	if err != nil {
		t.Logf("aborted: %v", err)
		return
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Errorf("outcome %v, status %d, body %s: a foreign resource was adopted", ResultOf(resp).Outcome, resp.StatusCode, got)
}

// E: a conflict answered after MaxElapsed: classify's timer fires at once and
// closes the body; RoundTrip hands back "the server's own answer, body intact".
func TestRegressLateConflictBodyClosed(t *testing.T) {
	payload := `{"code":"invalid_transition","message":"cannot ship a cancelled order","detail":"` + strings.Repeat("x", 64<<10) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, payload)
	}))
	defer srv.Close()
	c := New(WithLimits(Limits{MaxElapsed: 100 * time.Millisecond}))
	hc := c.StandardClient()
	fails := 0
	for i := 0; i < 5; i++ {
		resp, err := hc.Post(srv.URL+"/orders/1/ship", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Logf("err %v", err)
			fails++
			continue
		}
		got, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := ResultOf(resp)
		if string(got) != payload {
			fails++
			t.Logf("status %d, read %d of %d bytes, err %v, result %+v", resp.StatusCode, len(got), len(payload), rerr, r.Err)
		}
	}
	if fails > 0 {
		t.Errorf("%d of 5 late conflicts lost their body", fails)
	}
}

// F: the first send follows a cross-origin redirect; the other origin's
// conflict body is taken as the current state of the original resource.
func TestRegressCrossOriginConflictEvidence(t *testing.T) {
	var aPuts atomic.Int32
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("ETag", `"9"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"error":"version_conflict","current":{"title":"Final","body":"Hello"}}`)
	}))
	defer b.Close()
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		aPuts.Add(1)
		http.Redirect(w, r, b.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer a.Close()
	c := New(WithRule("PUT /docs/{id}", Rule{Merge: jsonmerge.Merge}))
	ctx := WithBase(context.Background(), []byte(`{"title":"Draft","body":"Hello"}`))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, a.URL+"/docs/1", bytes.NewReader([]byte(`{"title":"Final","body":"Hello"}`)))
	req.Header.Set("If-Match", `"1"`)
	resp, err := c.Do(req)
	if !errors.Is(err, ErrUnrecoverable) || !errors.Is(err, errElsewhere) {
		if resp != nil {
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Fatalf("call returned %d %v %s: want an abort", resp.StatusCode, ResultOf(resp).Outcome, got)
		}
		t.Fatalf("err = %v, want an abort for a conflict from elsewhere", err)
	}
	if aPuts.Load() != 1 {
		t.Errorf("origin A saw %d PUTs", aPuts.Load())
	}
}

// A write answered with a summary under a strong ETag ({"ok":true}, as some
// servers answer a PUT) is no merge base for that version: a later write on
// it that goes stale must not be merged against the summary, which would
// bring back a member another process removed. It aborts for want of a
// base instead.
func TestRegressSummaryAnswerIsNoBase(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	doc, version := `{"a":1,"b":1}`, 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		etag := fmt.Sprintf(`"v%d"`, version)
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", etag)
			io.WriteString(w, doc)
		case http.MethodPut:
			if r.Header.Get("If-Match") != etag {
				w.WriteHeader(http.StatusPreconditionFailed)
				io.WriteString(w, `{"error":"version_conflict"}`)
				return
			}
			body, _ := io.ReadAll(r.Body)
			doc, version = string(body), version+1
			w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, version))
			io.WriteString(w, `{"ok":true}`) // a summary, not the document
		}
	}))
	t.Cleanup(srv.Close)
	c := New(WithRule("PUT /doc", Rule{Merge: jsonmerge.Merge}))
	put := func(body, etag string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/doc", strings.NewReader(body))
		req.Header.Set("If-Match", etag)
		return c.Do(req)
	}
	resp, err := put(`{"a":2,"b":1}`, `"v1"`)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // read in full: a base, were it whole
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	mu.Lock()
	doc, version = `{"a":2}`, version+1 // another process removes b
	mu.Unlock()
	_, err = put(`{"a":2,"b":1,"c":1}`, etag) // adds c, on the document as it was
	if !errors.Is(err, ErrNoBase) {
		t.Errorf("stale write on a version answered with a summary: %v, want ErrNoBase", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(doc, `"b"`) {
		t.Errorf("document %s: b, removed by another process, is back", doc)
	}
}

// TestRegressTenantHeaderSeparatesBases: one client serves two tenants of
// an API that selects the tenant with a header, at the same URLs, and
// numbers each tenant's versions from 1. Tenant A's read of /doc at "1"
// must not serve as the base of tenant B's stale write on its own "1":
// merged against A's document, B's write would bring A's members into B's
// document, or undo B's other writer. A header naming a scope (a tenant,
// an account) separates bases as credentials do.
func TestRegressTenantHeaderSeparatesBases(t *testing.T) {
	t.Parallel()
	type doc struct {
		body    string
		version int
	}
	var mu sync.Mutex
	docs := map[string]*doc{"A": {`{"a":"secret of A"}`, 1}, "B": {`{"b":1,"z":0}`, 1}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		d := docs[r.Header.Get("X-Tenant-ID")]
		if d == nil {
			http.Error(w, "no tenant", http.StatusBadRequest)
			return
		}
		etag := fmt.Sprintf(`"%d"`, d.version)
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", etag)
			io.WriteString(w, d.body)
		case http.MethodPut:
			if r.Header.Get("If-Match") != etag {
				w.WriteHeader(http.StatusPreconditionFailed)
				io.WriteString(w, `{"error":"version_conflict"}`)
				return
			}
			body, _ := io.ReadAll(r.Body)
			d.body, d.version = string(body), d.version+1
			w.Header().Set("ETag", fmt.Sprintf(`"%d"`, d.version))
			w.Write(body)
		}
	}))
	t.Cleanup(srv.Close)
	c := New(WithRule("PUT /doc", Rule{Merge: jsonmerge.Merge}))
	get := func(tenant string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/doc", nil)
		req.Header.Set("X-Tenant-ID", tenant)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get("A") // A's document at "1", remembered
	mu.Lock()
	docs["B"] = &doc{`{"b":1,"z":9}`, 2} // another writer of B's moves z; B is at "2"
	mu.Unlock()
	// B's caller built its write on B's "1" ({"b":1,"z":0}), read
	// elsewhere: it sets b to 2.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/doc", strings.NewReader(`{"b":2,"z":0}`))
	req.Header.Set("X-Tenant-ID", "B")
	req.Header.Set("If-Match", `"1"`)
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	mu.Lock()
	got := docs["B"].body
	mu.Unlock()
	if strings.Contains(got, "secret of A") || !strings.Contains(got, `"z":9`) {
		t.Errorf("B's document is %s (err %v): merged against tenant A's document", got, err)
	}
	if !errors.Is(err, ErrNoBase) {
		t.Errorf("B's stale write: %v, want ErrNoBase (no base read for tenant B)", err)
	}
}

// TestRegressTimeLimitSaysWhose: a recovery that runs past the call's time
// limit returns an error that matches context.DeadlineExceeded and says it
// was the client's MaxElapsed, not the caller's context's deadline.
func TestRegressTimeLimitSaysWhose(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusLocked)
			return
		}
		select { // the re-send is never answered in time
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	c := New(WithLimits(Limits{MaxElapsed: 200 * time.Millisecond}))
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/doc", strings.NewReader(`{}`))
	_, err := c.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "MaxElapsed") {
		t.Errorf("err %v: want context.DeadlineExceeded, saying the client's MaxElapsed passed", err)
	}
}

// TestRegressForeignAfterLostAnswer: a create applied with its answer lost
// (the connection drops after the server stored it, normalising a field),
// then answered "already exists" on its transport retry, is not adopted
// (the stored resource differs from what was sent), and the error says the
// create may be this request's own rather than only another's.
func TestRegressForeignAfterLostAnswer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	stored := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPost && stored == "":
			io.Copy(io.Discard, r.Body)
			stored = `{"id":"u1","email":"ann@example.com"}` // normalised
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close() // the answer is lost
		case r.Method == http.MethodPost:
			w.Header().Set("Location", "/users/u1")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":"already_exists","message":"email taken"}`)
		case r.Method == http.MethodGet && r.URL.Path == "/users/u1":
			w.Header().Set("ETag", `"1"`)
			io.WriteString(w, stored)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c := New(WithLimits(Limits{MaxElapsed: 2 * time.Second}))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/users", strings.NewReader(`{"email":"Ann@Example.com"}`))
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("adopted %v: the stored resource differs from what was sent", ResultOf(resp).Outcome)
	}
	if !strings.Contains(err.Error(), "may be this request's own") {
		t.Errorf("err %v: want it to say the create may be this request's own", err)
	}
}
