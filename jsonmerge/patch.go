package jsonmerge

import (
	"bytes"

	"github.com/go-conflict/conflict/internal/jsonv"
)

// ApplyPatch applies the JSON merge patch patch to doc, as RFC 7396 defines:
// an object patch sets each of its members in doc, recursively, and a
// member whose value is null removes that member; any other patch (an array,
// a string, null, ...) replaces doc entirely.
//
// The result keeps doc's member order, with members the patch adds appended
// in the patch's order, and the exact text of every number. Both arguments
// must be valid JSON; errors are [*InvalidJSONError]s naming "doc" or
// "patch". JSON text is handled as [Merge] describes.
func ApplyPatch(doc, patch []byte) ([]byte, error) {
	var ps parser
	defer ps.done()
	d, err := ps.parse(0, doc, "doc")
	if err != nil {
		return nil, err
	}
	p, err := ps.parse(1, patch, "patch")
	if err != nil {
		return nil, err
	}
	return appendPatched(make([]byte, 0, len(doc)+len(patch)), &d, &p), nil
}

// appendPatched appends the result of applying patch to target (nil when
// absent) to out.
func appendPatched(out []byte, target, patch *jsonv.Value) []byte {
	if patch.Kind != jsonv.Object {
		return jsonv.AppendCompact(out, patch)
	}
	if target != nil && target.Kind != jsonv.Object {
		target = nil
	}
	out = append(out, '{')
	n := 0
	sep := func() {
		if n > 0 {
			out = append(out, ',')
		}
		n++
	}
	px, tx := jsonv.NewIndex(patch), jsonv.NewIndex(target)
	if target != nil {
		for i := range target.Kids {
			tm := &target.Kids[i]
			pm := px.Lookup(tm.Key, i)
			switch {
			case pm == nil:
				sep()
				out = append(out, tm.KeyRaw...)
				out = append(out, ':')
				out = jsonv.AppendCompact(out, &tm.Value)
			case pm.Value.Kind == jsonv.Null:
			default:
				sep()
				out = append(out, tm.KeyRaw...)
				out = append(out, ':')
				out = appendPatched(out, &tm.Value, &pm.Value)
			}
		}
	}
	for i := range patch.Kids {
		pm := &patch.Kids[i]
		if pm.Value.Kind == jsonv.Null || tx.Lookup(pm.Key, i) != nil {
			continue
		}
		sep()
		out = append(out, pm.KeyRaw...)
		out = append(out, ':')
		out = appendPatched(out, nil, &pm.Value)
	}
	return append(out, '}')
}

// CreatePatch returns an RFC 7396 merge patch that turns original into
// modified: ApplyPatch(original, CreatePatch(original, modified)) equals
// modified. The patch lists changed and added members in modified's order,
// then removed members (as null) in original's order; nested objects are
// diffed recursively, while arrays and other values are replaced whole. When
// the documents are equal objects the patch is {}. When either document is
// not an object, the patch is modified itself.
//
// A merge patch cannot set a member to null (null means "remove"), so a
// member whose value is null in modified is removed by the patch, as RFC 7396
// section 1 explains. Errors are [*InvalidJSONError]s naming "original" or
// "modified". JSON text is handled as [Merge] describes.
func CreatePatch(original, modified []byte) ([]byte, error) {
	var ps parser
	defer ps.done()
	o, err := ps.parse(0, original, "original")
	if err != nil {
		return nil, err
	}
	m, err := ps.parse(1, modified, "modified")
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 64)
	if o.Kind != jsonv.Object || m.Kind != jsonv.Object {
		return jsonv.AppendCompact(out, &m), nil
	}
	return appendDiff(out, &o, &m), nil
}

// appendDiff appends the merge patch from object o to object m.
func appendDiff(out []byte, o, m *jsonv.Value) []byte {
	out = append(out, '{')
	n := 0
	ox, mx := jsonv.NewIndex(o), jsonv.NewIndex(m)
	for i := range m.Kids {
		mm := &m.Kids[i]
		om := ox.Lookup(mm.Key, i)
		if om != nil && bytes.Equal(om.Value.Raw, mm.Value.Raw) {
			continue
		}
		mark := len(out)
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, mm.KeyRaw...)
		out = append(out, ':')
		switch {
		case om == nil:
			out = jsonv.AppendCompact(out, &mm.Value)
		case om.Value.Kind == jsonv.Object && mm.Value.Kind == jsonv.Object:
			start := len(out)
			out = appendDiff(out, &om.Value, &mm.Value)
			if len(out) == start+2 { // "{}": nothing changed below
				out = out[:mark]
				continue
			}
		case jsonv.Equal(&om.Value, &mm.Value, false):
			out = out[:mark]
			continue
		default:
			out = jsonv.AppendCompact(out, &mm.Value)
		}
		n++
	}
	for i := range o.Kids {
		om := &o.Kids[i]
		if mx.Lookup(om.Key, i) != nil {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, om.KeyRaw...)
		out = append(out, ":null"...)
		n++
	}
	return append(out, '}')
}

