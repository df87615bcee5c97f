package conflict_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/jsonmerge"
)

// hashServer serves one JSON document whose strong ETag is a hash of its
// content (RFC 9110 allows a collision-resistant hash as a strong
// validator): a document that returns to earlier content returns to the
// earlier ETag.
type hashServer struct {
	mu  sync.Mutex
	doc []byte
}

func hashTag(b []byte) string {
	s := sha256.Sum256(b)
	return `"` + hex.EncodeToString(s[:8]) + `"`
}

func (h *hashServer) set(body string) {
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	b, _ := json.Marshal(m)
	h.mu.Lock()
	h.doc = b
	h.mu.Unlock()
}

func (h *hashServer) get() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.doc)
}

func (h *hashServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		if im := r.Header.Get("If-Match"); im != "" && im != hashTag(h.doc) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusPreconditionFailed)
			io.WriteString(w, `{"error":"version_conflict"}`)
			return
		}
		var m map[string]any
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &m) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		h.doc, _ = json.Marshal(m)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("ETag", hashTag(h.doc))
	w.Header().Set("Content-Type", "application/json")
	w.Write(h.doc)
}

// A holdGate holds each PUT marked X-Hold at the server until release is
// closed; arrived receives one value per PUT held.
type holdGate struct{ arrived, release chan struct{} }

func newHoldGate() *holdGate {
	return &holdGate{arrived: make(chan struct{}, 8), release: make(chan struct{})}
}

// hold holds r if it is a PUT marked X-Hold, and reports whether it was.
func (g *holdGate) hold(r *http.Request) bool {
	if r.Method != http.MethodPut || r.Header.Get("X-Hold") == "" {
		return false
	}
	g.arrived <- struct{}{}
	<-g.release
	return true
}

// heldFront serves hs, each PUT marked X-Hold held at g.
func heldFront(t *testing.T, hs *hashServer, g *holdGate) *httptest.Server {
	t.Helper()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hold(r)
		hs.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return front
}

