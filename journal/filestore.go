package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// A FileStore is the default [Store]: one append-only file of
// length-prefixed, CRC-checked records (the format is described at
// [FormatVersion]), synced to disk at every commit. One process at a time
// may open a file: OpenFile takes an advisory lock on path+".lock" (on
// Unix), and claims live in memory.
//
// A FileStore is safe for concurrent use.
type FileStore struct {
	syncMu  sync.Mutex // serialises fsyncs, compactions and Close; taken before mu
	mu      sync.Mutex // guards the rest, and writes to the file
	gen     int        // the file's generation: one more at each compaction
	synced  int64      // how much of the file is known synced, in generation gen
	syncErr error      // a failed fsync: the store is closed
	path    string
	f       *os.File
	lock    *os.File
	size    int64
	nextSeq uint64
	pending map[string]*Record
	done    map[string]bool // ids done since open
	claims  map[string]claim
	frames  int // frames in the file, the magic aside
	corrupt *CorruptError
	rec     Recovery
	buf     []byte
	closed  bool
}

type claim struct {
	owner string
	until time.Time
}

// Recovery reports what [OpenFile] found.
type Recovery struct {
	// Records is how many intact records were read; Pending how many
	// intents were pending.
	Records, Pending int
	// TornBytes is the length of an incomplete record at the end of the
	// file, left by a crash in the middle of a write, which was cut off at
	// TornOffset. That write had not been acknowledged.
	TornBytes, TornOffset int64
	// Corrupt lists damaged regions between intact records (see
	// [CorruptError]).
	Corrupt []Region
	// Compacted reports that the file was rewritten without its done
	// records.
	Compacted bool
}

// OpenFile opens the journal file at path, creating it if needed, and
// reads it.
//
// An incomplete record at the end (a crash in the middle of an append) is
// cut off and reported in [FileStore.Recovery]. Damaged records between
// intact ones make OpenFile return a usable FileStore together with a
// [*CorruptError] (errors.Is(err, [ErrCorrupt])). A record from a newer
// format version makes it fail with a [*VersionError]. A file that is
// mostly done records is compacted: rewritten to a temporary file, synced,
// renamed over the old one, and the directory synced.
func OpenFile(path string) (*FileStore, error) {
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	s := &FileStore{path: path, lock: lock, nextSeq: 1,
		pending: map[string]*Record{}, done: map[string]bool{}, claims: map[string]claim{}}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if s.corrupt != nil {
		return s, s.corrupt
	}
	if dead := s.frames - len(s.pending) - 1; dead >= 16 && dead > len(s.pending) {
		if err := s.compact(); err != nil {
			s.closeFiles()
			return nil, err
		}
		s.rec.Compacted = true
	}
	return s, nil
}

// load reads the file, or creates it.
func (s *FileStore) load() error {
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	s.f = f
	data, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("journal: reading %s: %w", s.path, err)
	}
	if len(data) < len(magic) && bytes.HasPrefix([]byte(magic), data) {
		// New, or a crash while it was being created.
		return s.create()
	}
	if err := s.parse(data); err != nil {
		return err
	}
	off := s.size
	if s.rec.TornBytes > 0 {
		if err := f.Truncate(off); err != nil {
			return fmt.Errorf("journal: cutting off an incomplete record: %w", err)
		}
	}
	// What a process that died wrote without syncing is in the page cache:
	// make it durable before building on it.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// parse reads the records of a journal file's contents into s, and sets
// s.size to the end of the last intact record.
func (s *FileStore) parse(data []byte) error {
	if !bytes.HasPrefix(data, []byte(magic)) {
		return &FormatError{Path: s.path, Msg: "not a journal file (bad magic)"}
	}
	off := int64(len(magic))
	for off < int64(len(data)) {
		body, ok := frameAt(data, off)
		if !ok {
			next := resync(data, off)
			if next < 0 {
				s.rec.TornOffset, s.rec.TornBytes = off, int64(len(data))-off
				break
			}
			s.rec.Corrupt = append(s.rec.Corrupt, Region{off, next - off})
			off = next
			continue
		}
		if body[0] > FormatVersion {
			return &VersionError{Path: s.path, Offset: off, Version: body[0]}
		}
		if err := s.apply(body[1], body[2:]); err != nil {
			return &FormatError{Path: s.path, Offset: off, Msg: err.Error()}
		}
		s.frames++
		s.rec.Records++
		off += frameHead + int64(len(body))
	}
	s.size, s.synced = off, off
	s.rec.Pending = len(s.pending)
	if len(s.rec.Corrupt) > 0 {
		s.corrupt = &CorruptError{Path: s.path, Regions: slices.Clone(s.rec.Corrupt), Intact: s.rec.Records}
	}
	return nil
}

// apply applies one record read from the file.
func (s *FileStore) apply(typ byte, payload []byte) error {
	switch typ {
	case typeMeta:
		var m metaPayload
		if err := json.Unmarshal(payload, &m); err != nil {
			return err
		}
		s.nextSeq = max(s.nextSeq, m.NextSeq)
	case typeIntent:
		r := new(Record)
		if err := json.Unmarshal(payload, r); err != nil {
			return err
		}
		if r.ID == "" {
			return fmt.Errorf("intent without an id")
		}
		if !s.done[r.ID] {
			s.pending[r.ID] = r
		}
		s.nextSeq = max(s.nextSeq, r.Seq+1)
	case typeDone:
		var d donePayload
		if err := json.Unmarshal(payload, &d); err != nil {
			return err
		}
		delete(s.pending, d.ID)
		s.done[d.ID] = true
	}
	return nil
}

