// Workers shows deterministic idempotency keys for a fleet of workers.
//
// A queue delivers "create order" messages at least once: every message
// reaches two of three workers, and the server drops some responses after
// it committed the write (conflicttest's Faults.DropAfterCommit), so a
// worker cannot tell whether its create happened. Each worker is a separate
// process (here a goroutine with its own conflict.Client), and each derives
// the idempotency key from the order's business id:
//
//	ctx = conflict.WithIdempotencyKey(ctx, conflict.KeyFor("create-order", msg.OrderID))
//
// So every delivery and every re-send of the same order carries the same
// key: the server replays the first result instead of creating the order
// again (or answers "key in flight", which the client waits out). The
// program checks with the server's statistics that each order exists
// exactly once, then runs the same queue with the default keys (a new
// random key per call) to show the duplicates that redelivery makes
// without them.
//
// Run it with:
//
//	go run ./examples/workers
//
// It exits with a non-zero status if any order is missing or doubled.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
)

// A message asks for an order to be created; OrderID is the business id.
type message struct {
	OrderID string
	Item    string
}

const (
	workers  = 3
	orders   = 8
	delivery = 2 // each message is delivered this many times
)

func main() {
	log.SetFlags(0)
	var msgs []message
	for i := range orders {
		msgs = append(msgs, message{OrderID: fmt.Sprintf("A-%d", 1001+i), Item: fmt.Sprintf("item %d", i+1)})
	}
	fmt.Printf("%d workers, %d orders, each delivered %d times;\n", workers, orders, delivery)
	fmt.Printf("the server drops 1 in 4 create responses after committing.\n\n")

	fmt.Println(`With conflict.KeyFor("create-order", orderID) as the idempotency key:`)
	srv, created := run(msgs, func(m message) context.Context {
		return conflict.WithIdempotencyKey(context.Background(), conflict.KeyFor("create-order", m.OrderID))
	})
	st := srv.Stats()
	srv.Close()
	ok := true
	fmt.Println("  order    deliveries  distinct ids answered  created on the server")
	for _, m := range msgs {
		ids := created[m.OrderID]
		distinct := len(slices.Compact(slices.Sorted(slices.Values(ids))))
		n := st.Creates["key:"+conflict.KeyFor("create-order", m.OrderID)]
		fmt.Printf("  %-8s %10d %22d %22d\n", m.OrderID, len(ids), distinct, n)
		ok = ok && len(ids) == delivery && distinct == 1 && n == 1
	}
	if !ok || st.Commits != orders {
		log.Fatal("FAIL: an order is missing or was created more than once")
	}
	// Every request beyond one per delivery is a re-send after a dropped
	// response; the server answered it from the key's stored result.
	fmt.Printf("  server: %d orders for %d deliveries; %d responses were lost after the commit,\n"+
		"  and their re-sends, with the same key, got the stored result\n\n",
		st.Commits, orders*delivery, st.Requests["POST /orders"]-orders*delivery)

	fmt.Println("Without: every call gets a new random key (the default for a POST):")
	srv, _ = run(msgs, func(message) context.Context { return context.Background() })
	st = srv.Stats()
	srv.Close()
	fmt.Printf("  server: %d orders for %d messages: each redelivery created another order\n", st.Commits, orders)
	fmt.Println("  (a random key still makes each call's own re-sends safe, but not a redelivery)")
	if st.Commits != orders*delivery {
		log.Fatalf("FAIL: without deterministic keys: %d orders, want %d", st.Commits, orders*delivery)
	}
}

// run starts a server with faults and lets the workers drain a queue of
// msgs, each delivered twice. ctxFor gives the context of each create. It
// returns the server, still running, and the order ids the workers got
// for each message.
func run(msgs []message, ctxFor func(message) context.Context) (*conflicttest.Server, map[string][]string) {
	srv := conflicttest.NewServer(conflicttest.WithFaults(conflicttest.Faults{
		Seed:            28,   // the same faults, at the same requests, in every run
		DropAfterCommit: 0.25, // commit, then close the connection without a response
		Routes:          []string{"POST /orders"},
	}))

	// The queue: every message twice, the copies some way apart, as an
	// at-least-once broker redelivers after a missed acknowledgement.
	queue := make(chan message, len(msgs)*delivery)
	for range delivery {
		for _, m := range msgs {
			queue <- m
		}
	}
	close(queue)

	var (
		mu      sync.Mutex
		created = map[string][]string{} // order id → the server's ids, one per delivery
		wg      sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A worker of its own: its own client and connections.
			client := conflict.New(
				// A lost response is a transport failure: the create is
				// re-sent, with the same key, up to 6 times.
				conflict.WithLimits(conflict.Limits{TransportRetries: 6}),
				conflict.WithLimits(conflict.Limits{BackoffMin: 10 * time.Millisecond, BackoffMax: 200 * time.Millisecond}),
			)
			defer client.CloseIdleConnections()
			for m := range queue {
				id, err := createOrder(ctxFor(m), client, srv.URL, m)
				if err != nil {
					log.Fatalf("worker %d: order %s: %v", w+1, m.OrderID, err)
				}
				mu.Lock()
				created[m.OrderID] = append(created[m.OrderID], id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return srv, created
}

// createOrder creates the order of m and returns the server's id for it.
func createOrder(ctx context.Context, client *conflict.Client, base string, m message) (string, error) {
	body, err := json.Marshal(map[string]string{"item": m.Item})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/orders", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("%s: %s", resp.Status, data)
	}
	var o struct{ ID string }
	if err := json.Unmarshal(data, &o); err != nil {
		return "", err
	}
	return o.ID, nil
}
