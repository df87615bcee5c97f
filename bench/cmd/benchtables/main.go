// Command benchtables reads the measurements of the interleaved rounds (the
// JSON lines TestRound writes, see bench/run.sh) and prints the tables of
// bench/README.md: for each figure the median over the rounds and, in
// brackets, its minimum and maximum. A ratio is computed within each round
// (both peers measured in the same process) and then summarised the same
// way, so it is the median of per-round ratios, not a ratio of medians.
//
//	go run ./cmd/benchtables rounds.jsonl...
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

type record struct {
	Kind  string             `json:"kind"`
	Group string             `json:"group"`
	Peer  string             `json:"peer"`
	Round int                `json:"round"`
	Order int                `json:"order"`
	M     map[string]float64 `json:"m"`
}

// key names one peer's measurements of one group: kind/group/peer.
type key struct{ kind, group, peer string }

type data struct {
	recs   map[key]map[int]record // by round
	groups map[string][]string    // kind -> groups, in first-seen order
	peers  map[string][]string    // kind -> peers, in first-seen order
}

func load(r io.Reader, d *data) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue // the test binary's own output
		}
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return err
		}
		k := key{rec.Kind, rec.Group, rec.Peer}
		if d.recs[k] == nil {
			d.recs[k] = map[int]record{}
		}
		d.recs[k][rec.Round] = rec
		if !slices.Contains(d.groups[rec.Kind], rec.Group) {
			d.groups[rec.Kind] = append(d.groups[rec.Kind], rec.Group)
		}
		if !slices.Contains(d.peers[rec.Kind], rec.Peer) {
			d.peers[rec.Kind] = append(d.peers[rec.Kind], rec.Peer)
		}
	}
	return sc.Err()
}

// stat is a median with its minimum and maximum.
type stat struct {
	med, lo, hi float64
	n           int
}

