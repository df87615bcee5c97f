package conflict

// Adversarial probes of Update and of RoundTrip / StandardClient, each
// against a real httptest server. The invariants: an Update that returns
// nil has its change in the server's state exactly once and returns the
// server's state (or its own mutated value when the answer had no body);
// one that fails applied nothing or says its fate is unknown; no member the
// caller did not change is lost or invented; nothing is derived from, or
// written to, another resource; every call ends by its limits.

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

// u2Server holds JSON documents by path, each with its own version counter
// (so two resources at the same version share an ETag, as with most
// version-counter APIs). GET answers the document and its ETag; PUT needs
// If-Match of the current ETag (else 412), stores the body as sent, and
// answers 200 with it. hook, if set, may answer a request itself (it
// returns true then); it runs with the server unlocked.
type u2Server struct {
	mu   sync.Mutex
	docs map[string]string
	vers map[string]int
	puts []u2Put
	gets atomic.Int32
	hook func(w http.ResponseWriter, r *http.Request, body []byte) bool
	srv  *httptest.Server
}

type u2Put struct{ path, ifMatch, body string }

func newU2Server(t *testing.T) *u2Server {
	t.Helper()
	s := &u2Server{docs: map[string]string{}, vers: map[string]int{}}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *u2Server) url(path string) string { return s.srv.URL + path }

func (s *u2Server) set(path, doc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = doc
	s.vers[path]++
}

func (s *u2Server) doc(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.docs[path]
}

func (s *u2Server) etag(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf(`"%d"`, s.vers[path])
}

func (s *u2Server) putLog() []u2Put {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]u2Put(nil), s.puts...)
}

func (s *u2Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodGet {
		s.gets.Add(1)
	}
	if r.Method == http.MethodPut {
		s.mu.Lock()
		s.puts = append(s.puts, u2Put{r.URL.Path, r.Header.Get("If-Match"), string(body)})
		s.mu.Unlock()
	}
	if h := s.hook; h != nil && h(w, r, body) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, ok := s.docs[r.URL.Path]
	if !ok {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	tag := fmt.Sprintf(`"%d"`, s.vers[r.URL.Path])
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("ETag", tag)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc)
	case http.MethodPut:
		if r.Header.Get("If-Match") != tag {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusPreconditionFailed)
			io.WriteString(w, `{"code":"version_mismatch","message":"stale"}`)
			return
		}
		s.docs[r.URL.Path] = string(body)
		s.vers[r.URL.Path]++
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, s.vers[r.URL.Path]))
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// u2Decode decodes a document as a Go server would (the last of duplicate
// members wins).
func u2Decode(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("document %q: %v", doc, err)
	}
	return m
}

// u2Client is a client with short limits, so that a probe that goes wrong
// ends quickly.
func u2Client(opts ...Option) *Client {
	return New(append([]Option{WithLimits(Limits{MaxElapsed: 2 * time.Second, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond})}, opts...)...)
}

type u2Doc struct {
	Title string `json:"title"`
	Count int    `json:"count"`
}

func u2Inc(d *u2Doc) error { d.Count++; return nil }

// --- Update: the read must be of this resource -----------------------------

// TestProbeUpd2GetRedirectedToOtherResource: the GET of /documents/d is
// redirected (307) to /documents/other, which is at the same version
// counter and so has the same ETag. Update must not derive its write from
// the other resource's representation: nothing of "other" may be written
// to d (and the write, if any, must be built on d's own state).
func TestProbeUpd2GetRedirectedToOtherResource(t *testing.T) {
	t.Parallel()
	s := newU2Server(t)
	s.set("/documents/d", `{"title":"mine","count":0,"owner":"ana"}`)
	s.set("/documents/other", `{"title":"theirs","count":41,"owner":"eve","secret":"s3"}`)
	s.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if r.Method == http.MethodGet && r.URL.Path == "/documents/d" {
			http.Redirect(w, r, "/documents/other", http.StatusTemporaryRedirect)
			return true
		}
		return false
	}
	got, err := Update(context.Background(), u2Client(), s.url("/documents/d"), u2Inc)
	final := u2Decode(t, s.doc("/documents/d"))
	t.Logf("Update = %+v, %v; d = %v; PUTs %+v", got, err, final, s.putLog())
	if final["owner"] != "ana" || final["title"] != "mine" || final["secret"] != nil {
		t.Errorf("d now holds the other resource's members: %v (Update derived on a redirected read)", final)
	}
	if err == nil && final["count"] != 1.0 {
		t.Errorf("Update returned nil but d's count is %v, want 1", final["count"])
	}
	for _, p := range s.putLog() {
		if strings.Contains(p.body, "eve") || strings.Contains(p.body, "s3") {
			t.Errorf("PUT %s carried the other resource's members: %s", p.path, p.body)
		}
	}
}

