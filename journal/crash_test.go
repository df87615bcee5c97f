package journal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/journal"
)

// The crash test: a child process (this test binary, run again) makes N
// creates and N updates through a journal against a server in this
// process that loses about 20% of its responses after committing. The
// child is killed with SIGKILL at random points and started again, several
// times; each start replays the journal and goes on where the journal says
// it stopped. At the end every create exists once, no update is lost, and
// the stale updates were merged against the bases recorded with them (a
// merge against anything else would have dropped other updates' fields, or
// aborted for want of a base after a restart).
//
// Op i (0 <= i < 2N) is intent number i+1 of the journal: an intent is on
// disk before it is sent, so after a crash the child knows exactly which
// ops exist (pending or done) and which were never made.
func TestCrashReplay(t *testing.T) {
	if os.Getenv("JOURNAL_CRASH_CHILD") == "1" {
		crashChild(t)
		return
	}
	// Kills land at a random moment after the child has opened the
	// journal: in its replay, or in its ops.
	n, kills, maxDelay := 500, 8, 150
	if testing.Short() {
		n, kills, maxDelay = 50, 4, 25
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))

	api := conflicttest.NewServer(conflicttest.WithFaults(conflicttest.Faults{Seed: seed, DropAfterCommit: 0.2}))
	defer api.Close()
	for d := 0; d < docs; d++ {
		api.PutDocument(docID(d), `{"title":"doc"}`)
	}
	path := filepath.Join(t.TempDir(), "crash.journal")

	killed, runs := 0, 0
	for {
		runs++
		if runs > 100 {
			t.Fatal("the child did not finish in 100 runs")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashReplay$", "-test.v")
		cmd.Env = append(os.Environ(), "JOURNAL_CRASH_CHILD=1", "JOURNAL_CRASH_URL="+api.URL,
			"JOURNAL_CRASH_PATH="+path, "JOURNAL_CRASH_N="+strconv.Itoa(n))
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var err error
		if killed < kills {
			wasKilled := false
			kill := time.NewTimer(time.Hour)
			started := time.NewTicker(time.Millisecond)
		wait:
			for {
				select {
				case err = <-exited:
					break wait
				case <-started.C:
					if out.Contains("CHILD START") {
						started.Stop()
						kill.Reset(time.Duration(rng.Intn(maxDelay*1000)) * time.Microsecond)
					}
				case <-kill.C:
					cmd.Process.Kill() // SIGKILL on Unix
					err = <-exited
					wasKilled = true
					killed++
					break wait
				}
			}
			started.Stop()
			kill.Stop()
			if wasKilled && !out.Contains("CHILD DONE") {
				continue
			}
			if wasKilled {
				err = nil // killed after it finished
			}
		} else {
			err = <-exited
		}
		if err != nil || !strings.Contains(out.String(), "CHILD DONE") {
			t.Fatalf("child run %d: %v\n%s", runs, err, out.String())
		}
		t.Logf("child runs %d, killed %d; last run: %s", runs, killed, lastLine(out.String(), "CHILD DONE"))
		break
	}

	// The journal has nothing pending.
	s, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Pending(context.Background()); len(p) != 0 {
		t.Fatalf("%d intents still pending", len(p))
	}
	if s.NextSeq() != uint64(2*n+1) {
		t.Fatalf("the journal holds %d intents, want %d", s.NextSeq()-1, 2*n)
	}
	s.Close()

	// Every create once: N orders, one per item.
	items := map[string]int{}
	for id := 1; ; id++ {
		resp, err := http.Get(fmt.Sprintf("%s/orders/o_%d", api.URL, id))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 404 {
			resp.Body.Close()
			break
		}
		var o struct{ Item string }
		json.NewDecoder(resp.Body).Decode(&o)
		resp.Body.Close()
		items[o.Item]++
	}
	if len(items) != n {
		t.Errorf("%d distinct items created, want %d", len(items), n)
	}
	for item, c := range items {
		if c != 1 {
			t.Errorf("%s created %d times", item, c)
		}
	}
	// No update lost.
	lost := 0
	for k := 0; k < n; k++ {
		doc, _, _ := api.Document(docID(k % docs))
		if !bytes.Contains(doc, []byte(fmt.Sprintf(`"f%d":%d`, k, k))) {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d updates lost", lost)
	}
	st := api.Stats()
	t.Logf("server: %d commits, %d 412s, requests %v", st.Commits, st.Conflicts[412], st.Requests)
	if st.Conflicts[412] == 0 {
		t.Errorf("no update was stale: the test exercised no merge")
	}
}

const docs = 10

func docID(d int) string { return "c" + strconv.Itoa(d) }

// syncBuffer is a bytes.Buffer safe for a child's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) Contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.b.Bytes(), []byte(s))
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func lastLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, prefix) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// crashChild is one life of the child: replay, then go on with the ops.
func crashChild(t *testing.T) {
	url, path := os.Getenv("JOURNAL_CRASH_URL"), os.Getenv("JOURNAL_CRASH_PATH")
	n, _ := strconv.Atoi(os.Getenv("JOURNAL_CRASH_N"))
	fs, err := journal.OpenFile(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	j, err := journal.New(fs, patientClient())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	rec := fs.Recovery()
	fmt.Println("CHILD START")
	replayed, failed := replayAll(t, j)

	type read struct {
		etag string
		body map[string]any
		uses int
	}
	bases := map[int]*read{}
	pending := 0
	for seq := fs.NextSeq(); seq <= uint64(2*n); seq = fs.NextSeq() {
		i := int(seq - 1)
		k := i / 2
		var err error
		if i%2 == 0 {
			var resp *http.Response
			resp, err = j.Do(request(t, ctx, "POST", url+"/orders", fmt.Sprintf(`{"item":"item-%d"}`, k)))
			if err == nil {
				readAll(t, resp)
			}
		} else {
			d := k % docs
			b := bases[d]
			if b == nil || b.uses >= 3 { // some updates are built on a stale read
				resp, err := j.Do(request(t, ctx, "GET", url+"/documents/"+docID(d), ""))
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				b = &read{etag: resp.Header.Get("ETag")}
				dec := json.NewDecoder(bytes.NewReader(readAll(t, resp)))
				dec.UseNumber()
				if err := dec.Decode(&b.body); err != nil {
					t.Fatalf("read: %v", err)
				}
				bases[d] = b
			}
			b.uses++
			ours := map[string]any{}
			for key, v := range b.body {
				ours[key] = v
			}
			ours[fmt.Sprintf("f%d", k)] = k
			body, _ := json.Marshal(ours)
			var resp *http.Response
			resp, err = j.Do(request(t, ctx, "PUT", url+"/documents/"+docID(d), string(body), "If-Match", b.etag))
			if err == nil {
				readAll(t, resp)
			}
		}
		var pe *journal.PendingError
		switch {
		case errors.As(err, &pe):
			pending++ // every response lost: Replay sends it
		case err != nil:
			t.Fatalf("op %d: %v", i, err)
		}
	}
	r2, f2 := replayAll(t, j)
	if failed+f2 > 0 {
		t.Fatalf("%d intents failed", failed+f2)
	}
	fmt.Printf("CHILD DONE: recovery %+v, replayed %d at start and %d at the end, %d left pending by Do\n",
		rec, replayed, r2, pending)
}

// replayAll replays until nothing is pending; it returns how many intents
// it replayed and how many failed.
func replayAll(t *testing.T, j *journal.Journal) (replayed, failed int) {
	for round := 0; ; round++ {
		reports, err := j.Replay(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(reports) == 0 {
			return replayed, failed
		}
		if round == 20 {
			t.Fatalf("still pending after 20 replays: %+v", reports)
		}
		for _, r := range reports {
			switch r.State {
			case journal.Failed, journal.Rejected:
				failed++
				fmt.Printf("intent %d %s %s failed: %v %s\n", r.Intent.Seq, r.Intent.Method, r.Intent.URL, r.Err, r.Reason)
			case journal.Applied:
				replayed++
			}
		}
	}
}