func summarise(xs []float64) stat {
	if len(xs) == 0 {
		return stat{med: math.NaN(), lo: math.NaN(), hi: math.NaN()}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return stat{med: med, lo: s[0], hi: s[n-1], n: n}
}

// values is metric m of k in every round, with f applied.
func (d *data) values(k key, f func(r record) (float64, bool)) []float64 {
	var xs []float64
	for _, round := range sortedRounds(d.recs[k]) {
		if x, ok := f(d.recs[k][round]); ok {
			xs = append(xs, x)
		}
	}
	return xs
}

func sortedRounds(m map[int]record) []int {
	var rs []int
	for r := range m {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

func (d *data) metric(k key, m string) stat {
	return summarise(d.values(k, func(r record) (float64, bool) { v, ok := r.M[m]; return v, ok }))
}

// ratio is metric m of a over that of b, per round.
func (d *data) ratio(a, b key, m string) stat {
	return summarise(d.values(a, func(r record) (float64, bool) {
		o, ok := d.recs[b][r.Round]
		if !ok || o.M[m] == 0 {
			return 0, false
		}
		return r.M[m] / o.M[m], true
	}))
}

// diff is metric m of a minus that of b, per round.
func (d *data) diff(a, b key, m string) stat {
	return summarise(d.values(a, func(r record) (float64, bool) {
		o, ok := d.recs[b][r.Round]
		if !ok {
			return 0, false
		}
		return r.M[m] - o.M[m], true
	}))
}

// num formats x with about three significant digits.
func num(x float64) string {
	switch ax := math.Abs(x); {
	case math.IsNaN(x):
		return "–"
	case ax == 0:
		return "0"
	case ax >= 100:
		return commas(fmt.Sprintf("%.0f", x))
	case ax >= 10:
		return fmt.Sprintf("%.1f", x)
	case ax >= 1:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}

func commas(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// cell formats a stat: "med (lo–hi)", with unit after each number.
func cell(s stat, f func(float64) string) string {
	if s.n == 0 {
		return "–"
	}
	if f(s.lo) == f(s.hi) {
		return f(s.med)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.med), f(s.lo), f(s.hi))
}

func times(x float64) string { return num(x) + "×" }
func intish(x float64) string {
	if math.Abs(x-math.Round(x)) < 0.05 {
		return commas(fmt.Sprintf("%.0f", x))
	}
	return num(x)
}
func signedInt(x float64) string {
	if x > 0 {
		return "+" + intish(x)
	}
	return intish(x)
}
func micro(x float64) string { return num(x/1000) + " µs" }
func kib(x float64) string   { return num(x/1024) + " KiB" }
func secs(x float64) string {
	if x < 1 {
		return num(x*1000) + " ms"
	}
	return num(x) + " s"
}

func table(w io.Writer, head []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(head)))
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
}

func (d *data) rounds(kind string) int {
	n := 0
	for k, m := range d.recs {
		if k.kind == kind {
			n = max(n, len(m))
		}
	}
	return n
}

func (d *data) happy(w io.Writer, kind, title string) {
	if len(d.groups[kind]) == 0 {
		return
	}
	fmt.Fprintf(w, "### %s (%d rounds)\n\n", title, d.rounds(kind))
	var rows [][]string
	for _, g := range d.groups[kind] {
		base, rh := key{kind, g, "net/http"}, key{kind, g, "retryablehttp"}
		for _, p := range d.peers[kind] {
			k := key{kind, g, p}
			rows = append(rows, []string{g + " " + p,
				cell(d.metric(k, "ns/op"), micro), cell(d.metric(k, "cpu-ns/op"), micro),
				cell(d.ratio(k, base, "ns/op"), times), cell(d.ratio(k, rh, "ns/op"), times),
				cell(d.ratio(k, rh, "cpu-ns/op"), times),
				cell(d.metric(k, "allocs/op"), intish), cell(d.diff(k, base, "allocs/op"), signedInt),
				cell(d.metric(k, "B/op"), intish)})
		}
	}
	table(w, []string{"exchange, peer", "wall / op", "CPU / op", "wall ÷ net/http", "wall ÷ retryablehttp", "CPU ÷ retryablehttp", "allocs/op", "allocs − net/http", "B/op"}, rows)
}

func (d *data) merge(w io.Writer) {
	const kind = "merge"
	if len(d.groups[kind]) == 0 {
		return
	}
	fmt.Fprintf(w, "### Three-way merge of 10 KiB (%d rounds)\n\n", d.rounds(kind))
	var rows [][]string
	for _, g := range d.groups[kind] {
		base := key{kind, g, "apimachinery"}
		for _, p := range d.peers[kind] {
			k := key{kind, g, p}
			perInput := summarise(d.values(k, func(r record) (float64, bool) { return r.M["B/op"] / r.M["input-B"], r.M["input-B"] > 0 }))
			perDoc := summarise(d.values(k, func(r record) (float64, bool) { return r.M["B/op"] / r.M["doc-B"], r.M["doc-B"] > 0 }))
			rows = append(rows, []string{p,
				cell(d.metric(k, "ns/op"), micro), cell(d.metric(k, "cpu-ns/op"), micro),
				cell(d.ratio(k, base, "ns/op"), times), cell(d.ratio(k, base, "cpu-ns/op"), times),
				cell(d.metric(k, "B/op"), kib), cell(d.ratio(k, base, "B/op"), times),
				cell(perInput, times), cell(perDoc, times), cell(d.metric(k, "allocs/op"), intish)})
		}
	}
	table(w, []string{"peer", "wall / op", "CPU / op", "wall ÷ apimachinery", "CPU ÷ apimachinery", "allocated / op", "÷ apimachinery", "÷ the 3 inputs", "÷ one document", "allocs/op"}, rows)
}

// contention prints one table per writer count; ratios are to each of
// bases, a peer's goodput over the base's in the same round.
func (d *data) contention(w io.Writer, kind, title string, bases func(peer string) []string) {
	if len(d.groups[kind]) == 0 {
		return
	}
	fmt.Fprintf(w, "### %s (%d rounds)\n\n", title, d.rounds(kind))
	var rows [][]string
	for _, g := range d.groups[kind] {
		for _, p := range d.peers[kind] {
			k := key{kind, g, p}
			var ratios []string
			for _, b := range bases(p) {
				if b == p {
					ratios = append(ratios, "")
					continue
				}
				ratios = append(ratios, cell(d.ratio(k, key{kind, g, b}, "goodput"), times))
			}
			abortPct := summarise(d.values(k, func(r record) (float64, bool) { return 100 * r.M["aborted"] / r.M["intended"], r.M["intended"] > 0 }))
			intended := d.metric(k, "intended")
			row := []string{g, p, cell(d.metric(k, "goodput"), num)}
			row = append(row, ratios...)
			row = append(row,
				cell(d.metric(k, "aborted"), intish)+" of "+intish(intended.med),
				cell(abortPct, func(x float64) string { return num(x) + "%" }),
				cell(d.metric(k, "req/update"), num),
				cell(d.metric(k, "attempts-max"), intish),
				cell(d.metric(k, "t90-s"), secs), cell(d.metric(k, "t100-s"), secs),
				cell(d.metric(k, "cpu-us/update"), num), cell(d.metric(k, "scpu-us/update"), num))
			rows = append(rows, row)
		}
	}
	head := []string{"writers", "peer", "goodput (updates/s)"}
	for _, b := range bases("") {
		head = append(head, "÷ "+b)
	}
	head = append(head, "aborted", "aborted %", "requests / update", "max sends", "90% done", "100% done", "client CPU µs / update", "server CPU µs / update")
	table(w, head, rows)
}

func main() {
	d := &data{recs: map[key]map[int]record{}, groups: map[string][]string{}, peers: map[string][]string{}}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtables rounds.jsonl...")
		os.Exit(2)
	}
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		err = load(f, d)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(1)
		}
	}
	out := os.Stdout
	fmt.Fprintln(out, "Each cell: median over the rounds (min–max). Ratios are per round (peers measured in the same process), then summarised.")
	fmt.Fprintln(out)
	d.happy(out, "happy-mem", "Happy path, client work only (in-memory transport)")
	d.happy(out, "happy-loopback", "Happy path over loopback (server in another process; CPU is the client process's)")
	d.merge(out)
	d.contention(out, "contention", "Contention: field-disjoint read-modify-write of one document", func(string) []string {
		return []string{"RetryOnConflict/DefaultRetry", "RetryOnConflict/steps=1000"}
	})
	d.contention(out, "update", "conflict.Update vs a plain loop", func(p string) []string {
		return []string{"loop/shared", "loop/per-writer"}
	})
	d.targets(out)
}

