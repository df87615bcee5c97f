package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/hashicorp/go-retryablehttp"
)

// createFaults are the faults of the exactly-once runs: 30% of the
// creates are committed and then lose their response (the connection is
// closed), 10% are answered 503 before anything is committed.
func createFaults(seed int64) conflicttest.Faults {
	return conflicttest.Faults{Seed: seed, DropAfterCommit: 0.3, FailBeforeCommit: 0.1}
}

// A creator sends one create: POST path with body, and reports whether the
// call succeeded (a 2xx and no error).
type creator struct {
	name   string
	create func(url string, body []byte) (ok bool, err error)
}

// conflictCreator sends creates through conflict.New with transport
// retries: every POST carries an idempotency key, the same on every retry.
func conflictCreator() creator {
	c := conflict.New(conflict.WithLimits(conflict.Limits{TransportRetries: 10}), conflict.WithLimits(conflict.Limits{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}))
	return creator{name: "conflict", create: func(url string, body []byte) (bool, error) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return false, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return false, err
		}
		drain(resp)
		return resp.StatusCode/100 == 2, nil
	}}
}

// retryableCreator sends creates through go-retryablehttp alone, as its
// users do: no idempotency key. go-retryablehttp retries a POST after a
// connection error or a 5xx like any other request.
func retryableCreator() creator {
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.RetryMax = 10
	rc.RetryWaitMin, rc.RetryWaitMax = time.Millisecond, 5*time.Millisecond
	return creator{name: "retryablehttp", create: func(url string, body []byte) (bool, error) {
		req, err := retryablehttp.NewRequest(http.MethodPost, url, body)
		if err != nil {
			return false, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := rc.Do(req)
		if err != nil {
			return false, err
		}
		drain(resp)
		return resp.StatusCode/100 == 2, nil
	}}
}

// createResult is what one run of creates did, per intent (one intended
// create each), counted on the server.
type createResult struct {
	intents    int
	okCalls    int // calls that returned a 2xx
	failed     int // calls that returned an error or another status
	failedDone int // ... of which the server had committed the create
	duplicates int // intents the server created more than once
	missing    int // intents the server never created
	lost       int // intents neither created nor reported failed
	posts      int // POSTs the server saw
}

// runCreates sends n creates (distinct intents) from workers goroutines
// through cr against a server with the create faults, on collection
// "users" (distinct emails; the server refuses a second user with the same
// email) or "orders" (no unique field: a re-sent create is a second order).
func runCreates(tb testing.TB, cr creator, collection string, n, workers int, seed int64) createResult {
	tb.Helper()
	srv := conflicttest.NewServer(conflicttest.WithFaults(createFaults(seed)))
	defer srv.Close()
	url := srv.URL + "/" + collection
	intent := func(i int) string { return fmt.Sprintf("intent-%05d", i) }
	body := func(i int) []byte {
		if collection == "users" {
			return []byte(fmt.Sprintf(`{"email":"%s@example.com","name":"User %d"}`, intent(i), i))
		}
		return []byte(fmt.Sprintf(`{"item":%q}`, intent(i)))
	}

	ok := make([]bool, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ok[i], _ = cr.create(url, body(i))
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()

	st := srv.Stats()
	created := make(map[string]int, n) // per intent
	switch collection {
	case "users":
		for i := range n {
			created[intent(i)] = st.Creates[intent(i)+"@example.com"]
		}
	default:
		// Orders have no unique field: read every order the server
		// committed and count them per item.
		srv.SetFaults(conflicttest.Faults{})
		hc := srv.Client()
		for id := 1; id <= st.Commits; id++ {
			resp, err := hc.Get(srv.URL + "/orders/o_" + strconv.Itoa(id))
			if err != nil {
				tb.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var o struct{ Item string }
			if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &o) != nil {
				tb.Fatalf("GET /orders/o_%d: %s %s", id, resp.Status, data)
			}
			created[o.Item]++
		}
	}
	res := createResult{intents: n, posts: st.Requests["POST /"+collection]}
	for i := range n {
		c := created[intent(i)]
		switch {
		case c == 0:
			res.missing++
		case c > 1:
			res.duplicates++
		}
		if ok[i] {
			res.okCalls++
			if c == 0 {
				res.lost++
			}
		} else {
			res.failed++
			if c > 0 {
				res.failedDone++
			}
		}
	}
	return res
}

// TestExactlyOnceCreates sends 1,000 creates, 8 at a time, through
// conflict (idempotency keys, transport retries) and through
// go-retryablehttp alone (transport retries, no keys), against a server
// that drops 30% of the responses after committing and fails 10% before,
// and counts on the server what each intent produced.
//
// On /users, where the email is unique, the server itself refuses a second
// user, so go-retryablehttp's re-sent creates surface as failed calls
// (409 "already exists") for users that were in fact created. On /orders,
// which have no unique field, they become duplicate orders.
func TestExactlyOnceCreates(t *testing.T) {
	t.Parallel()
	const n, workers = 1000, 8
	table := [][]string{{"peer", "collection", "creates", "POSTs sent", "ok calls", "failed calls", "failed but created", "duplicated", "missing"}}
	for _, collection := range []string{"users", "orders"} {
		for _, cr := range []creator{conflictCreator(), retryableCreator()} {
			r := runCreates(t, cr, collection, n, workers, 42)
			table = append(table, []string{cr.name, collection, strconv.Itoa(r.intents), strconv.Itoa(r.posts),
				strconv.Itoa(r.okCalls), strconv.Itoa(r.failed), strconv.Itoa(r.failedDone),
				strconv.Itoa(r.duplicates), strconv.Itoa(r.missing)})
			if r.lost != 0 {
				t.Errorf("%s %s: %d creates reported done that the server does not have", cr.name, collection, r.lost)
			}
			switch cr.name {
			case "conflict":
				if r.duplicates != 0 || r.missing != 0 || r.failed != 0 {
					t.Errorf("%s %s: %d duplicated, %d missing, %d failed calls; want none", cr.name, collection, r.duplicates, r.missing, r.failed)
				}
			case "retryablehttp":
				// The peer's failure mode, which these faults make certain
				// (about 300 dropped responses): a re-sent create.
				if collection == "orders" && r.duplicates == 0 {
					t.Errorf("%s %s: no duplicates; the faults did not bite", cr.name, collection)
				}
				if collection == "users" && r.failedDone == 0 {
					t.Errorf("%s %s: no created user was reported failed; the faults did not bite", cr.name, collection)
				}
			}
		}
	}
	tableLog(t, table)
}
