package conflict

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-conflict/conflict/conflicttest"
)

type counterDoc struct {
	Title   string `json:"title"`
	Count   int    `json:"count"`
	Version int    `json:"version"`
}

// TestUpdateConcurrentCounter: 16 mutators increment one counter through
// Update; the final count is exact.
func TestUpdateConcurrentCounter(t *testing.T) {
	t.Parallel()
	for _, field := range []bool{false, true} {
		name := "etag"
		opts := []conflicttest.Option{}
		var copts []Option
		if field {
			name = "field"
			opts = append(opts, conflicttest.WithVersionIn(conflicttest.VersionBody))
			copts = append(copts, WithRule("PUT /documents/{id}", Rule{Versions: []Version{{Send: Field("/version")}}}))
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := conflicttest.NewServer(opts...)
			t.Cleanup(srv.Close)
			srv.PutDocument("ctr", `{"title":"counter","count":0,"owner":"not modelled by counterDoc"}`)
			c := New(append(copts, WithLimits(Limits{MaxAttempts: 500}))...)
			const mutators, each = 16, 10
			var wg sync.WaitGroup
			for range mutators {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						if _, err := Update(context.Background(), c, srv.URL+"/documents/ctr", func(d *counterDoc) error {
							d.Count++
							return nil
						}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			doc, version, _ := srv.Document("ctr")
			m := decode(t, string(doc))
			// Updates waiting their turn travel together (carryUpdates):
			// as many writes or fewer.
			if m["count"] != float64(mutators*each) || version > 1+mutators*each {
				t.Errorf("document %s at version %d, want count %d at version %d or less", doc, version, mutators*each, 1+mutators*each)
			}
			t.Logf("%d updates in %d writes", mutators*each, version-1)
			if m["owner"] != "not modelled by counterDoc" {
				t.Errorf("a member T does not model was lost: %s", doc)
			}
		})
	}
}

func TestUpdateSkipsNoChange(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("d", `{"title":"same","count":3}`)
	got, err := Update(context.Background(), New(), srv.URL+"/documents/d", func(d *counterDoc) error {
		d.Title = "same"
		return nil
	})
	if err != nil || got.Count != 3 {
		t.Fatalf("Update = %+v, %v", got, err)
	}
	if n := srv.Stats().Requests["PUT /documents/{id}"]; n != 0 {
		t.Errorf("%d PUTs for an update that changed nothing", n)
	}
}

func TestUpdateReturnsMutateError(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("d", `{"title":"x"}`)
	boom := errors.New("refused")
	_, err := Update(context.Background(), New(), srv.URL+"/documents/d", func(d *counterDoc) error { return boom })
	if err != boom {
		t.Fatalf("err = %v, want the mutate error itself", err)
	}
}

func TestUpdateBounded(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("d", `{"title":"x","count":0}`)
	calls := 0
	// Every mutate races with another writer, so every write is stale.
	_, err := Update(context.Background(), New(WithLimits(Limits{MaxAttempts: 3})), srv.URL+"/documents/d", func(d *counterDoc) error {
		calls++
		srv.PutDocument("d", `{"title":"moved `+strings.Repeat("!", calls)+`","count":0}`)
		d.Count++
		return nil
	})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrAttemptsExhausted) || e.Attempts != 3 || calls != 3 {
		t.Fatalf("err = %v (calls %d), want attempts exhausted after 3", err, calls)
	}
}

func TestUpdateNeedsAVersion(t *testing.T) {
	t.Parallel()
	srv := serve(t, reply{status: 200, header: map[string]string{"Content-Type": "application/json"}, body: `{"title":"no etag"}`})
	_, err := Update(context.Background(), New(), srv.URL+"/x", func(d *counterDoc) error { d.Count++; return nil })
	if err == nil || !strings.Contains(err.Error(), "ETag") {
		t.Fatalf("err = %v, want a missing-ETag error", err)
	}
}

// TestUpdateMutatePanics: a mutate that panics panics out of Update, and
// the resource's turn is given back: the client's next Update of it runs.
func TestUpdateMutatePanics(t *testing.T) {
	t.Parallel()
	srv := conflicttest.NewServer()
	t.Cleanup(srv.Close)
	srv.PutDocument("p", `{"title":"t","count":0}`)
	c := New()
	url := srv.URL + "/documents/p"
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the mutate's panic", p)
			}
		}()
		Update(context.Background(), c, url, func(d *counterDoc) error { panic("boom") })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := Update(ctx, c, url, func(d *counterDoc) error { d.Count++; return nil })
	if err != nil || got.Count != 1 {
		t.Fatalf("Update after a panic: %+v, %v; want count 1", got, err)
	}
}

// TestUpdateAnswerLostAfterCommit: the server applies Update's PUT and the
// connection drops before the answer; the transport resends the PUT, which
// is now stale (412). Update must not re-derive and apply the change a
// second time: it finds its write in the current state, or says it cannot
// tell.
func TestUpdateAnswerLostAfterCommit(t *testing.T) {
	t.Parallel()
	api := conflicttest.NewUnstartedServer()
	t.Cleanup(api.Close)
	api.PutDocument("c", `{"title":"counter","count":0}`)
	var dropped atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && dropped.CompareAndSwap(false, true) {
			api.Handler().ServeHTTP(httptest.NewRecorder(), r) // committed
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.Close() // and the answer lost
			return
		}
		api.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := New()
	calls := 0
	got, err := Update(context.Background(), c, srv.URL+"/documents/c", func(d *counterDoc) error {
		calls++
		d.Count++
		return nil
	})
	doc, _, _ := api.Document("c")
	if m := decode(t, string(doc)); m["count"] != float64(1) {
		t.Fatalf("the document holds %s after one increment (mutate called %d times; Update returned %+v, %v)", doc, calls, got, err)
	}
	if !dropped.Load() {
		t.Fatal("no PUT was dropped")
	}
	if err == nil && got.Count != 1 {
		t.Errorf("Update returned %+v, want count 1", got)
	}
	if err != nil && (!errors.Is(err, ErrUnrecoverable) || !strings.Contains(err.Error(), "may have been applied")) {
		t.Errorf("Update: %v; want ErrUnrecoverable saying the write may have been applied", err)
	}
	t.Logf("mutate called %d times; Update returned %+v, %v", calls, got, err)
}
