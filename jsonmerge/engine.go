package jsonmerge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-conflict/conflict/internal/jsonv"
)

func (c *mergeConfig) merge(base, ours, theirs []byte) ([]byte, error) {
	if bytes.Equal(base, ours) {
		if _, err := parseArg(base, "base"); err != nil {
			return nil, err
		}
		return compactArg(theirs, "theirs")
	}
	if bytes.Equal(base, theirs) {
		if _, err := parseArg(base, "base"); err != nil {
			return nil, err
		}
		return compactArg(ours, "ours")
	}
	var p parser
	defer p.done()
	b, err := p.parse(0, base, "base")
	if err != nil {
		return nil, err
	}
	o, err := p.parse(1, ours, "ours")
	if err != nil {
		return nil, err
	}
	t, err := p.parse(2, theirs, "theirs")
	if err != nil {
		return nil, err
	}
	m := merger{cfg: c, out: make([]byte, 0, len(theirs)+len(ours)/4+16)}
	m.value(&b, &o, &t)
	if m.err != nil {
		return nil, m.err
	}
	if len(m.conflicts) > 0 {
		return nil, &ConflictError{Conflicts: m.conflicts}
	}
	return m.out, nil
}

// merger holds the state of one merge. It writes the result to out as it
// walks the three trees; a nil *jsonv.Value means "absent".
type merger struct {
	cfg       *mergeConfig
	out       []byte
	path      []string
	conflicts []PathConflict
	err       error // first error from a ResolveFunc; aborts the merge
}

func (m *merger) write(v *jsonv.Value) bool {
	if v == nil {
		return false
	}
	m.out = jsonv.AppendCompact(m.out, v)
	return true
}

// value merges one value and reports whether the result is present.
func (m *merger) value(b, o, t *jsonv.Value) bool {
	switch {
	case b != nil && o != nil && bytes.Equal(b.Raw, o.Raw):
		return m.write(t)
	case b == nil && o == nil:
		return m.write(t)
	case b == nil && t == nil:
		return m.write(o)
	}
	mp := m.cfg.mergePatch
	if o != nil && t != nil && o.Kind == t.Kind && (b == nil || b.Kind == o.Kind) {
		switch o.Kind {
		case jsonv.Object:
			return m.object(b, o, t)
		case jsonv.Array:
			if m.cfg.typed && b != nil && len(b.Kids) == len(t.Kids) && !jsonv.Equal(b, o, false) {
				return m.positional(b, o, t)
			}
			if id, ok := m.cfg.keyedAt(m.path); ok {
				// Whole-array checks first, so that a reordering by one
				// side survives when the other side changed nothing.
				if jsonv.Equal(b, o, mp) {
					return m.write(t)
				}
				if jsonv.Equal(b, t, mp) {
					return m.write(o)
				}
				if m.keyedArray(b, o, t, id) {
					return true
				}
			}
		}
	}
	if jsonv.Equal(b, o, mp) {
		return m.write(t)
	}
	if jsonv.Equal(b, t, mp) {
		return m.write(o)
	}
	if jsonv.Equal(o, t, mp) {
		return m.write(t)
	}
	return m.conflict(b, o, t)
}

// member returns the value of an object member, nil when absent (or null in
// merge-patch mode).
func (m *merger) member(x *jsonv.Member) *jsonv.Value {
	if x == nil || (m.cfg.mergePatch && x.Value.Kind == jsonv.Null) {
		return nil
	}
	return &x.Value
}

// object merges three objects; b may be nil (both sides added the member).
func (m *merger) object(b, o, t *jsonv.Value) bool {
	bx, ox, tx := jsonv.NewIndex(b), jsonv.NewIndex(o), jsonv.NewIndex(t)
	m.out = append(m.out, '{')
	n := 0
	for i := range t.Kids {
		tm := &t.Kids[i]
		bv := m.member(m.lookup(&bx, b, tm.Key, i))
		ov := m.member(m.lookup(&ox, o, tm.Key, i))
		// In merge-patch mode a member theirs has and the merge removes is
		// written as null, so that the result removes it on the server too.
		n = m.mergeMember(n, tm, bv, ov, m.member(tm), m.cfg.mergePatch)
	}
	for i := range o.Kids {
		om := &o.Kids[i]
		if m.lookup(&tx, t, om.Key, i) != nil {
			continue
		}
		n = m.mergeMember(n, om, m.member(bx.Lookup(om.Key, i)), m.member(om), nil, false)
	}
	m.out = append(m.out, '}')
	return true
}