// TestProbeUpd2PutRedirectedToOtherResource: Update's PUT of /documents/d
// is redirected (307, same origin) to /documents/other, at the same ETag.
// The write Update derived for d must not land on another resource, and
// Update must not report success when d does not hold its change.
func TestProbeUpd2PutRedirectedToOtherResource(t *testing.T) {
	t.Parallel()
	s := newU2Server(t)
	s.set("/documents/d", `{"title":"mine","count":0}`)
	s.set("/documents/other", `{"title":"theirs","count":41}`)
	s.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if r.Method == http.MethodPut && r.URL.Path == "/documents/d" {
			http.Redirect(w, r, "/documents/other", http.StatusTemporaryRedirect)
			return true
		}
		return false
	}
	got, err := Update(context.Background(), u2Client(), s.url("/documents/d"), u2Inc)
	d, other := u2Decode(t, s.doc("/documents/d")), u2Decode(t, s.doc("/documents/other"))
	t.Logf("Update = %+v, %v; d = %v; other = %v", got, err, d, other)
	if other["title"] != "theirs" || other["count"] != 41.0 {
		t.Errorf("the write derived for d landed on another resource: other = %v", other)
	}
	if err == nil && d["count"] != 1.0 {
		t.Errorf("Update returned nil (value %+v) but d holds %v: its change is not there", got, d)
	}
}

// TestProbeUpd2GetRedirectedCrossOrigin: as
// TestProbeUpd2GetRedirectedToOtherResource, but the GET is redirected to
// another origin. Update must not read there, nor write what it read there
// to d.
func TestProbeUpd2GetRedirectedCrossOrigin(t *testing.T) {
	t.Parallel()
	foreign := newU2Server(t)
	foreign.set("/documents/d", `{"title":"foreign","count":99,"owner":"mallory"}`)
	s := newU2Server(t)
	s.set("/documents/d", `{"title":"mine","count":0,"owner":"ana"}`)
	s.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, foreign.url("/documents/d"), http.StatusTemporaryRedirect)
			return true
		}
		return false
	}
	got, err := Update(context.Background(), u2Client(), s.url("/documents/d"), u2Inc)
	final := u2Decode(t, s.doc("/documents/d"))
	t.Logf("Update = %+v, %v; d = %v; foreign GETs %d", got, err, final, foreign.gets.Load())
	if final["owner"] != "ana" || final["title"] != "mine" {
		t.Errorf("d now holds another origin's document: %v", final)
	}
	if err == nil && final["count"] != 1.0 {
		t.Errorf("Update returned nil but d's count is %v, want 1", final["count"])
	}
}

// TestProbeUpd2GetVersionUnverified: a GET answered with an ETag that
// If-Match cannot use (weak, two headers, a list, unquoted, none) gives
// Update no version to write under: it must fail, and write nothing.
func TestProbeUpd2GetVersionUnverified(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"weak":        {`W/"1"`},
		"two headers": {`"1"`, `"2"`},
		"list":        {`"1", "2"`},
		"unquoted":    {`1`},
		"star":        {`*`},
		"none":        nil,
	}
	for name, tags := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newU2Server(t)
			s.set("/documents/d", `{"title":"t","count":0}`)
			s.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
				if r.Method != http.MethodGet {
					return false
				}
				for _, tag := range tags {
					w.Header().Add("ETag", tag)
				}
				io.WriteString(w, s.doc("/documents/d"))
				return true
			}
			_, err := Update(context.Background(), u2Client(), s.url("/documents/d"), u2Inc)
			if err == nil {
				t.Errorf("Update succeeded on a read with ETag %q", tags)
			}
			if n := len(s.putLog()); n != 0 {
				t.Errorf("%d PUTs under an unverified version %q: %+v", n, tags, s.putLog())
			}
		})
	}
}

// TestProbeUpd2GetBodyUnusable: a GET body that is not an object of T
// (an array, a string, truncated JSON, a body cut short of its
// Content-Length, one larger than Limits.MaxBodyBuffer) makes Update fail
// without writing.
func TestProbeUpd2GetBodyUnusable(t *testing.T) {
	t.Parallel()
	big := `{"title":"` + strings.Repeat("x", 4<<10) + `","count":0}`
	cases := map[string]func(w http.ResponseWriter){
		"array":     func(w http.ResponseWriter) { io.WriteString(w, `[{"count":0}]`) },
		"string":    func(w http.ResponseWriter) { io.WriteString(w, `"count"`) },
		"truncated": func(w http.ResponseWriter) { io.WriteString(w, `{"title":"t","count":0`) },
		"trailing":  func(w http.ResponseWriter) { io.WriteString(w, `{"title":"t","count":0}{"count":9}`) },
		"cut short": func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, `{"title":"t","count":0}`)
		},
		"too large": func(w http.ResponseWriter) { io.WriteString(w, big) },
	}
	for name, write := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newU2Server(t)
			s.set("/documents/d", `{"title":"t","count":0}`)
			s.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
				if r.Method != http.MethodGet {
					return false
				}
				w.Header().Set("ETag", s.etag("/documents/d"))
				write(w)
				return true
			}
			c := New(WithLimits(Limits{MaxElapsed: 2 * time.Second, MaxBodyBuffer: 1 << 10, TransportRetries: -1}))
			got, err := Update(context.Background(), c, s.url("/documents/d"), u2Inc)
			if err == nil {
				t.Errorf("Update = %+v, nil on an unusable read", got)
			}
			if n := len(s.putLog()); n != 0 {
				t.Errorf("%d PUTs built on an unusable read: %+v", n, s.putLog())
			}
		})
	}
}

