// Package jsonv parses JSON into a small value tree that keeps what
// encoding/json's generic decoding loses: the exact text of every number,
// the order of object members, and the original bytes of every value, so
// that untouched values can be written back byte for byte.
//
// It is the engine under the three-way merge and the RFC 7396 merge patch of
// package conflict. It uses the standard library only.
package jsonv

import (
	"bytes"
	"math/big"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth is the deepest nesting of arrays and objects that Parse accepts.
// It matches encoding/json's limit.
const MaxDepth = 10000

// Kind is the kind of a JSON value.
type Kind uint8

// The kinds of JSON values.
const (
	Null Kind = iota
	False
	True
	Number
	String
	Array
	Object
)

// Value is one parsed JSON value.
//
// Raw is the value's exact text in the parsed input (without surrounding
// whitespace). Kids holds the members of an object, in input order with
// duplicate keys removed (the last value wins, at the first key's position),
// or the elements of an array (with empty Key). Compact reports that Raw is
// already the compact encoding of the value: it holds no whitespace between
// tokens and no duplicate keys, so it can be copied to the output as is.
type Value struct {
	Raw     []byte
	Kids    []Member
	Kind    Kind
	Compact bool
}

// Member is an object member or an array element.
type Member struct {
	Key    string // unescaped member name; empty for array elements
	KeyRaw []byte // the quoted member name as it appeared in the input
	Value  Value
}

// SyntaxError describes malformed input.
type SyntaxError struct {
	Offset int64 // byte offset in the input where the error was found
	Msg    string
}

func (e *SyntaxError) Error() string {
	return e.Msg + " at offset " + strconv.FormatInt(e.Offset, 10)
}

// Parse parses one JSON document. Surrounding whitespace is allowed; anything
// else after the value is an error. The returned tree refers to data, its
// member names included (they are not copied), so the caller must not
// modify data while it uses the tree.
func Parse(data []byte) (Value, error) {
	return ParseIn(data, nil)
}

// A Buffer holds the memory of a parsed tree, to be used again: a caller
// that parses many documents, one after another, parses each into a Buffer
// with ParseIn (a Buffer from a sync.Pool, say), and calls Reset before it
// gives the Buffer back.
type Buffer struct {
	slab  []Member
	stack []Member
	seen  map[string]int
}

// pool holds Buffers between the parses of transient trees.
var pool = sync.Pool{New: func() any { return new(Buffer) }}

// GetBuffer returns a Buffer from a pool shared by every caller.
func GetBuffer() *Buffer { return pool.Get().(*Buffer) }

// PutBuffer resets b and gives it back to the pool; no tree parsed into it
// may be used after.
func PutBuffer(b *Buffer) {
	b.Reset()
	pool.Put(b)
}

// Reset drops b's references into the documents parsed into it, so that a
// pooled Buffer keeps no input alive.
func (b *Buffer) Reset() {
	clear(b.slab[:cap(b.slab)])
	b.slab = b.slab[:0]
}

// ParseIn is Parse, with the tree's members stored in buf's memory (nil:
// fresh memory). Parsing into buf again, or resetting it, ends the life of
// the tree parsed into it before.
func ParseIn(data []byte, buf *Buffer) (Value, error) {
	p := parser{data: data, s: unsafe.String(unsafe.SliceData(data), len(data))}
	if buf != nil {
		p.stack, p.seen = buf.stack[:0], buf.seen
		if need := countMembers(data); cap(buf.slab) >= need {
			p.slab = buf.slab[:0]
		} else {
			p.slab = make([]Member, 0, need)
		}
		defer func() {
			buf.stack, buf.seen = p.stack[:0], p.seen
			if cap(p.slab) > cap(buf.slab) {
				buf.slab = p.slab[:0] // the larger slab serves the next parse
			}
		}()
	}
	if buf == nil {
		// One allocation holds the tree's members (the slab, bounded by
		// countMembers) and, after them, the stack that gathers the members
		// of the open containers: no more than the members, and rarely more
		// than a few levels' worth.
		if need := countMembers(data); need > 0 {
			mem := make([]Member, 0, need+min(need, 16))
			p.slab, p.stack = mem[:0:need], mem[need:need]
		}
	}
	p.skipWS()
	if p.pos >= len(p.data) {
		return Value{}, p.errorf("unexpected end of JSON input")
	}
	v, err := p.value()
	if err != nil {
		return Value{}, err
	}
	p.skipWS()
	if p.pos < len(p.data) {
		return Value{}, p.errorf("invalid character %s after top-level value", quoteChar(p.data[p.pos]))
	}
	return v, nil
}

// AppendCompact appends the compact encoding of v to dst: no whitespace
// between tokens, duplicate keys removed, every string and number exactly as
// it was written in the input.
func AppendCompact(dst []byte, v *Value) []byte {
	if v.Compact {
		return append(dst, v.Raw...)
	}
	switch v.Kind {
	case Object:
		dst = append(dst, '{')
		for i := range v.Kids {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, v.Kids[i].KeyRaw...)
			dst = append(dst, ':')
			dst = AppendCompact(dst, &v.Kids[i].Value)
		}
		return append(dst, '}')
	case Array:
		dst = append(dst, '[')
		for i := range v.Kids {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendCompact(dst, &v.Kids[i].Value)
		}
		return append(dst, ']')
	}
	return append(dst, v.Raw...)
}