// lookup finds the member key of v through its index x; in a typed merge,
// a member whose name differs only in case matches too, as encoding/json
// decodes it (so "Title" on the server is the field a type names "title").
func (m *merger) lookup(x *jsonv.Index, v *jsonv.Value, key string, hint int) *jsonv.Member {
	if found := x.Lookup(key, hint); found != nil || !m.cfg.typed || v == nil {
		return found
	}
	for i := range v.Kids {
		if strings.EqualFold(v.Kids[i].Key, key) {
			return &v.Kids[i]
		}
	}
	return nil
}

// positional merges three arrays element by element, for a typed merge
// whose base and theirs arrays correspond by position: an element's
// members the type does not model are kept where ours changed the element.
func (m *merger) positional(b, o, t *jsonv.Value) bool {
	if moved(b, o) {
		return m.aligned(b, o, t)
	}
	m.out = append(m.out, '[')
	n := 0
	for i := range o.Kids {
		var bi, ti *jsonv.Value
		if i < len(b.Kids) {
			bi, ti = &b.Kids[i].Value, &t.Kids[i].Value
		}
		n = m.mergeElement(n, i, bi, &o.Kids[i].Value, ti)
	}
	m.out = append(m.out, ']')
	return true
}

// moved reports whether ours (o) is not the view (b) edited in place: a
// different length, or an element of the view found at another place.
func moved(b, o *jsonv.Value) bool {
	if len(o.Kids) != len(b.Kids) {
		return true
	}
	for i := range o.Kids {
		if jsonv.Equal(&o.Kids[i].Value, &b.Kids[i].Value, false) {
			continue
		}
		for j := range b.Kids {
			if j != i && jsonv.Equal(&o.Kids[i].Value, &b.Kids[j].Value, false) {
				return true
			}
		}
	}
	return false
}

// aligned merges an array whose elements ours (o) added, removed or moved:
// each element of ours that is an element of the view (b) is written as the
// document's element there (t, with the members the view does not show);
// the others, added or changed, as ours. When an element of ours is not in
// the view while one of the view, with members it does not show, is not in
// ours, that one may have been changed rather than removed, and writing
// ours would drop what it does not show: the merge fails (ErrConflict),
// whatever the policy.
func (m *merger) aligned(b, o, t *jsonv.Value) bool {
	used := make([]bool, len(b.Kids))
	from := make([]int, len(o.Kids))
	unmatched := false
	for i := range o.Kids {
		from[i] = -1
		for j := range b.Kids {
			if !used[j] && jsonv.Equal(&o.Kids[i].Value, &b.Kids[j].Value, false) {
				used[j], from[i] = true, j
				break
			}
		}
		unmatched = unmatched || from[i] < 0
	}
	if unmatched {
		for j := range b.Kids {
			if !used[j] && !jsonv.Equal(&b.Kids[j].Value, &t.Kids[j].Value, false) {
				if m.err == nil {
					m.err = fmt.Errorf("jsonmerge: at %q, elements were added or changed while others moved or went: which element changed, and what it held that the view does not show, cannot be told: %w",
						jsonv.FormatPointer(m.path), ErrConflict)
				}
				return m.write(t)
			}
		}
	}
	m.out = append(m.out, '[')
	for i := range o.Kids {
		if i > 0 {
			m.out = append(m.out, ',')
		}
		if j := from[i]; j >= 0 {
			m.write(&t.Kids[j].Value)
		} else {
			m.write(&o.Kids[i].Value)
		}
	}
	m.out = append(m.out, ']')
	return true
}

// mergeMember writes one member of a merged object and returns the number
// of members written so far.
func (m *merger) mergeMember(n int, key *jsonv.Member, b, o, t *jsonv.Value, nullIfAbsent bool) int {
	mark := len(m.out)
	if n > 0 {
		m.out = append(m.out, ',')
	}
	m.out = append(m.out, key.KeyRaw...)
	m.out = append(m.out, ':')
	m.path = append(m.path, key.Key)
	present := m.value(b, o, t)
	m.path = m.path[:len(m.path)-1]
	if !present {
		if !nullIfAbsent {
			m.out = m.out[:mark]
			return n
		}
		m.out = append(m.out, "null"...)
	}
	return n + 1
}