// TestMergeOntoKnownStateETagRecurs: the client's write W1 sets y to 1
// (answered, read in full: remembered as recent). Another process sets y
// back to 0: the document, and so its content-hash ETag, is what W1 was
// sent on. The client reads it again and sets y to 1 again, If-Match that
// ETag. Merged onto W1's answer, the change is already there, and the
// merged write is refused (the server moved on); the refresh must merge the
// caller's own write onto the fresh state, not the merged one, or the
// change is found "applied" and lost.
func TestMergeOntoKnownStateETagRecurs(t *testing.T) {
	t.Parallel()
	hs := &hashServer{}
	hs.set(`{"x":0,"y":0}`)
	srv := httptest.NewServer(hs)
	defer srv.Close()
	c := conflict.New(conflict.WithRule("PUT /doc", conflict.Rule{Merge: jsonmerge.Merge}))
	url := srv.URL + "/doc"

	put := func(body, etag string) *http.Response {
		t.Helper()
		req := mustRequest(http.MethodPut, url, body)
		req.Header.Set("If-Match", etag)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	_, v := readDoc(t, c, url)
	put(`{"x":0,"y":1}`, v) // W1
	hs.set(`{"x":0,"y":0}`) // another process: back to the content (and ETag) W1 was sent on
	doc, v2 := readDoc(t, c, url)
	if v2 != v || doc["y"] != float64(0) {
		t.Fatalf("setup: %v %s", doc, v2)
	}
	resp := put(`{"x":0,"y":1}`, v2) // R: built on what it just read
	if got := hs.get(); !strings.Contains(got, `"y":1`) {
		t.Errorf("document %s after R answered %d (outcome %v): R's change (y 1) was lost", got, resp.StatusCode, conflict.ResultOf(resp).Outcome)
	}

	// The same through the base's stamp alone (R's If-Match is not the
	// version W1 was sent on): the stamp of a version is its first reading,
	// though R built on a later one.
	t.Run("stamp", func(t *testing.T) {
		hs.set(`{"x":0,"y":0}`)
		c = conflict.New(conflict.WithRule("PUT /doc", conflict.Rule{Merge: jsonmerge.Merge}))
		_, v0 := readDoc(t, c, url) // S0, first reading
		hs.set(`{"x":1,"y":0}`)     // another process
		_, v1 := readDoc(t, c, url)
		put(`{"x":1,"y":1}`, v1)       // W1, sent after S0 was first read
		hs.set(`{"x":0,"y":0}`)        // another process: back to S0
		_, again := readDoc(t, c, url) // S0 read again, after W1
		if again != v0 {
			t.Fatal("setup")
		}
		resp := put(`{"x":0,"y":1}`, v0) // R on S0 as read just now
		if got := hs.get(); !strings.Contains(got, `"y":1`) {
			t.Errorf("document %s after R answered %d (outcome %v): R's change (y 1) was lost", got, resp.StatusCode, conflict.ResultOf(resp).Outcome)
		}
	})
}

// blockingMerge is jsonmerge.Merge, except that the first time the holder
// merges a rider's change into its own (theirs holds the holder's field,
// ours the rider's) it reports the rider's field on fold and waits for
// proceed, then refuses that merge, so the rider is given back.
type foldHook struct {
	once    sync.Once
	fold    chan string
	proceed chan struct{}
	refuse  bool
}

func (f *foldHook) merge(base, ours, theirs []byte) ([]byte, error) {
	var o, th map[string]any
	json.Unmarshal(ours, &o)
	json.Unmarshal(theirs, &th)
	rider := ""
	for _, k := range []string{"a", "b"} {
		other := map[string]string{"a": "b", "b": "a"}[k]
		if o[k] != nil && th[other] != nil && th[k] == nil {
			rider = k
		}
	}
	hit := false
	if rider != "" {
		f.once.Do(func() {
			hit = true
			f.fold <- rider
			<-f.proceed
		})
	}
	if hit && f.refuse {
		return nil, conflict.ErrMergeConflict
	}
	return jsonmerge.Merge(base, ours, theirs)
}

// TestFoldCancelledRider: a claimed rider whose context ends returns
// context.Canceled at once.
//   - "ghost": the holder does not carry it (its change does not merge):
//     its change is never sent, by that holder or a later one.
//   - "carried": the holder carries it; cancellation says nothing of
//     whether a write was applied, as for any write cancelled in flight.
func TestFoldCancelledRider(t *testing.T) {
	t.Parallel()
	for _, ghost := range []bool{true, false} {
		name := map[bool]string{true: "ghost", false: "carried"}[ghost]
		t.Run(name, func(t *testing.T) {
			hs := &hashServer{}
			hs.set(`{"title":"Draft"}`)
			hold := map[int]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
			var mu sync.Mutex
			n := 0
			arrived := make(chan int, 8)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut {
					mu.Lock()
					n++
					k := n
					mu.Unlock()
					arrived <- k
					if ch := hold[k]; ch != nil {
						<-ch
					}
				}
				rec := httptest.NewRecorder()
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(strings.NewReader(string(body)))
				hs.ServeHTTP(rec, r)
				t.Logf("%s If-Match %s %s -> %d", r.Method, r.Header.Get("If-Match"), body, rec.Code)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
			}))
			defer front.Close()
			fh := &foldHook{fold: make(chan string), proceed: make(chan struct{}), refuse: ghost}
			c := conflict.New(conflict.WithRule("PUT /doc", conflict.Rule{Merge: fh.merge}))
			url := front.URL + "/doc"
			doc, etag := readDoc(t, c, url)
			write := func(ctx context.Context, field string) error {
				d := map[string]any{}
				for k, v := range doc {
					d[k] = v
				}
				d[field] = 1
				body, _ := json.Marshal(d)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(string(body)))
				req.Header.Set("If-Match", etag)
				resp, err := c.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				return err
			}
			type res struct {
				field string
				err   error
			}
			results := make(chan res, 4)
			ctxs := map[string]context.CancelFunc{}
			start := func(field string) {
				ctx, cancel := context.WithCancel(context.Background())
				ctxs[field] = cancel
				go func() { results <- res{field, write(ctx, field)} }()
			}
			start("w0")
			<-arrived // W0 held at the server
			start("a")
			start("b")
			for conflict.Waiting(c, url) < 3 {
				runtime.Gosched()
			}
			close(hold[1]) // W0 answered; one of a, b holds the turn and claims the other
			rider := <-fh.fold
			ctxs[rider]()
			got := map[string]error{}
		wait:
			for got[rider] == nil {
				select {
				case r := <-results: // w0, then the rider, which gives up at once
					got[r.field] = r.err
					if r.field == rider {
						break wait
					}
				case <-time.After(200 * time.Millisecond):
					break wait
				}
			}
			close(fh.proceed)
			<-arrived // the holder's PUT (its own write, or carrying the rider) is held
			want := 3
			if ghost {
				// A later write queues behind the holder and, holding the
				// turn, claims whatever riders the slot has.
				start("z")
				for conflict.Waiting(c, url) < 2 {
					runtime.Gosched()
				}
				want = 4
			}
			close(hold[2])
			for len(got) < want {
				select {
				case r := <-results:
					got[r.field] = r.err
				case <-time.After(5 * time.Second):
					t.Fatalf("stuck; results so far %v", got)
				}
			}
			final := hs.get()
			t.Logf("final %s, results %v", final, got)
			for f, err := range got {
				landed := strings.Contains(final, `"`+f+`":1`)
				if f == rider && !errors.Is(err, context.Canceled) {
					t.Errorf("%s: %v, want context.Canceled", f, err)
				}
				if f == rider && !ghost {
					continue // either way
				}
				if landed != (err == nil) {
					t.Errorf("%s: landed %v, but Do returned %v", f, landed, err)
				}
			}
		})
	}
}