// targets prints the targets against the medians.
func (d *data) targets(w io.Writer) {
	fmt.Fprintln(w, "### Targets")
	fmt.Fprintln(w)
	var rows [][]string
	yes := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	for _, g := range d.groups["contention"] {
		s := d.ratio(key{"contention", g, "conflict/shared"}, key{"contention", g, "RetryOnConflict/DefaultRetry"}, "goodput")
		l := d.ratio(key{"contention", g, "conflict/shared"}, key{"contention", g, "RetryOnConflict/steps=1000"}, "goodput")
		if s.n > 0 {
			rows = append(rows, []string{"contention " + g + ": shared-client goodput ≥ 1.3× RetryOnConflict",
				"DefaultRetry " + cell(s, times) + "; steps=1000 " + cell(l, times), yes(s.med >= 1.3 && l.med >= 1.3)})
		}
	}
	for _, p := range []string{"conflict/shared", "conflict/per-writer"} {
		a := d.metric(key{"contention", "w=32", p}, "aborted")
		if a.n > 0 {
			rows = append(rows, []string{"contention w=32: 0 aborts at default limits, " + p, cell(a, intish) + " aborted", yes(a.hi == 0)})
		}
	}
	for _, g := range d.groups["update"] {
		for _, c := range []struct {
			peer, base string
			want       float64
		}{{"Update/shared", "loop/shared", 1.3}, {"Update/per-writer", "loop/per-writer", 1.0}} {
			r := d.ratio(key{"update", g, c.peer}, key{"update", g, c.base}, "goodput")
			a := d.metric(key{"update", g, c.peer}, "aborted")
			if r.n > 0 {
				rows = append(rows, []string{fmt.Sprintf("Update %s: %s ≥ %.1f× %s, 0 aborts", g, c.peer, c.want, c.base),
					cell(r, times) + ", " + cell(a, intish) + " aborted", yes(r.med >= c.want && a.hi == 0)})
			}
		}
	}
	for _, kind := range []string{"happy-mem", "happy-loopback"} {
		for _, g := range d.groups[kind] {
			r := d.ratio(key{kind, g, "conflict"}, key{kind, g, "retryablehttp"}, "ns/op")
			c := d.ratio(key{kind, g, "conflict"}, key{kind, g, "retryablehttp"}, "cpu-ns/op")
			a := d.diff(key{kind, g, "conflict"}, key{kind, g, "net/http"}, "allocs/op")
			if r.n > 0 {
				rows = append(rows, []string{kind + " " + g + ": conflict ≤ 1.0× retryablehttp",
					"wall " + cell(r, times) + ", CPU " + cell(c, times), yes(r.med <= 1.0)})
				rows = append(rows, []string{kind + " " + g + ": conflict ≤ +2 allocs vs net/http", cell(a, signedInt), yes(a.med <= 2.05)})
			}
		}
	}
	for _, g := range d.groups["merge"] {
		k, b := key{"merge", g, "jsonmerge.Merge"}, key{"merge", g, "apimachinery"}
		perInput := summarise(d.values(k, func(r record) (float64, bool) { return r.M["B/op"] / r.M["input-B"], r.M["input-B"] > 0 }))
		if perInput.n > 0 {
			rows = append(rows, []string{"merge: allocated ≤ 4× the inputs (base+ours+theirs)", cell(perInput, times), yes(perInput.med <= 4)})
			t := d.ratio(k, b, "ns/op")
			rows = append(rows, []string{"merge: no slower than apimachinery", cell(t, times) + " its time", yes(t.med <= 1)})
		}
	}
	table(w, []string{"target", "measured", ""}, rows)
}
