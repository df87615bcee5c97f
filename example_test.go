package conflict_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// A stale write is refreshed, merged with what another writer changed, and
// re-sent under the current version.
func ExampleClient_Do() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	srv.PutDocument("7", `{"title":"Draft","body":"..."}`)

	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))

	// Read the document through the client: it remembers it as the base of
	// a later merge.
	resp, err := c.Do(mustRequest("GET", srv.URL+"/documents/7", ""))
	if err != nil {
		log.Fatal(err)
	}
	etag := resp.Header.Get("ETag")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	// Meanwhile, someone else edits the body.
	srv.PutDocument("7", `{"title":"Draft","body":"Edited elsewhere"}`)

	// Our write changes the title on the version we read: it is stale.
	ours := strings.Replace(string(body), "Draft", "Final", 1)
	req := mustRequest("PUT", srv.URL+"/documents/7", ours)
	req.Header.Set("If-Match", etag)
	resp, err = c.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	r := conflict.ResultOf(resp)
	fmt.Println(resp.StatusCode, r.Outcome, "after", r.Attempts, "attempts")
	doc, version, _ := srv.Document("7")
	fmt.Printf("%s (version %d)\n", doc, version)
	// Output:
	// 200 merged after 2 attempts
	// {"body":"Edited elsewhere","title":"Final","version":3} (version 3)
}

// Writes to one resource through one client take turns, and those that
// wait travel together: the next write carries their changes, merged in, in
// one request, and each caller gets the answer as its own.
func ExampleClient_Do_together() {
	srv := conflicttest.NewServer(conflicttest.WithLatency(300 * time.Millisecond))
	defer srv.Close()
	srv.PutDocument("7", `{"title":"Draft"}`)
	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	url := srv.URL + "/documents/7"

	resp, err := c.Do(mustRequest("GET", url, ""))
	if err != nil {
		log.Fatal(err)
	}
	etag := resp.Header.Get("ETag")
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// Four writers, each setting its own field on the version read.
	var mu sync.Mutex
	outcomes := map[conflict.Outcome]int{}
	var wg sync.WaitGroup
	for _, field := range []string{"a", "b", "c", "d"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := mustRequest("PUT", url, `{"title":"Draft","version":1,"`+field+`":1}`)
			req.Header.Set("If-Match", etag)
			resp, err := c.Do(req)
			if err != nil {
				log.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			outcomes[conflict.ResultOf(resp).Outcome]++
			mu.Unlock()
		}()
	}
	wg.Wait()

	fmt.Println("PUT requests:", srv.Stats().Requests["PUT /documents/{id}"])
	fmt.Println("outcomes:", outcomes[conflict.Sent], "sent,", outcomes[conflict.Merged], "merged")
	doc, _, _ := srv.Document("7")
	fmt.Printf("%s\n", doc)
	// Output:
	// PUT requests: 2
	// outcomes: 1 sent, 3 merged
	// {"a":1,"b":1,"c":1,"d":1,"title":"Draft","version":3}
}

// A create that finds its resource already created (by an earlier attempt
// whose response was lost, or by another process) adopts it.
func ExampleClient_Do_adopt() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	c := conflict.New()

	create := func() *http.Response {
		resp, err := c.Do(mustRequest("POST", srv.URL+"/users", `{"email":"ana@example.com","name":"Ana"}`))
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		return resp
	}
	first := create()
	second := create() // its own key: the server answers 409 duplicate

	fmt.Println(first.StatusCode, conflict.ResultOf(first).Outcome)
	fmt.Println(second.StatusCode, conflict.ResultOf(second).Outcome, conflict.ResultOf(second).Conflict.Kind)
	fmt.Println("users created:", srv.Stats().Creates["ana@example.com"])
	// Output:
	// 201 sent
	// 201 adopted duplicate
	// users created: 1
}

// Rules say, per endpoint, how conflicts are resolved. Here the server's
// updated_at always wins a merge, where both sides set it.
func ExampleNew_rules() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	srv.PutDocument("7", `{"title":"Draft","body":"...","updated_at":"09:00"}`)

	c := conflict.New(
		// Documents: merge JSON; the server's updated_at always wins.
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{
			Merge: jsonmerge.New(jsonmerge.PathPolicy("/updated_at", jsonmerge.TakeTheirs)),
		}),
		// Settings carry their version in the body and the client's copy wins.
		conflict.WithRule("PUT /settings/{id}", conflict.Rule{Versions: []conflict.Version{{Send: conflict.Field("/version")}}, Resolve: conflict.ClientWins}),
		// Patches are re-based onto the current version.
		conflict.WithRule("PATCH /documents/{id}", conflict.Rule{Merge: jsonmerge.RebasePatch}),
		// This API reports its own reason codes.
		conflict.WithClassifier(conflict.Classifier{Reasons: map[string]conflict.Kind{"doc_locked_for_review": conflict.Locked}}),
	)

	resp, err := c.Do(mustRequest("GET", srv.URL+"/documents/7", ""))
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // read to the end: now remembered as a base
	resp.Body.Close()
	srv.PutDocument("7", `{"title":"Draft","body":"Edited","updated_at":"09:05"}`)

	req := mustRequest("PUT", srv.URL+"/documents/7", `{"title":"Final","body":"...","updated_at":"09:06","version":1}`)
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	resp, err = c.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	doc, _, _ := srv.Document("7")
	fmt.Println(conflict.ResultOf(resp).Outcome)
	fmt.Printf("%s\n", doc)
	// Output:
	// merged
	// {"body":"Edited","title":"Final","updated_at":"09:05","version":3}
}