// panicRT panics on a PUT whose body carries both a's and b's changes:
// the request carrying a rider.
type panicRT struct {
	rt http.RoundTripper
}

func (p *panicRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && r.GetBody != nil {
		b, _ := r.GetBody()
		data, _ := io.ReadAll(b)
		if strings.Contains(string(data), `"a"`) && strings.Contains(string(data), `"b"`) {
			r.Body.Close()
			panic("transport bug")
		}
	}
	return p.rt.RoundTrip(r)
}

// TestFoldHolderPanics: the transport panics on the request carrying a
// rider. The caller of the holder recovers (as net/http's server does for
// a handler). The rider, claimed and never told, then takes the turn and
// waits for the holder's word forever, whatever its context says; every
// later write to the resource waits behind it.
func TestFoldHolderPanics(t *testing.T) {
	t.Parallel()
	hs := &hashServer{}
	hs.set(`{"title":"Draft"}`)
	gate := newHoldGate()
	front := heldFront(t, hs, gate)
	c := conflict.New(conflict.WithTransport(&panicRT{rt: http.DefaultTransport}),
		conflict.WithRule("PUT /doc", conflict.Rule{Merge: jsonmerge.Merge}))
	url := front.URL + "/doc"
	doc, etag := readDoc(t, c, url)
	type res struct {
		field    string
		err      error
		panicked bool
	}
	results := make(chan res, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	write := func(field string, hold bool) {
		defer func() {
			if p := recover(); p != nil {
				results <- res{field, nil, true}
			}
		}()
		d := map[string]any{}
		for k, v := range doc {
			d[k] = v
		}
		d[field] = 1
		body, _ := json.Marshal(d)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(string(body)))
		req.Header.Set("If-Match", etag)
		if hold {
			req.Header.Set("X-Hold", "1") // a header of its own: never carries nor rides
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		results <- res{field, err, false}
	}
	go write("w0", true)
	<-gate.arrived
	go write("a", false)
	go write("b", false)
	for conflict.Waiting(c, url) < 3 {
		runtime.Gosched()
	}
	close(gate.release)
	got := map[string]res{}
	for range 2 {
		r := <-results
		got[r.field] = r
	}
	t.Logf("first two: %+v", got)
	cancel() // the rider's caller gives up
	select {
	case r := <-results:
		t.Logf("third: %+v", r)
	case <-time.After(3 * time.Second):
		t.Errorf("a write still blocked 3s after its context was cancelled (holder panicked): the rider waits for a word that never comes")
	}
}

// TestFoldRiderDeadline: a claimed rider whose wait passes the call's time
// limit, while the holder's request carrying its change is at the server,
// returns a DeadlineExceeded that says its outcome is unknown, not that it
// was still waiting its turn: the change lands.
func TestFoldRiderDeadline(t *testing.T) {
	t.Parallel()
	hs := &hashServer{}
	hs.set(`{"title":"Draft"}`)
	gate, carried := newHoldGate(), make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			if !gate.hold(r) && strings.Contains(string(body), `"a"`) && strings.Contains(string(body), `"b"`) {
				close(carried)
				time.Sleep(1500 * time.Millisecond) // a slow server, past the rider's time limit
			}
		}
		hs.ServeHTTP(w, r)
	}))
	defer front.Close()
	c := conflict.New(conflict.WithRule("PUT /doc", conflict.Rule{Merge: jsonmerge.Merge, MaxElapsed: time.Second}))
	url := front.URL + "/doc"
	doc, etag := readDoc(t, c, url)
	type res struct {
		field string
		err   error
	}
	results := make(chan res, 3)
	write := func(field string, hold bool) {
		resp, err := putField(c, url, doc, etag, field, hold)
		if err == nil {
			resp.Body.Close()
		}
		results <- res{field, err}
	}
	go write("w0", true)
	<-gate.arrived
	go write("a", false)
	go write("b", false)
	for conflict.Waiting(c, url) < 3 {
		runtime.Gosched()
	}
	time.Sleep(300 * time.Millisecond)
	close(gate.release)
	<-carried
	var failed []res
	for range 3 {
		if r := <-results; r.err != nil {
			failed = append(failed, r)
		}
	}
	final := hs.get()
	if len(failed) == 0 {
		t.Fatal("no write passed its time limit")
	}
	for _, r := range failed {
		if !errors.Is(r.err, context.DeadlineExceeded) || !strings.Contains(r.err.Error(), "unknown") {
			t.Errorf("%s: %v, want a DeadlineExceeded saying the outcome is unknown", r.field, r.err)
		}
		if !strings.Contains(final, `"`+r.field+`":1`) {
			t.Errorf("document %s: %s's change did not land with the write that carried it", final, r.field)
		}
	}
}

