package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
)

// The file format of a [FileStore]:
//
//	file    = magic frame*
//	magic   = "GOCFJRNL"                        8 bytes
//	frame   = length crc body
//	length  = uint32, big-endian                 the length of body, 2 to MaxRecordSize
//	crc     = uint32, big-endian                 CRC-32C (Castagnoli) of body
//	body    = version type payload
//	version = byte                               FormatVersion (1)
//	type    = byte                               'M' meta, 'I' intent, 'D' done
//	payload = JSON                               by type, below
//
// An 'I' payload is a [Record] as JSON (bodies and bases base64-encoded);
// a 'D' payload is {"id": ..., "outcome": [Outcome]}; an 'M' payload is
// {"next_seq": N}, written first in every new or compacted file so that
// sequence numbers never go back. An intent is pending if no 'D' frame
// names it. Frames are only ever appended, each followed by fsync.
const (
	// FormatVersion is the version byte this package writes. It refuses
	// frames with a higher one ([VersionError]).
	FormatVersion = 1
	// MaxRecordSize bounds one frame's body.
	MaxRecordSize = 64 << 20

	magic      = "GOCFJRNL"
	frameHead  = 8
	typeMeta   = 'M'
	typeIntent = 'I'
	typeDone   = 'D'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of the file format. Each typed error below matches one of them
// with errors.Is.
var (
	// ErrCorrupt: the journal file has damaged records between intact ones.
	ErrCorrupt = errors.New("journal: corrupt journal file")
	// ErrNewerVersion: the journal file has records written by a newer
	// version of this package.
	ErrNewerVersion = errors.New("journal: journal file written by a newer format version")
	// ErrFormat: the file is not a journal, or a record does not decode.
	ErrFormat = errors.New("journal: not a journal file")
)

// A VersionError reports a record written in a newer format version than
// [FormatVersion]. OpenFile refuses such a file rather than misread it.
type VersionError struct {
	Path    string // the journal file
	Offset  int64  // where the record starts
	Version byte   // the record's format version
}

// Error says which record has which version.
func (e *VersionError) Error() string {
	return fmt.Sprintf("journal: %s: record at offset %d has format version %d; this package reads up to %d",
		e.Path, e.Offset, e.Version, FormatVersion)
}

// Is makes errors.Is(err, ErrNewerVersion) hold.
func (e *VersionError) Is(target error) bool { return target == ErrNewerVersion }

// A Region is a span of a journal file.
type Region struct {
	Offset, Length int64 // in bytes from the start of the file
}

// A CorruptError reports damaged bytes between intact records of a journal
// file. OpenFile returns it together with a usable FileStore that holds
// every intact record; the damaged bytes stay in the file, and the error
// comes back at every open, until [FileStore.Compact] rewrites the file
// without them (keeping the damaged file as Path+".corrupt").
//
// A damaged record may have been an intent (now lost) or the outcome of one
// (now pending again, and sent again by Replay: safe for a create with an
// idempotency key the server still remembers, and for a merged update).
type CorruptError struct {
	// Path is the journal file.
	Path string
	// Regions are the damaged spans, each from a damaged record to the
	// next intact one.
	Regions []Region
	// Intact is how many intact records were read.
	Intact int
}

// Error says how much is damaged, where, and what was kept.
func (e *CorruptError) Error() string {
	var n int64
	for _, r := range e.Regions {
		n += r.Length
	}
	return fmt.Sprintf("journal: %s: %d damaged bytes in %d region(s), first at offset %d; %d intact records kept",
		e.Path, n, len(e.Regions), e.Regions[0].Offset, e.Intact)
}

// Is makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// A FormatError reports a file that is not a journal, or a record whose
// checksum is right but whose payload does not decode.
type FormatError struct {
	Path   string // the journal file, if any
	Offset int64  // where the record starts; 0 for the file as a whole
	Msg    string // what is wrong
}

// Error says what is wrong, and where.
func (e *FormatError) Error() string {
	if e.Path == "" {
		return "journal: " + e.Msg
	}
	return fmt.Sprintf("journal: %s: offset %d: %s", e.Path, e.Offset, e.Msg)
}

// Is makes errors.Is(err, ErrFormat) hold.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

type metaPayload struct {
	NextSeq uint64 `json:"next_seq"`
}

type donePayload struct {
	ID      string  `json:"id"`
	Outcome Outcome `json:"outcome"`
}

// appendFrame appends a frame of type typ with payload v to dst.
func appendFrame(dst []byte, typ byte, v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	n := 2 + len(payload)
	if n > MaxRecordSize {
		return dst, fmt.Errorf("journal: record of %d bytes is larger than %d", n, MaxRecordSize)
	}
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = append(dst, FormatVersion, typ)
	dst = append(dst, payload...)
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(dst[start+frameHead:], castagnoli))
	return dst, nil
}

// frameAt checks the frame at data[off:]: it returns its body and whether
// it is intact (a sane length, within data, and a matching checksum).
func frameAt(data []byte, off int64) ([]byte, bool) {
	if int64(len(data))-off < frameHead {
		return nil, false
	}
	n := int64(binary.BigEndian.Uint32(data[off:]))
	if n < 2 || n > MaxRecordSize || off+frameHead+n > int64(len(data)) {
		return nil, false
	}
	body := data[off+frameHead : off+frameHead+n]
	if body[0] == 0 || !validType(body[1]) {
		return nil, false
	}
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(data[off+4:]) {
		return nil, false
	}
	return body, true
}

func validType(t byte) bool { return t == typeMeta || t == typeIntent || t == typeDone }

// resync returns the offset of the next intact frame after a damaged one at
// off, or -1 if there is none: the damage is then a torn tail.
func resync(data []byte, off int64) int64 {
	for o := off + 1; o+frameHead+2 <= int64(len(data)); o++ {
		if _, ok := frameAt(data, o); ok {
			return o
		}
	}
	return -1
}
