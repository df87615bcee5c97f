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
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"
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
	if p.stack == nil {
		p.stack = make([]Member, 0, 32)
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

type parser struct {
	data  []byte
	s     string // data seen as a string (not copied): unescaped keys share its memory
	pos   int
	depth int
	ws    int // number of whitespace runs skipped between tokens
	dups  int // number of duplicate keys removed
	stack []Member
	slab  []Member // storage for the members of finished containers
	seen  map[string]int
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: int64(p.pos), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) unexpected(context string) error {
	if p.pos >= len(p.data) {
		return p.errorf("unexpected end of JSON input")
	}
	return p.errorf("invalid character %s %s", quoteChar(p.data[p.pos]), context)
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	if c >= utf8.RuneSelf {
		s = fmt.Sprintf(`"\x%02x"`, c)
	}
	return "'" + s[1:len(s)-1] + "'"
}

func (p *parser) skipWS() {
	start := p.pos
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
			continue
		}
		break
	}
	if p.pos != start {
		p.ws++
	}
}

// value parses the value starting at p.pos (whitespace already skipped).
// Values are returned, not filled in through a pointer, so that they stay
// off the heap until they are stored in their parent.
func (p *parser) value() (Value, error) {
	if p.pos >= len(p.data) {
		return Value{}, p.errorf("unexpected end of JSON input")
	}
	start := p.pos
	var err error
	var kind Kind
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		_, err = p.str()
		kind = String
	case c == 't':
		err = p.literal("true")
		kind = True
	case c == 'f':
		err = p.literal("false")
		kind = False
	case c == 'n':
		err = p.literal("null")
		kind = Null
	case c == '-' || (c >= '0' && c <= '9'):
		err = p.number()
		kind = Number
	default:
		err = p.unexpected("looking for beginning of value")
	}
	if err != nil {
		return Value{}, err
	}
	return Value{Raw: p.data[start:p.pos], Kind: kind, Compact: true}, nil
}

func (p *parser) literal(lit string) error {
	for i := 0; i < len(lit); i++ {
		if p.pos >= len(p.data) || p.data[p.pos] != lit[i] {
			return p.unexpected("in literal " + lit + " (expecting '" + lit[i:i+1] + "')")
		}
		p.pos++
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) number() error {
	d := p.data
	if d[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case p.pos < len(d) && d[p.pos] >= '1' && d[p.pos] <= '9':
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	default:
		return p.unexpected("in numeric literal")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if p.pos >= len(d) || !isDigit(d[p.pos]) {
			return p.unexpected("after decimal point in numeric literal")
		}
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if p.pos >= len(d) || !isDigit(d[p.pos]) {
			return p.unexpected("in exponent of numeric literal")
		}
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	}
	return nil
}

// str scans a string literal starting at the opening quote and reports
// whether its contents differ from its unquoted value: it contains escapes
// or bytes outside ASCII (which may be invalid UTF-8).
func (p *parser) str() (special bool, err error) {
	d := p.data
	p.pos++ // opening quote
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			return special, nil
		case c >= utf8.RuneSelf:
			special = true
			p.pos++
		case c == '\\':
			special = true
			p.pos++
			if p.pos >= len(d) {
				return false, p.errorf("unexpected end of JSON input")
			}
			switch d[p.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos++
			case 'u':
				p.pos++
				for i := 0; i < 4; i++ {
					if p.pos >= len(d) || !isHex(d[p.pos]) {
						return false, p.unexpected("in \\u hexadecimal character escape")
					}
					p.pos++
				}
			default:
				return false, p.unexpected("in string escape code")
			}
		case c < 0x20:
			return false, p.unexpected("in string literal")
		default:
			p.pos++
		}
	}
	return false, p.errorf("unexpected end of JSON input")
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf("exceeded max depth of %d", MaxDepth)
	}
	return nil
}

func (p *parser) object() (Value, error) {
	if err := p.enter(); err != nil {
		return Value{}, err
	}
	start, ws0, dups0, base := p.pos, p.ws, p.dups, len(p.stack)
	p.pos++ // '{'
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
	} else {
		for {
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return Value{}, p.unexpected("looking for beginning of object key string")
			}
			ks := p.pos
			special, err := p.str()
			if err != nil {
				return Value{}, err
			}
			keyRaw := p.data[ks:p.pos]
			var key string
			if special && (bytes.IndexByte(keyRaw, '\\') >= 0 || !utf8.Valid(keyRaw)) {
				key = Unquote(keyRaw)
			} else {
				key = p.s[ks+1 : p.pos-1]
			}
			p.skipWS()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return Value{}, p.unexpected("after object key")
			}
			p.pos++
			p.skipWS()
			val, err := p.value()
			if err != nil {
				return Value{}, err
			}
			p.stack = append(p.stack, Member{Key: key, KeyRaw: keyRaw, Value: val})
			p.skipWS()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				p.skipWS()
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == '}' {
				p.pos++
				break
			}
			return Value{}, p.unexpected("after object key:value pair")
		}
	}
	kids := p.dedupe(p.take(base))
	p.depth--
	return Value{Raw: p.data[start:p.pos], Kids: kids, Kind: Object, Compact: p.ws == ws0 && p.dups == dups0}, nil
}