// keyedArray merges three arrays of objects identified by idField. It
// reports false, having written nothing, when the arrays do not qualify.
func (m *merger) keyedArray(b, o, t *jsonv.Value, idField string) bool {
	_, bIdx, ok := keyedArrayIDs(b, idField)
	if !ok {
		return false
	}
	oKeys, oIdx, ok := keyedArrayIDs(o, idField)
	if !ok {
		return false
	}
	tKeys, tIdx, ok := keyedArrayIDs(t, idField)
	if !ok {
		return false
	}
	elem := func(v *jsonv.Value, idx map[string]int, key string) *jsonv.Value {
		if i, ok := idx[key]; ok {
			return &v.Kids[i].Value
		}
		return nil
	}
	m.out = append(m.out, '[')
	n := 0
	for i := range t.Kids {
		k := tKeys[i]
		n = m.mergeElement(n, i, elem(b, bIdx, k), elem(o, oIdx, k), &t.Kids[i].Value)
	}
	for i := range o.Kids {
		k := oKeys[i]
		if _, ok := tIdx[k]; ok {
			continue
		}
		n = m.mergeElement(n, i, elem(b, bIdx, k), &o.Kids[i].Value, nil)
	}
	m.out = append(m.out, ']')
	return true
}

func (m *merger) mergeElement(n, index int, b, o, t *jsonv.Value) int {
	mark := len(m.out)
	if n > 0 {
		m.out = append(m.out, ',')
	}
	m.path = append(m.path, strconv.Itoa(index))
	present := m.value(b, o, t)
	m.path = m.path[:len(m.path)-1]
	if !present {
		m.out = m.out[:mark]
		return n
	}
	return n + 1
}

// keyedArrayIDs returns the id key of every element of array v and an index from
// key to position. ok is false when v does not qualify as a keyed array. A
// nil v is an empty array.
func keyedArrayIDs(v *jsonv.Value, idField string) (keys []string, idx map[string]int, ok bool) {
	if v == nil {
		return nil, nil, true
	}
	keys = make([]string, len(v.Kids))
	idx = make(map[string]int, len(v.Kids))
	for i := range v.Kids {
		e := &v.Kids[i].Value
		if e.Kind != jsonv.Object {
			return nil, nil, false
		}
		id := e.Get(idField)
		if id == nil {
			return nil, nil, false
		}
		var k string
		switch id.Kind {
		case jsonv.String:
			k = "s" + jsonv.Unquote(id.Raw)
		case jsonv.Number:
			k = "n" + jsonv.NumberKey(id.Raw)
		default:
			return nil, nil, false
		}
		if _, dup := idx[k]; dup {
			return nil, nil, false
		}
		keys[i], idx[k] = k, i
	}
	return keys, idx, true
}

func rawValue(v *jsonv.Value) json.RawMessage {
	if v == nil {
		return nil
	}
	return json.RawMessage(jsonv.AppendCompact(nil, v))
}

func (m *merger) record(b, o, t *jsonv.Value) {
	m.conflicts = append(m.conflicts, PathConflict{
		Path:   jsonv.FormatPointer(m.path),
		Base:   rawValue(b),
		Ours:   rawValue(o),
		Theirs: rawValue(t),
	})
}

// conflict resolves a conflict at the current path with the path's policy.
// When the conflict stays, it is recorded and theirs is written as a
// placeholder so the walk can go on and find every other conflict.
func (m *merger) conflict(b, o, t *jsonv.Value) bool {
	p := m.cfg.policyFor(m.path)
	switch p.kind {
	case policyOurs:
		return m.write(o)
	case policyTheirs:
		return m.write(t)
	case policyFunc:
		if m.err != nil {
			return m.write(t)
		}
		path := jsonv.FormatPointer(m.path)
		raw, err := p.resolver.f(path, rawValue(b), rawValue(o), rawValue(t))
		if err != nil {
			if !errors.Is(err, ErrConflict) {
				m.err = fmt.Errorf("jsonmerge: resolving merge conflict at %q: %w", path, err)
				return m.write(t)
			}
			break
		}
		if len(raw) == 0 {
			return false
		}
		v, err := jsonv.Parse(raw)
		if err != nil {
			m.err = fmt.Errorf("jsonmerge: resolving merge conflict at %q: %w", path, newInvalidJSONError("resolution", err))
			return m.write(t)
		}
		m.out = jsonv.AppendCompact(m.out, &v)
		return true
	}
	m.record(b, o, t)
	return m.write(t)
}
