package conflict_test

import (
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

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// TestContention: 8 writers update one conflicttest document at the
// client's default limits, each its own counter, through one shared client
// and through a client each (as separate processes would), both with Do and
// a merge rule and with Update. Every update lands exactly once; none is
// aborted.
func TestContention(t *testing.T) {
	t.Parallel()
	const writers = 8
	each := 20
	if testing.Short() {
		each = 8
	}
	for _, shared := range []bool{true, false} {
		for _, via := range []string{"Do", "Update"} {
			name := fmt.Sprintf("%s/shared=%v", via, shared)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := conflicttest.NewServer()
				t.Cleanup(srv.Close)
				srv.PutDocument("d", `{"title":"contended"}`)
				url := srv.URL + "/documents/d"
				newClient := func() *conflict.Client {
					return conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{
						Merge: jsonmerge.Merge,
					}))
				}
				one := newClient()
				var wg sync.WaitGroup
				var mu sync.Mutex
				var aborts []string
				landed := make([]int, writers)
				for w := range writers {
					c := one
					if !shared {
						c = newClient()
					}
					field := fmt.Sprintf("w%d", w)
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range each {
							var err error
							if via == "Update" {
								_, err = conflict.Update(context.Background(), c, url, func(d *map[string]any) error {
									n, _ := (*d)[field].(float64)
									(*d)[field] = n + 1
									return nil
								})
							} else {
								err = readModifyWrite(c, url, field)
							}
							mu.Lock()
							if err != nil {
								aborts = append(aborts, err.Error())
							} else {
								landed[w]++
							}
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if len(aborts) > 0 {
					t.Errorf("%d of %d updates failed; first: %s", len(aborts), writers*each, aborts[0])
				}
				body, _, _ := srv.Document("d")
				var doc map[string]any
				json.Unmarshal(body, &doc)
				for w := range writers {
					if got := doc[fmt.Sprintf("w%d", w)]; got != float64(landed[w]) {
						t.Errorf("w%d = %v, want %d: an update was lost or doubled", w, got, landed[w])
					}
				}
			})
		}
	}
}

// readModifyWrite reads the document through c, increments field, and
// writes it back with its ETag; a stale write is merged by c.
func readModifyWrite(c *conflict.Client, url, field string) error {
	get, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := c.Do(get)
	if err != nil {
		return err
	}
	var doc map[string]any
	err = json.NewDecoder(resp.Body).Decode(&doc)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	n, _ := doc[field].(float64)
	doc[field] = n + 1
	body, _ := json.Marshal(doc)
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(string(body)))
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	req.Header.Set("Content-Type", "application/json")
	resp, err = c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT answered %d", resp.StatusCode)
	}
	return nil
}

// TestTurnMergesOntoLastWrite: two writers of one client build writes on
// the same version; the second waits its turn and is merged onto what the
// first write's answer says the document now is, so it is sent under the
// current ETag and never answered 412.
func TestTurnMergesOntoLastWrite(t *testing.T) {
	t.Parallel()
	t.Run("whole answer", func(t *testing.T) { testTurn(t, false) })
	// A write answered with a summary, not the document: nothing is merged
	// onto it; the waiting write goes stale and is recovered as usual.
	t.Run("summary answer", func(t *testing.T) { testTurn(t, true) })
}

