package journal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-conflict/conflict/journal"
)

// fill appends n intents to a new journal file and marks the ids in done
// as done; it returns the path and the ids in order.
func fill(t *testing.T, n int, done ...int) (string, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j")
	s, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var ids []string
	for i := 0; i < n; i++ {
		rec := &journal.Record{ID: fmt.Sprintf("id-%03d", i), Method: "PUT", URL: "http://x/documents/d",
			Body: []byte(fmt.Sprintf(`{"n":%d}`, i)), Base: []byte(`{}`), Time: time.Unix(int64(i), 0).UTC()}
		if err := s.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if rec.Seq != uint64(i+1) {
			t.Fatalf("seq %d, want %d", rec.Seq, i+1)
		}
		ids = append(ids, rec.ID)
	}
	for _, i := range done {
		if err := s.Done(ctx, ids[i], journal.Outcome{State: journal.Applied, Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	return path, ids
}

// frameOffsets returns the offsets of the frames of a journal file.
func frameOffsets(t *testing.T, data []byte) []int {
	var offs []int
	for off := 8; off+8 <= len(data); {
		offs = append(offs, off)
		off += 8 + int(binary.BigEndian.Uint32(data[off:]))
	}
	return offs
}

func pendingIDs(t *testing.T, s journal.Store) []string {
	t.Helper()
	recs, err := s.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestRoundTrip(t *testing.T) {
	path, ids := fill(t, 5, 1, 3)
	s, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := pendingIDs(t, s)
	if fmt.Sprint(got) != fmt.Sprint([]string{ids[0], ids[2], ids[4]}) {
		t.Fatalf("pending %v", got)
	}
	recs, _ := s.Pending(context.Background())
	if string(recs[1].Body) != `{"n":2}` || string(recs[1].Base) != `{}` || recs[1].Seq != 3 || !recs[1].Time.Equal(time.Unix(2, 0)) {
		t.Fatalf("record %+v", recs[1])
	}
	if s.NextSeq() != 6 {
		t.Fatalf("NextSeq %d", s.NextSeq())
	}
	if err := s.Done(context.Background(), ids[1], journal.Outcome{}); err != nil {
		t.Fatalf("Done twice: %v", err)
	}
	if err := s.Done(context.Background(), "nope", journal.Outcome{}); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("Done unknown: %v", err)
	}
}

// A crash in the middle of an append leaves a torn last record: every
// possible cut is ignored, reported, and cut off; the next append and open
// are clean.
func TestTornTail(t *testing.T) {
	path, ids := fill(t, 3)
	data, _ := os.ReadFile(path)
	offs := frameOffsets(t, data)
	last := offs[len(offs)-1]
	for cut := last + 1; cut < len(data); cut += 7 {
		if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := journal.OpenFile(path)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		rec := s.Recovery()
		if rec.TornBytes != int64(cut-last) || rec.TornOffset != int64(last) {
			t.Fatalf("cut at %d: recovery %+v", cut, rec)
		}
		if got := pendingIDs(t, s); fmt.Sprint(got) != fmt.Sprint(ids[:2]) {
			t.Fatalf("cut at %d: pending %v", cut, got)
		}
		if err := s.Append(context.Background(), &journal.Record{ID: "after", Method: "POST", URL: "http://x/"}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = journal.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if r := s.Recovery(); r.TornBytes != 0 || len(r.Corrupt) != 0 {
			t.Fatalf("reopen: %+v", r)
		}
		if got := pendingIDs(t, s); len(got) != 3 || got[2] != "after" {
			t.Fatalf("after append: %v", got)
		}
		s.Close()
	}
	// A file cut inside its magic (a crash while creating it) starts anew.
	os.WriteFile(path, data[:5], 0o600)
	s, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// Damage between intact records: a typed error, every intact record kept,
// and the error stays until Compact, which keeps the damaged file aside.
func TestCorruptMiddle(t *testing.T) {
	for _, where := range []string{"body", "length"} {
		t.Run(where, func(t *testing.T) {
			path, ids := fill(t, 5)
			data, _ := os.ReadFile(path)
			offs := frameOffsets(t, data)
			victim := offs[3] // the third intent (offs[0] is the meta record)
			if where == "body" {
				data[victim+20] ^= 0x55
			} else {
				binary.BigEndian.PutUint32(data[victim:], 0x7fff0000)
			}
			os.WriteFile(path, data, 0o600)
			for round := 0; round < 2; round++ {
				s, err := journal.OpenFile(path)
				var ce *journal.CorruptError
				if !errors.As(err, &ce) || !errors.Is(err, journal.ErrCorrupt) || s == nil {
					t.Fatalf("open: %v", err)
				}
				if ce.Regions[0].Offset != int64(victim) || ce.Regions[0].Length != int64(offs[4]-victim) || ce.Intact != 5 {
					t.Fatalf("error %+v (%v)", ce, err)
				}
				want := []string{ids[0], ids[1], ids[3], ids[4]}
				if got := pendingIDs(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("pending %v, want %v", got, want)
				}
				if round == 1 {
					if err := s.Compact(); err != nil {
						t.Fatal(err)
					}
				}
				s.Close()
			}
			if _, err := os.Stat(path + ".corrupt"); err != nil {
				t.Fatalf("the damaged file was not kept: %v", err)
			}
			s, err := journal.OpenFile(path)
			if err != nil {
				t.Fatalf("after Compact: %v", err)
			}
			if got := pendingIDs(t, s); len(got) != 4 || s.NextSeq() != 6 {
				t.Fatalf("after Compact: %v, next %d", got, s.NextSeq())
			}
			s.Close()
		})
	}
}

// A record from a newer format version is refused, not misread.
func TestNewerVersion(t *testing.T) {
	path, _ := fill(t, 2)
	body := append([]byte{journal.FormatVersion + 1, 'I'}, `{"id":"from-the-future","seq":9,"new_field":true}`...)
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	frame = binary.BigEndian.AppendUint32(frame, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	frame = append(frame, body...)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(frame)
	f.Close()
	s, err := journal.OpenFile(path)
	var ve *journal.VersionError
	if s != nil || !errors.As(err, &ve) || !errors.Is(err, journal.ErrNewerVersion) || ve.Version != journal.FormatVersion+1 {
		t.Fatalf("open: %v, %v", s, err)
	}
	// The file is left as it was.
	if data, _ := os.ReadFile(path); !bytes.HasSuffix(data, frame) {
		t.Fatal("the file was changed")
	}
}

func TestNotAJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	os.WriteFile(path, []byte("hello, world: this is not a journal"), 0o600)
	if _, err := journal.OpenFile(path); !errors.Is(err, journal.ErrFormat) {
		t.Fatalf("open: %v", err)
	}
}

func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	s, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := journal.OpenFile(path); !errors.Is(err, journal.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	s.Close()
	s, err = journal.OpenFile(path)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	s.Close()
}

// A file that is mostly done records is compacted when it is opened:
// smaller, the same pending intents, sequence numbers going on.
func TestCompactOnOpen(t *testing.T) {
	var done []int
	for i := 0; i < 40; i++ {
		if i%4 != 0 {
			done = append(done, i)
		}
	}
	path, ids := fill(t, 40, done...)
	before, _ := os.Stat(path)
	s, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Recovery().Compacted {
		t.Fatal("not compacted")
	}
	after, _ := os.Stat(path)
	if after.Size() >= before.Size()/2 {
		t.Fatalf("size %d -> %d", before.Size(), after.Size())
	}
	got := pendingIDs(t, s)
	if len(got) != 10 || got[0] != ids[0] || got[9] != ids[36] {
		t.Fatalf("pending %v", got)
	}
	rec := &journal.Record{ID: "next", Method: "POST", URL: "http://x/"}
	if err := s.Append(context.Background(), rec); err != nil || rec.Seq != 41 {
		t.Fatalf("append after compaction: seq %d, %v", rec.Seq, err)
	}
	s.Close()
	s, err = journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Recovery().Compacted || len(pendingIDs(t, s)) != 11 || s.NextSeq() != 42 {
		t.Fatalf("reopen: %+v, next %d", s.Recovery(), s.NextSeq())
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
}

func TestClaim(t *testing.T) {
	path, ids := fill(t, 2)
	s, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	claim := func(id, owner string, lease time.Duration) bool {
		ok, err := s.Claim(ctx, id, owner, lease)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(ids[0], "a", time.Hour) || claim(ids[0], "b", time.Hour) || !claim(ids[0], "a", time.Hour) {
		t.Fatal("a claim held by a was given to b, or not back to a")
	}
	if !claim(ids[1], "a", time.Nanosecond) {
		t.Fatal("claim")
	}
	time.Sleep(time.Millisecond)
	if !claim(ids[1], "b", time.Hour) {
		t.Fatal("an expired claim was not given to b")
	}
	s.Done(ctx, ids[0], journal.Outcome{State: journal.Applied})
	if claim(ids[0], "a", time.Hour) {
		t.Fatal("a done intent was claimed")
	}
}

// Concurrent appends and outcomes share fsyncs and lose nothing.
func TestConcurrentCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	s, err := journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const workers, each = 8, 24
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				rec := &journal.Record{ID: fmt.Sprintf("w%d-%d", w, i), Method: "POST", URL: "http://x/"}
				if err := s.Append(ctx, rec); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if err := s.Done(ctx, rec.ID, journal.Outcome{State: journal.Applied}); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s.Close()
	s, err = journal.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, _ := s.Pending(ctx)
	seqs := map[uint64]bool{}
	for _, r := range recs {
		seqs[r.Seq] = true
	}
	if len(recs) != workers*each/2 || len(seqs) != len(recs) || s.NextSeq() != workers*each+1 {
		t.Fatalf("%d pending (%d distinct seqs), next %d", len(recs), len(seqs), s.NextSeq())
	}
}