func (p *parser) array() (Value, error) {
	if err := p.enter(); err != nil {
		return Value{}, err
	}
	start, ws0, dups0, base := p.pos, p.ws, p.dups, len(p.stack)
	p.pos++ // '['
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
	} else {
		for {
			val, err := p.value()
			if err != nil {
				return Value{}, err
			}
			p.stack = append(p.stack, Member{Value: val})
			p.skipWS()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				p.skipWS()
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == ']' {
				p.pos++
				break
			}
			return Value{}, p.unexpected("after array element")
		}
	}
	kids := p.take(base)
	p.depth--
	return Value{Raw: p.data[start:p.pos], Kids: kids, Kind: Array, Compact: p.ws == ws0 && p.dups == dups0}, nil
}

// take moves the members pushed since base into an exactly sized slice cut
// from a larger slab, so that a document costs a few allocations rather than
// one per container.
func (p *parser) take(base int) []Member {
	n := len(p.stack) - base
	if n == 0 {
		return nil
	}
	if cap(p.slab)-len(p.slab) < n {
		// Every member but the first of a container follows a comma, so
		// this bound makes one slab enough.
		if cap(p.slab) == 0 {
			p.slab = make([]Member, 0, max(n, countMembers(p.data)))
		} else {
			p.slab = make([]Member, 0, max(n, 64))
		}
	}
	i := len(p.slab)
	p.slab = p.slab[:i+n]
	kids := p.slab[i : i+n : i+n]
	copy(kids, p.stack[base:])
	clear(p.stack[base:]) // drop references for the garbage collector
	p.stack = p.stack[:base]
	return kids
}

// countMembers bounds the number of members and elements in data: the
// commas and opening brackets outside strings.
func countMembers(data []byte) int {
	n := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case ',', '[', '{':
			n++
		case '"':
			// Skip the string: to the next quote not escaped.
			for i++; i < len(data); i++ {
				j := bytes.IndexByte(data[i:], '"')
				if j < 0 {
					return n
				}
				i += j
				bs := 0
				for k := i - 1; k >= 0 && data[k] == '\\'; k-- {
					bs++
				}
				if bs%2 == 0 {
					break
				}
			}
		}
	}
	return n
}

// dedupe removes duplicate keys: the last value wins, at the position of
// the first occurrence (as JavaScript's JSON.parse orders them).
func (p *parser) dedupe(kids []Member) []Member {
	n := len(kids)
	if n < 2 {
		return kids
	}
	dup := false
	if n <= 16 {
	small:
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if kids[i].Key == kids[j].Key {
					dup = true
					break small
				}
			}
		}
	} else {
		if p.seen == nil {
			p.seen = make(map[string]int, n)
		} else {
			clear(p.seen)
		}
		for i := range kids {
			if _, ok := p.seen[kids[i].Key]; ok {
				dup = true
				break
			}
			p.seen[kids[i].Key] = i
		}
	}
	if !dup {
		return kids
	}
	first := make(map[string]int, n)
	out := kids[:0]
	for _, m := range kids {
		if i, ok := first[m.Key]; ok {
			out[i].Value = m.Value
			p.dups++
			continue
		}
		first[m.Key] = len(out)
		out = append(out, m)
	}
	clear(kids[len(out):])
	return out
}

// Unquote returns the contents of a valid JSON string literal with escapes
// resolved. As in encoding/json, invalid UTF-8 and invalid surrogate escapes
// become U+FFFD.
func Unquote(lit []byte) string {
	s := lit[1 : len(lit)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.Write(s[i : i+size])
			}
			i += size
			continue
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		switch s[i] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r := rune(hex4(s[i+1:]))
			i += 4
			if utf16.IsSurrogate(r) {
				// A valid literal has four hex digits after a "\u".
				r2 := rune(-1)
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2 = rune(hex4(s[i+3:]))
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
		default: // '"', '\\', '/'
			b.WriteByte(s[i])
		}
		i++
	}
	return b.String()
}

func hex4(s []byte) int {
	n := 0
	for _, c := range s[:4] {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= int(c - '0')
		case c >= 'a' && c <= 'f':
			n |= int(c-'a') + 10
		default:
			n |= int(c-'A') + 10
		}
	}
	return n
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
