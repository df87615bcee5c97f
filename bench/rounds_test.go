package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-conflict/conflict/jsonmerge"
)

// The interleaved rounds. One round is one process (one run of the test
// binary with -round.kind): every peer of a measure runs in it once, in an
// order rotated by -round.index, so that no peer always runs first, last,
// or next to the same neighbour, and the ratios of one round compare peers
// that ran in the same process minutes (not tens of minutes) apart. Each
// measurement is written as one JSON line to -round.out; cmd/benchtables
// turns the lines of N rounds into medians with min–max. run.sh does it
// all.
var (
	roundKind  = flag.String("round.kind", "", "run one interleaved round: micro, contention or update (TestRound)")
	roundIndex = flag.Int("round.index", 0, "the round's number: rotates the order of the peers")
	roundOut   = flag.String("round.out", "", "append the round's measurements, one JSON line each, to this file (default stdout)")
	roundScale = flag.Float64("round.scale", 1, "multiplies the operations and updates of a round")
)

// record is one measurement: one peer, once, in one round. cmd/benchtables
// reads these.
type record struct {
	Kind  string             `json:"kind"`  // happy-mem, happy-loopback, merge, contention, update
	Group string             `json:"group"` // GET, PUT, w=32, ...
	Peer  string             `json:"peer"`
	Round int                `json:"round"`
	Order int                `json:"order"` // its place in the round
	M     map[string]float64 `json:"m"`
}

// rotate returns xs rotated left by r.
func rotate[T any](xs []T, r int) []T {
	n := len(xs)
	if n == 0 {
		return nil
	}
	r = ((r % n) + n) % n
	return slices.Concat(xs[r:], xs[:r])
}

// sample is what n calls of one function cost.
type sample struct {
	n              int
	wall, cpu      time.Duration
	mallocs, bytes uint64
}

func (s sample) metrics() map[string]float64 {
	n := float64(s.n)
	return map[string]float64{
		"ops":       n,
		"ns/op":     float64(s.wall.Nanoseconds()) / n,
		"cpu-ns/op": float64(s.cpu.Nanoseconds()) / n,
		"allocs/op": float64(s.mallocs) / n,
		"B/op":      float64(s.bytes) / n,
	}
}

func (s *sample) add(o sample) {
	s.n += o.n
	s.wall += o.wall
	s.cpu += o.cpu
	s.mallocs += o.mallocs
	s.bytes += o.bytes
}

// measure calls f n times, after a collection, and returns the wall time,
// the CPU time of the process (every thread: the garbage collector's work
// for these calls is theirs), and the allocations.
func measure(n int, f func() error) (sample, error) {
	runtime.GC()
	return measureNoGC(n, f)
}

// measureNoGC is measure without the collection first: for slices of a
// longer run, whose collections fall on the slices in proportion to what
// they allocate.
func measureNoGC(n int, f func() error) (sample, error) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0, t0 := cpuTime(), time.Now()
	for range n {
		if err := f(); err != nil {
			return sample{}, err
		}
	}
	wall, cpu := time.Since(t0), cpuTime()-c0
	runtime.ReadMemStats(&m1)
	return sample{n: n, wall: wall, cpu: cpu, mallocs: m1.Mallocs - m0.Mallocs, bytes: m1.TotalAlloc - m0.TotalAlloc}, nil
}

// scaled is n times -round.scale, at least 1.
func scaled(n int) int { return max(1, int(float64(n)**roundScale+0.5)) }

// roundWriter collects a round's records.
type roundWriter struct {
	tb    testing.TB
	round int
	order int
	recs  []record
}

func (w *roundWriter) add(kind, group, peer string, m map[string]float64) {
	w.recs = append(w.recs, record{Kind: kind, Group: group, Peer: peer, Round: w.round, Order: w.order, M: m})
	w.order++
}

// flush appends the records to -round.out, or prints them.
func (w *roundWriter) flush() {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, r := range w.recs {
		if err := enc.Encode(r); err != nil {
			w.tb.Fatal(err)
		}
	}
	if *roundOut == "" {
		fmt.Print(b.String())
		return
	}
	f, err := os.OpenFile(*roundOut, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		w.tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		w.tb.Fatal(err)
	}
}

