package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// maybeCompact compacts a running store when dead frames pile up. The
// outcome that called it is durable already; a failed compaction leaves the
// old file in place, and a later one tries again.
func (s *FileStore) maybeCompact() {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if dead := s.frames - len(s.pending) - 1; !s.closed && s.corrupt == nil && dead >= autoCompact && dead > 4*len(s.pending) {
		s.compact() //nolint:errcheck
	}
}

// autoCompact is how many dead frames a running FileStore lets pile up
// before it compacts (when they also outnumber the live ones four to one),
// which bounds the file and the memory of done ids.
const autoCompact = 4096

// Compact rewrites the file with only its pending intents: to a temporary
// file, synced, renamed over the journal, and the directory synced. A file
// with damaged regions is kept as Path+".corrupt" first.
func (s *FileStore) Compact() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.compact(); err != nil {
		return err
	}
	s.corrupt = nil
	return nil
}

func (s *FileStore) compact() error {
	buf, err := appendFrame([]byte(magic), typeMeta, metaPayload{NextSeq: s.nextSeq})
	if err != nil {
		return err
	}
	recs := make([]*Record, 0, len(s.pending))
	for _, r := range s.pending {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b *Record) int { return cmpSeq(a.Seq, b.Seq) })
	for _, r := range recs {
		if buf, err = appendFrame(buf, typeIntent, r); err != nil {
			return err
		}
	}
	tmp := s.path + ".compact"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("journal: compacting: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("journal: compacting: %w", err)
	}
	if _, err := f.Write(buf); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if s.corrupt != nil {
		backup := s.path + ".corrupt"
		os.Remove(backup)
		if err := os.Link(s.path, backup); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		f.Close()
		return err
	}
	s.f.Close()
	s.f, s.size, s.frames = f, int64(len(buf)), 1+len(recs)
	s.gen++
	s.synced = s.size
	s.done = map[string]bool{}
	return nil
}

// syncDir syncs a directory, so that a file created or renamed in it stays.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: syncing directory %s: %w", dir, err)
	}
	return nil
}
