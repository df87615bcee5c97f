package conflict_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// bearer adds a credential to every request it sends, as an oauth2
// transport does.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// tracer records each physical request and its resend count, as a tracing
// transport does.
type tracer struct {
	mu    sync.Mutex
	lines []string
	base  http.RoundTripper
}

func (t *tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	n, ok := conflict.ResendCount(req.Context())
	resp, err := t.base.RoundTrip(req)
	t.mu.Lock()
	defer t.mu.Unlock()
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	t.lines = append(t.lines, fmt.Sprintf("%s %s %d resend=%d/%v auth=%v", req.Method, req.URL.Path, status, n, ok, req.Header.Get("Authorization") != ""))
	return resp, err
}

// authServer answers 401 to any request without the bearer credential.
func authServer(t testing.TB, srv *conflicttest.Server) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		srv.Handler().ServeHTTP(w, r)
	})
	return mux
}

// TestTransportComposition: the client composes with an auth transport and
// a tracing transport inside it (WithTransport), and with an auth transport
// outside it (around StandardClient); every physical request of a merged
// stale write (the write, the refresh read, the re-send) carries the
// credential, and the tracing transport sees each with its resend count.
func TestTransportComposition(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, outside bool) []string {
		srv := conflicttest.NewUnstartedServer() // its documents, behind a credential check
		front := httptest.NewServer(authServer(t, srv))
		t.Cleanup(front.Close)
		srv.PutDocument("7", `{"title":"Draft","body":"..."}`)
		tr := &tracer{base: http.DefaultTransport}
		rule := conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge})
		var do func(*http.Request) (*http.Response, error)
		if outside {
			c := conflict.New(rule, conflict.WithTransport(tr))
			hc := &http.Client{Transport: bearer{"t0k", c}}
			do = hc.Do
		} else {
			c := conflict.New(rule, conflict.WithTransport(bearer{"t0k", tr}))
			do = c.Do
		}
		resp, err := do(mustRequest("GET", front.URL+"/documents/7", ""))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.PutDocument("7", `{"title":"Draft","body":"Edited elsewhere"}`)
		req := mustRequest("PUT", front.URL+"/documents/7", strings.Replace(string(body), "Draft", "Final", 1))
		req.Header.Set("If-Match", resp.Header.Get("ETag"))
		resp, err = do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PUT answered %d", resp.StatusCode)
		}
		return tr.lines
	}
	for _, outside := range []bool{false, true} {
		t.Run(fmt.Sprintf("auth outside=%v", outside), func(t *testing.T) {
			t.Parallel()
			got := strings.Join(run(t, outside), "\n")
			want := strings.Join([]string{
				"GET /documents/7 200 resend=0/true auth=true",
				"PUT /documents/7 412 resend=0/true auth=true",
				"GET /documents/7 200 resend=1/true auth=true",
				"PUT /documents/7 200 resend=2/true auth=true",
			}, "\n")
			if got != want {
				t.Errorf("physical requests:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// WithTransport composes the client with other transports: here one that
// adds a credential to every request the client sends, recovery reads and
// re-sends included.
func ExampleWithTransport() {
	srv := conflicttest.NewServer()
	defer srv.Close()
	check := &tracer{base: http.DefaultTransport}
	c := conflict.New(conflict.WithTransport(bearer{"t0k", check}))
	resp, err := c.Do(mustRequest("POST", srv.URL+"/users", `{"email":"ana@example.com"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(strings.Join(check.lines, "\n"))
	// Output:
	// POST /users 201 resend=0/true auth=true
}
