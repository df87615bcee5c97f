package conflicttest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
)

// call sends one request and returns the response with its body read.
func call(c *http.Client, method, url, body string, header ...string) (*http.Response, []byte) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		fmt.Println("error: the connection closed without a response")
		return nil, nil
	}
	if err != nil {
		fmt.Println("error:", err)
		return nil, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// A stale If-Match is answered 412 with the current version.
func ExampleNewServer() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	srv.PutDocument("doc1", `{"title":"draft"}`) // version 1
	srv.PutDocument("doc1", `{"title":"final"}`) // someone else wrote version 2

	resp, body := call(srv.Client(), "PUT", srv.URL+"/documents/doc1", `{"title":"mine"}`, "If-Match", `"1"`)
	var p struct {
		Code           string `json:"code"`
		CurrentVersion int    `json:"current_version"`
	}
	json.Unmarshal(body, &p)
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Println(p.Code, "current_version:", p.CurrentVersion)

	// With the current ETag the write goes through.
	resp, body = call(srv.Client(), "PUT", srv.URL+"/documents/doc1", `{"title":"mine"}`, "If-Match", `"2"`)
	fmt.Println(resp.Status, resp.Header.Get("ETag"), string(body))
	// Output:
	// 412 Precondition Failed application/problem+json
	// version_conflict current_version: 2
	// 200 OK "3" {"title":"mine","version":3}
}

// A create that repeats a unique value is a duplicate naming the existing
// resource, here in the Kubernetes dialect.
func ExampleWithDialect() {
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.Kubernetes))
	defer srv.Close()
	call(srv.Client(), "POST", srv.URL+"/users", `{"email":"ada@example.com","name":"Ada"}`)

	resp, body := call(srv.Client(), "POST", srv.URL+"/users", `{"email":"ada@example.com","name":"Ada L."}`)
	var st struct {
		Reason  string
		Message string
		Details struct{ Name string }
	}
	json.Unmarshal(body, &st)
	fmt.Println(resp.StatusCode, st.Reason, st.Details.Name, resp.Header.Get("Location"))
	fmt.Println(st.Message)
	// Output:
	// 409 AlreadyExists u_1 /users/u_1
	// users "u_1" already exists
}

// An action the order's state does not allow is refused with the current
// state and the allowed actions.
func ExampleServer_invalidTransition() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	call(srv.Client(), "POST", srv.URL+"/orders", `{"item":"book"}`) // o_1, pending

	resp, body := call(srv.Client(), "POST", srv.URL+"/orders/o_1/ship", "")
	var p struct {
		Code               string   `json:"code"`
		CurrentState       string   `json:"current_state"`
		AllowedTransitions []string `json:"allowed_transitions"`
	}
	json.Unmarshal(body, &p)
	fmt.Println(resp.StatusCode, p.Code, p.CurrentState, p.AllowedTransitions)
	// Output:
	// 409 invalid_transition pending [pay cancel]
}

// A category whose parent does not exist is a dependency conflict.
func ExampleServer_dependency() {
	srv := conflicttest.NewServer(conflicttest.WithDialect(conflicttest.Plain))
	defer srv.Close()

	resp, body := call(srv.Client(), "POST", srv.URL+"/categories", `{"name":"shoes","parent":"c_404"}`)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 409 {"error":"dependency_conflict","message":"parent category \"c_404\" does not exist","field":"parent"}
}

// While a create holding an idempotency key is in flight, a second request
// with the same key is refused with 409 and Retry-After; once the first
// completed, the key replays its response.
func ExampleFaults_inFlight() {
	srv := conflicttest.NewServer(conflicttest.WithFaults(conflicttest.Faults{InFlight: 200 * time.Millisecond}))
	defer srv.Close()

	var mu sync.Mutex
	var lines []string
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := call(srv.Client(), "POST", srv.URL+"/users", `{"email":"ada@example.com"}`, "Idempotency-Key", "key-1")
			var p struct{ Code string }
			json.Unmarshal(body, &p)
			mu.Lock()
			lines = append(lines, fmt.Sprintf("%d %s Retry-After=%q", resp.StatusCode, p.Code, resp.Header.Get("Retry-After")))
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))

	srv.SetFaults(conflicttest.Faults{})
	resp, _ := call(srv.Client(), "POST", srv.URL+"/users", `{"email":"ada@example.com"}`, "Idempotency-Key", `"key-1"`)
	fmt.Println(resp.StatusCode, "replayed:", resp.Header.Get("Idempotent-Replayed"))
	fmt.Println("users created:", srv.Stats().Creates["ada@example.com"])
	// Output:
	// 201  Retry-After=""
	// 409 idempotency_key_in_use Retry-After="1"
	// 201 replayed: true
	// users created: 1
}

// A response lost after the write committed: the retry with the same
// idempotency key is replayed instead of creating a second user.
func ExampleFaults_dropAfterCommit() {
	srv := conflicttest.NewServer(conflicttest.WithFaults(conflicttest.Faults{
		DropAfterCommit: 1,
		Routes:          []string{"POST /users"},
	}))
	defer srv.Close()

	resp, _ := call(srv.Client(), "POST", srv.URL+"/users", `{"email":"ada@example.com"}`, "Idempotency-Key", "key-1")
	fmt.Println("got a response:", resp != nil)

	srv.SetFaults(conflicttest.Faults{}) // the network heals
	resp, body := call(srv.Client(), "POST", srv.URL+"/users", `{"email":"ada@example.com"}`, "Idempotency-Key", "key-1")
	fmt.Println(resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), string(body))
	st := srv.Stats()
	fmt.Println("commits:", st.Commits, "created:", st.Creates["ada@example.com"])
	// Output:
	// error: the connection closed without a response
	// got a response: false
	// 201 true {"id":"u_1","email":"ada@example.com","name":"","idempotency_key":"key-1"}
	// commits: 1 created: 1
}