// TestProbeUpd2GetBodyNull: a GET answered 200 with the JSON literal null
// is no representation of an object: json.Unmarshal leaves T zero, without
// error. Update must not invent a document from T's zero value and write
// it over the resource.
func TestProbeUpd2GetBodyNull(t *testing.T) {
	t.Parallel()
	s := newU2Server(t)
	s.set("/documents/d", `null`)
	got, err := Update(context.Background(), u2Client(), s.url("/documents/d"), u2Inc)
	t.Logf("Update = %+v, %v; PUTs %+v", got, err, s.putLog())
	if err == nil || len(s.putLog()) != 0 {
		t.Errorf("Update = %+v, %v with %d PUTs: a document was written from T's zero value over null", got, err, len(s.putLog()))
	}
}

// TestProbeUpd2DuplicateAndFoldedMembers: the representation has
// duplicate member names, or two spellings of one member that
// encoding/json folds into the same field. T sees the member as a Go
// server does (the last wins); the write must leave the server (decoding
// as Go does) with exactly mutate's change: the member mutate set holds its
// new value, and the others keep theirs.
func TestProbeUpd2DuplicateAndFoldedMembers(t *testing.T) {
	t.Parallel()
	type doc struct {
		A     int    `json:"a"`
		Title string `json:"title"`
	}
	cases := []struct {
		name, start string
		mutate      func(*doc) error
		want        map[string]any
	}{
		{"duplicate, changed", `{"a":1,"a":2,"title":"t"}`, func(d *doc) error { d.A++; return nil }, map[string]any{"a": 3.0, "title": "t"}},
		{"duplicate, other changed", `{"a":1,"a":2,"title":"t"}`, func(d *doc) error { d.Title = "u"; return nil }, map[string]any{"a": 2.0, "title": "u"}},
		{"folded, changed", `{"Title":"x","title":"y","a":0}`, func(d *doc) error {
			if d.Title != "y" {
				return fmt.Errorf("T saw title %q, want y", d.Title)
			}
			d.Title = "z"
			return nil
		}, map[string]any{"title": "z"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newU2Server(t)
			s.set("/documents/d", tc.start)
			got, err := Update(context.Background(), u2Client(), s.url("/documents/d"), tc.mutate)
			final := s.doc("/documents/d")
			t.Logf("Update = %+v, %v; document %s", got, err, final)
			if err != nil {
				return // refusing is safe; nothing to check but that nothing was written
			}
			var asGo doc
			json.Unmarshal([]byte(final), &asGo)
			m := u2Decode(t, final)
			for k, v := range tc.want {
				if m[k] != v {
					t.Errorf("member %s = %v, want %v (document %s)", k, m[k], v, final)
				}
			}
			if tc.name == "folded, changed" && asGo.Title != "z" {
				t.Errorf("a Go server reads title %q from %s, want z: the change is lost", asGo.Title, final)
			}
		})
	}
}

// TestProbeUpd2HugeNumbers: numbers T decodes lossily (a float64 field
// holding 12345678901234567890) or cannot hold (an int64 field; 1e400 in
// a float64) are either kept with their exact text when mutate does not
// change them, or make Update fail without writing. A member T does not
// model keeps its text whatever its size.
func TestProbeUpd2HugeNumbers(t *testing.T) {
	t.Parallel()
	const start = `{"big":12345678901234567890,"huge":1e400,"tiny":1e-400,"count":0}`
	t.Run("unmodelled", func(t *testing.T) {
		t.Parallel()
		s := newU2Server(t)
		s.set("/documents/d", start)
		_, err := Update(context.Background(), u2Client(), s.url("/documents/d"), func(d *struct {
			Count int `json:"count"`
		}) error {
			d.Count++
			return nil
		})
		final := s.doc("/documents/d")
		if err != nil {
			t.Fatal(err)
		}
		for _, lit := range []string{"12345678901234567890", "1e400", "1e-400", `"count":1`} {
			if !strings.Contains(final, lit) {
				t.Errorf("document %s lost %s", final, lit)
			}
		}
	})
	t.Run("float64 lossy", func(t *testing.T) {
		t.Parallel()
		s := newU2Server(t)
		s.set("/documents/d", `{"big":12345678901234567890,"count":0}`)
		_, err := Update(context.Background(), u2Client(), s.url("/documents/d"), func(d *struct {
			Big   float64 `json:"big"`
			Count int     `json:"count"`
		}) error {
			d.Count++
			return nil
		})
		final := s.doc("/documents/d")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(final, "12345678901234567890") || !strings.Contains(final, `"count":1`) {
			t.Errorf("document %s: the unchanged number was rounded through float64", final)
		}
	})
	t.Run("cannot hold", func(t *testing.T) {
		t.Parallel()
		s := newU2Server(t)
		s.set("/documents/d", start)
		_, err1 := Update(context.Background(), u2Client(), s.url("/documents/d"), func(d *struct {
			Big   int64 `json:"big"`
			Count int   `json:"count"`
		}) error {
			d.Count++
			return nil
		})
		_, err2 := Update(context.Background(), u2Client(), s.url("/documents/d"), func(d *struct {
			Huge  float64 `json:"huge"`
			Count int     `json:"count"`
		}) error {
			d.Count++
			return nil
		})
		if err1 == nil || err2 == nil || len(s.putLog()) != 0 {
			t.Errorf("errors %v, %v, %d PUTs: a value T cannot hold must stop Update", err1, err2, len(s.putLog()))
		}
	})
}