func testTurn(t *testing.T, summary bool) {
	t.Parallel()
	srv := conflicttest.NewUnstartedServer()
	srv.PutDocument("d", `{"title":"Draft","a":0,"b":0}`)
	release := make(chan struct{})
	var puts, stale atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && puts.Add(1) == 1 {
			<-release // hold the first write until the second waits its turn
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, r)
		if rec.Code == http.StatusPreconditionFailed {
			stale.Add(1)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		out := rec.Body.Bytes()
		if summary && r.Method == http.MethodPut && rec.Code == http.StatusOK {
			out = []byte(`{"status":"saved"}`)
			w.Header().Del("Content-Length")
		}
		w.WriteHeader(rec.Code)
		w.Write(out)
	}))
	t.Cleanup(front.Close)
	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	url := front.URL + "/documents/d"
	doc, etag := readDoc(t, c, url)

	write := func(field string) (*http.Response, error) {
		d := map[string]any{}
		for k, v := range doc {
			d[k] = v
		}
		d[field] = 1
		body, _ := json.Marshal(d)
		req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(string(body)))
		req.Header.Set("If-Match", etag)
		return c.Do(req)
	}
	var wg sync.WaitGroup
	results := make([]*http.Response, 2)
	for i, field := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := write(field)
			if err != nil {
				t.Error(err)
				return
			}
			r.Body.Close()
			results[i] = r
		}()
		if i == 0 {
			for puts.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for conflict.Waiting(c, url) < 2 { // the second write is waiting its turn
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	body, _, _ := srv.Document("d")
	var final map[string]any
	json.Unmarshal(body, &final)
	if final["a"] != float64(1) || final["b"] != float64(1) {
		t.Errorf("document %s: a write was lost", body)
	}
	if n, want := stale.Load(), map[bool]int32{false: 0, true: 1}[summary]; n != want {
		t.Errorf("%d writes answered 412, want %d", n, want)
	}
	outcomes := fmt.Sprint(conflict.ResultOf(results[0]).Outcome, " ", conflict.ResultOf(results[1]).Outcome)
	if outcomes != "sent merged" && outcomes != "merged sent" {
		t.Errorf("outcomes %s", outcomes)
	}
}

// TestTurnMergesOnlyOntoNewerState: a write waits its turn behind a write
// whose answer is late; meanwhile another process writes, and the waiting
// write's base is read after that. The first write's answer is then older
// than the waiting write's base, so nothing is merged onto it: merged
// there, a change that sets a member back to its value in the older state
// would vanish in the refresh that follows.
func TestTurnMergesOnlyOntoNewerState(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewUnstartedServer()
	srv.PutDocument("d", `{"x":5,"y":0}`)
	committed, release := make(chan struct{}), make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, r)
		if r.Header.Get("X-Hold") != "" {
			close(committed) // the write is applied; its answer waits
			<-release
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(front.Close)
	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	url := front.URL + "/documents/d"
	write := func(doc map[string]any, etag string, hold bool) (*http.Response, error) {
		body, _ := json.Marshal(doc)
		req := mustRequest(http.MethodPut, url, string(body))
		req.Header.Set("If-Match", etag)
		if hold {
			req.Header.Set("X-Hold", "1")
		}
		return c.Do(req)
	}

	first, etag := readDoc(t, c, url)
	first["y"] = 1
	errs := make(chan error, 2)
	go func() {
		resp, err := write(first, etag, true)
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	<-committed
	srv.PutDocument("d", `{"x":3,"y":1}`) // another process: x is 3 now
	second, etag := readDoc(t, c, url)    // the base of the second write: x 3
	second["x"] = 5                       // sets x back to its value in the first write's answer
	go func() {
		resp, err := write(second, etag, false)
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	for conflict.Waiting(c, url) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	body, _, _ := srv.Document("d")
	var final map[string]any
	json.Unmarshal(body, &final)
	if final["x"] != float64(5) || final["y"] != float64(1) {
		t.Errorf("document %s, want x 5 and y 1: the second write was lost", body)
	}
}

// foldWrite is one write of a fold test: the field it sets to 1, the title
// it sets if any, and an extra header if any.
type foldWrite struct {
	field, title, header string
}

// foldResult is what one write of a fold test returned.
type foldResult struct {
	status  int
	outcome conflict.Outcome
	err     error
}

// runFold sends writes[0] and holds it at the server until every other
// write waits its turn in the same client, queued in order; then lets it
// go. refuse, if set, makes the server answer 400 to a PUT whose body it
// matches. It returns each write's result, the PUTs the server saw, and
// the document at the end.
func runFold(t *testing.T, writes []foldWrite, refuse func(body string) bool) (results []foldResult, puts int32, final map[string]any) {
	t.Helper()
	srv := conflicttest.NewUnstartedServer()
	srv.PutDocument("d", `{"title":"Draft"}`)
	release := make(chan struct{})
	var n atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			if n.Add(1) == 1 {
				<-release
			}
			body, _ := io.ReadAll(r.Body)
			if refuse != nil && refuse(string(body)) {
				http.Error(w, `{"error":"invalid document"}`, http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	url := front.URL + "/documents/d"
	doc, etag := readDoc(t, c, url)

	results = make([]foldResult, len(writes))
	var wg sync.WaitGroup
	for i, wr := range writes {
		d := map[string]any{}
		for k, v := range doc {
			d[k] = v
		}
		d[wr.field] = 1
		if wr.title != "" {
			d["title"] = wr.title
		}
		body, _ := json.Marshal(d)
		req := mustRequest(http.MethodPut, url, string(body))
		req.Header.Set("If-Match", etag)
		if wr.header != "" {
			req.Header.Set("X-Trace", wr.header)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Do(req)
			if err != nil {
				results[i] = foldResult{err: err, outcome: conflict.Aborted}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results[i] = foldResult{status: resp.StatusCode, outcome: conflict.ResultOf(resp).Outcome}
		}()
		if i == 0 {
			for n.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		for conflict.Waiting(c, url) < i+1 { // queued in order
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	wg.Wait()
	body, _, _ := srv.Document("d")
	if err := json.Unmarshal(body, &final); err != nil {
		t.Fatal(err)
	}
	return results, n.Load(), final
}

// TestFoldQueuedWrites: writes that wait their turn in one client travel
// in one request, each merged in; every caller gets its own answer and
// outcome. A change that does not merge with the others fails alone; a
// carried write the server refuses sends each write alone; a write with
// other headers is never carried.
func TestFoldQueuedWrites(t *testing.T) {
	t.Parallel()
	fields := func(n int) []foldWrite {
		var ws []foldWrite
		for i := range n {
			ws = append(ws, foldWrite{field: fmt.Sprintf("f%d", i)})
		}
		return ws
	}
	t.Run("carried", func(t *testing.T) {
		t.Parallel()
		results, puts, final := runFold(t, fields(7), nil)
		for i, r := range results {
			if r.err != nil || r.status != http.StatusOK {
				t.Errorf("write %d: %d %v", i, r.status, r.err)
			}
			if want := map[bool]conflict.Outcome{true: conflict.Sent, false: conflict.Merged}[i == 0]; r.outcome != want {
				t.Errorf("write %d: outcome %v, want %v", i, r.outcome, want)
			}
		}
		for i := range 7 {
			if final[fmt.Sprintf("f%d", i)] != float64(1) {
				t.Errorf("f%d missing from %v", i, final)
			}
		}
		if puts != 2 {
			t.Errorf("%d PUTs, want 2: the first, and one carrying the six that waited", puts)
		}
	})
	t.Run("a change that does not merge fails alone", func(t *testing.T) {
		t.Parallel()
		ws := fields(6)
		ws[1].title, ws[5].title = "Mine", "Theirs"
		results, _, final := runFold(t, ws, nil)
		for i, r := range results {
			if i == 5 {
				if !errors.Is(r.err, conflict.ErrMergeConflict) {
					t.Errorf("write 5: %d %v, want ErrMergeConflict", r.status, r.err)
				}
				continue
			}
			if r.err != nil || r.status != http.StatusOK {
				t.Errorf("write %d: %d %v", i, r.status, r.err)
			}
		}
		if final["title"] != "Mine" || final["f5"] != nil || final["f4"] != float64(1) {
			t.Errorf("document %v: want title Mine, f0 to f4, no f5", final)
		}
	})
	t.Run("a carried write refused is sent apart", func(t *testing.T) {
		t.Parallel()
		// The server refuses any document with f3: only write 3 may fail.
		results, _, final := runFold(t, fields(6), func(body string) bool { return strings.Contains(body, `"f3"`) })
		for i, r := range results {
			want := http.StatusOK
			if i == 3 {
				want = http.StatusBadRequest
			}
			if r.err != nil || r.status != want {
				t.Errorf("write %d: %d %v, want %d", i, r.status, r.err, want)
			}
		}
		for i := range 6 {
			if got, want := final[fmt.Sprintf("f%d", i)] != nil, i != 3; got != want {
				t.Errorf("f%d present %v, want %v: %v", i, got, want, final)
			}
		}
	})
	t.Run("other headers travel alone", func(t *testing.T) {
		t.Parallel()
		ws := fields(5)
		ws[3].header = "other"
		results, puts, _ := runFold(t, ws, nil)
		for i, r := range results {
			if r.err != nil || r.status != http.StatusOK {
				t.Errorf("write %d: %d %v", i, r.status, r.err)
			}
		}
		if puts != 3 {
			t.Errorf("%d PUTs, want 3: the first, one carrying three, and the one with other headers", puts)
		}
	})
}

// readDoc reads the document at url through c: its members and ETag.
func readDoc(t *testing.T, c *conflict.Client, url string) (map[string]any, string) {
	t.Helper()
	resp, err := c.Do(mustRequest(http.MethodGet, url, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	return doc, resp.Header.Get("ETag")
}

// TestWriteMergedOntoRecentAnswer: a write sent on a version the client's
// previous write to the resource has already replaced is merged onto that
// write's answer, which the client read in full, and sent on its version:
// no stale round trip. When the answer was not read, nothing is known of
// it: the write goes stale and is recovered as usual.
func TestWriteMergedOntoRecentAnswer(t *testing.T) {
	t.Parallel()
	for _, readAnswer := range []bool{true, false} {
		t.Run(fmt.Sprintf("answer read %v", readAnswer), func(t *testing.T) {
			t.Parallel()
			srv := conflicttest.NewUnstartedServer()
			srv.PutDocument("d", `{"title":"Draft"}`)
			var stale atomic.Int32
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				srv.Handler().ServeHTTP(rec, r)
				if rec.Code == http.StatusPreconditionFailed {
					stale.Add(1)
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
			}))
			t.Cleanup(front.Close)
			c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
			url := front.URL + "/documents/d"
			doc, etag := readDoc(t, c, url)
			var outcomes []conflict.Outcome
			for _, field := range []string{"a", "b"} {
				d := map[string]any{}
				for k, v := range doc {
					d[k] = v
				}
				d[field] = 1
				body, _ := json.Marshal(d)
				req := mustRequest(http.MethodPut, url, string(body))
				req.Header.Set("If-Match", etag) // both on the version read first
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				if readAnswer {
					io.Copy(io.Discard, resp.Body)
				}
				resp.Body.Close()
				outcomes = append(outcomes, conflict.ResultOf(resp).Outcome)
			}
			body, _, _ := srv.Document("d")
			var final map[string]any
			json.Unmarshal(body, &final)
			if final["a"] != float64(1) || final["b"] != float64(1) {
				t.Errorf("document %s: a write was lost", body)
			}
			wantStale := map[bool]int32{true: 0, false: 1}[readAnswer]
			if n := stale.Load(); n != wantStale {
				t.Errorf("%d writes answered 412, want %d", n, wantStale)
			}
			if outcomes[1] != conflict.Merged {
				t.Errorf("second write: outcome %v, want merged", outcomes[1])
			}
		})
	}
}

// TestDoAndUpdateTogether: writers through Do and through Update share one
// client and one document, at default limits: the Updates take their turns
// among the Do writes (which ride with each other, never with an Update),
// and every update lands once.
func TestDoAndUpdateTogether(t *testing.T) {
	t.Parallel()
	const each = 10
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("d", `{"title":"mixed"}`)
	url := srv.URL + "/documents/d"
	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	var wg sync.WaitGroup
	errs := make(chan error, 8*each)
	for w := range 8 {
		field := fmt.Sprintf("w%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				var err error
				if w%2 == 0 {
					err = readModifyWrite(c, url, field)
				} else {
					_, err = conflict.Update(context.Background(), c, url, func(d *map[string]any) error {
						n, _ := (*d)[field].(float64)
						(*d)[field] = n + 1
						return nil
					})
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", field, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	body, _, _ := srv.Document("d")
	var final map[string]any
	json.Unmarshal(body, &final)
	for w := range 8 {
		if got := final[fmt.Sprintf("w%d", w)]; got != float64(each) {
			t.Errorf("w%d = %v, want %d: an update was lost or doubled", w, got, each)
		}
	}
}
