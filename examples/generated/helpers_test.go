package generated_test

import (
	"strings"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// setup starts a conflicttest server (problem+json) holding document doc1
// at version 1, and returns it with a conflict.Client that merges stale
// document writes. Both are closed when the test ends.
func setup(t *testing.T) (*conflicttest.Server, *conflict.Client) {
	t.Helper()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("doc1", `{"title":"Draft","body":"Hello"}`)
	c := conflict.New(conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}))
	t.Cleanup(c.CloseIdleConnections)
	return srv, c
}

// otherWriter changes doc1's body behind the client's back: version 2.
func otherWriter(srv *conflicttest.Server) {
	srv.PutDocument("doc1", `{"title":"Draft","body":"Hello, world"}`)
}

// shipOrder creates an order and moves it to shipped, with the server's
// own client, and returns its id.
func shipOrder(t *testing.T, srv *conflicttest.Server) string {
	t.Helper()
	// Orders are numbered from o_1 in a fresh server.
	for _, step := range []struct{ path, body string }{
		{"/orders", `{"item":"lamp"}`},
		{"/orders/o_1/pay", ""},
		{"/orders/o_1/ship", ""},
	} {
		resp, err := srv.Client().Post(srv.URL+step.path, "application/json", strings.NewReader(step.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %s", step.path, resp.Status)
		}
	}
	return "o_1"
}

// createUser creates a user with the server's own client, as another
// process would.
func createUser(t *testing.T, srv *conflicttest.Server, body string) {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL+"/users", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST /users: %s", resp.Status)
	}
}

// checkOutcome checks what the conflict.Client did for a call.
func checkOutcome(t *testing.T, res *conflict.Result, want conflict.Outcome) {
	t.Helper()
	if res == nil {
		t.Fatal("ResultOf = nil: the response did not come from the conflict.Client")
	}
	if res.Outcome != want {
		t.Errorf("Outcome = %v, want %v (attempts %d, err %v)", res.Outcome, want, res.Attempts, res.Err)
	}
}
