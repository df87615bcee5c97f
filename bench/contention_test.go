package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
)

// A contender is one way to run field-disjoint read-modify-write updates
// against one shared document.
type contender struct {
	name string
	// currentInConflict makes the server carry the current representation
	// and ETag in its 412 replies.
	currentInConflict bool
	// updater returns the function one writer calls per update: bump
	// field by one, and report the PUT's sends.
	updater func(hc *http.Client, url string) func(field string) (int, error)
}

func conflictContender(name string, current bool, opts ...conflict.Option) contender {
	return contender{name: name, currentInConflict: current, updater: func(hc *http.Client, url string) func(string) (int, error) {
		all := append([]conflict.Option{
			conflict.WithHTTPClient(hc),
			conflict.WithRule("PUT /documents/{id}", conflict.Rule{Merge: jsonmerge.Merge}),
		}, opts...)
		c := conflict.New(all...)
		return func(field string) (int, error) { return conflictUpdate(c, url, field, inHeader, nil) }
	}}
}

// contenders are the peers of the contention benchmark. The conflict
// clients re-send at once after a merge; the RetryOnConflict loops wait
// retry.DefaultRetry's 10 ms (±10%) between tries.
var contenders = []contender{
	conflictContender("conflict/attempts=1000", false, conflict.WithLimits(conflict.Limits{MaxAttempts: 1000}), conflict.WithLimits(conflict.Limits{MaxElapsed: time.Minute})),
	conflictContender("conflict/attempts=1000/current-in-412", true, conflict.WithLimits(conflict.Limits{MaxAttempts: 1000}), conflict.WithLimits(conflict.Limits{MaxElapsed: time.Minute})),
	conflictContender("conflict/defaults", false),
	{name: "RetryOnConflict/DefaultRetry", updater: func(hc *http.Client, url string) func(string) (int, error) {
		return func(field string) (int, error) { return rocUpdate(hc, retry.DefaultRetry, url, field, inHeader, nil) }
	}},
	{name: "RetryOnConflict/steps=1000", updater: func(hc *http.Client, url string) func(string) (int, error) {
		return func(field string) (int, error) { return rocUpdate(hc, largeRetry, url, field, inHeader, nil) }
	}},
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
	requests, gets      int
	puts                int
	attempts            []int // PUT sends per update, in no order
	elapsed             time.Duration
	firstErr            error
}

// lost is the updates that did not land: give-ups and silent losses.
func (r contentionResult) lost() int { return r.intended - r.applied }

// runContention runs writers goroutines, each owning one counter of one
// shared document and bumping it updates times, all at once.
func runContention(tb testing.TB, c contender, writers, updates int, faults *conflicttest.Faults) contentionResult {
	tb.Helper()
	opts := []conflicttest.Option{conflicttest.WithCurrentInConflict(c.currentInConflict)}
	if faults != nil {
		opts = append(opts, conflicttest.WithFaults(*faults))
	}
	srv := conflicttest.NewServer(opts...)
	defer srv.Close()
	srv.PutDocument("shared", counterDoc(writers))
	url := srv.URL + "/documents/shared"
	hc := &http.Client{Transport: newTransport(writers)}
	defer hc.CloseIdleConnections()

	res := contentionResult{intended: writers * updates}
	done := make([]int, writers)
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for w := range writers {
		update := c.updater(hc, url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var attempts []int
			var gaveUp int
			var firstErr error
			for range updates {
				n, err := update(fieldOf(w))
				attempts = append(attempts, n)
				if err != nil {
					gaveUp++
					if firstErr == nil && !apierrors.IsConflict(err) && !isAttemptsExhausted(err) {
						firstErr = err
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.attempts = append(res.attempts, attempts...)
			res.gaveUp += gaveUp
			done[w] = updates - gaveUp
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res.elapsed = time.Since(t0)

	doc, _, _ := srv.Document("shared")
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		tb.Fatal(err)
	}
	for w := range writers {
		v, err := strconv.Atoi(string(m[fieldOf(w)]))
		if err != nil {
			tb.Fatalf("%s: %v", fieldOf(w), err)
		}
		res.applied += v
		res.silentLost += max(done[w]-v, 0)
		res.doubled += max(v-done[w], 0)
	}
	st := srv.Stats()
	res.requests = sumRequests(st.Requests)
	res.gets, res.puts = st.Requests["GET /documents/{id}"], st.Requests["PUT /documents/{id}"]
	return res
}

func isAttemptsExhausted(err error) bool {
	var e *conflict.Error
	return errors.As(err, &e) && e.Reason == conflict.ErrAttemptsExhausted
}

// BenchmarkContention runs 32 writers × 50 field-disjoint updates of one
// document per iteration (run it with -benchtime=1x), through conflict and
// through a RetryOnConflict loop, and reports goodput (successful updates
// per second), requests per intended update, the PUT sends per update at
// the median and the 99th percentile, and the updates lost (give-ups).
func BenchmarkContention(b *testing.B) {
	const writers, updates = 32, 50
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			var total contentionResult
			for range b.N {
				r := runContention(b, c, writers, updates, nil)
				if r.firstErr != nil {
					b.Fatal(r.firstErr)
				}
				if r.silentLost != 0 || r.doubled != 0 {
					b.Fatalf("%d updates silently lost, %d doubled", r.silentLost, r.doubled)
				}
				total.intended += r.intended
				total.applied += r.applied
				total.requests += r.requests
				total.attempts = append(total.attempts, r.attempts...)
				total.elapsed += r.elapsed
			}
			b.ReportMetric(float64(total.applied)/total.elapsed.Seconds(), "updates/s")
			b.ReportMetric(float64(total.requests)/float64(total.intended), "req/update")
			b.ReportMetric(float64(percentile(total.attempts, 50)), "p50-attempts")
			b.ReportMetric(float64(percentile(total.attempts, 99)), "p99-attempts")
			b.ReportMetric(float64(total.lost())/float64(b.N), "lost")
		})
	}
}

// TestContention runs every contender on a small contended document and
// checks what can be checked exactly: no contender loses an update
// silently or applies one twice, and conflict with enough attempts loses
// none.
func TestContention(t *testing.T) {
	t.Parallel()
	const writers, updates = 6, 8
	table := [][]string{{"peer", "updates", "lost", "silently lost", "doubled", "req/update", "p50 attempts", "p99 attempts"}}
	for _, c := range contenders {
		r := runContention(t, c, writers, updates, nil)
		if r.firstErr != nil {
			t.Errorf("%s: %v", c.name, r.firstErr)
		}
		if r.silentLost != 0 || r.doubled != 0 {
			t.Errorf("%s: %d updates silently lost, %d doubled", c.name, r.silentLost, r.doubled)
		}
		if c.name == "conflict/attempts=1000" && r.lost() != 0 {
			t.Errorf("%s: %d updates lost, want 0", c.name, r.lost())
		}
		table = append(table, []string{c.name, strconv.Itoa(r.intended), strconv.Itoa(r.lost()),
			strconv.Itoa(r.silentLost), strconv.Itoa(r.doubled),
			fmt.Sprintf("%.2f", float64(r.requests)/float64(r.intended)),
			strconv.Itoa(percentile(r.attempts, 50)), strconv.Itoa(percentile(r.attempts, 99))})
	}
	tableLog(t, table)
}