// TestRound runs one interleaved round of -round.kind; without it, it is
// skipped (TestRoundsSmall runs every kind at a small size).
func TestRound(t *testing.T) {
	if *roundKind == "" {
		t.Skip("no -round.kind: the interleaved rounds run from bench/run.sh")
	}
	w := &roundWriter{tb: t, round: *roundIndex}
	runRound(t, w, *roundKind, roundSizes())
	w.flush()
}

// TestRoundsSmall runs every kind of round at a small size and checks the
// records: the harness works, and no peer loses or doubles an update.
func TestRoundsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	sz := sizes{happyMem: 200, happyLoop: 20, mergeOurs: 3, mergeTheirs: 1,
		writers: []int{2, 8}, contention: 16, updateWriters: []int{4}, update: 32}
	for i, kind := range []string{"micro", "contention", "update"} {
		w := &roundWriter{tb: t, round: i}
		runRound(t, w, kind, sz)
		if len(w.recs) == 0 {
			t.Errorf("%s: no records", kind)
		}
		for _, r := range w.recs {
			if r.M["silently-lost"] != 0 || r.M["doubled"] != 0 || r.M["other-errors"] != 0 {
				t.Errorf("%s %s %s: %v", r.Kind, r.Group, r.Peer, r.M)
			}
		}
	}
}

// sizes are the operations per measurement of a round.
type sizes struct {
	happyMem, happyLoop    int   // exchanges per peer: in memory, over loopback
	mergeOurs, mergeTheirs int   // merges per peer: jsonmerge.Merge, apimachinery
	writers                []int // contention: writer counts
	contention             int   // contention: updates per run, split among the writers
	contention128          int   // the same at 128 writers or more (slower runs)
	updateWriters          []int // Update: writer counts
	update                 int   // Update: updates per run, split among the writers
}

// contentionEach is the updates per writer of a contention run.
func (sz sizes) contentionEach(writers int) int {
	total := sz.contention
	if writers >= 128 && sz.contention128 > 0 {
		total = sz.contention128
	}
	return max(1, (total+writers-1)/writers)
}

// roundSizes are the full sizes, times -round.scale.
func roundSizes() sizes {
	return sizes{
		happyMem: scaled(60_000), happyLoop: scaled(4_000),
		mergeOurs: scaled(600), mergeTheirs: scaled(40),
		writers: []int{2, 8, 32, 128}, contention: scaled(2_000), contention128: scaled(1_280),
		updateWriters: []int{8, 32}, update: scaled(2_560),
	}
}

func runRound(t *testing.T, w *roundWriter, kind string, sz sizes) {
	switch kind {
	case "micro":
		microRound(t, w, sz)
	case "contention":
		contentionRound(t, w, "contention", contenders, sz.writers, sz.contentionEach)
	case "update":
		contentionRound(t, w, "update", updaters, sz.updateWriters, func(writers int) int { return max(1, sz.update/writers) })
	default:
		t.Fatalf("-round.kind %q: want micro, contention or update", kind)
	}
}