// create writes a new, empty journal file.
func (s *FileStore) create() error {
	buf := []byte(magic)
	buf, err := appendFrame(buf, typeMeta, metaPayload{NextSeq: s.nextSeq})
	if err != nil {
		return err
	}
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := s.f.WriteAt(buf, 0); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	s.size, s.frames, s.synced = int64(len(buf)), 1, int64(len(buf))
	return syncDir(filepath.Dir(s.path))
}

// Recovery reports what OpenFile found when it read the file.
func (s *FileStore) Recovery() Recovery {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rec
	r.Corrupt = slices.Clone(r.Corrupt)
	return r
}

// Path returns the journal file's path.
func (s *FileStore) Path() string { return s.path }

// NextSeq returns the Seq the next Append will assign: one more than the
// Seq of every intent ever recorded in this file, compactions included.
func (s *FileStore) NextSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextSeq
}

// write appends frames to the file, without syncing it, and returns the
// generation of the file and the offset the frames end at. The caller
// holds s.mu. On a failed write it cuts the file back, so that no partial
// frame stays behind a later one.
func (s *FileStore) write(frames []byte) (int, int64, error) {
	if s.closed {
		return 0, 0, ErrClosed
	}
	if _, err := s.f.WriteAt(frames, s.size); err != nil {
		s.f.Truncate(s.size) //nolint:errcheck // best effort; the read side skips a torn tail anyway
		return 0, 0, fmt.Errorf("journal: writing %s: %w", s.path, err)
	}
	s.size += int64(len(frames))
	s.frames++
	return s.gen, s.size, nil
}

// syncTo returns once the file is synced up to end (in generation gen).
// Commits that wait for a sync together share one fsync: the first syncs
// everything written so far, and the others find their frames synced.
func (s *FileStore) syncTo(gen int, end int64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	if s.syncErr != nil {
		s.mu.Unlock()
		return s.syncErr
	}
	if s.gen != gen || s.synced >= end {
		// Synced by another commit, or by a compaction, which wrote the
		// state these frames made.
		s.mu.Unlock()
		return nil
	}
	f, upto := s.f, s.size
	s.mu.Unlock()
	err := f.Sync()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// After a failed fsync the state of the page cache is unknown;
		// nothing more is written to this file.
		s.closed = true
		s.syncErr = fmt.Errorf("journal: syncing %s: %w", s.path, err)
		return s.syncErr
	}
	s.synced = upto
	return nil
}

// Append implements [Store].
func (s *FileStore) Append(ctx context.Context, rec *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.pending[rec.ID]; ok || s.done[rec.ID] || rec.ID == "" {
		s.mu.Unlock()
		return fmt.Errorf("journal: intent id %q is empty or already used", rec.ID)
	}
	rec.Seq = s.nextSeq
	frame, err := appendFrame(s.buf[:0], typeIntent, rec)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.buf = frame[:0]
	gen, end, err := s.write(frame)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.nextSeq++
	r := *rec
	s.pending[r.ID] = &r
	s.mu.Unlock()
	return s.syncTo(gen, end)
}

// Claim implements [Store]. Claims are kept in memory: the file has one
// process at a time.
func (s *FileStore) Claim(_ context.Context, id, owner string, lease time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	if _, ok := s.pending[id]; !ok {
		return false, nil
	}
	now := time.Now()
	if c, ok := s.claims[id]; ok && c.owner != owner && now.Before(c.until) {
		return false, nil
	}
	s.claims[id] = claim{owner, now.Add(lease)}
	return true, nil
}

// Done implements [Store].
func (s *FileStore) Done(ctx context.Context, id string, o Outcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.done[id] {
		s.mu.Unlock()
		return nil
	}
	if _, ok := s.pending[id]; !ok {
		s.mu.Unlock()
		return fmt.Errorf("journal: intent %q: %w", id, ErrNotFound)
	}
	frame, err := appendFrame(s.buf[:0], typeDone, donePayload{ID: id, Outcome: o})
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.buf = frame[:0]
	gen, end, err := s.write(frame)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	delete(s.pending, id)
	delete(s.claims, id)
	s.done[id] = true
	s.mu.Unlock()
	if err := s.syncTo(gen, end); err != nil {
		return err
	}
	s.maybeCompact()
	return nil
}

// Pending implements [Store].
func (s *FileStore) Pending(context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	out := make([]Record, 0, len(s.pending))
	for _, r := range s.pending {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Record) int { return cmpSeq(a.Seq, b.Seq) })
	return out, nil
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Close implements [Store]. It releases the file and its lock.
func (s *FileStore) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	s.closed = true
	return s.closeFiles()
}

func (s *FileStore) closeFiles() error {
	var err error
	if s.f != nil {
		err = s.f.Close()
		s.f = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}
