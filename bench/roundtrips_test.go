package bench

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/jsonmerge"
)

// TestRoundTripsPerRecoveredConflict counts, with the server's own
// statistics, the requests it takes to recover one stale update: a GET,
// then a concurrent writer changes another field, then the PUT on the
// version read. The extra requests are those beyond that GET and PUT.
//
//   - conflict, with the current representation in the 409/412 body: the
//     re-sent PUT only (1);
//   - conflict, without it: one GET and the re-sent PUT (2);
//   - a retry.RetryOnConflict loop (k8s.io/client-go/util/retry) doing GET
//     and PUT: a GET and a PUT (2), whatever the body carries, plus its
//     10 ms backoff.
//
// The counts are exact and asserted; the latencies are logged only.
func TestRoundTripsPerRecoveredConflict(t *testing.T) {
	t.Parallel()
	const updates = 20
	type row struct {
		peer    string
		mode    versionMode
		current bool
		want    int // extra requests per recovered update
	}
	rows := []row{
		{"conflict", inHeader, true, 1},
		{"conflict", inHeader, false, 2},
		{"conflict", inBody, true, 1},
		{"conflict", inBody, false, 2},
		{"RetryOnConflict", inHeader, true, 2},
		{"RetryOnConflict", inHeader, false, 2},
		{"RetryOnConflict", inBody, true, 2},
		{"RetryOnConflict", inBody, false, 2},
	}
	table := [][]string{{"peer", "conflict", "current in body", "GET/update", "PUT/update", "extra req/recovery", "want", "mean latency"}}
	for _, r := range rows {
		name := fmt.Sprintf("%s/%s/current=%v", r.peer, r.mode, r.current)
		version := conflicttest.VersionHeader
		if r.mode == inBody {
			version = conflicttest.VersionBody
		}
		srv := conflicttest.NewServer(conflicttest.WithCurrentInConflict(r.current), conflicttest.WithVersionIn(version))
		srv.PutDocument("d", `{"title":"draft","mine":0,"theirs":0}`)
		url := srv.URL + "/documents/d"

		// between is the concurrent writer: it changes a field the update
		// does not touch, after the update's read and before its write.
		between := func() {
			doc, _, _ := srv.Document("d")
			var m map[string]json.RawMessage
			if err := json.Unmarshal(doc, &m); err != nil {
				t.Fatal(err)
			}
			if err := bump(m, "theirs"); err != nil {
				t.Fatal(err)
			}
			delete(m, "version")
			b, _ := json.Marshal(m)
			srv.PutDocument("d", string(b))
		}

		var update func() (int, error)
		hc := &http.Client{Transport: newTransport(2)}
		switch r.peer {
		case "conflict":
			rule := conflict.Rule{Merge: jsonmerge.Merge}
			if r.mode == inBody {
				rule.Versions = []conflict.Version{{Send: conflict.Field("/version")}}
			}
			c := conflict.New(conflict.WithHTTPClient(hc), conflict.WithRule("PUT /documents/{id}", rule))
			update = func() (int, error) { return conflictUpdate(c, url, "mine", r.mode, between) }
		default:
			update = func() (int, error) { return rocUpdate(hc, largeRetry, url, "mine", r.mode, between) }
		}

		start := time.Now()
		for i := range updates {
			attempts, err := update()
			if err != nil {
				t.Fatalf("%s: update %d: %v", name, i, err)
			}
			if attempts != 2 {
				t.Errorf("%s: update %d sent its PUT %d times, want 2 (stale, then recovered)", name, i, attempts)
			}
		}
		elapsed := time.Since(start)
		st := srv.Stats()
		doc, _, _ := srv.Document("d")
		hc.CloseIdleConnections()
		srv.Close()

		var m map[string]json.RawMessage
		if err := json.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		if string(m["mine"]) != strconv.Itoa(updates) || string(m["theirs"]) != strconv.Itoa(updates) {
			t.Errorf("%s: final document %s, want mine = theirs = %d: an update was lost", name, doc, updates)
		}
		gets, puts := st.Requests["GET /documents/{id}"], st.Requests["PUT /documents/{id}"]
		extra := gets + puts - 2*updates
		if extra != r.want*updates {
			t.Errorf("%s: %d GETs and %d PUTs for %d recovered updates: %d extra requests per recovery, want %d",
				name, gets, puts, updates, extra/updates, r.want)
		}
		table = append(table, []string{r.peer, r.mode.String(), strconv.FormatBool(r.current),
			fmt.Sprintf("%.2f", float64(gets)/updates), fmt.Sprintf("%.2f", float64(puts)/updates),
			fmt.Sprintf("%.2f", float64(extra)/updates), strconv.Itoa(r.want),
			(elapsed / updates).Round(10 * time.Microsecond).String()})
	}
	tableLog(t, table)
}