// TestProbeUpd2ArrayElementsShift: T models only the id of each element
// of an array whose elements carry members T does not model. mutate removes
// the first element, inserts one at the front, or swaps the two. The members T does not
// model must stay with their own element (matched by what mutate did, not
// by position): no element may get another's members, and no kept element
// may lose its own.
func TestProbeUpd2ArrayElementsShift(t *testing.T) {
	t.Parallel()
	type item struct {
		ID int `json:"id"`
	}
	type doc struct {
		Items []item `json:"items"`
	}
	const start = `{"items":[{"id":1,"x":"one"},{"id":2,"x":"two"}]}`
	cases := []struct {
		name   string
		mutate func(*doc) error
		want   string
	}{
		{"append", func(d *doc) error { d.Items = append(d.Items, item{3}); return nil }, `{"items":[{"id":1,"x":"one"},{"id":2,"x":"two"},{"id":3}]}`},
		{"remove first", func(d *doc) error { d.Items = d.Items[1:]; return nil }, `{"items":[{"id":2,"x":"two"}]}`},
		{"prepend", func(d *doc) error { d.Items = append([]item{{0}}, d.Items...); return nil }, `{"items":[{"id":0},{"id":1,"x":"one"},{"id":2,"x":"two"}]}`},
		{"swap", func(d *doc) error { d.Items[0], d.Items[1] = d.Items[1], d.Items[0]; return nil }, `{"items":[{"id":2,"x":"two"},{"id":1,"x":"one"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newU2Server(t)
			s.set("/documents/d", start)
			_, err := Update(context.Background(), u2Client(), s.url("/documents/d"), tc.mutate)
			final := s.doc("/documents/d")
			if err != nil {
				if final != start {
					t.Errorf("Update failed (%v) but the document changed: %s", err, final)
				}
				return // refusing is safe
			}
			if fmt.Sprint(u2Decode(t, final)) != fmt.Sprint(u2Decode(t, tc.want)) {
				t.Errorf("document %s, want %s: members T does not model moved to another element or were lost", final, tc.want)
			}
		})
	}
}

// u2Status is a status whose MarshalJSON writes upper case and whose
// UnmarshalJSON accepts any case.
type u2Status string

func (s u2Status) MarshalJSON() ([]byte, error) { return json.Marshal(strings.ToUpper(string(s))) }
func (s *u2Status) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = u2Status(strings.ToLower(v))
	return nil
}

// TestProbeUpd2TypedShapes: T with a json:"-" field, omitempty fields and a
// custom MarshalJSON. Members mutate did not change keep their server form
// (an empty string that omitempty hides is not deleted, a status spelled
// "active" is not rewritten "ACTIVE", members named "Secret" and "-" are
// kept), and nothing T's encoding adds is invented.
func TestProbeUpd2TypedShapes(t *testing.T) {
	t.Parallel()
	type doc struct {
		Count  int      `json:"count"`
		Secret string   `json:"-"`
		Note   string   `json:"note,omitempty"`
		N      int      `json:"n,omitempty"`
		Status u2Status `json:"status"`
	}
	s := newU2Server(t)
	const start = `{"count":0,"Secret":"s","-":"dash","note":"","n":0,"status":"active","extra":{"deep":[1,{"x":null}]}}`
	s.set("/documents/d", start)
	got, err := Update(context.Background(), u2Client(), s.url("/documents/d"), func(d *doc) error {
		d.Count++
		d.Secret = "changed locally, not modelled"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	final := u2Decode(t, s.doc("/documents/d"))
	want := u2Decode(t, strings.Replace(start, `"count":0`, `"count":1`, 1))
	if fmt.Sprint(final) != fmt.Sprint(want) {
		t.Errorf("document %s, want %v", s.doc("/documents/d"), want)
	}
	if got.Count != 1 || got.Status != "active" {
		t.Errorf("Update returned %+v", got)
	}
}

// --- Update: the PUT's answer ----------------------------------------------

// TestProbeUpd2SummaryAnswerValue: the PUT is answered 200 with a summary
// ({"ok":true}), not the representation. Update's value must be the
// server's state or, lacking it, the value mutate left, never a T decoded
// from the summary (all zero: a count of 0 after an increment to 1).
func TestProbeUpd2SummaryAnswerValue(t *testing.T) {
	t.Parallel()
	s := newU2Server(t)
	s.set("/documents/d", `{"title":"t","count":0}`)
	s.hook = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if r.Method != http.MethodPut {
			return false
		}
		s.mu.Lock()
		s.docs[r.URL.Path] = string(body)
		s.vers[r.URL.Path]++
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, s.vers[r.URL.Path]))
		s.mu.Unlock()
		io.WriteString(w, `{"ok":true}`)
		return true
	}
	got, err := Update(context.Background(), u2Client(), s.url("/documents/d"), u2Inc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 1 || got.Title != "t" {
		t.Errorf("Update returned %+v after the server stored %s: a T decoded from the summary answer, not the state", got, s.doc("/documents/d"))
	}
}

// TestProbeUpd2NoBodyAnswers: the PUT is answered 204 or 201 with no body.
// Update returns the value mutate left, and the client's next Update reads
// again (it has no representation to build on): both increments land.
func TestProbeUpd2NoBodyAnswers(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusNoContent, http.StatusCreated} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			s := newU2Server(t)
			s.set("/documents/d", `{"title":"t","count":0,"owner":"ana"}`)
			s.hook = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
				if r.Method != http.MethodPut {
					return false
				}
				s.mu.Lock()
				defer s.mu.Unlock()
				if r.Header.Get("If-Match") != fmt.Sprintf(`"%d"`, s.vers[r.URL.Path]) {
					w.WriteHeader(http.StatusPreconditionFailed)
					return true
				}
				s.docs[r.URL.Path] = string(body)
				s.vers[r.URL.Path]++
				w.Header().Set("ETag", fmt.Sprintf(`"%d"`, s.vers[r.URL.Path]))
				w.WriteHeader(status)
				return true
			}
			c := u2Client()
			for i := 1; i <= 2; i++ {
				got, err := Update(context.Background(), c, s.url("/documents/d"), u2Inc)
				if err != nil || got.Count != i || got.Title != "t" {
					t.Fatalf("Update %d = %+v, %v", i, got, err)
				}
			}
			if m := u2Decode(t, s.doc("/documents/d")); m["count"] != 2.0 || m["owner"] != "ana" {
				t.Errorf("document %v, want count 2 with owner kept", m)
			}
		})
	}
}

// TestProbeUpd2PutAnswerNotTheState: Update A's PUT is held at the server
// while Update B waits its turn; the server stores A's write but answers
// it with a body that is not the state A's write left: the old state, or
// another resource that has every member A sent. B must not build on that
// answer: both increments land, and nothing of the other resource is
// written.
func TestProbeUpd2PutAnswerNotTheState(t *testing.T) {
	t.Parallel()
	answers := map[string]func(before, after string) string{
		"old state":      func(before, _ string) string { return before },
		"other resource": func(_, _ string) string { return `{"title":"t","count":7,"owner":"eve"}` },
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newU2Server(t)
			s.set("/documents/d", `{"title":"t","count":0}`)
			arrived, release := make(chan struct{}), make(chan struct{})
			var puts atomic.Int32
			s.hook = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
				if r.Method != http.MethodPut || puts.Add(1) != 1 {
					return false
				}
				close(arrived)
				<-release
				s.mu.Lock()
				defer s.mu.Unlock()
				before := s.docs[r.URL.Path]
				s.docs[r.URL.Path] = string(body)
				s.vers[r.URL.Path]++
				w.Header().Set("ETag", fmt.Sprintf(`"%d"`, s.vers[r.URL.Path]))
				io.WriteString(w, answer(before, string(body)))
				return true
			}
			c := u2Client()
			u := s.url("/documents/d")
			errA := make(chan error, 1)
			go func() { _, err := Update(context.Background(), c, u, u2Inc); errA <- err }()
			<-arrived
			type res struct {
				v   u2Doc
				err error
			}
			resB := make(chan res, 1)
			go func() { v, err := Update(context.Background(), c, u, u2Inc); resB <- res{v, err} }()
			waitFor(t, "B to wait its turn", func() bool { return Waiting(c, u) == 2 })
			close(release)
			if err := <-errA; err != nil {
				t.Fatalf("Update A: %v", err)
			}
			b := <-resB
			final := u2Decode(t, s.doc("/documents/d"))
			t.Logf("B = %+v, %v; document %v; GETs %d", b.v, b.err, final, s.gets.Load())
			if b.err != nil {
				t.Fatalf("Update B: %v", b.err)
			}
			if final["count"] != 2.0 || final["owner"] != nil {
				t.Errorf("document %v, want count 2 and no member of the answer's body: B built on A's answer", final)
			}
		})
	}
}

// TestProbeUpd2Put412Forever: every PUT is answered 412 while every GET
// gives the same ETag. Update re-derives (mutate runs once per read), ends
// by Limits.MaxElapsed with an error, and nothing is applied.
func TestProbeUpd2Put412Forever(t *testing.T) {
	t.Parallel()
	s := newU2Server(t)
	s.set("/documents/d", `{"title":"t","count":0}`)
	s.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if r.Method != http.MethodPut {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusPreconditionFailed)
		io.WriteString(w, `{"code":"version_mismatch"}`)
		return true
	}
	c := New(WithLimits(Limits{MaxAttempts: 100000, MaxElapsed: 300 * time.Millisecond, BackoffMin: time.Millisecond, BackoffMax: 20 * time.Millisecond}))
	var calls atomic.Int32
	start := time.Now()
	_, err := Update(context.Background(), c, s.url("/documents/d"), func(d *u2Doc) error { calls.Add(1); d.Count++; return nil })
	took := time.Since(start)
	if err == nil || took > 2*time.Second {
		t.Errorf("Update: %v after %v; want an error by MaxElapsed (300ms)", err, took)
	}
	if !errors.Is(err, ErrAttemptsExhausted) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want attempts exhausted or the time limit", err)
	}
	if n := int32(len(s.putLog())); n != calls.Load() {
		t.Errorf("%d PUTs for %d derivations: a PUT was re-sent without re-deriving", n, calls.Load())
	}
	t.Logf("%d derivations in %v: %v", calls.Load(), took, err)
}

// TestProbeUpd2BusinessRule409: a PUT answered 409 for a business rule (an
// invalid transition), not a stale version: Update stops at once with an
// *Error of that kind, mutate runs once, one PUT is sent.
func TestProbeUpd2BusinessRule409(t *testing.T) {
	t.Parallel()
	s := newU2Server(t)
	s.set("/documents/d", `{"title":"t","count":0}`)
	s.hook = func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
		if r.Method != http.MethodPut {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"code":"invalid_transition","message":"an archived document cannot change"}`)
		return true
	}
	var calls atomic.Int32
	_, err := Update(context.Background(), u2Client(), s.url("/documents/d"), func(d *u2Doc) error { calls.Add(1); d.Count++; return nil })
	var e *Error
	if !errors.As(err, &e) || e.Conflict == nil || e.Conflict.Kind != InvalidTransition {
		t.Fatalf("err = %v, want an *Error of kind InvalidTransition", err)
	}
	if calls.Load() != 1 || len(s.putLog()) != 1 {
		t.Errorf("mutate ran %d times, %d PUTs; want 1 and 1", calls.Load(), len(s.putLog()))
	}
}

