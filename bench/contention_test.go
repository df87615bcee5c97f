package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// updateFunc bumps field by one on the shared document and reports the
// sends of its write.
type updateFunc func(field string) (attempts int, err error)

// A contender is one way to run field-disjoint read-modify-write updates
// of one shared document. prepare is called once per run with the
// document's URL and the number of writers; it returns each writer's
// update function (writer is called once per writer, before the start)
// and what to do after the run.
type contender struct {
	name    string
	prepare func(url string, writers int) (writer func(w int) updateFunc, done func())
}

// sharedClient and perWriter build the clients of a run: one for all the
// writers, over one transport keeping an idle connection per writer; or
// one per writer, each with a transport of its own, as separate processes
// would have.
func sharedClient[C any](build func(hc *http.Client) C, update func(c C, url, field string) (int, error)) func(string, int) (func(int) updateFunc, func()) {
	return func(url string, writers int) (func(int) updateFunc, func()) {
		hc := &http.Client{Transport: newTransport(writers)}
		c := build(hc)
		return func(int) updateFunc {
			return func(field string) (int, error) { return update(c, url, field) }
		}, hc.CloseIdleConnections
	}
}

func perWriter[C any](build func(hc *http.Client) C, update func(c C, url, field string) (int, error)) func(string, int) (func(int) updateFunc, func()) {
	return func(url string, writers int) (func(int) updateFunc, func()) {
		var mu sync.Mutex
		var hcs []*http.Client
		return func(int) updateFunc {
				hc := &http.Client{Transport: newTransport(2)}
				mu.Lock()
				hcs = append(hcs, hc)
				mu.Unlock()
				c := build(hc)
				return func(field string) (int, error) { return update(c, url, field) }
			}, func() {
				for _, hc := range hcs {
					hc.CloseIdleConnections()
				}
			}
	}
}

// newConflictClient is conflict.New over hc with a MergeJSON rule for the
// documents, and opts (none: the library's default limits).
func newConflictClient(opts ...conflict.Option) func(hc *http.Client) *conflict.Client {
	return func(hc *http.Client) *conflict.Client {
		return conflict.New(append([]conflict.Option{
			conflict.WithHTTPClient(hc),
			conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}),
		}, opts...)...)
	}
}

func viaConflict(c *conflict.Client, url, field string) (int, error) {
	return conflictUpdate(c, url, field, inHeader, nil)
}

func plainClient(hc *http.Client) *http.Client { return hc }

func viaRetryOnConflict(b wait.Backoff) func(hc *http.Client, url, field string) (int, error) {
	return func(hc *http.Client, url, field string) (int, error) {
		return rocUpdate(hc, b, url, field, inHeader, nil)
	}
}

// contenders are the peers of the contention runs (GET, bump one's own
// field, PUT with If-Match): conflict at its default limits (conflict.New
// and a merge rule) through one shared client and through a client per
// writer, and a client-go retry.RetryOnConflict loop (GET+PUT per try)
// with DefaultRetry (5 tries, 10 ms ±10% apart) and with 1,000 steps.
// The RetryOnConflict loops share one transport: they coordinate nothing,
// so sharing changes only the connections.
var contenders = []contender{
	{"conflict/shared", sharedClient(newConflictClient(), viaConflict)},
	{"conflict/per-writer", perWriter(newConflictClient(), viaConflict)},
	{"RetryOnConflict/DefaultRetry", sharedClient(plainClient, viaRetryOnConflict(retry.DefaultRetry))},
	{"RetryOnConflict/steps=1000", sharedClient(plainClient, viaRetryOnConflict(largeRetry))},
}

// updaters are the peers of the Update runs: conflict.Update at the
// default limits (conflict.New(), no rule), and the plain loop a caller
// writes without the library (plainLoop), each through one shared client
// and a client per writer. Both decode into a map[string]any.
var updaters = []contender{
	{"Update/shared", sharedClient(newUpdateClient, viaUpdate)},
	{"Update/per-writer", perWriter(newUpdateClient, viaUpdate)},
	{"loop/shared", sharedClient(plainClient, plainLoop)},
	{"loop/per-writer", perWriter(plainClient, plainLoop)},
}

