// Merging shows per-endpoint merge functions of
// github.com/go-conflict/conflict. Each endpoint's rule says how a stale
// write is merged with what another writer stored meanwhile:
//
//   - PUT /documents/{id}: jsonmerge.Merge, the three-way JSON merge:
//     changes to different fields both survive;
//   - PUT /documents/stock: a typed jsonmerge.Typed[Stock] that knows what
//     the fields mean (a count is a counter, tags are a set), so two writers
//     changing the same fields still merge;
//   - PUT /documents/profile: jsonmerge.New with
//     PathPolicy("/updated_at", jsonmerge.TakeTheirs): the timestamp already
//     on the server wins, and nothing else is overruled;
//   - and a merge that cannot be decided (both writers changed a title
//     differently): the client aborts with the conflicting paths and writes
//     nothing.
//
// Run it with:
//
//	go run ./examples/merging
//
// It runs against an embedded conflicttest server and exits with a non-zero
// status if any merge does not turn out as printed.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// Stock is the typed view of the stock document.
type Stock struct {
	SKU   string   `json:"sku"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

// mergeStock merges stock levels as a warehouse means them: our change to
// the count is added to theirs (we sold 3, they received 5), and tags
// are a set (our additions and removals apply to theirs).
func mergeStock(base, ours, theirs Stock) (Stock, error) {
	out := theirs
	out.Count = theirs.Count + (ours.Count - base.Count)
	out.Tags = slices.Clone(theirs.Tags)
	for _, t := range ours.Tags {
		if !slices.Contains(base.Tags, t) && !slices.Contains(out.Tags, t) {
			out.Tags = append(out.Tags, t) // we added t
		}
	}
	out.Tags = slices.DeleteFunc(out.Tags, func(t string) bool {
		return slices.Contains(base.Tags, t) && !slices.Contains(ours.Tags, t) // we removed t
	})
	return out, nil
}

func main() {
	log.SetFlags(0)
	srv := conflicttest.NewServer()
	defer srv.Close()

	// The most specific pattern wins, as in http.ServeMux: the stock and
	// profile documents have rules of their own, every other document uses
	// the plain JSON merge.
	client := conflict.New(
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}),
		conflict.WithRule("PUT /documents/stock", conflict.Rule{Merge: jsonmerge.Typed(mergeStock)}),
		conflict.WithRule("PUT /documents/profile", conflict.Rule{Merge: jsonmerge.New(
			jsonmerge.PathPolicy("/updated_at", jsonmerge.TakeTheirs),
		)}),
	)
	api := &api{client: client, base: srv.URL}

	// 1. JSON merge: different fields.
	fmt.Println("1. MergeJSON (PUT /documents/{id}): we change the title, they add a tag")
	srv.PutDocument("note", `{"title":"Groceries","tags":["home"]}`)
	scenario(api, srv, "note",
		`{"title":"Groceries","tags":["home","weekly"]}`, // theirs: the whole document
		`{"title":"Groceries for Sunday"}`,               // ours: a change to what we read
		`{"tags":["home","weekly"],"title":"Groceries for Sunday","version":3}`)

	// 2. A typed merge: both sides changed count and tags.
	fmt.Println("\n2. Merge[Stock] (PUT /documents/stock): we sold 3 and tag it \"sale\", they received 5 and tag it \"restocked\"")
	srv.PutDocument("stock", `{"sku":"W-1","count":10,"tags":["widget"]}`)
	scenario(api, srv, "stock",
		`{"sku":"W-1","count":15,"tags":["widget","restocked"]}`,
		`{"count":7,"tags":["widget","sale"]}`,
		`{"count":12,"sku":"W-1","tags":["widget","restocked","sale"],"version":3}`)

	// 3. A field where the server's value wins.
	fmt.Println("\n3. PathPolicy(\"/updated_at\", TakeTheirs) (PUT /documents/profile): both sides stamp updated_at")
	base := `{"name":"Ada","bio":"","updated_at":"2025-01-01T10:00:00Z"}`
	theirs := `{"name":"Ada Lovelace","bio":"","updated_at":"2025-01-01T10:03:00Z"}`
	change := `{"bio":"Mathematician","updated_at":"2025-01-01T10:05:00Z"}`
	_, err := jsonmerge.Merge([]byte(base), patch(base, change), []byte(theirs))
	fmt.Printf("   (MergeJSON alone would fail: %v)\n", err)
	check(errors.Is(err, conflict.ErrMergeConflict), "MergeJSON did not report the timestamp conflict")
	srv.PutDocument("profile", base)
	scenario(api, srv, "profile", theirs, change,
		`{"bio":"Mathematician","name":"Ada Lovelace","updated_at":"2025-01-01T10:03:00Z","version":3}`)

	// 4. A merge that cannot be decided.
	fmt.Println("\n4. MergeJSON, both sides change the title: the client aborts")
	srv.PutDocument("memo", `{"title":"Q3 plan","owner":"kim"}`)
	read, etag := api.get("memo")
	srv.PutDocument("memo", `{"title":"Q3 plan (final)","owner":"kim"}`)
	fmt.Println(`   they write   {"title":"Q3 plan (final)","owner":"kim"}`)
	fmt.Println(`   we change    {"title":"Q3 plan v2","owner":"lee"}`)
	_, err = api.put("memo", patch(string(read), `{"title":"Q3 plan v2","owner":"lee"}`), etag)
	var e *conflict.Error
	var mc *jsonmerge.ConflictError
	if !errors.As(err, &e) || !errors.Is(err, conflict.ErrMergeConflict) || !errors.As(err, &mc) {
		log.Fatalf("FAIL: got %v, want a merge conflict", err)
	}
	fmt.Printf("   error        %v\n", e.Reason)
	for _, pc := range mc.Conflicts {
		fmt.Printf("   conflict at  %s: base %s, ours %s, theirs %s\n", pc.Path, pc.Base, pc.Ours, pc.Theirs)
	}
	now, _, _ := srv.Document("memo")
	fmt.Printf("   server has   %s (our write was not sent)\n", now)
	check(len(mc.Conflicts) == 1 && mc.Conflicts[0].Path == "/title" && e.Attempts == 1,
		"the merge conflict was not reported as one conflict at /title")
	check(bytes.Equal(now, []byte(`{"owner":"kim","title":"Q3 plan (final)","version":2}`)), "the server's document changed")
}

// scenario reads document id, lets another writer store theirs, then
// writes the document read with change applied, on the version read, and
// checks the merged result.
func scenario(api *api, srv *conflicttest.Server, id, theirs, change, want string) {
	read, etag := api.get(id)
	srv.PutDocument(id, theirs)
	fmt.Printf("   they write   %s\n", theirs)
	fmt.Printf("   we change    %s  (If-Match: %s, now stale)\n", change, etag)
	resp, err := api.put(id, patch(string(read), change), etag)
	if err != nil {
		log.Fatalf("FAIL: PUT %s: %v", id, err)
	}
	res := conflict.ResultOf(resp)
	now, _, _ := srv.Document(id)
	fmt.Printf("   client did   %s after %d attempts\n", res.Outcome, res.Attempts)
	fmt.Printf("   server has   %s\n", now)
	check(res.Outcome == conflict.Merged && string(now) == want, "got "+string(now)+", want "+want)
}

// api sends requests through the conflict client.
type api struct {
	client *conflict.Client
	base   string
}

// get reads a document through the client, to the end of its body, so the
// client remembers it as the base of a later merge.
func (a *api) get(id string) ([]byte, string) {
	req, err := http.NewRequest("GET", a.base+"/documents/"+id, nil)
	must(err)
	resp, err := a.client.Do(req)
	must(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(err)
	return body, resp.Header.Get("ETag")
}

func (a *api) put(id string, body []byte, etag string) (*http.Response, error) {
	req, err := http.NewRequest("PUT", a.base+"/documents/"+id, bytes.NewReader(body))
	must(err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", etag)
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// patch returns doc with the merge patch change applied: the document we
// read, with our change. It keeps every member we did not change,
// including the server's "version": a PUT body that left it out would
// delete it, and that would conflict with the server's own change to it.
func patch(doc, change string) []byte {
	out, err := jsonmerge.ApplyPatch([]byte(doc), []byte(change))
	must(err)
	return out
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func check(ok bool, failure string) {
	if !ok {
		log.Fatal("FAIL: ", failure)
	}
}