// TestProbeUpd2RederiveFindsNothingToDo: the first PUT is stale because
// another process made the very change mutate makes; re-derived on the
// fresh state, mutate changes nothing, so nothing more is written and
// Update returns that state.
func TestProbeUpd2RederiveFindsNothingToDo(t *testing.T) {
	t.Parallel()
	s := newU2Server(t)
	s.set("/documents/d", `{"title":"t","count":0}`)
	var calls atomic.Int32
	got, err := Update(context.Background(), u2Client(), s.url("/documents/d"), func(d *u2Doc) error {
		if calls.Add(1) == 1 {
			s.set("/documents/d", `{"title":"done","count":5}`) // another process
		}
		d.Title = "done"
		return nil
	})
	if err != nil || got.Title != "done" || got.Count != 5 {
		t.Fatalf("Update = %+v, %v; want the fresh state", got, err)
	}
	if n := len(s.putLog()); n != 1 || s.doc("/documents/d") != `{"title":"done","count":5}` {
		t.Errorf("%d PUTs, document %s", n, s.doc("/documents/d"))
	}
}

// TestProbeUpd2CarriedSummaryAnswer: several Updates of one document wait
// while the first holds the turn; the holder's PUT carries theirs and the
// server answers it 200 with a summary ({"ok":true}). Every increment lands
// exactly once, no member is lost, and every Update returns a value that
// holds its own increment (the mutated value, since the answer is no
// representation), not a T decoded from the summary.
func TestProbeUpd2CarriedSummaryAnswer(t *testing.T) {
	t.Parallel()
	s := newU2Server(t)
	s.set("/documents/d", `{"title":"t","count":0,"owner":"ana"}`)
	arrived, release := make(chan struct{}), make(chan struct{})
	var gets atomic.Int32
	s.hook = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		switch r.Method {
		case http.MethodGet:
			if gets.Add(1) == 1 {
				close(arrived)
				<-release
			}
			return false
		case http.MethodPut:
			s.mu.Lock()
			defer s.mu.Unlock()
			if r.Header.Get("If-Match") != fmt.Sprintf(`"%d"`, s.vers[r.URL.Path]) {
				w.WriteHeader(http.StatusPreconditionFailed)
				return true
			}
			s.docs[r.URL.Path] = string(body)
			s.vers[r.URL.Path]++
			w.Header().Set("ETag", fmt.Sprintf(`"%d"`, s.vers[r.URL.Path]))
			io.WriteString(w, `{"ok":true}`)
			return true
		}
		return false
	}
	c := u2Client()
	u := s.url("/documents/d")
	const n = 4
	vals := make([]u2Doc, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals[i], errs[i] = Update(context.Background(), c, u, u2Inc)
		}()
		if i == 0 {
			<-arrived
		}
	}
	waitFor(t, "the riders", func() bool { return probeRiders(c, u) == n-1 })
	close(release)
	wg.Wait()
	final := u2Decode(t, s.doc("/documents/d"))
	t.Logf("values %+v, errors %v, document %v, PUTs %d", vals, errs, final, len(s.putLog()))
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	if final["count"] != float64(n) || final["owner"] != "ana" {
		t.Errorf("document %v, want count %d with owner kept", final, n)
	}
	for i, v := range vals {
		if errs[i] == nil && (v.Count < 1 || v.Title != "t") {
			t.Errorf("Update %d returned %+v: a T decoded from the summary, not the state", i, v)
		}
	}
}

