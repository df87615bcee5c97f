package conflict

import (
	"bytes"
	"encoding/json"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// getPointer returns the compact value at the JSON Pointer segs in doc.
func getPointer(doc []byte, segs []string) ([]byte, bool) {
	root, err := jsonv.Parse(doc)
	if err != nil {
		return nil, false
	}
	v := root.At(segs)
	if v == nil {
		return nil, false
	}
	return jsonv.AppendCompact(nil, v), true
}

// dropPointer returns doc with the value at segs set to null, or doc
// unchanged if there is none: what a merge compares without the version.
func dropPointer(doc []byte, segs []string) []byte {
	root, err := jsonv.Parse(doc)
	if err != nil || root.At(segs) == nil {
		return doc
	}
	out, err := jsonv.Set(doc, segs, []byte("null"))
	if err != nil {
		return doc
	}
	return out
}

// parsePair parses a and b into pooled memory, calls f, and gives the
// memory back.
func parsePair(a, b []byte, f func(va, vb *jsonv.Value) bool) bool {
	pa, pb := parse(a), parse(b)
	defer pa.release()
	defer pb.release()
	return pa.buf != nil && pb.buf != nil && f(&pa.v, &pb.v)
}

// jsonEqual reports whether two JSON documents are equal, as the merge
// compares them: objects regardless of member order, numbers by value.
func jsonEqual(a, b []byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if bytes.Equal(a, b) {
		return json.Valid(a)
	}
	return parsePair(a, b, func(va, vb *jsonv.Value) bool { return jsonv.Equal(va, vb, false) })
}

// covers reports whether doc is an object that has every member base has,
// at every depth of nested objects: evidence that doc is a whole
// representation of the resource base is one of, not a summary of it.
func covers(doc, base []byte) bool {
	return parsePair(doc, base, func(d, b *jsonv.Value) bool {
		return d.Kind == jsonv.Object && b.Kind == jsonv.Object && coversValue(d, b)
	})
}

func coversValue(d, b *jsonv.Value) bool {
	if b.Kind != jsonv.Object || d.Kind != jsonv.Object {
		return true
	}
	for i := range b.Kids {
		m := &b.Kids[i]
		dv := d.Get(m.Key)
		if dv == nil || !coversValue(dv, &m.Value) {
			return false
		}
	}
	return true
}

// holds reports whether doc holds every member of write with the same
// value, at every depth of nested objects (members doc has beyond them
// aside): a state in which that write, sent again, would change nothing it
// sets.
func holds(doc, write []byte) bool {
	return parsePair(doc, write, func(d, w *jsonv.Value) bool { return holdsValue(d, w) })
}

func holdsValue(d, w *jsonv.Value) bool {
	if w.Kind != jsonv.Object || d.Kind != jsonv.Object {
		return jsonv.Equal(d, w, false)
	}
	for i := range w.Kids {
		m := &w.Kids[i]
		dv := d.Get(m.Key)
		if dv == nil || !holdsValue(dv, &m.Value) {
			return false
		}
	}
	return true
}

// soundMerge reports whether next, what a merge function returned for
// base, ours and theirs, can be sent as the document: valid JSON; an object
// when ours and theirs are objects; and every member neither side changed
// (equal in base, ours and theirs, at every depth of nested objects) still
// there, unchanged. A merge function that returns null, {} or a document
// missing what nobody touched would otherwise write it over everyone's.
func soundMerge(base, ours, theirs, next []byte) bool {
	docs := [4]parsed{parse(base), parse(ours), parse(theirs), parse(next)}
	defer func() {
		for i := range docs {
			docs[i].release()
		}
	}()
	return soundParsed(&docs[0], &docs[1], &docs[2], &docs[3])
}

// soundParsed is soundMerge on documents already parsed.
func soundParsed(b, o, t, n *parsed) bool {
	if n.buf == nil {
		return false // next must parse
	}
	if b.buf == nil || o.buf == nil || t.buf == nil {
		return true // inputs the merge itself judged
	}
	if o.v.Kind == jsonv.Object && t.v.Kind == jsonv.Object && n.v.Kind != jsonv.Object {
		return false
	}
	return keepsUntouched(&b.v, &o.v, &t.v, &n.v)
}

// parsed is a document parsed into pooled memory (buf nil: it did not
// parse); release gives the memory back.
type parsed struct {
	v   jsonv.Value
	buf *jsonv.Buffer
}

func parse(doc []byte) parsed {
	buf := jsonv.GetBuffer()
	v, err := jsonv.ParseIn(doc, buf)
	if err != nil {
		jsonv.PutBuffer(buf)
		return parsed{}
	}
	return parsed{v: v, buf: buf}
}

func (p *parsed) release() {
	if p.buf != nil {
		jsonv.PutBuffer(p.buf)
		p.buf = nil
	}
}

// keepsUntouched reports whether n keeps what o and t agree on: every
// member both have (not null) is in n, and one that both left as it is in
// b (nil: no base there) is in n unchanged, at every depth of nested
// objects. What one side added, removed or changed is the merge's call.
func keepsUntouched(b, o, t, n *jsonv.Value) bool {
	if o.Kind != jsonv.Object || t.Kind != jsonv.Object {
		return true
	}
	if n.Kind != jsonv.Object {
		return false
	}
	if b != nil && b.Kind != jsonv.Object {
		b = nil
	}
	// Indexed: a document of many members is not scanned once per member.
	bx, tx, nx := jsonv.NewIndex(b), jsonv.NewIndex(t), jsonv.NewIndex(n)
	for i := range o.Kids {
		m := &o.Kids[i]
		ov, tv := &m.Value, valueOf(tx.Lookup(m.Key, i))
		if tv == nil || ov.Kind == jsonv.Null || tv.Kind == jsonv.Null {
			continue // one side has it, or removed it: the merge decides
		}
		nv := valueOf(nx.Lookup(m.Key, i))
		if nv == nil {
			return false // both sides kept it
		}
		bv := valueOf(bx.Lookup(m.Key, i))
		if bv != nil && jsonv.Equal(bv, ov, false) && jsonv.Equal(bv, tv, false) {
			if !jsonv.Equal(bv, nv, false) {
				return false // neither side changed it
			}
			continue
		}
		if !keepsUntouched(bv, ov, tv, nv) {
			return false
		}
	}
	return true
}

// valueOf is m's value, or nil for no member.
func valueOf(m *jsonv.Member) *jsonv.Value {
	if m == nil {
		return nil
	}
	return &m.Value
}
