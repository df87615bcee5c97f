// Quickstart shows, on one screen, the four recoveries of
// github.com/go-conflict/conflict against an embedded conflicttest server:
//
//  1. a stale update is merged with another writer's change, and both
//     changes survive;
//  2. a duplicate create is adopted: the user already exists and is the one
//     we meant to create;
//  3. an idempotency key still in flight is waited out: two concurrent
//     creates with the same key make one order;
//  4. an invalid state transition is aborted with the order's current state
//     and the transitions it allows.
//
// Run it with:
//
//	go run ./examples/quickstart
//
// It exits with a non-zero status if any step does not turn out as printed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
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

func main() {
	log.SetFlags(0)
	srv := conflicttest.NewServer()
	defer srv.Close()

	// One client for the whole program. The only endpoint knowledge it
	// needs is how to merge a stale document write.
	var tr tracer
	client := conflict.New(
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}),
		conflict.WithHook(tr.hook),
	)

	staleUpdate(srv, client, &tr)
	duplicateCreate(srv, client, &tr)
	keyInFlight(srv)
	invalidTransition(srv, client, &tr)
	fmt.Println("\nAll four conflicts were handled as shown.")
}

// 1. A stale update: we read version 1, someone else writes version 2,
// our write (If-Match: "1") is refused, and the client merges.
func staleUpdate(srv *conflicttest.Server, client *conflict.Client, tr *tracer) {
	heading("1. Stale update → merged")
	srv.PutDocument("doc1", `{"title":"Draft","body":"Hello"}`)

	// We read the document through the client: it remembers what we read as
	// the base of a later merge.
	resp, doc := send(client, request("GET", srv.URL+"/documents/doc1", "", nil))
	etag := resp.Header.Get("ETag")
	fmt.Printf("   we read      %s  (ETag %s)\n", doc, etag)

	// Meanwhile another writer changes the body.
	srv.PutDocument("doc1", `{"title":"Draft","body":"Hello, world"}`)
	fmt.Println(`   they write   body = "Hello, world"  (version 2)`)

	// We change the title, on the version we read.
	ours := strings.Replace(string(doc), `"Draft"`, `"Final"`, 1)
	tr.reset()
	resp, got := send(client, request("PUT", srv.URL+"/documents/doc1", ours, http.Header{"If-Match": {etag}}))
	res := conflict.ResultOf(resp)
	fmt.Printf(`   we write     title = "Final" with If-Match: %s`+"\n", etag)
	fmt.Printf("   server said  %s\n", tr.conflicts())
	fmt.Printf("   client did   %s → %s (%s)\n", tr.steps(), res.Outcome, attempts(res.Attempts))
	fmt.Printf("   result       %s\n", got)

	var d struct{ Title, Body string }
	must(json.Unmarshal(got, &d))
	check(res.Outcome == conflict.Merged && d.Title == "Final" && d.Body == "Hello, world",
		"the stale update was not merged with both changes")
}

// 2. A duplicate create: another process already created the user we are
// creating, with the same fields, so the client adopts it.
func duplicateCreate(srv *conflicttest.Server, client *conflict.Client, tr *tracer) {
	heading("2. Duplicate create → adopted")
	user := `{"email":"ada@example.com","name":"Ada Lovelace"}`
	first, err := srv.Client().Post(srv.URL+"/users", "application/json", strings.NewReader(user))
	must(err)
	first.Body.Close()
	fmt.Printf("   another process created %s as %s\n", user, first.Header.Get("Location"))

	tr.reset()
	resp, got := send(client, request("POST", srv.URL+"/users", user, nil))
	res := conflict.ResultOf(resp)
	var u struct{ ID, Email string }
	must(json.Unmarshal(got, &u))
	fmt.Printf("   we create the same user\n")
	fmt.Printf("   server said  %s\n", tr.conflicts())
	fmt.Printf("   client did   %s → %s %s (%d %s)\n", tr.steps(), res.Outcome, u.ID, resp.StatusCode, http.StatusText(resp.StatusCode))

	check(res.Outcome == conflict.Adopted && "/users/"+u.ID == first.Header.Get("Location"),
		"the duplicate create was not adopted")
	check(srv.Stats().Creates["ada@example.com"] == 1, "the user was created more than once")
}

// 3. An idempotency key in flight: two processes send the same create with
// the same key at the same time. The server answers the second one "still
// in flight"; its client waits (Retry-After) and re-sends with the same
// key, and gets the first one's order.
func keyInFlight(srv *conflicttest.Server) {
	heading("3. Idempotency key in flight → waited out")
	srv.SetFaults(conflicttest.Faults{InFlight: 300 * time.Millisecond, Routes: []string{"POST /orders"}})
	defer srv.SetFaults(conflicttest.Faults{})

	// The key is derived from the business id, so every process sends
	// the same one for the same intent.
	key := conflict.KeyFor("create-order", "A-1001")
	ctx := conflict.WithIdempotencyKey(context.Background(), key)
	fmt.Println(`   two processes create order A-1001 at once, both with key KeyFor("create-order", "A-1001")`)

	first := make(chan created)
	go func() { first <- createOrder(ctx, srv) }()
	waitInFlight(srv)
	second := createOrder(ctx, srv)
	r1 := <-first
	fmt.Printf("   first        %s\n", r1.line)
	fmt.Printf("   second       %s\n", second.line)
	n := srv.Stats().Creates["key:"+key]
	fmt.Printf("   server       %d order created for the key\n", n)
	check(n == 1 && r1.orderID == second.orderID && r1.outcome == conflict.Sent && second.outcome == conflict.Waited &&
		r1.attempts+second.attempts == 3,
		"the in-flight key was not waited out into one order")
}