// TestProbeUpd2MutateSeesOwnChangeOnce: through one client, concurrent
// Updates each append their id to a list; every id is in the final list
// exactly once, and members T does not model survive. Guards carrying
// (several mutates on one document) against doubling or dropping an
// append.
func TestProbeUpd2MutateSeesOwnChangeOnce(t *testing.T) {
	t.Parallel()
	type doc struct {
		IDs []int `json:"ids"`
	}
	s := newU2Server(t)
	s.set("/documents/d", `{"ids":[],"owner":"ana","meta":{"k":1}}`)
	c := u2Client(WithLimits(Limits{MaxAttempts: 200, MaxElapsed: 10 * time.Second}))
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Update(context.Background(), c, s.url("/documents/d"), func(d *doc) error {
				d.IDs = append(d.IDs, i)
				return nil
			})
		}()
	}
	wg.Wait()
	var final struct {
		IDs   []int          `json:"ids"`
		Owner string         `json:"owner"`
		Meta  map[string]int `json:"meta"`
	}
	json.Unmarshal([]byte(s.doc("/documents/d")), &final)
	seen := map[int]int{}
	for _, id := range final.IDs {
		seen[id]++
	}
	for i := range n {
		if errs[i] == nil && seen[i] != 1 {
			t.Errorf("Update %d returned nil; its id is in the list %d times: %v", i, seen[i], final.IDs)
		}
		if errs[i] != nil && seen[i] != 0 {
			t.Logf("Update %d failed (%v) and its id is there %d times", i, errs[i], seen[i])
		}
	}
	if final.Owner != "ana" || final.Meta["k"] != 1 {
		t.Errorf("members lost: %s", s.doc("/documents/d"))
	}
}