// TestFoldCarriedRefused: the server refuses any document in which status
// is "shipped" (b's change): with a 409 that is not a stale version (an
// invalid transition), or with a 400. When a holds the turn and carries b,
// the refusal answers the carried request; a's own write, sent alone,
// lands, and b alone fails. With one attempt per call, a carries nobody:
// the carried request would take the send its own write needs.
func TestFoldCarriedRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		attempts int
	}{
		{"conflict of another kind", http.StatusConflict, `{"error":"invalid_transition","message":"cannot transition from open to shipped"}`, 0},
		{"bad request, one attempt", http.StatusBadRequest, `{"error":"invalid document"}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for i := range 12 { // whichever of a and b takes the turn
				testFoldCarriedRefused(t, i, tc.status, tc.body, tc.attempts)
			}
		})
	}
}

func testFoldCarriedRefused(t *testing.T, i, status int, refusal string, attempts int) {
	hs := &hashServer{}
	hs.set(`{"title":"Draft","status":"open"}`)
	gate := newHoldGate()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			gate.hold(r)
			if strings.Contains(string(body), `"shipped"`) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				io.WriteString(w, refusal)
				return
			}
		}
		hs.ServeHTTP(w, r)
	}))
	defer front.Close()
	c := conflict.New(conflict.WithRule("PUT /doc", conflict.Rule{Merge: jsonmerge.Merge, MaxAttempts: attempts}))
	url := front.URL + "/doc"
	doc, etag := readDoc(t, c, url)
	type res struct {
		field string
		err   error
	}
	results := make(chan res, 3)
	write := func(field string, hold bool) {
		d := map[string]any{}
		for k, v := range doc {
			d[k] = v
		}
		if field == "b" {
			d["status"] = "shipped"
		} else {
			d[field] = 1
		}
		body, _ := json.Marshal(d)
		req := mustRequest(http.MethodPut, url, string(body))
		req.Header.Set("If-Match", etag)
		if hold {
			req.Header.Set("X-Hold", "1")
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				err = errors.New(resp.Status)
			}
		}
		results <- res{field, err}
	}
	go write("w0", true)
	<-gate.arrived
	go write("a", false)
	go write("b", false)
	for conflict.Waiting(c, url) < 3 {
		runtime.Gosched()
	}
	close(gate.release)
	for range 3 {
		r := <-results
		if (r.err != nil) != (r.field == "b") {
			t.Fatalf("iteration %d: %s: %v; document %s", i, r.field, r.err, hs.get())
		}
	}
}

// TestFoldCarriedHeaderRace: the holder's caller owns its response and
// may change its header; a carried rider clones that same header after the
// holder's word, with nothing ordering the two.
func TestFoldCarriedHeaderRace(t *testing.T) {
	t.Parallel()
	hs := &hashServer{}
	hs.set(`{"title":"Draft"}`)
	gate := newHoldGate()
	front := heldFront(t, hs, gate)
	c := conflict.New(conflict.WithRule("PUT /doc", conflict.Rule{Merge: jsonmerge.Merge}))
	url := front.URL + "/doc"
	doc, etag := readDoc(t, c, url)
	var wg sync.WaitGroup
	write := func(field string, hold bool) {
		defer wg.Done()
		resp, err := putField(c, url, doc, etag, field, hold)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Header.Set("X-Seen-By", field) // the caller's own response
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	wg.Add(3)
	go write("w0", true)
	<-gate.arrived
	go write("a", false)
	go write("b", false)
	for conflict.Waiting(c, url) < 3 {
		runtime.Gosched()
	}
	close(gate.release)
	wg.Wait()
}

// TestFoldCarriedLargeAnswer: the answer to the carried request is larger
// than MaxBodyBuffer: the riders are told nil and go alone; each must still
// land once and succeed.
func TestFoldCarriedLargeAnswer(t *testing.T) {
	t.Parallel()
	hs := &hashServer{}
	hs.set(`{"title":"Draft"}`)
	gate := newHoldGate()
	var puts, stale int32
	var mu sync.Mutex
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gate.hold(r) {
			http.Error(w, "no", http.StatusForbidden) // refused: the version stays
			return
		}
		rec := httptest.NewRecorder()
		hs.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		out := rec.Body.Bytes()
		if r.Method == http.MethodPut {
			mu.Lock()
			puts++
			if rec.Code == 412 {
				stale++
			}
			mu.Unlock()
			if rec.Code == 200 {
				out = append(out[:len(out)-1], []byte(`,"audit":"`+strings.Repeat("x", 4096)+`"}`)...)
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(out)
	}))
	defer front.Close()
	c := conflict.New(conflict.WithRule("PUT /doc", conflict.Rule{Merge: jsonmerge.Merge}),
		conflict.WithLimits(conflict.Limits{MaxBodyBuffer: 1024}))
	url := front.URL + "/doc"
	doc, etag := readDoc(t, c, url)
	type res struct {
		field   string
		err     error
		outcome conflict.Outcome
	}
	results := make(chan res, 4)
	write := func(field string, hold bool) {
		resp, err := putField(c, url, doc, etag, field, hold)
		if err != nil {
			results <- res{field, err, 0}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		results <- res{field, nil, conflict.ResultOf(resp).Outcome}
	}
	go write("w0", true)
	<-gate.arrived
	for _, f := range []string{"a", "b", "c"} {
		go write(f, false)
	}
	for conflict.Waiting(c, url) < 4 {
		runtime.Gosched()
	}
	close(gate.release)
	for range 4 {
		r := <-results
		t.Logf("%s: %v %v", r.field, r.outcome, r.err)
		if r.err != nil {
			t.Errorf("%s: %v", r.field, r.err)
		}
	}
	t.Logf("final %s, %d PUTs, %d stale", hs.get(), puts, stale)
	for _, f := range []string{"a", "b", "c"} {
		if !strings.Contains(hs.get(), `"`+f+`":1`) {
			t.Errorf("%s lost", f)
		}
	}
}

// putField writes doc with field set to 1 through c, If-Match etag; hold
// marks the PUT for a holdGate to hold.
func putField(c *conflict.Client, url string, doc map[string]any, etag, field string, hold bool) (*http.Response, error) {
	d := map[string]any{field: 1}
	for k, v := range doc {
		if k != field {
			d[k] = v
		}
	}
	body, _ := json.Marshal(d)
	req := mustRequest(http.MethodPut, url, string(body))
	req.Header.Set("If-Match", etag)
	if hold {
		req.Header.Set("X-Hold", "1")
	}
	return c.Do(req)
}
