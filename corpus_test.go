package conflict_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-conflict/conflict"
)

// corpusFloor is the lowest acceptable share of strict corpus entries the
// classifier must get right (kind and every expected field). It is set to
// what the classifier scores today, so that the test guards against
// regressions. Measured when the corpus was built: 63/118 = 0.534; with the
// whole-body walk (issue 12): 118/118. A new strict entry that misses
// lowers the score: record it, and set the floor to the new measurement.
const corpusFloor = 1.00

// corpusEntry is one real conflict reply; see testdata/corpus/README.md.
type corpusEntry struct {
	API        string         `json:"api"`
	Source     string         `json:"source"`
	Provenance string         `json:"provenance"`
	Note       string         `json:"note,omitempty"`
	Request    corpusRequest  `json:"request"`
	Response   corpusResponse `json:"response"`
	Expect     corpusExpect   `json:"expect"`
	Strict     *bool          `json:"strict"`

	file string
	idx  int
}

type corpusRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers,omitempty"`
}

type corpusResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body"`
}

// corpusExpect is the expected classification. Kind is a kind's snake_case
// name, or "none" for a reply that is not a conflict. The other fields are
// checked only when set.
type corpusExpect struct {
	Kind               string   `json:"kind"`
	Reason             string   `json:"reason,omitempty"`
	Field              string   `json:"field,omitempty"`
	ExistingID         string   `json:"existing_id,omitempty"`
	ExistingLocation   string   `json:"existing_location,omitempty"`
	CurrentVersion     string   `json:"current_version,omitempty"`
	CurrentState       string   `json:"current_state,omitempty"`
	AllowedTransitions []string `json:"allowed_transitions,omitempty"`
}

const corpusDir = "testdata/corpus"

func loadCorpus(t *testing.T) []*corpusEntry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no corpus files in %s", corpusDir)
	}
	sort.Strings(files)
	var all []*corpusEntry
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var entries []*corpusEntry
		if err := dec.Decode(&entries); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(entries) == 0 {
			t.Errorf("%s: no entries", f)
		}
		for i, e := range entries {
			e.file, e.idx = filepath.Base(f), i
			all = append(all, e)
		}
	}
	return all
}

// validKinds are the names an entry may expect.
func validKinds() map[string]bool {
	m := map[string]bool{"none": true}
	for k := conflict.Unknown; k <= conflict.PreconditionRequired; k++ {
		m[k.String()] = true
	}
	return m
}

// checkEntry reports what is malformed in e, or "".
func checkEntry(e *corpusEntry, kinds map[string]bool) string {
	var bad []string
	if strings.TrimSpace(e.API) == "" {
		bad = append(bad, "no api")
	}
	if strings.TrimSpace(e.Source) == "" {
		bad = append(bad, "no source")
	}
	if e.Provenance != "quoted" && e.Provenance != "reconstructed" {
		bad = append(bad, fmt.Sprintf("provenance %q is not quoted or reconstructed", e.Provenance))
	}
	if !kinds[e.Expect.Kind] {
		bad = append(bad, fmt.Sprintf("expect.kind %q is not a kind", e.Expect.Kind))
	}
	if e.Response.Status < 400 || e.Response.Status > 499 {
		bad = append(bad, fmt.Sprintf("status %d is not 4xx", e.Response.Status))
	}
	if e.Request.Method == "" || !strings.HasPrefix(e.Request.Path, "/") {
		bad = append(bad, "request needs a method and a path starting with /")
	}
	if e.Strict == nil {
		bad = append(bad, "no strict")
	}
	return strings.Join(bad, "; ")
}

// response builds the reply an entry records, with its request attached.
func (e *corpusEntry) response() *http.Response {
	u, err := url.Parse("https://api.example.test" + e.Request.Path)
	if err != nil {
		u = &url.URL{Scheme: "https", Host: "api.example.test", Path: e.Request.Path}
	}
	req := &http.Request{Method: e.Request.Method, URL: u, Header: http.Header{}, Host: u.Host}
	for k, v := range e.Request.Headers {
		req.Header.Set(k, v)
	}
	h := http.Header{}
	for k, v := range e.Response.Headers {
		h.Set(k, v)
	}
	return &http.Response{
		StatusCode:    e.Response.Status,
		Status:        fmt.Sprintf("%d %s", e.Response.Status, http.StatusText(e.Response.Status)),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(e.Response.Body)),
		ContentLength: int64(len(e.Response.Body)),
		Request:       req,
	}
}