// --- RoundTrip / StandardClient --------------------------------------------

// TestProbeRoundTripConflictBodyIntact: through StandardClient, a 409 the
// client does not recover (an invalid transition, with a body far larger
// than what Classify reads) reaches the caller as the server's response,
// every byte of its body readable, and ResultOf tells the abort.
func TestProbeRoundTripConflictBodyIntact(t *testing.T) {
	t.Parallel()
	payload := `{"code":"invalid_transition","message":"cannot ship","detail":"` + strings.Repeat("0123456789", 20<<10) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "r-1")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, payload)
	}))
	t.Cleanup(srv.Close)
	hc := u2Client(WithRule("PUT /orders/{id}", Rule{Merge: jsonmerge.Merge})).StandardClient()
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		req, _ := http.NewRequest(method, srv.URL+"/orders/1", strings.NewReader(`{"state":"shipped"}`))
		req.Header.Set("If-Match", `"1"`)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		got, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict || string(got) != payload || rerr != nil || resp.Header.Get("X-Request-Id") != "r-1" {
			t.Errorf("%s: status %d, %d of %d body bytes (%v)", method, resp.StatusCode, len(got), len(payload), rerr)
		}
		// The kind may be Unknown: Classify reads a bounded prefix of so
		// large a body. Either way the call aborts.
		if r := ResultOf(resp); r == nil || r.Outcome != Aborted || r.Err == nil || r.Attempts != 1 {
			t.Errorf("%s: ResultOf = %+v", method, r)
		}
	}
}

// TestProbeRoundTripKeyInUseAfterLostAnswer: a POST through StandardClient
// carries the caller's Idempotency-Key; the server commits it and drops
// the answer, so the transport retry meets 409 "key in use" (the first
// still finishing), then the replayed result. Every send carries the same
// key, the order is created once, and the caller gets the 201.
func TestProbeRoundTripKeyInUseAfterLostAnswer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys []string
	creates := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		if n == 1 {
			creates++
		}
		mu.Unlock()
		switch n {
		case 1:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		case 2:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"code":"idempotency_key_in_use","message":"a request with this key is in progress"}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"o1"}`)
		}
	}))
	t.Cleanup(srv.Close)
	hc := u2Client().StandardClient()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"item":"pen"}`))
	req.Header.Set("Idempotency-Key", "k-123")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusCreated || string(body) != `{"id":"o1"}` || creates != 1 {
		t.Errorf("status %d, body %s, %d creates", resp.StatusCode, body, creates)
	}
	for i, k := range keys {
		if k != "k-123" {
			t.Errorf("send %d carried key %q, want the caller's k-123", i+1, k)
		}
	}
	if len(keys) != 3 {
		t.Errorf("%d sends, want 3", len(keys))
	}
}

