package conflict_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// A create whose idempotency key is still in flight (an earlier send of the
// same intent has not finished) waits and is sent again with the same key:
// the server then replays the first create's answer.
func ExampleClient_Do_wait() {
	srv := conflicttest.NewServer(conflicttest.WithFaults(conflicttest.Faults{InFlight: 100 * time.Millisecond}))
	defer srv.Close()
	c := conflict.New(conflict.WithLimits(conflict.Limits{MaxWait: 200 * time.Millisecond}))
	ctx := conflict.WithIdempotencyKey(context.Background(), conflict.KeyFor("signup", "ada@example.com"))

	var mu sync.Mutex
	var lines []string
	var wg sync.WaitGroup
	for range 2 { // the same intent, sent twice at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := mustRequest("POST", srv.URL+"/users", `{"email":"ada@example.com"}`).WithContext(ctx)
			resp, err := c.Do(req)
			if err != nil {
				log.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			lines = append(lines, fmt.Sprint(resp.StatusCode, " ", conflict.ResultOf(resp).Outcome))
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
	fmt.Println("users created:", srv.Stats().Creates["ada@example.com"])
	// Output:
	// 201 sent
	// 201 waited
	// users created: 1
}

// A locked resource (423) is waited out, and the request sent again
// unchanged.
func ExampleClient_Do_locked() {
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n++; n == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusLocked)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	resp, err := conflict.New().Do(mustRequest("PUT", srv.URL+"/files/report.txt", "contents"))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	r := conflict.ResultOf(resp)
	fmt.Println(resp.StatusCode, r.Conflict.Kind, r.Outcome, "after", r.Attempts, "attempts")
	// Output:
	// 200 locked waited after 2 attempts
}

// A hook sees every step of a call.
func ExampleWithHook() {
	srv := conflicttest.NewServer(conflicttest.WithCurrentInConflict(true))
	defer srv.Close()
	srv.PutDocument("7", `{"title":"Draft","body":"..."}`)

	var steps []string
	c := conflict.New(
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}),
		conflict.WithHook(func(_ context.Context, ev conflict.Event) {
			s := ev.Step.String()
			switch ev.Step {
			case conflict.StepConflict:
				s += " " + ev.Kind.String()
			case conflict.StepDone:
				s += " " + ev.Outcome.String()
			}
			steps = append(steps, s)
		}),
	)
	staleTitleWrite(c, srv, "7")
	fmt.Println(strings.Join(steps, " → "))
	// Output:
	// classified stale_version → refresh → merge → resend → done merged
}

// A logger gets the same steps as log records: debug for steps, warn for
// aborts.
func ExampleWithLogger() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	srv.PutDocument("7", `{"title":"Draft","body":"..."}`)

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "url" || a.Key == "idempotency_key" {
				return slog.Attr{} // vary from run to run
			}
			return a
		},
	}))
	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}), conflict.WithLogger(logger))
	staleTitleWrite(c, srv, "7")
	// Output:
	// level=DEBUG msg="conflict: classified" call=1 method=PUT attempt=1 kind=stale_version reason=version_conflict status=412
	// level=DEBUG msg="conflict: refresh" call=1 method=PUT attempt=1 kind=stale_version status=200
	// level=DEBUG msg="conflict: merge" call=1 method=PUT attempt=1 kind=stale_version
	// level=DEBUG msg="conflict: resend" call=1 method=PUT attempt=1 kind=stale_version
	// level=DEBUG msg="conflict: done" call=1 method=PUT attempt=2 kind=stale_version status=200 outcome=merged
}

// staleTitleWrite reads document id through c, lets another writer change
// its body, and writes a new title on the version read.
func staleTitleWrite(c *conflict.Client, srv *conflicttest.Server, id string) {
	resp, err := c.Do(mustRequest("GET", srv.URL+"/documents/"+id, ""))
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	srv.PutDocument(id, `{"title":"Draft","body":"Edited elsewhere"}`)
	req := mustRequest("PUT", srv.URL+"/documents/"+id, strings.Replace(string(body), "Draft", "Final", 1))
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	resp, err = c.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
}