// What the server said and why recovery stopped are in the *conflict.Error.
func ExampleError() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	c := conflict.New()

	resp, _ := c.Do(mustRequest("POST", srv.URL+"/orders", `{"item":"book"}`))
	resp.Body.Close()
	id := "o_1"
	for _, action := range []string{"pay", "ship"} {
		resp, _ := c.Do(mustRequest("POST", srv.URL+"/orders/"+id+"/"+action, ""))
		resp.Body.Close()
	}

	_, err := c.Do(mustRequest("POST", srv.URL+"/orders/"+id+"/cancel", ""))
	var e *conflict.Error
	if errors.As(err, &e) {
		fmt.Println(e.Conflict.Kind, e.Conflict.Status, e.Conflict.Reason)
		fmt.Println("state:", e.Conflict.CurrentState, "allowed:", e.Conflict.AllowedTransitions)
		fmt.Println("unrecoverable:", errors.Is(err, conflict.ErrUnrecoverable), "attempts:", e.Attempts)
	}
	// Output:
	// invalid_transition 409 invalid_transition
	// state: shipped allowed: [deliver]
	// unrecoverable: true attempts: 1
}

// Classify works on any response.
func ExampleClassify() {
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.Kubernetes))
	defer srv.Close()
	srv.PutDocument("cfg", `{"replicas":1}`)
	srv.PutDocument("cfg", `{"replicas":2}`)

	req := mustRequest("PUT", srv.URL+"/documents/cfg", `{"replicas":3}`)
	req.Header.Set("If-Match", `"1"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()

	c, err := conflict.Classify(resp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Kind, c.Status, c.Dialect, c.Reason)
	body, _ := io.ReadAll(resp.Body) // still readable, from its first byte
	fmt.Println(strings.HasPrefix(string(body), `{"kind":"Status"`))
	// Output:
	// stale_version 412 kubernetes Conflict
	// true
}

// Update re-runs the mutation on fresh state until the write lands.
func ExampleUpdate() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	srv.PutDocument("stock", `{"sku":"A-1","count":10,"warehouse":"north"}`)

	type stock struct {
		SKU   string `json:"sku"`
		Count int    `json:"count"`
	}
	c := conflict.New()
	got, err := conflict.Update(context.Background(), c, srv.URL+"/documents/stock", func(s *stock) error {
		if s.Count == 0 {
			return errors.New("out of stock")
		}
		s.Count--
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.SKU, got.Count)
	doc, _, _ := srv.Document("stock")
	fmt.Printf("%s\n", doc) // members stock does not model are kept
	// Output:
	// A-1 9
	// {"count":9,"sku":"A-1","version":2,"warehouse":"north"}
}

// Updates of one document through one client that wait their turn travel
// together: the Update holding the turn calls each waiting one's mutate on
// the document it writes, and one PUT carries all of them. Each caller
// gets that PUT's answer.
func ExampleUpdate_together() {
	// A slow server: every read and write takes 300 ms.
	srv := conflicttest.NewServer(conflicttest.WithFaults(conflicttest.Faults{
		Latency: 300 * time.Millisecond,
		Routes:  []string{"GET /documents/{id}", "PUT /documents/{id}"},
	}))
	defer srv.Close()
	srv.PutDocument("stock", `{"sku":"A-1","count":10}`)
	type stock struct {
		SKU   string `json:"sku"`
		Count int    `json:"count"`
	}
	c := conflict.New()

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := conflict.Update(context.Background(), c, srv.URL+"/documents/stock", func(s *stock) error {
				s.Count--
				return nil
			})
			if err != nil {
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()

	fmt.Println("PUT requests:", srv.Stats().Requests["PUT /documents/{id}"])
	doc, _, _ := srv.Document("stock")
	fmt.Printf("%s\n", doc)
	// Output:
	// PUT requests: 1
	// {"count":6,"sku":"A-1","version":2}
}

// Every process that retries the same intent sends the same key, so the
// server creates once.
func ExampleKeyFor() {
	srv := conflicttest.NewServer()
	defer srv.Close()

	key := conflict.KeyFor("create-user", "signup-4711")
	for worker := range 2 {
		c := conflict.New() // two processes, two clients
		ctx := conflict.WithIdempotencyKey(context.Background(), key)
		req := mustRequest("POST", srv.URL+"/users", `{"email":"bo@example.com","name":"Bo"}`).WithContext(ctx)
		resp, err := c.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Printf("worker %d: %d replayed=%q\n", worker, resp.StatusCode, resp.Header.Get("Idempotent-Replayed"))
	}
	fmt.Println(key == conflict.KeyFor("create-user", "signup-4711"), "users created:", srv.Stats().Creates["bo@example.com"])
	// Output:
	// worker 0: 201 replayed=""
	// worker 1: 201 replayed="true"
	// true users created: 1
}

// Generated API clients take the client as their doer, or its
// StandardClient as their *http.Client. Through the latter an unrecovered
// conflict is the server's own response, for the generated code to decode.
func ExampleClient_StandardClient() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	hc := conflict.New().StandardClient()

	resp, err := hc.Post(srv.URL+"/orders", "application/json", strings.NewReader(`{"item":"pen"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	resp, err = hc.Post(srv.URL+"/orders/o_1/deliver", "", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	fmt.Println(conflict.ResultOf(resp).Outcome, conflict.ResultOf(resp).Err.Conflict.Kind)
	// Output:
	// 409 application/problem+json
	// aborted invalid_transition
}

func mustRequest(method, url, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		log.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}