// TestProbeRoundTripOuterTimeout: the outer *http.Client's Timeout is
// shorter than MaxElapsed and the server answers "locked" with a
// Retry-After forever. The caller's Do returns by the Timeout, and the
// client stops sending once it has.
func TestProbeRoundTripOuterTimeout(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"code":"resource_locked","message":"locked"}`)
	}))
	t.Cleanup(srv.Close)
	c := New(WithLimits(Limits{MaxAttempts: 1 << 20, MaxElapsed: 30 * time.Second, BackoffMin: 5 * time.Millisecond, BackoffMax: 10 * time.Millisecond}))
	hc := c.StandardClient()
	hc.Timeout = 200 * time.Millisecond
	start := time.Now()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/locks/1", strings.NewReader(`{}`))
	resp, err := hc.Do(req)
	took := time.Since(start)
	if resp != nil {
		resp.Body.Close()
	}
	if err == nil || took > time.Second {
		t.Errorf("Do = %v, %v after %v; want the outer Timeout's error by about 200ms", resp, err, took)
	}
	time.Sleep(100 * time.Millisecond)
	n := hits.Load()
	time.Sleep(150 * time.Millisecond)
	if m := hits.Load(); m != n {
		t.Errorf("the client kept sending after the caller's Do returned: %d, then %d requests", n, m)
	}
}

// TestProbeRoundTripRedirectsAreTheCallers: a PUT whose answer is a 307
// (same origin). RoundTrip never follows it itself: with the outer
// client's CheckRedirect saying ErrUseLastResponse the caller gets the 307
// and the target is never written; with the default policy the outer
// client follows once (CheckRedirect sees it once), re-sending the body
// from GetBody.
func TestProbeRoundTripRedirectsAreTheCallers(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	bodies := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[r.URL.Path] = append(bodies[r.URL.Path], string(b))
		mu.Unlock()
		if r.URL.Path == "/documents/a" {
			http.Redirect(w, r, "/documents/b", http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	c := u2Client(WithRule("PUT /documents/{id}", Rule{Merge: jsonmerge.Merge}))

	hc := c.StandardClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/documents/a", strings.NewReader(`{"x":1}`))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	if resp.StatusCode != http.StatusTemporaryRedirect || len(bodies["/documents/b"]) != 0 || len(bodies["/documents/a"]) != 1 {
		t.Errorf("status %d; sends %v: RoundTrip followed the redirect itself", resp.StatusCode, bodies)
	}
	mu.Unlock()

	hc = c.StandardClient()
	checked := 0
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { checked++; return nil }
	req, _ = http.NewRequest(http.MethodPut, srv.URL+"/documents/a", strings.NewReader(`{"x":2}`))
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusOK || checked != 1 || len(bodies["/documents/b"]) != 1 || bodies["/documents/b"][0] != `{"x":2}` {
		t.Errorf("status %d, CheckRedirect %d times, sends %v", resp.StatusCode, checked, bodies)
	}
}

// u2OneShot is a request body that net/http cannot make a GetBody for.
type u2OneShot struct{ io.Reader }

// TestProbeRoundTripBodyWithoutGetBody: a PUT through StandardClient whose
// body has no GetBody and is larger than MaxBodyBuffer meets a stale 412.
// It is sent once, never re-sent with an empty or partial body, and the
// caller gets the server's 412 with its body intact.
func TestProbeRoundTripBodyWithoutGetBody(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []int
	current := `{"title":"theirs","big":"` + strings.Repeat("y", 64) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodGet {
			w.Header().Set("ETag", `"2"`)
			io.WriteString(w, current)
			return
		}
		mu.Lock()
		got = append(got, len(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusPreconditionFailed)
		io.WriteString(w, `{"code":"version_mismatch","message":"stale","current_version":"2"}`)
	}))
	t.Cleanup(srv.Close)
	c := New(WithLimits(Limits{MaxBodyBuffer: 256, MaxElapsed: 2 * time.Second}), WithRule("PUT /documents/{id}", Rule{Merge: jsonmerge.Merge}))
	doc := `{"title":"ours","big":"` + strings.Repeat("x", 1024) + `"}`
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/documents/d", u2OneShot{strings.NewReader(doc)})
	req.Header.Set("If-Match", `"1"`)
	req.ContentLength = int64(len(doc))
	resp, err := c.StandardClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if resp.StatusCode != http.StatusPreconditionFailed || !bytes.Contains(body, []byte("version_mismatch")) {
		t.Errorf("status %d, body %s; want the server's 412", resp.StatusCode, body)
	}
	if len(got) != 1 || got[0] != len(doc) {
		t.Errorf("PUT bodies of lengths %v, want one of %d", got, len(doc))
	}
	if r := ResultOf(resp); r == nil || r.Err == nil || !errors.Is(r.Err, ErrNotReplayable) {
		t.Errorf("ResultOf = %+v, want ErrNotReplayable", r)
	}
}