func newUpdateClient(hc *http.Client) *conflict.Client {
	return conflict.New(conflict.WithHTTPClient(hc))
}

func viaUpdate(c *conflict.Client, url, field string) (int, error) {
	tries := 0
	_, err := conflict.Update(context.Background(), c, url, func(d *map[string]any) error {
		tries++
		n, _ := (*d)[field].(float64)
		(*d)[field] = n + 1
		return nil
	})
	return tries, err
}

// plainLoopTries bounds plainLoop; it is high enough never to be reached
// in these runs, so the loop never gives up.
const plainLoopTries = 1000

// plainLoop is the read-modify-write a caller writes by hand: GET, decode,
// bump, PUT with If-Match; on 412 wait 10 ms ±10% and start again.
func plainLoop(hc *http.Client, url, field string) (int, error) {
	for try := 1; try <= plainLoopTries; try++ {
		if try > 1 {
			time.Sleep(time.Duration(float64(10*time.Millisecond) * (0.9 + 0.2*rand.Float64())))
		}
		resp, err := hc.Get(url)
		if err != nil {
			return try, err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return try, err
		}
		if resp.StatusCode != http.StatusOK {
			return try, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			return try, err
		}
		n, _ := doc[field].(float64)
		doc[field] = n + 1
		body, err := json.Marshal(doc)
		if err != nil {
			return try, err
		}
		req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
		if err != nil {
			return try, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("If-Match", resp.Header.Get("ETag"))
		resp, err = hc.Do(req)
		if err != nil {
			return try, err
		}
		drain(resp)
		switch resp.StatusCode {
		case http.StatusOK:
			return try, nil
		case http.StatusPreconditionFailed:
			continue
		}
		return try, fmt.Errorf("PUT %s: %s", url, resp.Status)
	}
	return plainLoopTries, errors.New("plain loop: out of tries")
}

// contentionResult is what one run of writers × updates did.
type contentionResult struct {
	intended int // writers × updates
	applied  int // the increments found on the server at the end
	gaveUp   int // updates whose call returned an error
	// silentLost counts updates a call reported done that the server does
	// not have; doubled counts increments the server has beyond those
	// reported done (an update applied twice, or applied after an error).
	silentLost, doubled int
	// errors counts the errors by what they say: "attempts exhausted",
	// "conflict" (RetryOnConflict gave up), "deadline", or their text.
	errors               map[string]int
	requests, gets, puts int
	attempts             []int           // write sends per update, in no order
	finished             []time.Duration // when each call returned, from the start, sorted
	elapsed              time.Duration
	cpu, serverCPU       time.Duration // this process's and the server's (-1: in this process)
}

// lost is the updates that did not land: give-ups and silent losses.
func (r contentionResult) lost() int { return r.intended - r.applied }

// tail returns when the fraction p (0 < p <= 1) of the calls had returned.
func (r contentionResult) tail(p float64) time.Duration {
	if len(r.finished) == 0 {
		return 0
	}
	i := int(float64(len(r.finished))*p+0.999999) - 1
	return r.finished[min(max(i, 0), len(r.finished)-1)]
}

// otherErrors is the number of errors that are not a give-up on
// contention.
func (r contentionResult) otherErrors() int {
	n := 0
	for k, v := range r.errors {
		switch k {
		case "attempts exhausted", "conflict", "deadline":
		default:
			n += v
		}
	}
	return n
}

// errorClass names what err says, for contentionResult.errors.
func errorClass(err error) string {
	var e *conflict.Error
	switch {
	case errors.As(err, &e) && e.Reason == conflict.ErrAttemptsExhausted:
		return "attempts exhausted"
	case apierrors.IsConflict(err):
		return "conflict"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	return err.Error()
}

// runContention runs writers goroutines, each owning one counter of
// document id on srv and bumping it updates times, all at once, then
// counts what landed.
func runContention(tb testing.TB, srv docServer, id string, c contender, writers, updates int) contentionResult {
	tb.Helper()
	srv.PutDocument(id, counterDoc(writers))
	srv.ResetStats()
	url := srv.URL() + "/documents/" + id
	writer, done := c.prepare(url, writers)
	defer done()

	res := contentionResult{intended: writers * updates, errors: map[string]int{}}
	landed := make([]int, writers)
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
		t0    time.Time
	)
	for w := range writers {
		update := writer(w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			attempts := make([]int, 0, updates)
			finished := make([]time.Duration, 0, updates)
			errs := map[string]int{}
			for range updates {
				n, err := update(fieldOf(w))
				finished = append(finished, time.Since(t0))
				attempts = append(attempts, n)
				if err != nil {
					errs[errorClass(err)]++
				} else {
					landed[w]++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.attempts = append(res.attempts, attempts...)
			res.finished = append(res.finished, finished...)
			for k, v := range errs {
				res.errors[k] += v
				res.gaveUp += v
			}
		}()
	}
	runtime.GC()
	cpu0, scpu0 := cpuTime(), srv.CPU()
	t0 = time.Now()
	close(start)
	wg.Wait()
	res.elapsed = time.Since(t0)
	res.cpu = cpuTime() - cpu0
	res.serverCPU = -1
	if scpu0 >= 0 {
		res.serverCPU = srv.CPU() - scpu0
	}
	slices.Sort(res.finished)

	var m map[string]json.RawMessage
	if err := json.Unmarshal(srv.Document(id), &m); err != nil {
		tb.Fatal(err)
	}
	for w := range writers {
		v, err := strconv.Atoi(string(m[fieldOf(w)]))
		if err != nil {
			tb.Fatalf("%s: %v", fieldOf(w), err)
		}
		res.applied += v
		res.silentLost += max(landed[w]-v, 0)
		res.doubled += max(v-landed[w], 0)
	}
	reqs := srv.Requests()
	res.requests = sumRequests(reqs)
	res.gets, res.puts = reqs["GET /documents/{id}"], reqs["PUT /documents/{id}"]
	return res
}

// TestContention runs every contender and updater on a small contended
// document and checks what can be checked exactly: none loses an update
// silently or applies one twice; conflict and conflict.Update at their
// default limits, and the plain loop, abort none.
func TestContention(t *testing.T) {
	t.Parallel()
	const writers, updates = 6, 8
	table := [][]string{{"peer", "updates", "lost", "silently lost", "doubled", "req/update", "p50 attempts", "p99 attempts"}}
	for _, c := range slices.Concat(contenders, updaters) {
		srv := conflicttest.NewServer()
		r := runContention(t, localServer{srv}, "shared", c, writers, updates)
		srv.Close()
		if n := r.otherErrors(); n != 0 {
			t.Errorf("%s: %d unexpected errors: %v", c.name, n, r.errors)
		}
		if r.silentLost != 0 || r.doubled != 0 {
			t.Errorf("%s: %d updates silently lost, %d doubled", c.name, r.silentLost, r.doubled)
		}
		if !slices.Contains([]string{"RetryOnConflict/DefaultRetry", "RetryOnConflict/steps=1000"}, c.name) && r.lost() != 0 {
			t.Errorf("%s: %d updates lost (%v), want 0", c.name, r.lost(), r.errors)
		}
		table = append(table, []string{c.name, strconv.Itoa(r.intended), strconv.Itoa(r.lost()),
			strconv.Itoa(r.silentLost), strconv.Itoa(r.doubled),
			fmt.Sprintf("%.2f", float64(r.requests)/float64(r.intended)),
			strconv.Itoa(percentile(r.attempts, 50)), strconv.Itoa(percentile(r.attempts, 99))})
	}
	tableLog(t, table)
}
