package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func newParser() *FileStore {
	return &FileStore{path: "fuzz", nextSeq: 1, pending: map[string]*Record{}, done: map[string]bool{}, claims: map[string]claim{}}
}

// FuzzParse: whatever bytes a journal file holds, reading it does not
// panic; it refuses the file with a typed error or reads it, and reading
// what it would keep (the file cut after its last intact record) gives the
// same pending intents, with no torn tail.
func FuzzParse(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed")
	s, err := OpenFile(path)
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		s.Append(ctx, &Record{ID: fmt.Sprint("id", i), Method: "PUT", URL: "http://x/d", Body: []byte(`{"a":1}`), Base: []byte(`{}`)})
	}
	s.Done(ctx, "id1", Outcome{State: Applied, Status: 200})
	s.Close()
	data, _ := os.ReadFile(path)
	f.Add(data)
	f.Add(data[:len(data)-3])
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newParser()
		if err := p.parse(data); err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrNewerVersion) {
				t.Fatalf("refused with an untyped error: %v", err)
			}
			return
		}
		if p.size > int64(len(data)) || p.rec.TornBytes != int64(len(data))-p.size {
			t.Fatalf("size %d of %d, torn %d", p.size, len(data), p.rec.TornBytes)
		}
		q := newParser()
		if err := q.parse(data[:p.size]); err != nil {
			t.Fatalf("the kept part does not read: %v", err)
		}
		if q.rec.TornBytes != 0 || q.size != p.size || q.nextSeq != p.nextSeq || len(q.pending) != len(p.pending) {
			t.Fatalf("kept part: %+v, size %d, next %d; first: %+v, size %d, next %d",
				q.rec, q.size, q.nextSeq, p.rec, p.size, p.nextSeq)
		}
		for id, r := range p.pending {
			if r2 := q.pending[id]; r2 == nil || r2.Seq != r.Seq || string(r2.Body) != string(r.Body) {
				t.Fatalf("intent %s differs", id)
			}
		}
	})
}