// RebasePatch re-bases the RFC 7396 merge patch patch, written against
// base, onto theirs, the current document. It returns a patch that, applied
// to theirs, makes the patch's changes and keeps theirs' other changes. It
// has the shape of a [Func] and can serve as one for endpoints that take
// merge patches (PATCH with application/merge-patch+json).
//
// A path the patch sets conflicts when theirs changed it since base to a
// value different from the one the patch produces; a member the patch
// removes conflicts when theirs changed it. Conflicts are reported, all of
// them, in a [*ConflictError] whose Ours values are what the patch
// produces at each path (nil for a removal).
//
// Parts of the patch that would undo theirs' work, or that theirs already
// did, are dropped: removing a member that base did not have (theirs may have
// added it since), removing a member theirs already removed, setting a value
// the patch leaves unchanged relative to base where theirs changed it, or
// setting a value theirs already set. Everything else is kept as written.
// When nothing is left, the result is {} (or, for a document that is not an
// object, theirs itself). Errors for bad input are [*InvalidJSONError]s
// naming "base", "patch" or "theirs". JSON text is handled as [Merge]
// describes.
func RebasePatch(base, patch, theirs []byte) ([]byte, error) {
	var ps parser
	defer ps.done()
	b, err := ps.parse(0, base, "base")
	if err != nil {
		return nil, err
	}
	p, err := ps.parse(1, patch, "patch")
	if err != nil {
		return nil, err
	}
	t, err := ps.parse(2, theirs, "theirs")
	if err != nil {
		return nil, err
	}
	m := merger{cfg: defaultMerge, out: make([]byte, 0, len(patch)+16)}
	keep := m.rebase(&b, &p, &t)
	if len(m.conflicts) > 0 {
		return nil, &ConflictError{Conflicts: m.conflicts}
	}
	if !keep {
		// The patch changes nothing theirs does not already have.
		m.out = m.out[:0]
		if t.Kind == jsonv.Object {
			return append(m.out, "{}"...), nil
		}
		return jsonv.AppendCompact(m.out, &t), nil
	}
	return m.out, nil
}

// rebase writes the re-based form of patch p (never nil) at the current
// path, where base has b and theirs has t (nil when absent). It reports false
// when that part of the patch is dropped; the caller then removes whatever
// was written.
func (m *merger) rebase(b, p, t *jsonv.Value) bool {
	if p.Kind == jsonv.Object && t != nil && t.Kind == jsonv.Object && (b == nil || b.Kind == jsonv.Object) {
		if b != nil && bytes.Equal(b.Raw, t.Raw) {
			return m.write(p)
		}
		bx, tx := jsonv.NewIndex(b), jsonv.NewIndex(t)
		m.out = append(m.out, '{')
		n := 0
		for i := range p.Kids {
			pm := &p.Kids[i]
			bv, tv := m.member(bx.Lookup(pm.Key, i)), m.member(tx.Lookup(pm.Key, i))
			mark := len(m.out)
			if n > 0 {
				m.out = append(m.out, ',')
			}
			m.out = append(m.out, pm.KeyRaw...)
			m.out = append(m.out, ':')
			m.path = append(m.path, pm.Key)
			var keep bool
			if pm.Value.Kind == jsonv.Null {
				switch {
				case bv == nil || tv == nil:
					// Nothing to remove in base (so theirs' member is theirs
					// to keep), or theirs already removed it.
				case jsonv.Equal(bv, tv, false):
					m.out = append(m.out, "null"...)
					keep = true
				default:
					m.record(bv, nil, tv)
				}
			} else {
				keep = m.rebase(bv, &pm.Value, tv)
			}
			m.path = m.path[:len(m.path)-1]
			if keep {
				n++
			} else {
				m.out = m.out[:mark]
			}
		}
		m.out = append(m.out, '}')
		return n > 0
	}
	if jsonv.Equal(b, t, false) {
		return m.write(p) // theirs did not change this path
	}
	intended, _ := jsonv.Parse(appendPatched(nil, b, p))
	if jsonv.Equal(&intended, t, false) || jsonv.Equal(&intended, b, false) {
		// Theirs already made this change, or the patch changes nothing
		// here and theirs' change stands.
		return false
	}
	m.record(b, &intended, t)
	return false
}