// judge classifies e and returns what was got and what differs from the
// expectation ("" when right).
func judge(e *corpusEntry) (got string, diff string) {
	resp := e.response()
	cf, err := conflict.Classify(resp)
	if err != nil {
		return "error", err.Error()
	}
	if cf == nil {
		got = "none"
	} else {
		got = cf.Kind.String()
	}
	var d []string
	if got != e.Expect.Kind {
		d = append(d, fmt.Sprintf("kind %s, want %s", got, e.Expect.Kind))
	}
	if cf == nil {
		return got, strings.Join(d, "; ")
	}
	field := func(name, want, have string) {
		if want != "" && want != have {
			d = append(d, fmt.Sprintf("%s %q, want %q", name, have, want))
		}
	}
	field("reason", e.Expect.Reason, cf.Reason)
	field("field", e.Expect.Field, cf.Field)
	field("existing_id", e.Expect.ExistingID, cf.ExistingID)
	field("existing_location", e.Expect.ExistingLocation, cf.ExistingLocation)
	field("current_version", e.Expect.CurrentVersion, cf.CurrentVersion)
	field("current_state", e.Expect.CurrentState, cf.CurrentState)
	if len(e.Expect.AllowedTransitions) > 0 && !slices.Equal(e.Expect.AllowedTransitions, cf.AllowedTransitions) {
		d = append(d, fmt.Sprintf("allowed_transitions %q, want %q", cf.AllowedTransitions, e.Expect.AllowedTransitions))
	}
	if len(d) > 0 && cf.Reason != "" {
		d = append(d, fmt.Sprintf("(dialect %s, reason %q)", cf.Dialect, cf.Reason))
	} else if len(d) > 0 {
		d = append(d, fmt.Sprintf("(dialect %s)", cf.Dialect))
	}
	return got, strings.Join(d, "; ")
}

type tally struct{ right, total int }

func (t tally) String() string {
	if t.total == 0 {
		return "0/0"
	}
	return fmt.Sprintf("%d/%d (%.2f)", t.right, t.total, float64(t.right)/float64(t.total))
}

// TestCorpus scores the classifier on the public corpus of real conflict
// replies in testdata/corpus. It fails on a malformed entry, or when the
// share of strict entries classified right falls below corpusFloor.
func TestCorpus(t *testing.T) {
	entries := loadCorpus(t)
	kinds := validKinds()
	apis := map[string]bool{}
	malformed := 0
	for _, e := range entries {
		if msg := checkEntry(e, kinds); msg != "" {
			t.Errorf("%s[%d] (%s): malformed entry: %s", e.file, e.idx, e.API, msg)
			malformed++
		}
		apis[e.API] = true
	}
	if malformed > 0 {
		t.FailNow()
	}

	perKind := map[string]*tally{}
	perKindStrict := map[string]*tally{}
	var strict, all, strictKindOnly tally
	var misses []string
	for _, e := range entries {
		got, diff := judge(e)
		tk := perKind[e.Expect.Kind]
		if tk == nil {
			tk = &tally{}
			perKind[e.Expect.Kind] = tk
		}
		ok := diff == ""
		all.total++
		tk.total++
		if ok {
			all.right++
			tk.right++
		}
		if *e.Strict {
			ts := perKindStrict[e.Expect.Kind]
			if ts == nil {
				ts = &tally{}
				perKindStrict[e.Expect.Kind] = ts
			}
			ts.total++
			if ok {
				ts.right++
			}
			strict.total++
			strictKindOnly.total++
			if ok {
				strict.right++
			}
			if got == e.Expect.Kind {
				strictKindOnly.right++
			}
		}
		if !ok {
			tag := "strict"
			if !*e.Strict {
				tag = "loose"
			}
			misses = append(misses, fmt.Sprintf("[%s] %s (%s[%d], %d %s %s): %s\n\tsource: %s",
				tag, e.API, e.file, e.idx, e.Response.Status, e.Request.Method, e.Request.Path, diff, e.Source))
		}
	}

	t.Logf("corpus: %d entries from %d APIs", len(entries), len(apis))
	names := make([]string, 0, len(perKind))
	for k := range perKind {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ts := perKindStrict[k]
		if ts == nil {
			ts = &tally{}
		}
		t.Logf("  %-22s all %-14s strict %s", k, perKind[k], ts)
	}
	t.Logf("all entries:          %s", all)
	t.Logf("strict, kind only:    %s", strictKindOnly)
	t.Logf("strict (kind+fields): %s   floor %.2f", strict, corpusFloor)
	for _, m := range misses {
		t.Logf("miss %s", m)
	}
	if strict.total == 0 {
		t.Fatal("no strict entries")
	}
	if score := float64(strict.right) / float64(strict.total); score < corpusFloor {
		t.Errorf("strict corpus score %.3f (%d/%d) is below the floor %.2f", score, strict.right, strict.total, corpusFloor)
	}
}
