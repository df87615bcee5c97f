package conflicttest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
)

// TestConcurrentReadModifyWrite runs 64 writers against one document, each
// looping GET then PUT with If-Match, retrying on 412, until its writes
// succeeded. Each write sets the writer's own field and increments a shared
// counter: every successful write must be committed exactly once and none
// may be lost. (One write each keeps the test fast under -race: 64 writers
// already cost about 2,000 stale attempts.)
func TestConcurrentReadModifyWrite(t *testing.T) {
	t.Parallel()
	const writers, writesEach = 64, 1
	srv := newServer(t)
	initial := srv.PutDocument("doc", `{"title":"shared","n":0}`)

	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = writers
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	var successes, conflicts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			field := "w" + strconv.Itoa(w)
			for done := 0; done < writesEach; {
				r, err := send(client, srv.URL, "GET", "/documents/doc", "")
				if err != nil || r.status != 200 {
					errs <- fmt.Errorf("%s GET: %v %d", field, err, r.status)
					return
				}
				var doc map[string]any
				if err := json.Unmarshal(r.body, &doc); err != nil {
					errs <- err
					return
				}
				doc[field] = done + 1
				doc["n"] = doc["n"].(float64) + 1
				body, _ := json.Marshal(doc)
				r, err = send(client, srv.URL, "PUT", "/documents/doc", string(body), "If-Match", r.header.Get("ETag"))
				switch {
				case err != nil:
					errs <- err
					return
				case r.status == 200:
					done++
					successes.Add(1)
				case r.status == 412:
					conflicts.Add(1)
				default:
					errs <- fmt.Errorf("%s PUT: %d %s", field, r.status, r.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	body, version, _ := srv.Document("doc")
	if want := initial + int(successes.Load()); version != want {
		t.Errorf("final version = %d, want %d", version, want)
	}
	var doc map[string]any
	json.Unmarshal(body, &doc)
	if doc["n"] != float64(successes.Load()) {
		t.Errorf("shared counter n = %v, want %d (a committed write was lost)", doc["n"], successes.Load())
	}
	for w := range writers {
		if got := doc["w"+strconv.Itoa(w)]; got != float64(writesEach) {
			t.Errorf("w%d = %v, want %d (a committed write was lost)", w, got, writesEach)
		}
	}
	st := srv.Stats()
	log := st.Versions["doc"]
	for i, v := range log {
		if v != i+1 {
			t.Fatalf("Versions[%d] = %d; log %v does not grow by one", i, v, log)
		}
	}
	if len(log) != writers*writesEach+1 || st.Commits != writers*writesEach {
		t.Errorf("log has %d versions, Commits = %d; want %d and %d", len(log), st.Commits, writers*writesEach+1, writers*writesEach)
	}
	if st.Conflicts[412] != int(conflicts.Load()) {
		t.Errorf("Conflicts[412] = %d, clients saw %d", st.Conflicts[412], conflicts.Load())
	}
	t.Logf("%d writes, %d stale retries", successes.Load(), conflicts.Load())
}

// TestConcurrentCreates races 32 creates of one email, half of them
// sharing one idempotency key: exactly one user is created.
func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	srv := newServer(t, conflicttest.WithFaults(conflicttest.Faults{InFlight: 20 * time.Millisecond}))
	var wg sync.WaitGroup
	statuses := make(chan int, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var headers []string
			if i%2 == 0 {
				headers = []string{"Idempotency-Key", "shared"}
			}
			r, err := send(srv.Client(), srv.URL, "POST", "/users", `{"email":"race@example.com"}`, headers...)
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- r.status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if st := srv.Stats(); st.Creates["race@example.com"] != 1 || st.Commits != 1 {
		t.Errorf("Stats = %+v (statuses %v)", st, count)
	}
	if count[201] < 1 || count[201]+count[409] != 32 {
		t.Errorf("statuses = %v", count)
	}
}