// microRound measures the happy path (in memory and over loopback, the
// server in another process) and the 10 KiB merge. Every peer first runs
// a tenth of its operations unmeasured, to warm up; then the peers of each
// group alternate in ten slices of their operations.
func microRound(t *testing.T, w *roundWriter, sz sizes) {
	type job struct {
		kind, group, peer string
		n                 int
		f                 func() error
	}
	var jobs []job

	mem, _ := happyPeers("http://example.test/happy/d1", func() http.RoundTripper { return memTransport{} })
	srv := startChild(t)
	loop, closeIdle := happyPeers(srv.URL()+"/happy/d1", func() http.RoundTripper { return newTransport(1) })
	defer closeIdle()
	for _, op := range rotate(happyOps, w.round) {
		for _, peer := range rotate(happyPeerNames, w.round) {
			jobs = append(jobs, job{"happy-mem", op.method, peer, sz.happyMem, func() error { return mem[peer](op.method, op.body) }})
		}
		for _, peer := range rotate(happyPeerNames, w.round) {
			jobs = append(jobs, job{"happy-loopback", op.method, peer, sz.happyLoop, func() error { return loop[peer](op.method, op.body) }})
		}
	}
	f := mergeFixture
	merges := []job{
		{"merge", "10KiB", "jsonmerge.Merge", sz.mergeOurs, func() error { _, err := jsonmerge.Merge(f.base, f.ours, f.theirs); return err }},
		{"merge", "10KiB", "apimachinery", sz.mergeTheirs, func() error { _, err := apimachineryMerge(f.base, f.ours, f.theirs); return err }},
	}
	jobs = append(jobs, rotate(merges, w.round)...)
	// Alternate the places of the groups from round to round.
	if w.round%2 == 1 {
		slices.Reverse(jobs)
	}

	// Warm up every peer, then measure: the peers of one group (one
	// exchange, or the merge) alternate in slices of their operations,
	// each slice in a rotated order, so that a burst of load on this
	// shared machine falls on all of them alike.
	for _, j := range jobs {
		if _, err := measure(max(1, j.n/10), j.f); err != nil {
			t.Fatalf("%s %s %s: %v", j.kind, j.group, j.peer, err)
		}
	}
	const nslices = 10
	for len(jobs) > 0 {
		g := jobs[:1]
		for len(g) < len(jobs) && jobs[len(g)].kind == g[0].kind && jobs[len(g)].group == g[0].group {
			g = jobs[:len(g)+1]
		}
		jobs = jobs[len(g):]
		runtime.GC()
		total := make([]sample, len(g))
		for s := range nslices {
			for _, i := range rotate(seq(len(g)), s) {
				j := g[i]
				n := j.n/nslices + btoi(s < j.n%nslices)
				if n == 0 {
					continue
				}
				sm, err := measureNoGC(n, j.f)
				if err != nil {
					t.Fatalf("%s %s %s: %v", j.kind, j.group, j.peer, err)
				}
				total[i].add(sm)
			}
		}
		for i, j := range g {
			m := total[i].metrics()
			if j.kind == "merge" {
				m["input-B"] = float64(len(f.base) + len(f.ours) + len(f.theirs))
				m["doc-B"] = float64(len(f.base))
			}
			w.add(j.kind, j.group, j.peer, m)
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// contentionRound runs every peer at every writer count on the server
// process, a fresh document each time; the writer counts and the peers
// are both rotated.
func contentionRound(t *testing.T, w *roundWriter, kind string, peers []contender, writerCounts []int, updates func(writers int) int) {
	srv := startChild(t)
	for _, writers := range rotate(writerCounts, w.round) {
		for _, c := range rotate(peers, w.round) {
			each := updates(writers)
			id := fmt.Sprintf("r%d-w%d-%s", w.round, writers, strings.NewReplacer("/", "-", "=", "-").Replace(c.name))
			r := runContention(t, srv, id, c, writers, each)
			if n := r.otherErrors(); n != 0 {
				t.Logf("%s w=%d %s: %d unexpected errors: %v", kind, writers, c.name, n, r.errors)
			}
			applied := float64(max(r.applied, 1))
			w.add(kind, fmt.Sprintf("w=%d", writers), c.name, map[string]float64{
				"writers":        float64(writers),
				"intended":       float64(r.intended),
				"applied":        float64(r.applied),
				"aborted":        float64(r.gaveUp),
				"silently-lost":  float64(r.silentLost),
				"doubled":        float64(r.doubled),
				"other-errors":   float64(r.otherErrors()),
				"requests":       float64(r.requests),
				"gets":           float64(r.gets),
				"puts":           float64(r.puts),
				"req/update":     float64(r.requests) / float64(r.intended),
				"goodput":        float64(r.applied) / r.elapsed.Seconds(),
				"elapsed-s":      r.elapsed.Seconds(),
				"t90-s":          r.tail(0.9).Seconds(),
				"t100-s":         r.tail(1).Seconds(),
				"attempts-p50":   float64(percentile(r.attempts, 50)),
				"attempts-p99":   float64(percentile(r.attempts, 99)),
				"attempts-max":   float64(percentile(r.attempts, 100)),
				"cpu-us/update":  float64(r.cpu.Microseconds()) / applied,
				"scpu-us/update": float64(r.serverCPU.Microseconds()) / applied,
			})
		}
	}
}
