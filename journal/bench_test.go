package journal_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-conflict/conflict/conflicttest"
	"github.com/go-conflict/conflict/journal"
)

// BenchmarkJournal compares, in one run, a create sent through a journal
// (two fsyncs: the intent, then its outcome) with the same create sent
// through the same client without one, and with the physical floor: one
// bare store append with its fsync. journalled-8-writers is the journalled
// create from eight goroutines, whose commits share fsyncs.
//
//	go test -run '^$' -bench BenchmarkJournal -benchmem ./journal
func BenchmarkJournal(b *testing.B) {
	srv := conflicttest.NewServer()
	defer srv.Close()
	client := newClient(nil)
	url := srv.URL + "/orders"
	send := func(b *testing.B, do func(*http.Request) (*http.Response, error)) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			req, _ := http.NewRequest("POST", url, strings.NewReader(`{"item":"bench"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := do(req)
			if err != nil {
				b.Fatal(err)
			}
			drain(resp)
			if resp.StatusCode != 201 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	b.Run("unjournalled", func(b *testing.B) {
		send(b, client.Do)
	})
	b.Run("journalled", func(b *testing.B) {
		j, err := journal.Open(filepath.Join(b.TempDir(), "bench.journal"), client)
		if err != nil {
			b.Fatal(err)
		}
		defer j.Close()
		send(b, j.Do)
	})
	// Eight writers at once: their commits share fsyncs. Creates need no
	// order among themselves, so they are not sent one at a time.
	b.Run("journalled-8-writers", func(b *testing.B) {
		j, err := journal.Open(filepath.Join(b.TempDir(), "bench.journal"), client,
			journal.WithOrderKey(func(r *journal.Record) string { return r.ID }))
		if err != nil {
			b.Fatal(err)
		}
		defer j.Close()
		b.ReportAllocs()
		b.SetParallelism(4) // 4 x GOMAXPROCS(2) goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("POST", url, strings.NewReader(`{"item":"bench"}`))
				req.Header.Set("Content-Type", "application/json")
				resp, err := j.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				drain(resp)
			}
		})
	})
	b.Run("store-append-fsync", func(b *testing.B) {
		s, err := journal.OpenFile(filepath.Join(b.TempDir(), "bench.journal"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		body := []byte(`{"item":"bench"}`)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rec := &journal.Record{ID: "bench-" + strconv.Itoa(i), Method: "POST", URL: url, Body: body,
				IdempotencyKey: "0b7e5c1a-3f7d-4c8e-9a51-7d2f0e6b4c3a"}
			if err := s.Append(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