// A write built on a representation read elsewhere (another client, a
// cache, a file) gives its base with WithBase, so that a stale write can be
// merged.
func ExampleWithBase() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	srv.PutDocument("7", `{"title":"Draft","body":"..."}`)
	base, version, _ := srv.Document("7") // read without the client
	srv.PutDocument("7", `{"title":"Draft","body":"Edited elsewhere"}`)

	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	ours := strings.Replace(string(base), "Draft", "Final", 1)
	req := mustRequest("PUT", srv.URL+"/documents/7", ours)
	req.Header.Set("If-Match", fmt.Sprintf(`"%d"`, version))
	resp, err := c.Do(req.WithContext(conflict.WithBase(context.Background(), base)))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	doc, _, _ := srv.Document("7")
	fmt.Println(conflict.ResultOf(resp).Outcome, string(doc))
	// Output:
	// merged {"body":"Edited elsewhere","title":"Final","version":3}
}

// An endpoint whose duplicates name no existing resource finds it with
// LocateExisting, and decides with AdoptIf what counts as the same.
func ExampleRule_adopt() {
	srv := conflicttest.NewServer(conflicttest.WithLocation(false), conflicttest.WithExistingID(false))
	defer srv.Close()
	c := conflict.New(conflict.WithRule("POST /users", conflict.Rule{
		LocateExisting: func(ctx context.Context, cf *conflict.Conflict, req *http.Request) (string, error) {
			// Look the user up by email, as the API allows.
			var sent struct{ Email string }
			body, _ := req.GetBody()
			json.NewDecoder(body).Decode(&sent)
			list, err := http.Get(srv.URL + "/users?email=" + sent.Email)
			if err != nil {
				return "", err
			}
			defer list.Body.Close()
			var found struct{ Items []struct{ ID string } }
			json.NewDecoder(list.Body).Decode(&found)
			if len(found.Items) == 0 {
				return "", nil
			}
			return "/users/" + found.Items[0].ID, nil
		},
		// The same email is the same user, whatever else was sent.
		AdoptIf: func(sent, existing []byte) bool {
			var a, b struct{ Email string }
			return json.Unmarshal(sent, &a) == nil && json.Unmarshal(existing, &b) == nil && a.Email == b.Email
		},
	}))
	for _, name := range []string{"Ana", "Ana María"} {
		resp, err := c.Do(mustRequest("POST", srv.URL+"/users", `{"email":"ana@example.com","name":"`+name+`"}`))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, conflict.ResultOf(resp).Outcome, strings.TrimPrefix(resp.Header.Get("Location"), srv.URL))
	}
	// Output:
	// 201 sent /users/u_1
	// 201 adopted /users/u_1
}

// ServerWins keeps what the server has; Manual hands base, ours and theirs
// to the caller.
func ExampleResolution() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	for i, res := range []conflict.Resolution{conflict.ServerWins, conflict.Manual} {
		id := fmt.Sprint(i)
		srv.PutDocument(id, `{"title":"Draft"}`)
		c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Resolve: res}))
		resp, err := c.Do(mustRequest("GET", srv.URL+"/documents/"+id, ""))
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		srv.PutDocument(id, `{"title":"Theirs"}`)
		req := mustRequest("PUT", srv.URL+"/documents/"+id, `{"title":"Ours"}`)
		req.Header.Set("If-Match", resp.Header.Get("ETag"))
		resp, err = c.Do(req)
		var e *conflict.Error
		switch {
		case errors.As(err, &e):
			fmt.Printf("%s: base %s ours %s theirs %s\n", res, e.Base, e.Ours, e.Theirs)
		case err == nil:
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Printf("%s: %s %s\n", res, conflict.ResultOf(resp).Outcome, body)
		}
	}
	// Output:
	// server_wins: server_won {"title":"Theirs","version":2}
	// manual: base {"title":"Draft","version":1} ours {"title":"Ours"} theirs {"title":"Theirs","version":2}
}

// BaseFor tells what a write would be merged against, for code that
// records the write before the client sends it.
func ExampleClient_BaseFor() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	srv.PutDocument("7", `{"title":"Draft"}`)
	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))

	resp, err := c.Do(mustRequest("GET", srv.URL+"/documents/7", ""))
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // read to the end: remembered
	resp.Body.Close()

	body := `{"title":"Final","version":1}`
	req := mustRequest("PUT", srv.URL+"/documents/7", body)
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	base, ok := c.BaseFor(req, []byte(body))
	fmt.Println(ok, string(base))
	// Output:
	// true {"title":"Draft","version":1}
}
