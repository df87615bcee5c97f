package bench

import (
	"flag"
	"testing"
	"time"

	"github.com/go-conflict/conflict"
	"github.com/go-conflict/conflict/conflicttest"
)

var soakFull = flag.Bool("soak.full", false, "run TestSoak at full size: 50 writers × 200 contended updates, 1,000 faulted creates")

// TestSoak runs the conflict client through contended updates and faulted
// creates, and requires that nothing is lost or doubled: every update the
// writers meant lands exactly once (each writer bumps its own counter, so
// the final counters say so), and every create exists exactly once. Run
// it under -race. By default it is small (8 writers × 25 updates, 200
// creates); -soak.full makes it 50 × 200 and 1,000.
//
// A second round of updates runs with faults on the PUTs as well: 10%
// answered 503 before commit, 10% committed with the response dropped.
// A dropped PUT is re-sent by the transport retries on a version that has
// moved on (its own write moved it), so the client must see its own change
// in theirs and send nothing twice. A third round runs the faulted PUTs
// through one client shared by the writers: they take turns, and the writes
// that wait travel together, so a dropped or failed request carries several
// writers' changes at once.
func TestSoak(t *testing.T) {
	t.Parallel()
	writers, updates, creates := 8, 25, 200
	if *soakFull {
		writers, updates, creates = 50, 200, 1000
	}
	if testing.Short() {
		writers, updates, creates = 4, 10, 50
	}

	// A client per writer, so that they contend (one shared client would
	// make its writers take turns), and one shared client.
	build := newConflictClient(conflict.WithLimits(conflict.Limits{
		MaxAttempts: 10_000, MaxElapsed: 10 * time.Minute, TransportRetries: 10,
		BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	}))
	perWriterSoak := contender{"conflict", perWriter(build, viaConflict)}
	sharedSoak := contender{"conflict", sharedClient(build, viaConflict)}
	faults := &conflicttest.Faults{Seed: 7, DropAfterCommit: 0.1, FailBeforeCommit: 0.1, Routes: []string{"PUT /documents/{id}"}}

	for _, round := range []struct {
		name   string
		soak   contender
		faults *conflicttest.Faults
	}{
		{"no faults", perWriterSoak, nil},
		{"faulted PUTs", perWriterSoak, faults},
		{"faulted PUTs, one shared client", sharedSoak, faults},
	} {
		start := time.Now()
		var opts []conflicttest.Option
		if round.faults != nil {
			opts = append(opts, conflicttest.WithFaults(*round.faults))
		}
		srv := conflicttest.NewServer(opts...)
		r := runContention(t, localServer{srv}, "shared", round.soak, writers, updates)
		srv.Close()
		t.Logf("updates, %s: %d writers × %d = %d in %v: %d requests, %d lost, %d silently lost, %d doubled, attempts p50 %d p99 %d max %d",
			round.name, writers, updates, r.intended, time.Since(start).Round(time.Millisecond), r.requests, r.lost(), r.silentLost, r.doubled,
			percentile(r.attempts, 50), percentile(r.attempts, 99), percentile(r.attempts, 100))
		if n := r.otherErrors(); n != 0 {
			t.Errorf("updates, %s: %d unexpected errors: %v", round.name, n, r.errors)
		}
		if r.lost() != 0 || r.doubled != 0 || r.gaveUp != 0 {
			t.Errorf("updates, %s: %d lost, %d doubled, %d calls failed; want none", round.name, r.lost(), r.doubled, r.gaveUp)
		}
	}

	start := time.Now()
	c := runCreates(t, conflictCreator(), "users", creates, 8, 1)
	t.Logf("creates: %d in %v: %d POSTs, %d duplicated, %d missing, %d failed calls",
		c.intents, time.Since(start).Round(time.Millisecond), c.posts, c.duplicates, c.missing, c.failed)
	if c.duplicates != 0 || c.missing != 0 || c.failed != 0 || c.lost != 0 {
		t.Errorf("creates: %d duplicated, %d missing, %d failed calls, %d lost; want none", c.duplicates, c.missing, c.failed, c.lost)
	}
}