// Get returns the value of the member key of object v, or nil when v is nil,
// not an object, or has no such member.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	for i := range v.Kids {
		if v.Kids[i].Key == key {
			return &v.Kids[i].Value
		}
	}
	return nil
}

// Index finds object members by key. It scans small objects and builds a
// map for large ones on first need. The zero Index of a nil object finds
// nothing.
type Index struct {
	v *Value
	m map[string]int
}

// NewIndex returns an Index over the members of v (nil or not an object: an
// empty index).
func NewIndex(v *Value) Index {
	if v == nil || v.Kind != Object {
		return Index{}
	}
	return Index{v: v}
}

// Lookup returns the member named key, or nil. hint is the position where
// the member is likely to be (documents that share an origin usually list
// members in the same order); it is checked first.
func (x *Index) Lookup(key string, hint int) *Member {
	if x.v == nil {
		return nil
	}
	kids := x.v.Kids
	if hint >= 0 && hint < len(kids) && kids[hint].Key == key {
		return &kids[hint]
	}
	if len(kids) <= 16 {
		for i := range kids {
			if kids[i].Key == key {
				return &kids[i]
			}
		}
		return nil
	}
	if x.m == nil {
		x.m = make(map[string]int, len(kids))
		for i := range kids {
			x.m[kids[i].Key] = i
		}
	}
	if i, ok := x.m[key]; ok {
		return &kids[i]
	}
	return nil
}

// Equal reports whether a and b are the same JSON value: objects with the
// same members in any order, arrays with equal elements in the same order,
// strings with the same code points after unescaping, numbers with the same
// exact decimal value (1, 1.0 and 1e0 are equal; no rounding to float64
// happens). A nil Value (absent) equals only nil. With nullIsAbsent, object
// members whose value is null count as absent, as in RFC 7396.
func Equal(a, b *Value, nullIsAbsent bool) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	if bytes.Equal(a.Raw, b.Raw) {
		return true
	}
	switch a.Kind {
	case Null, True, False:
		return true
	case Number:
		return NumberKey(a.Raw) == NumberKey(b.Raw)
	case String:
		if plainASCII(a.Raw) && plainASCII(b.Raw) {
			return false // no escapes: different text is a different string
		}
		return Unquote(a.Raw) == Unquote(b.Raw)
	case Array:
		if len(a.Kids) != len(b.Kids) {
			return false
		}
		for i := range a.Kids {
			if !Equal(&a.Kids[i].Value, &b.Kids[i].Value, nullIsAbsent) {
				return false
			}
		}
		return true
	}
	// Objects.
	na, nb := len(a.Kids), len(b.Kids)
	if nullIsAbsent {
		na, nb = countNonNull(a), countNonNull(b)
	}
	if na != nb {
		return false
	}
	xb := NewIndex(b)
	for i := range a.Kids {
		am := &a.Kids[i]
		if nullIsAbsent && am.Value.Kind == Null {
			continue
		}
		bm := xb.Lookup(am.Key, i)
		if bm == nil || !Equal(&am.Value, &bm.Value, nullIsAbsent) {
			return false
		}
	}
	return true
}

func plainASCII(s []byte) bool {
	for _, c := range s {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func countNonNull(v *Value) int {
	n := 0
	for i := range v.Kids {
		if v.Kids[i].Value.Kind != Null {
			n++
		}
	}
	return n
}

// NumberKey returns a canonical form of a valid JSON number literal: two
// literals have the same key exactly when they denote the same decimal
// value. Zero has the key "0" whatever its sign or exponent.
func NumberKey(raw []byte) string {
	neg := false
	if raw[0] == '-' {
		neg = true
		raw = raw[1:]
	}
	// Split mantissa and exponent.
	mant, expText := raw, []byte(nil)
	if i := bytes.IndexAny(raw, "eE"); i >= 0 {
		mant, expText = raw[:i], raw[i+1:]
	}
	intPart, frac := mant, []byte(nil)
	if i := bytes.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	digits := make([]byte, 0, len(intPart)+len(frac))
	digits = append(digits, intPart...)
	digits = append(digits, frac...)
	// The value is 0.digits... scaled: digits × 10^(exp - len(frac)).
	lead := 0
	for lead < len(digits) && digits[lead] == '0' {
		lead++
	}
	digits = digits[lead:]
	if len(digits) == 0 {
		return "0"
	}
	trail := 0
	for trail < len(digits) && digits[len(digits)-1-trail] == '0' {
		trail++
	}
	digits = digits[:len(digits)-trail]
	adjust := int64(trail) - int64(len(frac))

	var exp string
	if len(expText) <= 15 {
		e, _ := strconv.ParseInt(string(bytes.TrimPrefix(expText, []byte{'+'})), 10, 64)
		if len(expText) == 0 {
			e = 0
		}
		exp = strconv.FormatInt(e+adjust, 10)
	} else {
		e, _ := new(big.Int).SetString(string(bytes.TrimPrefix(expText, []byte{'+'})), 10)
		exp = e.Add(e, big.NewInt(adjust)).String()
	}
	sign := ""
	if neg {
		sign = "-"
	}
	return sign + string(digits) + "e" + exp
}
