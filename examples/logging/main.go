// Logging shows the two ways to watch what a conflict.Client does:
//
//   - conflict.WithLogger(*slog.Logger): every step (a conflict classified,
//     a refresh, a merge, a wait, a re-send, an adoption) is logged at debug
//     level and every abort at warn level, with structured attributes
//     (method, url, attempt, kind, reason, strategy, status, ...);
//   - conflict.WithHook(func(conflict.Event)): the same steps as values,
//     here used to count conflicts by kind, as a metrics exporter would.
//
// The "performing request" lines come from go-retryablehttp, which sends
// each request and is given the same logger. The logger is a slog text
// handler on stdout whose ReplaceAttr drops the
// time and replaces the server's random address and the random
// idempotency keys, so the output is the same in every run.
//
// Run it with:
//
//	go run ./examples/logging
//
// It runs against an embedded conflicttest server and exits with a non-zero
// status if the counts are not as printed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

func main() {
	log.SetFlags(0)
	srv := conflicttest.NewServer()
	defer srv.Close()
	srv.PutDocument("doc1", `{"title":"Draft","body":"Hello"}`)

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			switch {
			case a.Key == slog.TimeKey && len(groups) == 0:
				return slog.Attr{} // drop the time
			case a.Key == "idempotency_key":
				return slog.String(a.Key, "<key>") // random per call
			case a.Value.Kind() == slog.KindString && strings.Contains(a.Value.String(), srv.URL):
				// The server listens on a random port.
				return slog.String(a.Key, strings.ReplaceAll(a.Value.String(), srv.URL, "http://api"))
			}
			return a
		},
	}))

	// Count conflicts by kind from the hook, as a metrics counter
	// conflicts_total{kind="..."} would.
	var (
		mu     sync.Mutex
		counts = map[conflict.Kind]int{}
		aborts int
	)
	hook := func(_ context.Context, ev conflict.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Step {
		case conflict.StepConflict:
			counts[ev.Kind]++
		case conflict.StepAbort:
			aborts++
		}
	}

	client := conflict.New(
		conflict.WithLogger(logger),
		conflict.WithHook(hook),
		conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}),
	)

	fmt.Println("# A stale update, merged")
	_, etag := send(client, "GET", srv.URL+"/documents/doc1", "", "")
	srv.PutDocument("doc1", `{"title":"Draft","body":"Hello, world"}`)
	send(client, "PUT", srv.URL+"/documents/doc1", `{"title":"Final","body":"Hello","version":1}`, etag)

	fmt.Println("\n# A duplicate create, adopted")
	user := `{"email":"ada@example.com","name":"Ada"}`
	send(client, "POST", srv.URL+"/users", user, "")
	send(client, "POST", srv.URL+"/users", user, "")

	fmt.Println("\n# A duplicate create that is someone else's, aborted")
	_, err := do(client, "POST", srv.URL+"/users", `{"email":"ada@example.com","name":"Not Ada"}`, "")
	fmt.Println("error:", err)

	fmt.Println("\n# An invalid transition, aborted")
	send(client, "POST", srv.URL+"/orders", `{"item":"lamp"}`, "")
	send(client, "POST", srv.URL+"/orders/o_1/pay", "", "")
	send(client, "POST", srv.URL+"/orders/o_1/ship", "", "")
	_, err = do(client, "POST", srv.URL+"/orders/o_1/cancel", "", "")
	fmt.Println("error:", err)

	fmt.Println("\n# Conflicts by kind, counted by the hook")
	for k := conflict.Unknown; k <= conflict.PreconditionRequired; k++ {
		if counts[k] > 0 {
			fmt.Printf("conflicts_total{kind=%q} %d\n", k, counts[k])
		}
	}
	fmt.Printf("aborts_total %d\n", aborts)
	if counts[conflict.StaleVersion] != 1 || counts[conflict.Duplicate] != 2 || counts[conflict.InvalidTransition] != 1 || aborts != 2 {
		log.Fatalf("FAIL: counts %v, aborts %d", counts, aborts)
	}
}

// send does a request that must succeed and returns its body and ETag.
func send(client *conflict.Client, method, url, body, ifMatch string) ([]byte, string) {
	resp, err := do(client, method, url, body, ifMatch)
	if err != nil {
		log.Fatalf("FAIL: %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body) // to the end: a read document is a merge base
	if err != nil {
		log.Fatal(err)
	}
	return data, resp.Header.Get("ETag")
}

// do sends a request through client. A *conflict.Error is returned as is.
func do(client *conflict.Client, method, url, body, ifMatch string) (*http.Response, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := client.Do(req)
	var e *conflict.Error
	if errors.As(err, &e) {
		return nil, fmt.Errorf("%s (kind %s, reason %s)", e.Reason, e.Conflict.Kind, e.Conflict.Reason)
	}
	return resp, err
}
