package conflict_test

// One test per place a version travels (Rule.Versions), each against a
// conflicttest server that takes it there, and the rule fields that came
// with version locations: Statuses, WeakETagRetry, MaxAttempts for Update,
// ids relative to the API root, bodiless creates.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// send sends a request through c and returns the response with its body
// read, or the error.
func send(t *testing.T, c *conflict.Client, method, url, body string, hdr ...string) (*http.Response, string, error) {
	t.Helper()
	return sendCtx(context.Background(), t, c, method, url, body, hdr...)
}

func sendCtx(ctx context.Context, t *testing.T, c *conflict.Client, method, url, body string, hdr ...string) (*http.Response, string, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b), nil
}

// mustSend is send that fails the test on an error or an unexpected status.
func mustSend(t *testing.T, c *conflict.Client, want int, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	resp, got, err := send(t, c, method, url, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, got)
	}
	return resp, got
}

// wantMerged checks that resp is a merge after one stale write, and that
// the server holds our title and their body.
func wantMerged(t *testing.T, srv *conflicttest.Server, resp *http.Response, wantVersion int) {
	t.Helper()
	r := conflict.ResultOf(resp)
	if r == nil || r.Outcome != conflict.Merged || r.Attempts != 2 || r.Conflict.Kind != conflict.StaleVersion {
		t.Errorf("Result = %+v, want merged after one stale version", r)
	}
	doc, v, _ := srv.Document("d1")
	if !strings.Contains(string(doc), `"title":"ours"`) || !strings.Contains(string(doc), `"body":"theirs"`) || v != wantVersion {
		t.Errorf("server holds %s at version %d, want our title and their body at %d", doc, v, wantVersion)
	}
}

// docMerge merges documents; the server owns their "version" field, which
// a write leaves at its old value, so theirs is taken there.
var docMerge = jsonmerge.New(jsonmerge.PathPolicy("/version", jsonmerge.TakeTheirs))

// docRule is the document endpoint's rule with versions vs.
func docRule(vs ...conflict.Version) conflict.Option {
	return conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: docMerge, Versions: vs})
}

// TestVersionIfMatch: the default location, If-Match sent and ETag read.
func TestVersionIfMatch(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithVersionIn(conflicttest.VersionHeader))
	t.Cleanup(srv.Close)
	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	c := conflict.New(docRule())
	resp, _ := mustSend(t, c, 200, "GET", srv.URL+"/documents/d1", "")
	etag := resp.Header.Get("ETag")
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`)

	resp, _ = mustSend(t, c, 200, "PUT", srv.URL+"/documents/d1", `{"title":"ours","body":"old"}`, "If-Match", etag)
	wantMerged(t, srv, resp, 3)
}

// TestVersionBodyField: the version in the body, sent and read at /version.
func TestVersionBodyField(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithVersionIn(conflicttest.VersionBody))
	t.Cleanup(srv.Close)
	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	c := conflict.New(docRule(conflict.Version{Send: conflict.Field("/version")}))
	mustSend(t, c, 200, "GET", srv.URL+"/documents/d1", "")
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`)

	resp, _ := mustSend(t, c, 200, "PUT", srv.URL+"/documents/d1", `{"title":"ours","body":"old","version":1}`)
	wantMerged(t, srv, resp, 3)
	if n := srv.Stats().Conflicts[409]; n != 1 {
		t.Errorf("%d 409s, want 1", n)
	}
}

// TestVersionQueryParameter: sent in the query (?ifVersionMatch=N), read
// from a body field; the merge base read at the URL without the parameter
// serves the write that carries it.
func TestVersionQueryParameter(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithVersionIn(conflicttest.VersionQuery))
	t.Cleanup(srv.Close)
	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	c := conflict.New(docRule(conflict.Version{Send: conflict.Query("ifVersionMatch"), Read: conflict.Field("/version")}))
	mustSend(t, c, 200, "GET", srv.URL+"/documents/d1", "")
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`)

	resp, _ := mustSend(t, c, 200, "PUT", srv.URL+"/documents/d1?ifVersionMatch=1", `{"title":"ours","body":"old","version":1}`)
	wantMerged(t, srv, resp, 3)
	if got := resp.Request.URL.Query().Get("ifVersionMatch"); got != "2" {
		t.Errorf("the re-send carried ifVersionMatch=%q, want 2", got)
	}
	if n := srv.Stats().Conflicts[412]; n != 1 {
		t.Errorf("%d 412s, want 1", n)
	}
}

// TestVersionCustomHeader: sent in X-Version and read from X-Version.
func TestVersionCustomHeader(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithVersionIn(conflicttest.VersionCustomHeader))
	t.Cleanup(srv.Close)
	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	c := conflict.New(docRule(conflict.Version{Send: conflict.Header("X-Version"), Read: conflict.Header("X-Version")}))
	resp, _ := mustSend(t, c, 200, "GET", srv.URL+"/documents/d1", "")
	v := resp.Header.Get("X-Version")
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`)

	resp, _ = mustSend(t, c, 200, "PUT", srv.URL+"/documents/d1", `{"title":"ours","body":"old"}`, "X-Version", v)
	wantMerged(t, srv, resp, 3)
	if got := resp.Request.Header.Get("X-Version"); got != "2" {
		t.Errorf("the re-send carried X-Version %q, want 2", got)
	}
}