// 4. An invalid transition: a shipped order cannot be cancelled. Nothing
// can fix that automatically, so the client aborts with what the server
// said.
func invalidTransition(srv *conflicttest.Server, client *conflict.Client, tr *tracer) {
	heading("4. Invalid transition → aborted")
	_, body := send(client, request("POST", srv.URL+"/orders", `{"item":"lamp"}`, nil))
	var o struct{ ID string }
	must(json.Unmarshal(body, &o))
	send(client, request("POST", srv.URL+"/orders/"+o.ID+"/pay", "", nil))
	send(client, request("POST", srv.URL+"/orders/"+o.ID+"/ship", "", nil))
	fmt.Printf("   order %s is paid and shipped; we cancel it\n", o.ID)

	tr.reset()
	req, err := http.NewRequest("POST", srv.URL+"/orders/"+o.ID+"/cancel", nil)
	must(err)
	_, err = client.Do(req)
	var e *conflict.Error
	if !errors.As(err, &e) {
		log.Fatalf("cancel: got %v, want a *conflict.Error", err)
	}
	fmt.Printf("   server said  %s\n", tr.conflicts())
	fmt.Printf("   client did   %s after %s: %v\n", tr.steps(), attempts(e.Attempts), e.Reason)
	fmt.Printf("   current state %q, allowed transitions %q\n", e.Conflict.CurrentState, e.Conflict.AllowedTransitions)

	check(errors.Is(err, conflict.ErrUnrecoverable) && e.Conflict.Kind == conflict.InvalidTransition &&
		e.Conflict.CurrentState == "shipped" && e.Attempts == 1, "the invalid transition was not aborted at once")
}

// created is what one process saw of its create.
type created struct {
	line     string
	orderID  string
	outcome  conflict.Outcome
	attempts int
}

// createOrder creates an order with a client of its own, as a separate
// process would, and describes what happened.
func createOrder(ctx context.Context, srv *conflicttest.Server) created {
	var tr tracer
	client := conflict.New(conflict.WithHook(tr.hook))
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/orders", strings.NewReader(`{"item":"book"}`))
	must(err)
	req.Header.Set("Content-Type", "application/json")
	resp, body := send(client, req)
	var o struct{ ID string }
	must(json.Unmarshal(body, &o))
	res := conflict.ResultOf(resp)
	what := "no conflict"
	if c := tr.conflicts(); c != "" {
		what = c + "; " + tr.steps()
	}
	line := fmt.Sprintf("%s → %s order %s (%s)", what, res.Outcome, o.ID, attempts(res.Attempts))
	return created{line, o.ID, res.Outcome, res.Attempts}
}

// waitInFlight returns once a create has reached the server and claimed
// its idempotency key.
func waitInFlight(srv *conflicttest.Server) {
	for srv.Stats().Requests["POST /orders"] == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
}

// request builds a request; a body is sent as JSON.
func request(method, url, body string, h http.Header) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	must(err)
	for k, v := range h {
		req.Header[k] = v
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// send sends req through client and returns the response with its body
// read to the end (so that a GET is remembered as a merge base).
func send(client *conflict.Client, req *http.Request) (*http.Response, []byte) {
	resp, err := client.Do(req)
	if err != nil {
		log.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	must(err)
	return resp, bytes.TrimSpace(data)
}

// A tracer records a client's events, to print what the server said and
// what the client did.
type tracer struct {
	mu     sync.Mutex
	events []conflict.Event
}

func (t *tracer) hook(_ context.Context, ev conflict.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, ev)
}

func (t *tracer) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = nil
}

// conflicts describes the conflict responses: "412 version_conflict".
func (t *tracer) conflicts() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, ev := range t.events {
		if ev.Step == conflict.StepConflict {
			out = append(out, fmt.Sprintf("%d %s  (kind %s)", ev.Status, ev.Reason, ev.Kind))
		}
	}
	return strings.Join(out, ", ")
}

// steps lists the recovery steps: "refresh → merge → resend".
func (t *tracer) steps() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, ev := range t.events {
		switch ev.Step {
		case conflict.StepConflict, conflict.StepDone:
		case conflict.StepWait:
			out = append(out, fmt.Sprintf("wait %s", ev.Wait))
		default:
			out = append(out, ev.Step.String())
		}
	}
	return strings.Join(out, " → ")
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func heading(s string) { fmt.Printf("\n%s\n", s) }

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