// TestVersionHeaderToField: read from a reply header, written to a body
// field (as a JSON number, since it is one).
func TestVersionHeaderToField(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithVersionIn(conflicttest.VersionCustomHeader))
	t.Cleanup(srv.Close)
	srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
	c := conflict.New(docRule(conflict.Version{Send: conflict.Field("/version"), Read: conflict.Header("X-Version")}))
	mustSend(t, c, 200, "GET", srv.URL+"/documents/d1", "") // no version in the body: X-Version: 1
	srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`)

	resp, _ := mustSend(t, c, 200, "PUT", srv.URL+"/documents/d1", `{"title":"ours","body":"old","version":1}`)
	wantMerged(t, srv, resp, 3)
	if n := srv.Stats().Conflicts[409]; n != 1 {
		t.Errorf("%d 409s, want the one stale body version", n)
	}
}

// TestConditionalCreateStale: a create under "must not exist"
// (ifVersionMatch=0) that finds the document is a stale version: refreshed
// from the document's URL (Rule.Refresh: the upload URL is not readable),
// merged against the empty base the create was built on, and re-sent
// under the current version. By PUT and by POST.
func TestConditionalCreateStale(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"PUT", "POST"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			srv := conflicttest.NewServer(conflicttest.WithVersionIn(conflicttest.VersionQuery))
			t.Cleanup(srv.Close)
			version := conflict.Version{Send: conflict.Query("ifVersionMatch"), Read: conflict.Field("/version")}
			c := conflict.New(
				docRule(version),
				conflict.WithRule("POST /documents", conflict.Rule{
					Merge:    jsonmerge.Merge,
					Versions: []conflict.Version{version},
					Refresh: func(r *http.Request) string {
						return "/documents/" + r.URL.Query().Get("name")
					},
				}))
			srv.PutDocument("d1", `{"body":"theirs"}`) // created by someone else first

			url := srv.URL + "/documents/d1?ifVersionMatch=0"
			if method == "POST" {
				url = srv.URL + "/documents?name=d1&ifVersionMatch=0"
			}
			// The create was built on nothing: its base is the empty document.
			ctx := conflict.WithBase(context.Background(), []byte(`{}`))
			resp, got, err := sendCtx(ctx, t, c, method, url, `{"title":"ours"}`)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			wantMerged(t, srv, resp, 2)
			if st := srv.Stats(); st.Conflicts[412] != 1 || st.Requests["GET /documents/{id}"] != 1 {
				t.Errorf("stats %+v, want one 412 and one refresh GET", st)
			}

			// Without a base, it is not merged: nothing says what the
			// create assumed.
			_, _, err = send(t, c, method, url, `{"title":"again"}`)
			if !errors.Is(err, conflict.ErrNoBase) {
				t.Errorf("err = %v, want ErrNoBase", err)
			}
		})
	}
}

// TestStatusesKind: a bare 409 has no kind of its own; a rule's Statuses
// says what it means on its endpoint (a missing parent, as WebDAV means).
func TestStatusesKind(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer(conflicttest.WithBareConflicts(true))
	t.Cleanup(srv.Close)
	body := `{"name":"shoes","parent":"missing"}`
	for _, tc := range []struct {
		opts []conflict.Option
		want conflict.Kind
	}{
		{nil, conflict.Unknown},
		{[]conflict.Option{conflict.WithRule("POST /categories", conflict.Rule{Statuses: map[int]conflict.Kind{409: conflict.Dependency}})}, conflict.Dependency},
	} {
		_, _, err := send(t, conflict.New(tc.opts...), "POST", srv.URL+"/categories", body)
		var e *conflict.Error
		if !errors.As(err, &e) || e.Conflict.Status != 409 || e.Conflict.Kind != tc.want || e.Attempts != 1 || !errors.Is(err, conflict.ErrUnrecoverable) {
			t.Errorf("err = %v, want an abort as %s after one attempt", err, tc.want)
		}
	}
	if n := srv.Stats().Commits; n != 0 {
		t.Errorf("%d commits", n)
	}
}

// TestWeakETagWindow: a server that gives a weak ETag on the first read
// after a write. With WeakETagRetry the refresh reads again for a strong
// tag and merges; without, it aborts at the weak one.
func TestWeakETagWindow(t *testing.T) {
	t.Parallel()
	for _, retry := range []time.Duration{0, 5 * time.Second} {
		t.Run(retry.String(), func(t *testing.T) {
			t.Parallel()
			srv := conflicttest.NewServer(conflicttest.WithWeakETags(1))
			t.Cleanup(srv.Close)
			srv.PutDocument("d1", `{"title":"draft","body":"old"}`)
			raw := srv.Client()
			r, err := raw.Get(srv.URL + "/documents/d1") // inside the write's second: weak
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: docMerge, WeakETagRetry: retry}))
			resp, _ := mustSend(t, c, 200, "GET", srv.URL+"/documents/d1", "")
			etag := resp.Header.Get("ETag")
			if strings.HasPrefix(etag, "W/") {
				t.Fatalf("second read gave %s", etag)
			}
			srv.PutDocument("d1", `{"title":"draft","body":"theirs"}`) // its first read will be weak

			resp, _, err = send(t, c, "PUT", srv.URL+"/documents/d1", `{"title":"ours","body":"old"}`, "If-Match", etag)
			gets := srv.Stats().Requests["GET /documents/{id}"]
			if retry == 0 {
				if !errors.Is(err, conflict.ErrUnrecoverable) || !strings.Contains(err.Error(), "weak") {
					t.Fatalf("err = %v, want the weak-ETag abort", err)
				}
				if gets != 3 {
					t.Errorf("%d GETs, want 3 (two reads, one refresh)", gets)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantMerged(t, srv, resp, 3)
			if gets != 4 {
				t.Errorf("%d GETs, want 4 (two reads, a weak refresh, a strong one)", gets)
			}
		})
	}
}

// TestExistingIDRelativeToAPIRoot: an existing id with a slash names a
// resource from the API root ("orders/2026-88421" for POST /api/orders):
// it is read beside the collection, /api/orders/2026-88421, and only when
// that stays inside the collection and on the origin.
func TestExistingIDRelativeToAPIRoot(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var reads []string
	existing := `{"id":"2026-88421","item":"lamp"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			mu.Lock()
			reads = append(reads, r.URL.Path)
			mu.Unlock()
			io.WriteString(w, existing)
			return
		}
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"error":"duplicate","message":"an order with this reference exists","existingResourceId":"`+r.URL.Query().Get("id")+`"}`)
	}))
	t.Cleanup(srv.Close)
	c := conflict.New()
	for _, tc := range []struct {
		id, read string // read "" means refused
	}{
		{"orders/2026-88421", "/api/orders/2026-88421"},
		{"2026-88421", "/api/orders/2026-88421"},
		{"users/7", ""},
		{"orders/../users/7", ""},
		{"orders/%2e%2e/users/7", ""},
		{"//other.example/orders/1", ""},
	} {
		mu.Lock()
		reads = nil
		mu.Unlock()
		resp, _, err := send(t, c, "POST", srv.URL+"/api/orders?id="+tc.id, `{"item":"lamp"}`)
		mu.Lock()
		got := strings.Join(reads, ",")
		mu.Unlock()
		if tc.read == "" {
			if err == nil || got != "" {
				t.Errorf("id %q: adopted (err %v) after reading %q; want refused without a read", tc.id, err, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("id %q: %v", tc.id, err)
			continue
		}
		if r := conflict.ResultOf(resp); r.Outcome != conflict.Adopted || got != tc.read {
			t.Errorf("id %q: outcome %v after reading %q, want adopted from %s", tc.id, r.Outcome, got, tc.read)
		}
	}
}

// TestUpdateHonoursRuleMaxAttempts: Update stops at the rule's MaxAttempts,
// not the client's.
func TestUpdateHonoursRuleMaxAttempts(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("d", `{"n":0}`)
	c := conflict.New(conflict.WithLimits(conflict.Limits{MaxAttempts: 8}),
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{MaxAttempts: 2}))
	calls := 0
	_, err := conflict.Update(context.Background(), c, srv.URL+"/documents/d", func(d *struct{ N int }) error {
		calls++
		srv.PutDocument("d", `{"n":100}`) // every write races with another writer
		d.N++
		return nil
	})
	var e *conflict.Error
	if !errors.As(err, &e) || !errors.Is(err, conflict.ErrAttemptsExhausted) || e.Attempts != 2 || calls != 2 {
		t.Fatalf("err = %v after %d mutates, want attempts exhausted after the rule's 2", err, calls)
	}
	if n := srv.Stats().Requests["PUT /documents/{id}"]; n != 2 {
		t.Errorf("%d PUTs, want 2", n)
	}
}

// TestBodilessCreateAdopted: a create-if-absent with no body (a CouchDB
// database, here) that meets the existing resource adopts it when its rule
// says the endpoint Creates; without the rule it aborts.
func TestBodilessCreateAdopted(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			io.WriteString(w, `{"db_name":"db","doc_count":3}`)
		case http.MethodPut:
			w.WriteHeader(http.StatusPreconditionFailed)
			io.WriteString(w, `{"error":"file_exists","reason":"The database could not be created, the file already exists."}`)
		}
	}))
	t.Cleanup(srv.Close)
	c := conflict.New(conflict.WithRule("PUT /{db}", conflict.Rule{Creates: true}))
	resp, got := mustSend(t, c, 201, "PUT", srv.URL+"/db", "")
	if r := conflict.ResultOf(resp); r.Outcome != conflict.Adopted || r.Conflict.Kind != conflict.Duplicate || got != `{"db_name":"db","doc_count":3}` {
		t.Errorf("result %+v, body %s; want the existing database adopted", r, got)
	}
	// A create with a body is compared as before: these fields differ.
	if _, _, err := send(t, c, "PUT", srv.URL+"/db", `{"db_name":"other"}`); err == nil {
		t.Error("a create whose body differs from the existing resource was adopted")
	}
	// Without Creates, a PUT is no create.
	if _, _, err := send(t, conflict.New(), "PUT", srv.URL+"/db", ""); !errors.Is(err, conflict.ErrUnrecoverable) {
		t.Errorf("err = %v without the rule, want an abort", err)
	}
}

// TestRefreshDropsVersionParameters: the refresh read does not carry the
// write's version parameters (a read under ifGenerationMatch is itself
// conditional on the stale version, and fails), and a base read without
// them serves the write that carries them.
func TestRefreshDropsVersionParameters(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	gen, content := 2, `{"title":"draft","body":"theirs"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		q := r.URL.Query()
		if r.Method == http.MethodGet {
			if q.Has("ifGenerationMatch") {
				w.WriteHeader(http.StatusPreconditionFailed) // as the stale write would be
				return
			}
			w.Header().Set("X-Goog-Generation", strconv.Itoa(gen))
			io.WriteString(w, content)
			return
		}
		if q.Get("ifGenerationMatch") != strconv.Itoa(gen) {
			w.WriteHeader(http.StatusPreconditionFailed)
			io.WriteString(w, `{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold.","errors":[{"reason":"conditionNotMet"}]}}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		gen, content = gen+1, string(b)
		w.Header().Set("X-Goog-Generation", strconv.Itoa(gen))
		io.WriteString(w, content)
	}))
	t.Cleanup(srv.Close)
	c := conflict.New(conflict.WithRule("PUT /o/{name}", conflict.Rule{
		Merge:    jsonmerge.Merge,
		Versions: []conflict.Version{{Send: conflict.Query("ifGenerationMatch"), Read: conflict.Header("X-Goog-Generation")}},
	}))
	// The base: generation 1, read through the client.
	mu.Lock()
	gen, content = 1, `{"title":"draft","body":"old"}`
	mu.Unlock()
	mustSend(t, c, 200, "GET", srv.URL+"/o/doc", "")
	mu.Lock()
	gen, content = 2, `{"title":"draft","body":"theirs"}` // another writer
	mu.Unlock()

	resp, got := mustSend(t, c, 200, "PUT", srv.URL+"/o/doc?ifGenerationMatch=1", `{"title":"ours","body":"old"}`)
	if r := conflict.ResultOf(resp); r.Outcome != conflict.Merged || got != `{"body":"theirs","title":"ours"}` && got != `{"title":"ours","body":"theirs"}` {
		t.Errorf("result %+v, body %s; want merged", r, got)
	}
}
